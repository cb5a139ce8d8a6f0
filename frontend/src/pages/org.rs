//! Organization pages: the sections not built yet, settings (name), members, invitations, audit log,
//! feedback, and creating another organization. Actions a role may not use are hidden; the server enforces
//! the same table regardless.

use crate::api::{self, ApiFailure};
use crate::components::{
    ComingSoon, EmptyState, ErrorBanner, Spinner, SubmitButton, TextField, field_error,
};
use crate::layout::{Frame, RequireAuth, use_org};
use crate::session::use_session;
use insights_types::api::{
    AuditEventOut, FeedbackOut, InvitationIn, InvitationOut, MemberOut, MemberPatch, OrgDetailOut,
    OrgIn, OrgPatch, Page,
};
use insights_types::{OrgId, Permission, Role};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// Applies a change (role, removal, revocation), shows its error if any, and reloads the list.
async fn apply(
    session: crate::session::Session,
    method: &str,
    path: String,
    body: Option<&impl serde::Serialize>,
    error: RwSignal<Option<ApiFailure>>,
    reload: RwSignal<u32>,
) {
    let r = api::call::<serde_json::Value>(session, method, &path, body).await;
    error.set(r.err());
    reload.update(|v| *v += 1);
}

/// The organization of the route (the shell only renders pages for members).
fn org_id() -> OrgId {
    use_org()
        .get_untracked()
        .expect("organization pages render under /orgs/:org")
}

/// Whether the signed-in user's role allows `p` here. A plain closure over the app-wide session (not a
/// signal owned by the page), so it stays valid while a page is being torn down.
fn can(org: OrgId, p: Permission) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let session = use_session();
    move || session.role_in(org).is_some_and(|r| r.can(p))
}

#[component]
pub fn Section(#[prop(into)] name: String) -> impl IntoView {
    let what = match name.as_str() {
        "Dashboard" => {
            "Trends of incident volume, MTTA and MTTR, noisy services and off-hours load, with filters and drill-down."
        }
        "Patterns" => "Recurring incident patterns, and why each incident belongs to its pattern.",
        "Runbooks" => "Runbooks generated from your own runbooks and past fixes, with citations.",
        "Automations" => {
            "Your AWS Lambda functions as automations: by hand, on a schedule, or on matching incidents."
        }
        _ => "",
    };
    view! { <ComingSoon section=name what=what /> }
}

/// Tabs of the settings area.
#[component]
fn SettingsTabs() -> impl IntoView {
    let org = org_id();
    let admin = can(org, Permission::ViewAuditLog);
    let invite = can(org, Permission::InviteMembers);
    view! {
        <nav class="tabs" aria-label="Settings">
            <A href=format!("/orgs/{org}/settings") exact=true>"Organization"</A>
            <A href=format!("/orgs/{org}/settings/members")>"Members"</A>
            <Show when=move || invite()><A href=format!("/orgs/{org}/settings/invitations")>"Invitations"</A></Show>
            <Show when=move || admin()>
                <A href=format!("/orgs/{org}/settings/audit")>"Audit log"</A>
                <A href=format!("/orgs/{org}/settings/feedback")>"Feedback"</A>
            </Show>
        </nav>
    }
}

