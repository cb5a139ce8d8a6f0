//! The invitations tab of the settings: invite someone (the link is shown once), and the pending invitations
//! with their revocation.

use super::{SettingsHead, apply, can, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner, SubmitButton, TextField, field_error};
use crate::session::use_session;
use insights_types::api::{InvitationIn, InvitationOut};
use insights_types::{InvitationId, Permission, Role};
use leptos::prelude::*;

/// `/orgs/:org/settings/invitations`: invite someone, and the pending invitations.
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
        async move { api::invitations::list_invitations(session, org).await }
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
            let r = api::invitations::create_invitation(session, org, &body).await;
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
    let revoke = move |id: InvitationId| {
        leptos::task::spawn_local(async move {
            let request = api::invitations::revoke_invitation(session, org, id);
            apply(request, error, version).await;
        });
    };
    view! {
        <SettingsHead />
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
