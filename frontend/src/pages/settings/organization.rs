//! The organization tab of the settings (its name), and creating another organization.

use super::{SettingsHead, can, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner, SubmitButton, TextField, field_error};
use crate::layout::{Frame, RequireAuth};
use crate::session::use_session;
use insights_types::Permission;
use insights_types::api::{OrgIn, OrgPatch};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

/// `/orgs/:org/settings`: the organization's name (editable by those allowed).
#[component]
pub fn OrgSettings() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let may_edit = can(org, Permission::UpdateOrganization);
    let name = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let detail = LocalResource::new(move || async move { api::orgs::get_org(session, org).await });
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
            let r = api::orgs::update_org(session, org, &body).await;
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
        <SettingsHead />
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
            match api::orgs::create_org(session, &body).await {
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
