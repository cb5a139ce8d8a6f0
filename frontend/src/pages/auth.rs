//! Sign up, log in, and the invitation link (`/join#token=…`), for signed-in and signed-out visitors.

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
        .filter(|n| insights_types::domain::local_redirect(n).is_some())
        .unwrap_or_else(|| "/".to_owned())
}

/// A sign-up or login form: its error and busy state, and where it goes once signed in.
#[derive(Clone)]
struct AuthForm<N> {
    session: Session,
    error: RwSignal<Option<ApiFailure>>,
    busy: RwSignal<bool>,
    /// Where to go after signing in; without it, to the organization just joined.
    next: Option<String>,
    navigate: N,
}

/// The state of a new sign-up or login form that goes to `next` once signed in.
fn auth_form(next: Option<String>) -> AuthForm<impl Fn(&str, NavigateOptions) + Clone + 'static> {
    AuthForm {
        session: use_session(),
        error: RwSignal::new(None),
        busy: RwSignal::new(false),
        next,
        navigate: use_navigate(),
    }
}

impl<N: Fn(&str, NavigateOptions) + Clone + 'static> AuthForm<N> {
    /// Sends the form (`request`, not started yet), disabled meanwhile. On success: signs in, loads the
    /// memberships and goes to `next` (or, without one, to the organization just joined). On failure: shows
    /// the error and re-enables the form.
    fn send(&self, request: impl Future<Output = ApiResult<AuthOut>> + 'static) {
        let Self {
            session,
            error,
            busy,
            next,
            navigate,
        } = self.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
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
        });
    }
}

/// `/login?next=…`: signs in, then goes to `next` (a visitor already signed in goes there at once).
#[component]
pub fn Login() -> impl IntoView {
    let session = use_session();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let next = next_path();
    let form = auth_form(Some(next.clone()));
    let (busy, error) = (form.busy, form.error);
    let signup_href = format!("/signup?next={}", js_sys::encode_uri_component(&next));
    let navigate = use_navigate();
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
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = LoginIn {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        form.send(async move { api::auth::login(&body).await });
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
                <p class="muted"><A href="/forgot-password">"Forgot your password?"</A></p>
                <p class="muted">"New here? " <A href=signup_href>"Create an account"</A></p>
            </section>
        </main>
    }
}

/// `/signup?next=…`: creates an account with its first organization, then goes to `next`.
#[component]
pub fn Signup() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let org = RwSignal::new(String::new());
    let form = auth_form(Some(next_path()));
    let (busy, error) = (form.busy, form.error);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = SignupIn {
            email: email.get_untracked(),
            password: password.get_untracked(),
            name: name.get_untracked(),
            organization_name: Some(org.get_untracked()),
            invitation_token: None,
        };
        form.send(async move { api::auth::signup(&body).await });
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

/// Where the invitation token waits while its visitor logs in first (this tab only, gone when it closes):
/// the token never goes into a URL that a server sees, not even as `?next=`.
const INVITATION_KEY: &str = "insights.invitation";

fn tab_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The invitation token of the link just opened (moved out of the address bar into this tab's storage), or
/// the one kept from earlier in this tab.
fn invitation_token() -> String {
    let storage = tab_storage();
    match crate::pages::account::take_link_token() {
        Some(token) => {
            if let Some(s) = &storage {
                let _ = s.set_item(INVITATION_KEY, &token);
            }
            token
        }
        None => storage
            .and_then(|s| s.get_item(INVITATION_KEY).ok().flatten())
            .unwrap_or_default(),
    }
}

/// Forgets the kept invitation token once it has been used.
fn forget_invitation() {
    if let Some(s) = tab_storage() {
        let _ = s.remove_item(INVITATION_KEY);
    }
}

/// `/join#token=…`: what the invitation is, then accept it (signed in) or sign up through it.
#[component]
pub fn Join() -> impl IntoView {
    let session = use_session();
    let token = invitation_token();
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
                    forget_invitation();
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
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let email_value = RwSignal::new(email.clone());
    let form = auth_form(None);
    let (busy, error) = (form.busy, form.error);
    let login_href = format!("/login?next={}", js_sys::encode_uri_component("/join"));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = SignupIn {
            email: email_value.get_untracked(),
            password: password.get_untracked(),
            name: name.get_untracked(),
            organization_name: None,
            invitation_token: Some(token.clone()),
        };
        form.send(async move {
            let out = api::auth::signup(&body).await;
            if out.is_ok() {
                forget_invitation();
            }
            out
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
