//! The pages of the links sent by email — `/verify-email#token=…` and `/reset-password#token=…` — the
//! forgot-password form, and the notice shown to a signed-in account whose address is not verified yet. Link
//! tokens travel in the URL fragment, which browsers never send to a server nor put in a `Referer`; each
//! page reads it and removes it from the address bar at once.

use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner, SubmitButton, TextField, field_error};
use crate::session::{Status, use_session};
use insights_types::api::{ForgotPasswordIn, ResetPasswordIn, VerifyEmailIn};
use leptos::prelude::*;
use leptos_router::components::A;
use wasm_bindgen::JsValue;

/// The token in the address's fragment (`#token=…`) or, for links from before tokens moved there, its query
/// (`?token=…`). Either is removed from the address bar (and the history entry) as soon as it is read.
pub(crate) fn take_link_token() -> Option<String> {
    let window = web_sys::window()?;
    let location = window.location();
    let from_hash = location
        .hash()
        .ok()
        .and_then(|h| h.strip_prefix("#token=").map(str::to_owned));
    let token = from_hash.or_else(|| {
        let search = location.search().ok()?;
        search
            .trim_start_matches('?')
            .split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .map(str::to_owned)
    })?;
    let path = location.pathname().ok()?;
    let _ = window
        .history()
        .ok()?
        .replace_state_with_url(&JsValue::NULL, "", Some(&path));
    let token = js_sys::decode_uri_component(&token)
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or(token);
    Some(token).filter(|t| !t.is_empty())
}

/// The message of a failure about the link itself (its `token` field) or of any other failure.
fn link_failure(e: &ApiFailure) -> String {
    e.field("token").map_or_else(
        || e.message(),
        |m| format!("This link cannot be used: {m}."),
    )
}

/// `/verify-email#token=…`: confirms the address, then offers the way into the app.
#[component]
pub fn VerifyEmail() -> impl IntoView {
    let session = use_session();
    let token = take_link_token().unwrap_or_default();
    let result = LocalResource::new(move || {
        let body = VerifyEmailIn {
            token: token.clone(),
        };
        async move { api::auth::verify_email(&body).await }
    });
    // A signed-in visitor's notice goes away: reload who they are once verified.
    Effect::new(move |_| {
        if matches!(result.get(), Some(Ok(()))) && session.status() == Status::SignedIn {
            leptos::task::spawn_local(async move {
                let _ = session.reload_me().await;
            });
        }
    });
    view! {
        <main class="centered">
            <section class="card auth">
                <Suspense fallback=|| view! { <Spinner label="Verifying your email address…" /> }>
                    {move || result.get().map(|r| match r {
                        Ok(()) => view! {
                            <h1>"Email address verified"</h1>
                            <p class="banner success" role="status">"Thank you: your email address is verified."</p>
                            <A href="/">"Continue to Incident Insights"</A>
                        }.into_any(),
                        Err(e) => view! {
                            <h1>"This link cannot be used"</h1>
                            <p class="banner error" role="alert">{link_failure(&e)}</p>
                            <p class="muted">"Signed in, you can ask for a new link from the notice at the top of the app."</p>
                            <A href="/">"Go to Incident Insights"</A>
                        }.into_any(),
                    })}
                </Suspense>
            </section>
        </main>
    }
}

/// `/forgot-password`: asks for a reset link; the answer reads the same whether or not the address has an
/// account.
#[component]
pub fn ForgotPassword() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let sent = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = ForgotPasswordIn {
            email: email.get_untracked(),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::auth::forgot_password(&body).await {
                Ok(out) => sent.set(Some(out.message)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <main class="centered">
            <section class="card auth">
                <h1>"Forgot your password?"</h1>
                {move || match sent.get() {
                    Some(message) => view! {
                        <p class="banner success" role="status">{message}</p>
                        <A href="/login">"Back to log in"</A>
                    }.into_any(),
                    None => view! {
                        <p class="muted">"Enter the address of your account: we will email you a link to choose a new password."</p>
                        <form on:submit=submit novalidate>
                            <TextField id="email" label="Email" value=email kind="email" autocomplete="email" required=true error=field_error(error, "email") />
                            <ErrorBanner error=error.into() />
                            <SubmitButton label="Email me a link" busy_label="Sending…" busy=busy.into() />
                        </form>
                        <p class="muted"><A href="/login">"Back to log in"</A></p>
                    }.into_any(),
                }}
            </section>
        </main>
    }
}

/// `/reset-password#token=…`: chooses a new password; every session of the account ends.
#[component]
pub fn ResetPassword() -> impl IntoView {
    let token = take_link_token().unwrap_or_default();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = ResetPasswordIn {
            token: token.clone(),
            new_password: password.get_untracked(),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::auth::reset_password(&body).await {
                Ok(()) => done.set(true),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let link_error = move || error.get().filter(|e| e.field("token").is_some());
    view! {
        <main class="centered">
            <section class="card auth">
                <h1>"Choose a new password"</h1>
                <Show
                    when=move || done.get()
                    fallback=move || view! {
                        <form on:submit=submit.clone() novalidate>
                            <TextField id="new_password" label="New password (12 characters or more)" value=password kind="password" autocomplete="new-password" required=true error=field_error(error, "new_password") />
                            <ErrorBanner error=error.into() />
                            {move || link_error().map(|e| view! {
                                <p class="banner error" role="alert">{link_failure(&e)}</p>
                                <A href="/forgot-password">"Ask for a new link"</A>
                            })}
                            <SubmitButton label="Set the new password" busy_label="Saving…" busy=busy.into() />
                        </form>
                    }
                >
                    <p class="banner success" role="status">
                        "Your password is changed, and every session of your account was signed out."
                    </p>
                    <A href="/login">"Log in with the new password"</A>
                </Show>
            </section>
        </main>
    }
}

/// Above every signed-in page while the account's address is not verified: says so, and sends the link
/// again on request.
#[component]
pub fn UnverifiedNotice() -> impl IntoView {
    let session = use_session();
    let unverified = move || session.me().is_some_and(|me| !me.email_verified);
    let sent = RwSignal::new(None::<Result<String, ApiFailure>>);
    let busy = RwSignal::new(false);
    let resend = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::me::send_verification_email(session).await;
            sent.set(Some(r.map(|out| out.message)));
            busy.set(false);
        });
    };
    view! {
        <Show when=unverified>
            <div class="banner unverified" role="status">
                {move || session.me().map(|me| format!(
                    "Confirm your email address: open the link we sent to {}. Until then you cannot join other organizations.",
                    me.user.email
                ))}
                " "
                <button class="btn ghost" on:click=resend disabled=move || busy.get()>"Send the link again"</button>
                {move || sent.get().map(|r| match r {
                    Ok(message) => view! { <p class="muted">{message}</p> }.into_any(),
                    Err(e) => view! { <p class="error">{e.message()}</p> }.into_any(),
                })}
            </div>
        </Show>
    }
}
