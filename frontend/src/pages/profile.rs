//! The signed-in user's profile: name and password.

use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, SubmitButton, TextField, field_error};
use crate::layout::{Frame, RequireAuth};
use crate::session::use_session;
use insights_types::api::{MePatch, PasswordChangeIn};
use leptos::prelude::*;

/// `/profile`: the signed-in user's name and password.
#[component]
pub fn Profile() -> impl IntoView {
    view! { <RequireAuth><Frame org=Signal::derive(|| None)><ProfileForms /></Frame></RequireAuth> }
}

#[component]
fn ProfileForms() -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(session.me().map(|m| m.user.name).unwrap_or_default());
    let name_busy = RwSignal::new(false);
    let name_error = RwSignal::new(None::<ApiFailure>);
    let name_saved = RwSignal::new(false);
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let pw_busy = RwSignal::new(false);
    let pw_error = RwSignal::new(None::<ApiFailure>);
    let pw_saved = RwSignal::new(false);
    let save_name = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = MePatch {
            name: Some(name.get_untracked()),
        };
        name_busy.set(true);
        name_saved.set(false);
        leptos::task::spawn_local(async move {
            let r = api::me::update_me(session, &body).await;
            name_busy.set(false);
            match r {
                Ok(me) => {
                    session.set_me(me);
                    name_error.set(None);
                    name_saved.set(true);
                }
                Err(e) => name_error.set(Some(e)),
            }
        });
    };
    let change_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = PasswordChangeIn {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        pw_busy.set(true);
        pw_saved.set(false);
        leptos::task::spawn_local(async move {
            let r = api::me::change_password(session, &body).await;
            pw_busy.set(false);
            match r {
                Ok(()) => {
                    pw_error.set(None);
                    pw_saved.set(true);
                    current.set(String::new());
                    new.set(String::new());
                }
                Err(e) => pw_error.set(Some(e)),
            }
        });
    };
    view! {
        <h1>"Profile"</h1>
        <section class="card">
            <h2>"Your name"</h2>
            <p class="muted">{move || session.me().map(|m| m.user.email)}</p>
            <form on:submit=save_name novalidate>
                <TextField id="profile-name" label="Name" value=name autocomplete="name" required=true error=field_error(name_error, "name") />
                <ErrorBanner error=name_error.into() />
                <SubmitButton label="Save" busy_label="Saving…" busy=name_busy.into() />
                <Show when=move || name_saved.get()><p class="ok" role="status">"Saved."</p></Show>
            </form>
        </section>
        <section class="card">
            <h2>"Password"</h2>
            <form on:submit=change_password novalidate>
                <TextField id="current-password" label="Current password" value=current kind="password" autocomplete="current-password" required=true error=field_error(pw_error, "current_password") />
                <TextField id="new-password" label="New password (12 characters or more)" value=new kind="password" autocomplete="new-password" required=true error=field_error(pw_error, "new_password") />
                <ErrorBanner error=pw_error.into() />
                <SubmitButton label="Change password" busy_label="Changing…" busy=pw_busy.into() />
                <Show when=move || pw_saved.get()><p class="ok" role="status">"Password changed. Your other sessions were signed out."</p></Show>
            </form>
        </section>
    }
}
