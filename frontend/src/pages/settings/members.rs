//! The members tab of the settings: who belongs to the organization, their roles, and removing them.

use super::{SettingsHead, apply, can, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner};
use crate::session::use_session;
use insights_types::api::MemberPatch;
use insights_types::{Permission, Role, UserId};
use leptos::prelude::*;

/// `/orgs/:org/settings/members`: the members, with their roles for those who may change them.
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
        async move { api::members::list_members(session, org).await }
    });
    let change_role = move |user: UserId, role: Role| {
        leptos::task::spawn_local(async move {
            let patch = MemberPatch { role };
            let request = api::members::update_member(session, org, user, &patch);
            apply(request, error, version).await;
            let _ = session.reload_me().await;
        });
    };
    let remove = move |user: UserId| {
        leptos::task::spawn_local(async move {
            let request = api::members::remove_member(session, org, user);
            apply(request, error, version).await;
        });
    };
    view! {
        <SettingsHead />
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