#[component]
pub fn OrgSettings() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let may_edit = can(org, Permission::UpdateOrganization);
    let name = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let detail = LocalResource::new(move || async move {
        api::get::<OrgDetailOut>(session, &format!("/api/v1/orgs/{org}")).await
    });
    Effect::new(move |_| {
        if let Some(Ok(d)) = detail.get() {
            name.set(d.name);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = OrgPatch {
            name: Some(name.get_untracked()),
        };
        busy.set(true);
        saved.set(false);
        leptos::task::spawn_local(async move {
            let r = api::call::<OrgDetailOut>(
                session,
                "PATCH",
                &format!("/api/v1/orgs/{org}"),
                Some(&body),
            )
            .await;
            busy.set(false);
            match r {
                Ok(_) => {
                    error.set(None);
                    saved.set(true);
                    let _ = session.reload_me().await;
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h1>"Settings"</h1>
        <SettingsTabs />
        <section class="card">
            <h2>"Organization"</h2>
            <Suspense fallback=|| view! { <Spinner /> }>
                {move || detail.get().map(|d| match d {
                    Err(e) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                    Ok(d) => view! {
                        <p class="muted">{format!("Slug: {} · your role: {}", d.slug, d.role)}</p>
                        <Show when=move || may_edit() fallback=move || view! { <p>{move || name.get()}</p> }>
                            <form on:submit=submit novalidate>
                                <TextField id="org-name" label="Name" value=name required=true error=field_error(error, "name") />
                                <ErrorBanner error=error.into() />
                                <SubmitButton label="Save" busy_label="Saving…" busy=busy.into() />
                                <Show when=move || saved.get()><p class="ok" role="status">"Saved."</p></Show>
                            </form>
                        </Show>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn Members() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let me = session.me().map(|m| m.user.id);
    let manage = can(org, Permission::ManageMembers);
    let manage_owners = can(org, Permission::ManageOwners);
    let error = RwSignal::new(None::<ApiFailure>);
    let version = RwSignal::new(0u32);
    let members = LocalResource::new(move || {
        version.track();
        async move { api::get::<Page<MemberOut>>(session, &format!("/api/v1/orgs/{org}/members")).await }
    });
    let change_role = move |user: insights_types::UserId, role: Role| {
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/orgs/{org}/members/{user}");
            apply(
                session,
                "PATCH",
                path,
                Some(&MemberPatch { role }),
                error,
                version,
            )
            .await;
            let _ = session.reload_me().await;
        });
    };
    let remove = move |user: insights_types::UserId| {
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/orgs/{org}/members/{user}");
            apply(session, "DELETE", path, None::<&()>, error, version).await;
        });
    };
    view! {
        <h1>"Settings"</h1>
        <SettingsTabs />
        <section class="card">
            <h2>"Members"</h2>
            <ErrorBanner error=error.into() />
            <Suspense fallback=|| view! { <Spinner /> }>
                {move || members.get().map(|r| match r {
                    Err(e) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                    Ok(page) => view! {
                        <table class="table">
                            <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|m| {
                                    let user = m.user.id;
                                    let is_owner = m.role == Role::Owner;
                                    let may_change = move || manage() && (!is_owner || manage_owners());
                                    let label = format!("Role of {}", m.user.name);
                                    view! {
                                        <tr data-email=m.user.email.clone()>
                                            <td>{m.user.name.clone()}{(Some(user) == me).then_some(" (you)")}</td>
                                            <td>{m.user.email.clone()}</td>
                                            <td>
                                                <Show when=may_change fallback=move || view! { <span class="role">{m.role.as_str()}</span> }>
                                                    <select aria-label=label.clone() class="role-select" on:change=move |ev| {
                                                        if let Ok(role) = Role::parse(&event_target_value(&ev)) { change_role(user, role) }
                                                    }>
                                                        {Role::ALL.into_iter().filter(|r| *r != Role::Owner || manage_owners()).map(|r| view! {
                                                            <option value=r.as_str() selected=r == m.role>{r.as_str()}</option>
                                                        }).collect_view()}
                                                    </select>
                                                </Show>
                                            </td>
                                            <td>
                                                <Show when=move || may_change() && Some(user) != me>
                                                    <button class="btn danger small" on:click=move |_| remove(user)>"Remove"</button>
                                                </Show>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn Invitations() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let allowed = can(org, Permission::InviteMembers);
    let may_invite_owner = can(org, Permission::ManageOwners);
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Member);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let created = RwSignal::new(None::<InvitationOut>);
    let copied = RwSignal::new(false);
    let version = RwSignal::new(0u32);
    let pending = LocalResource::new(move || {
        version.track();
        async move {
            api::get::<Page<InvitationOut>>(session, &format!("/api/v1/orgs/{org}/invitations"))
                .await
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = InvitationIn {
            email: email.get_untracked(),
            role: role.get_untracked(),
        };
        busy.set(true);
        copied.set(false);
        leptos::task::spawn_local(async move {
            let r = api::call::<InvitationOut>(
                session,
                "POST",
                &format!("/api/v1/orgs/{org}/invitations"),
                Some(&body),
            )
            .await;
            busy.set(false);
            match r {
                Ok(inv) => {
                    created.set(Some(inv));
                    email.set(String::new());
                    error.set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let copy = move |_| {
        if let (Some(url), Some(w)) = (
            created.get_untracked().and_then(|i| i.accept_url),
            web_sys::window(),
        ) {
            let _ = w.navigator().clipboard().write_text(&url);
            copied.set(true);
        }
    };
    let revoke = move |id: insights_types::InvitationId| {
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/orgs/{org}/invitations/{id}");
            apply(session, "DELETE", path, None::<&()>, error, version).await;
        });
    };
    view! {
        <h1>"Settings"</h1>
        <SettingsTabs />
        <Show when=move || allowed() fallback=|| view! { <p class="banner">"Your role cannot invite people."</p> }>
            <section class="card">
                <h2>"Invite someone"</h2>
                <form on:submit=submit novalidate class="inline-form">
                    <TextField id="invite-email" label="Email" value=email kind="email" required=true error=field_error(error, "email") />
                    <div class="field">
                        <label for="invite-role">"Role"</label>
                        <select id="invite-role" on:change=move |ev| { if let Ok(r) = Role::parse(&event_target_value(&ev)) { role.set(r) } }>
                            {move || Role::ALL.into_iter().filter(|r| *r != Role::Owner || may_invite_owner()).map(|r| view! {
                                <option value=r.as_str() selected=move || role.get() == r>{r.as_str()}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <SubmitButton label="Create invitation" busy_label="Creating…" busy=busy.into() />
                </form>
                <ErrorBanner error=error.into() />
                {move || created.get().map(|inv| view! {
                    <div class="banner success" role="status">
                        <p>{format!("Invitation for {} created. Share this link — it is shown only once and works once, until {}:", inv.email, inv.expires_at.format("%Y-%m-%d %H:%M UTC"))}</p>
                        <div class="copy-row">
                            <input id="invite-link" readonly=true prop:value=inv.accept_url.clone().unwrap_or_default() aria-label="Invitation link" />
                            <button class="btn" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy link" }}</button>
                        </div>
                    </div>
                })}
            </section>
            <section class="card">
                <h2>"Pending invitations"</h2>
                <Suspense fallback=|| view! { <Spinner /> }>
                    {move || pending.get().map(|r| match r {
                        Err(e) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                        Ok(page) if page.items.is_empty() => view! { <EmptyState title="No pending invitations" hint="Invitations you create appear here until they are accepted, revoked or expire." /> }.into_any(),
                        Ok(page) => view! {
                            <table class="table">
                                <thead><tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Expires"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|i| {
                                        let id = i.id;
                                        view! {
                                            <tr>
                                                <td>{i.email}</td>
                                                <td>{i.role.as_str()}</td>
                                                <td>{i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                                <td><button class="btn danger small" on:click=move |_| revoke(id)>"Revoke"</button></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    })}
                </Suspense>
            </section>
        </Show>
    }
}

#[component]
pub fn AuditLog() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let events = RwSignal::new(Vec::<AuditEventOut>::new());
    let cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiFailure>);
    let load = move |after: Option<String>| {
        loading.set(true);
        leptos::task::spawn_local(async move {
            let path = match &after {
                Some(c) => format!("/api/v1/orgs/{org}/audit-log?limit=50&cursor={c}"),
                None => format!("/api/v1/orgs/{org}/audit-log?limit=50"),
            };
            match api::get::<Page<AuditEventOut>>(session, &path).await {
                Ok(page) => {
                    events.update(|e| e.extend(page.items));
                    cursor.set(page.next_cursor);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    load(None);
    view! {
        <h1>"Settings"</h1>
        <SettingsTabs />
        <section class="card">
            <h2>"Audit log"</h2>
            <ErrorBanner error=error.into() />
            <table class="table">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"IP"</th></tr></thead>
                <tbody>
                    <For each=move || events.get() key=|e| e.id let:e>
                        <tr>
                            <td>{e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                            <td>{e.actor.map(|a| a.email).unwrap_or_else(|| "system".into())}</td>
                            <td><code>{e.action}</code>" "<span class="muted">{summary(&e.details)}</span></td>
                            <td>{e.ip.unwrap_or_default()}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || loading.get()><Spinner /></Show>
            <Show when=move || cursor.get().is_some() && !loading.get()>
                <button class="btn" on:click=move |_| load(cursor.get_untracked())>"Load more"</button>
            </Show>
        </section>
    }
}

/// A short description of an audit event's details (`email`, `role`, `from → to`).
fn summary(d: &serde_json::Value) -> String {
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    match (s("email"), s("from"), s("to"), s("role")) {
        (e, Some(from), Some(to), _) => format!(
            "{}{from} → {to}",
            e.map(|e| format!("{e}: ")).unwrap_or_default()
        ),
        (Some(e), _, _, Some(r)) => format!("{e} ({r})"),
        (Some(e), ..) => e,
        _ => String::new(),
    }
}

#[component]
pub fn FeedbackList() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let list = LocalResource::new(move || async move {
        api::get::<Page<FeedbackOut>>(session, &format!("/api/v1/orgs/{org}/feedback?limit=100"))
            .await
    });
    view! {
        <h1>"Settings"</h1>
        <SettingsTabs />
        <section class="card">
            <h2>"Feedback"</h2>
            <Suspense fallback=|| view! { <Spinner /> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! { <EmptyState title="No feedback yet" hint="Messages sent with the Feedback button appear here, with the page they came from." /> }.into_any(),
                    Ok(p) => p.items.into_iter().map(|f| view! {
                        <article class="feedback">
                            <p>{f.message}</p>
                            <p class="muted">{format!("{} · on {} · {}", f.author.map(|a| a.email).unwrap_or_default(), f.page, f.created_at.format("%Y-%m-%d %H:%M UTC"))}</p>
                        </article>
                    }).collect_view().into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// `/new-organization`: create another organization (or the first, after leaving every other).
#[component]
pub fn CreateOrg() -> impl IntoView {
    view! { <RequireAuth><Frame org=Signal::derive(|| None)><CreateOrgForm /></Frame></RequireAuth> }
}

#[component]
fn CreateOrgForm() -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = OrgIn {
            name: name.get_untracked(),
        };
        let navigate = navigate.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::call::<OrgDetailOut>(session, "POST", "/api/v1/orgs", Some(&body)).await {
                Ok(org) => {
                    let _ = session.reload_me().await;
                    navigate(
                        &format!("/orgs/{}/dashboard", org.id),
                        NavigateOptions::default(),
                    );
                }
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <section class="card">
            <h1>"New organization"</h1>
            <form on:submit=submit novalidate>
                <TextField id="new-org-name" label="Name" value=name required=true error=field_error(error, "name") />
                <ErrorBanner error=error.into() />
                <SubmitButton label="Create organization" busy_label="Creating…" busy=busy.into() />
            </form>
        </section>
    }
}
