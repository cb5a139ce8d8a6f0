//! The signed-in user's profile: name, password, and the recent sign-in activity of the account.

use crate::api::{self, ApiFailure};
use crate::components::{
    EmptyState, ErrorBanner, LoadMore, Paged, SubmitButton, TextField, field_error,
};
use crate::layout::{Frame, RequireAuth};
use crate::session::use_session;
use insights_types::api::{MePatch, PasswordChangeIn, SecurityEventOut};
use leptos::prelude::*;

/// `/profile`: the signed-in user's name and password, and what happened to the account lately.
#[component]
pub fn Profile() -> impl IntoView {
    view! { <RequireAuth><Frame org=Signal::derive(|| None)><ProfileForms /><SignInActivity /></Frame></RequireAuth> }
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

/// The user's security log, newest first, 20 events at a time: when, what, and from which address; failed
/// sign-ins stand out, since they are the ones to worry about.
#[component]
fn SignInActivity() -> impl IntoView {
    let session = use_session();
    let list = Paged::load(move |after: Option<String>| async move {
        api::me::list_security_events(session, 20, after.as_deref()).await
    });
    view! {
        <section class="card" aria-labelledby="activity-title">
            <h2 id="activity-title">"Recent sign-in activity"</h2>
            <p class="muted">"Sign-ins, failed attempts and password changes of your account, with the address they came from. Something you do not recognize? Change your password: it signs out every other session."</p>
            <ErrorBanner error=list.error.into() />
            <Show when=move || list.is_empty()>
                <EmptyState title="No activity yet" hint="Sign-ins and password changes of your account appear here." />
            </Show>
            <Show when=move || list.items.with(|i| !i.is_empty())>
                <table class="table activity">
                    <thead><tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"From"</th></tr></thead>
                    <tbody>
                        <For each=move || list.items.get() key=|e| e.id let:e>
                            <EventRow event=e />
                        </For>
                    </tbody>
                </table>
            </Show>
            <LoadMore list=list />
        </section>
    }
}

/// One line of the security log.
#[component]
fn EventRow(event: SecurityEventOut) -> impl IntoView {
    let failed = event.action == "login_failed";
    let what = action_label(&event.action);
    view! {
        <tr data-action=event.action.clone() class:failed=failed>
            <td class="nowrap">{crate::time::when(event.created_at)}</td>
            <td>{if failed {
                view! { <span class="pill bad">{what}</span> }.into_any()
            } else {
                view! { <span>{what}</span> }.into_any()
            }}</td>
            <td>{match event.ip {
                Some(ip) => view! { <code>{ip}</code> }.into_any(),
                None => view! { <span class="muted">"unknown"</span> }.into_any(),
            }}</td>
        </tr>
    }
}

/// What a security event means, in words (the API's action name for one this app does not know yet).
fn action_label(action: &str) -> String {
    match action {
        "login" => "Signed in",
        "login_failed" => "Failed sign-in attempt",
        "password_changed" => "Password changed",
        "password_reset" => "Password reset by email link",
        "email_verified" => "Email address verified",
        other => other,
    }
    .to_owned()
}
