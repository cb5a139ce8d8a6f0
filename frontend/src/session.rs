//! The session: who is signed in, their organizations, and the access token — in memory only (the refresh
//! token lives in an `HttpOnly` cookie the app cannot read). Provided to every component as context.

use crate::api;
use insights_types::api::{AuthOut, MeOut, TokenOut};
use insights_types::{OrgId, Role};
use leptos::prelude::*;
use std::time::Duration;

#[derive(Clone, Debug, Default)]
struct Inner {
    token: Option<String>,
    /// When the access token expires (ms since the epoch).
    expires_at: f64,
    me: Option<MeOut>,
    /// Bumped on every new token, so a stale refresh timer does nothing.
    generation: u64,
}

/// Whether the app knows yet if someone is signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Checking,
    SignedIn,
    SignedOut,
}

/// A cheap, copyable handle to the session state.
#[derive(Clone, Copy)]
pub struct Session {
    inner: RwSignal<Inner>,
    status: RwSignal<Status>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Session {
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: RwSignal::new(Inner::default()),
            status: RwSignal::new(Status::Checking),
        }
    }

    #[must_use]
    pub fn status(&self) -> Status {
        self.status.get()
    }

    #[must_use]
    pub fn token(&self) -> Option<String> {
        self.inner.with_untracked(|i| i.token.clone())
    }

    #[must_use]
    pub fn me(&self) -> Option<MeOut> {
        self.inner.with(|i| i.me.clone())
    }

    /// The caller's role in `org`, if a member.
    #[must_use]
    pub fn role_in(&self, org: OrgId) -> Option<Role> {
        self.inner.with(|i| {
            i.me.as_ref().and_then(|m| {
                m.memberships
                    .iter()
                    .find(|x| x.organization.id == org)
                    .map(|x| x.role)
            })
        })
    }

    /// True when the token expires within 30 seconds.
    #[must_use]
    pub fn expires_soon(&self) -> bool {
        self.inner
            .with_untracked(|i| i.token.is_some() && i.expires_at - now_ms() < 30_000.0)
    }

    fn set_token(&self, token: String, expires_in: i64) {
        let generation = self.inner.with_untracked(|i| i.generation) + 1;
        self.inner.update(|i| {
            i.token = Some(token);
            i.expires_at = now_ms() + expires_in as f64 * 1000.0;
            i.generation = generation;
        });
        // Refresh silently a minute before expiry (or at two thirds of a short lifetime).
        let ttl_ms = (expires_in * 1000).max(1000);
        let wait = (ttl_ms - 60_000).max(ttl_ms * 2 / 3);
        let this = *self;
        set_timeout(
            move || {
                if this.inner.with_untracked(|i| i.generation) == generation {
                    leptos::task::spawn_local(async move {
                        let _ = this.refresh().await;
                    });
                }
            },
            Duration::from_millis(wait as u64),
        );
    }

    /// After sign-up or login.
    pub fn signed_in(&self, out: &AuthOut) {
        self.set_token(out.access_token.clone(), out.expires_in);
        self.status.set(Status::SignedIn);
    }

    pub fn set_me(&self, me: MeOut) {
        self.inner.update(|i| i.me = Some(me));
    }

    /// Gets a new access token from the refresh cookie.
    pub async fn refresh(&self) -> api::ApiResult<()> {
        match api::refresh_token().await {
            Ok(TokenOut {
                access_token,
                expires_in,
                ..
            }) => {
                self.set_token(access_token, expires_in);
                Ok(())
            }
            Err(e) => {
                if e.status == 401 {
                    self.sign_out_locally();
                }
                Err(e)
            }
        }
    }

    /// Reloads the user and memberships.
    pub async fn reload_me(&self) -> api::ApiResult<()> {
        let me: MeOut = api::get(*self, "/api/v1/me").await?;
        self.set_me(me);
        Ok(())
    }

    /// On start: a refresh cookie may still hold a session.
    pub async fn restore(&self) {
        if self.refresh().await.is_ok() && self.reload_me().await.is_ok() {
            self.status.set(Status::SignedIn);
        } else {
            self.sign_out_locally();
        }
    }

    /// Forgets everything in memory (the server-side session may already be gone).
    pub fn sign_out_locally(&self) {
        self.inner.set(Inner::default());
        self.status.set(Status::SignedOut);
    }

    /// Ends the session on the server too.
    pub async fn log_out(&self) {
        let _: api::ApiResult<()> =
            api::anonymous("POST", "/api/v1/auth/logout", None::<&()>).await;
        self.sign_out_locally();
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// The session from context.
#[must_use]
pub fn use_session() -> Session {
    expect_context::<Session>()
}
