//! Sign up, log in, and the invitation link (`/join?token=…`), for signed-in and signed-out visitors.

use crate::api::{self, ApiFailure, ApiResult};
use crate::components::{ErrorBanner, Spinner, SubmitButton, TextField, field_error};
use crate::session::{Session, Status, use_session};
use insights_types::api::{AuthOut, InvitationTokenIn, LoginIn, SignupIn};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

/// Where to go after signing in: `?next=` when it is a local path, else `/`.
fn next_path() -> String {
    let q = use_query_map();
    q.get_untracked()
        .get("next")
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/".to_owned())
}

/// Sends a sign-up or login form (`request`). On success: signs in, loads the memberships and goes to `next`
/// (or, without one, to the organization just joined). On failure: shows the error and re-enables the form.
async fn authenticate(
    session: Session,
    request: impl Future<Output = ApiResult<AuthOut>>,
    next: Option<String>,
    navigate: impl Fn(&str, NavigateOptions),
    error: RwSignal<Option<ApiFailure>>,
    busy: RwSignal<bool>,
) {
    match request.await {
        Ok(out) => {
            session.signed_in(&out);
            let _ = session.reload_me().await;
            let target = next.unwrap_or_else(|| {
                out.organization
                    .as_ref()
                    .map_or_else(|| "/".to_owned(), |o| format!("/orgs/{}/dashboard", o.id))
            });
            navigate(
                &target,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
        Err(e) => {
            error.set(Some(e));
            busy.set(false);
        }
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let session = use_session();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let navigate = use_navigate();
    let next = next_path();
    let signup_href = format!("/signup?next={}", js_sys::encode_uri_component(&next));
    {
        let (navigate, next) = (navigate.clone(), next.clone());
        Effect::new(move |_| {
            if session.status() == Status::SignedIn {
                navigate(
                    &next,
                    NavigateOptions {
                        replace: true,
                        ..Default::default()
                    },
                );
            }
        });
    }
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = LoginIn {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        let (navigate, next) = (navigate.clone(), next.clone());
        busy.set(true);
        leptos::task::spawn_local(async move {
            authenticate(
                session,
                api::auth::login(&body),
                Some(next),
                navigate,
                error,
                busy,
            )
            .await;
        });
    };
    view! {
        <main class="centered">
            <section class="card auth">
                <h1>"Log in"</h1>
                <form on:submit=submit novalidate>
                    <TextField id="email" label="Email" value=email kind="email" autocomplete="email" required=true error=field_error(error, "email") />
                    <TextField id="password" label="Password" value=password kind="password" autocomplete="current-password" required=true error=field_error(error, "password") />
                    <ErrorBanner error=error.into() />
                    <SubmitButton label="Log in" busy_label="Logging in…" busy=busy.into() />
                </form>
                <p class="muted">"New here? " <A href=signup_href>"Create an account"</A></p>
            </section>
        </main>
    }
}

#[component]
pub fn Signup() -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let org = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let navigate = use_navigate();
    let next = next_path();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = SignupIn {
            email: email.get_untracked(),
            password: password.get_untracked(),
            name: name.get_untracked(),
            organization_name: Some(org.get_untracked()),
            invitation_token: None,
        };
        let (navigate, next) = (navigate.clone(), next.clone());
        busy.set(true);
        leptos::task::spawn_local(async move {
            authenticate(
                session,
                api::auth::signup(&body),
                Some(next),
                navigate,
                error,
                busy,
            )
            .await;
        });
    };
    view! {
        <main class="centered">
            <section class="card auth">
                <h1>"Create your account"</h1>
                <form on:submit=submit novalidate>
                    <TextField id="name" label="Your name" value=name autocomplete="name" required=true error=field_error(error, "name") />
                    <TextField id="email" label="Work email" value=email kind="email" autocomplete="email" required=true error=field_error(error, "email") />
                    <TextField id="password" label="Password (12 characters or more)" value=password kind="password" autocomplete="new-password" required=true error=field_error(error, "password") />
                    <TextField id="organization_name" label="Organization name" value=org autocomplete="organization" required=true error=field_error(error, "organization_name") />
                    <ErrorBanner error=error.into() />
                    <SubmitButton label="Create account" busy_label="Creating…" busy=busy.into() />
                </form>
                <p class="muted">"Already have an account? " <A href="/login">"Log in"</A></p>
            </section>
        </main>
    }
}

/// `/join?token=…`: what the invitation is, then accept it (signed in) or sign up through it.
#[component]
pub fn Join() -> impl IntoView {
    let session = use_session();
    let token = use_query_map()
        .get_untracked()
        .get("token")
        .unwrap_or_default();
    let preview = {
        let token = token.clone();
        LocalResource::new(move || {
            let token = token.clone();
            async move { api::invitations::lookup_invitation(&InvitationTokenIn { token }).await }
        })
    };
    view! {
        <main class="centered">
            <section class="card auth">
                <Suspense fallback=|| view! { <Spinner label="Opening the invitation…" /> }>
                    {move || {
                        let token = token.clone();
                        preview.get().map(move |p| match p {
                            Err(e) => view! {
                                <h1>"This invitation cannot be used"</h1>
                                <p class="banner error" role="alert">
                                    {if e.status == 404 { "This invitation link is not valid.".to_owned() } else { e.message() }}
                                </p>
                                <A href="/">"Go to Incident Insights"</A>
                            }.into_any(),
                            Ok(p) => view! {
                                <h1>{format!("Join {}", p.organization.name)}</h1>
                                <p>{format!("You were invited as {} ({}).", p.role, p.email)}</p>
                                {move || match session.status() {
                                    Status::SignedIn => view! { <AcceptAsSignedIn token=token.clone() /> }.into_any(),
                                    Status::Checking => view! { <Spinner /> }.into_any(),
                                    Status::SignedOut => view! { <SignupThroughInvitation token=token.clone() email=p.email.clone() /> }.into_any(),
                                }}
                            }.into_any(),
                        })
                    }}
                </Suspense>
            </section>
        </main>
    }
}

#[component]
fn AcceptAsSignedIn(token: String) -> impl IntoView {
    let session = use_session();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let navigate = use_navigate();
    let accept = move |_| {
        let body = InvitationTokenIn {
            token: token.clone(),
        };
        let navigate = navigate.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::invitations::accept_invitation(session, &body).await {
                Ok(me) => {
                    let org = me.memberships.last().map(|m| m.organization.id);
                    session.set_me(me);
                    let target =
                        org.map_or_else(|| "/".to_owned(), |o| format!("/orgs/{o}/dashboard"));
                    navigate(&target, NavigateOptions::default());
                }
                Err(e) => {
                    error.set(Some(e));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <p class="muted">{move || session.me().map(|m| format!("Signed in as {}.", m.user.email))}</p>
        <ErrorBanner error=error.into() />
        <button class="btn primary" on:click=accept disabled=move || busy.get()>
            {move || if busy.get() { "Joining…" } else { "Accept invitation" }}
        </button>
    }
}

#[component]
fn SignupThroughInvitation(token: String, email: String) -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let email_value = RwSignal::new(email.clone());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let navigate = use_navigate();
    let login_href = format!(
        "/login?next={}",
        js_sys::encode_uri_component(&format!("/join?token={token}"))
    );
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = SignupIn {
            email: email_value.get_untracked(),
            password: password.get_untracked(),
            name: name.get_untracked(),
            organization_name: None,
            invitation_token: Some(token.clone()),
        };
        let navigate = navigate.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            authenticate(
                session,
                api::auth::signup(&body),
                None,
                navigate,
                error,
                busy,
            )
            .await;
        });
    };
    view! {
        <form on:submit=submit novalidate>
            <div class="field">
                <label for="email">"Email"</label>
                <input id="email" type="email" prop:value=email readonly=true />
            </div>
            <TextField id="name" label="Your name" value=name autocomplete="name" required=true error=field_error(error, "name") />
            <TextField id="password" label="Choose a password (12 characters or more)" value=password kind="password" autocomplete="new-password" required=true error=field_error(error, "password") />
            <ErrorBanner error=error.into() />
            <SubmitButton label="Create account and join" busy_label="Joining…" busy=busy.into() />
        </form>
        <p class="muted">"Already have an account? " <A href=login_href>"Log in to accept"</A></p>
    }
}
