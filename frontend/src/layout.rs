//! The application shell (top bar with organization switcher, user menu and feedback; side navigation with
//! the product's sections) and the guards that send signed-out people to the login page and back.

use crate::components::{FeedbackButton, Spinner};
use crate::pages::automations::{ApprovalsBadge, KillSwitchBanner};
use crate::session::{Status, use_session};
use insights_types::OrgId;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::{A, Outlet};
use leptos_router::hooks::{use_location, use_navigate, use_params_map};

/// The product's sections, in navigation order: (path under the organization, label).
pub const SECTIONS: [(&str, &str); 7] = [
    ("dashboard", "Dashboard"),
    ("incidents", "Incidents"),
    ("patterns", "Patterns"),
    ("runbooks", "Runbooks"),
    ("automations", "Automations"),
    ("integrations", "Integrations"),
    ("settings", "Settings"),
];

/// The current path with its query, to come back to after login.
fn here() -> String {
    let loc = use_location();
    format!(
        "{}{}",
        loc.pathname.get_untracked(),
        loc.search.get_untracked()
    )
}

/// Shows `children` once signed in; redirects to `/login?next=…` when signed out.
#[component]
pub fn RequireAuth(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let next = here();
    Effect::new(move |_| {
        if session.status() == Status::SignedOut {
            let target = format!("/login?next={}", js_sys::encode_uri_component(&next));
            navigate(
                &target,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    move || match session.status() {
        Status::SignedIn => children().into_any(),
        _ => view! { <Spinner label="Checking your session…" /> }.into_any(),
    }
}

/// `/`: the first organization's dashboard, or creating one.
#[component]
pub fn Home() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if session.status() != Status::SignedIn {
            return;
        }
        let target = match session
            .me()
            .and_then(|m| m.memberships.first().map(|x| x.organization.id))
        {
            Some(org) => format!("/orgs/{org}/dashboard"),
            None => "/new-organization".to_owned(),
        };
        navigate(
            &target,
            NavigateOptions {
                replace: true,
                ..Default::default()
            },
        );
    });
    view! { <RequireAuth><Spinner /></RequireAuth> }
}

/// The organization id of the current route, if it is one.
pub fn use_org() -> Signal<Option<OrgId>> {
    let params = use_params_map();
    Signal::derive(move || params.read().get("org").and_then(|s| s.parse().ok()))
}

/// Top bar and side navigation around the organization's pages.
#[component]
pub fn OrgShell() -> impl IntoView {
    let org = use_org();
    let session = use_session();
    // Only a change of membership re-renders the page, not every change of the session.
    let member = Memo::new(move |_| org.get().and_then(|o| session.role_in(o)).is_some());
    view! {
        <RequireAuth>
            <Frame org=org>
                {move || {
                    match member.get() {
                        true => view! { <Outlet /> }.into_any(),
                        false => view! {
                            <section class="card">
                                <h1>"Organization not found"</h1>
                                <p>"It does not exist, or you are not a member of it."</p>
                                <A href="/">"Go to your organizations"</A>
                            </section>
                        }.into_any(),
                    }
                }}
            </Frame>
        </RequireAuth>
    }
}

/// The frame of every signed-in page.
#[component]
pub fn Frame(org: Signal<Option<OrgId>>, children: Children) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    crate::pages::automations::AutomationStatus::provide(org);
    let menu_open = RwSignal::new(false);
    let switch = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::Event| {
            let id = event_target_value(&ev);
            if id == "new" {
                navigate("/new-organization", NavigateOptions::default());
            } else {
                navigate(&format!("/orgs/{id}/dashboard"), NavigateOptions::default());
            }
        }
    };
    let log_out = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            session.log_out().await;
            navigate("/login", NavigateOptions::default());
        });
    };
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <A href="/" attr:class="brand">"Incident Insights"</A>
            <label class="sr-only" for="org-switcher">"Organization"</label>
            <select id="org-switcher" class="org-switcher" on:change=switch>
                {move || {
                    let current = org.get();
                    session
                        .me()
                        .map(|me| me.memberships)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|m| {
                            let selected = Some(m.organization.id) == current;
                            view! {
                                <option value=m.organization.id.to_string() selected=selected>
                                    {m.organization.name}
                                </option>
                            }
                        })
                        .collect_view()
                }}
                <option value="new" selected=move || org.get().is_none()>"+ New organization"</option>
            </select>
            <span class="spacer"></span>
            {move || {
                session
                    .me()
                    .map(|m| {
                        view! {
                            <a
                                class="btn ghost help-link"
                                href=m.help.guide_url
                                target="_blank"
                                rel="noopener noreferrer"
                            >
                                "Help"
                            </a>
                        }
                    })
            }}
            <FeedbackButton org=org />
            <div class="user-menu">
                <button
                    class="btn ghost"
                    aria-haspopup="menu"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| menu_open.update(|o| *o = !*o)
                >
                    {move || session.me().map(|m| m.user.name).unwrap_or_default()}
                </button>
                <Show when=move || menu_open.get()>
                    <div class="menu" role="menu">
                        <A href="/profile" attr:role="menuitem">"Profile"</A>
                        <button role="menuitem" class="btn ghost" on:click=log_out.clone()>"Log out"</button>
                    </div>
                </Show>
            </div>
        </header>
        <div class="layout">
            <nav class="sidenav" aria-label="Sections">
                {move || {
                    org.get()
                        .map(|o| {
                            SECTIONS
                                .iter()
                                .map(|(path, label)| {
                                    let badge = (*path == "automations").then(|| view! { <ApprovalsBadge /> });
                                    view! { <A href=format!("/orgs/{o}/{path}")>{*label}{badge}</A> }
                                })
                                .collect_view()
                        })
                }}
            </nav>
            <main id="main" class="content" tabindex="-1">
                <crate::pages::account::UnverifiedNotice />
                <KillSwitchBanner org=org />
                {children()}
            </main>
        </div>
    }
}

/// The page of an unknown address.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="centered">
            <section class="card">
                <h1>"Page not found"</h1>
                <A href="/">"Go home"</A>
            </section>
        </main>
    }
}
