//! The session: who is signed in, their organizations, and the access token — in memory only (the refresh
//! token lives in an `HttpOnly` cookie the app cannot read). Provided to every component as context.

use crate::api::{self, ApiFailure};
use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use insights_types::api::{AuthOut, MeOut, TokenOut};
use insights_types::{OrgId, Role};
use leptos::prelude::*;
use std::time::Duration;

#[derive(Clone, Debug, Default)]
struct Token {
    value: Option<String>,
    /// When the access token expires, and how long it lived (ms).
    expires_at: f64,
    ttl: f64,
    /// Bumped on every new token, so a stale refresh timer does nothing.
    generation: u64,
}

type RefreshFuture = Shared<LocalBoxFuture<'static, Result<(), ApiFailure>>>;

/// Whether the app knows yet if someone is signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Checking,
    SignedIn,
    SignedOut,
}

/// A cheap, copyable handle to the session state. The token is kept apart from what the interface shows, so
/// a silent refresh re-renders nothing.
#[derive(Clone, Copy)]
pub struct Session {
    token: StoredValue<Token>,
    me: RwSignal<Option<MeOut>>,
    status: RwSignal<Status>,
    /// The refresh under way, shared by every caller: one refresh cookie must never be sent twice.
    refreshing: StoredValue<Option<RefreshFuture>, LocalStorage>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Session {
    /// A session that does not know yet whether anyone is signed in.
    #[must_use]
    pub fn new() -> Self {
        Self {
            token: StoredValue::new(Token::default()),
            me: RwSignal::new(None),
            status: RwSignal::new(Status::Checking),
            refreshing: StoredValue::new_local(None),
        }
    }

    /// Whether someone is signed in (tracked).
    #[must_use]
    pub fn status(&self) -> Status {
        self.status.get()
    }

    /// The access token, if any (not tracked).
    #[must_use]
    pub fn token(&self) -> Option<String> {
        self.token.with_value(|t| t.value.clone())
    }

    /// The signed-in user and their memberships (tracked).
    #[must_use]
    pub fn me(&self) -> Option<MeOut> {
        self.me.get()
    }

    /// The caller's role in `org`, if a member.
    #[must_use]
    pub fn role_in(&self, org: OrgId) -> Option<Role> {
        self.me.with(|m| {
            m.as_ref().and_then(|m| {
                m.memberships
                    .iter()
                    .find(|x| x.organization.id == org)
                    .map(|x| x.role)
            })
        })
    }

    /// True when the token has less than a third of its life (at most 30 s) left.
    #[must_use]
    pub fn expires_soon(&self) -> bool {
        self.token.with_value(|t| {
            t.value.is_some() && t.expires_at - now_ms() < (t.ttl / 3.0).min(30_000.0)
        })
    }

    fn set_token(&self, token: String, expires_in: i64) {
        let ttl = (expires_in * 1000).max(1000);
        let generation = self.token.with_value(|t| t.generation) + 1;
        self.token.set_value(Token {
            value: Some(token),
            expires_at: now_ms() + ttl as f64,
            ttl: ttl as f64,
            generation,
        });
        // Refresh silently a minute before expiry (or at two thirds of a short lifetime).
        let wait = (ttl - 60_000).max(ttl * 2 / 3);
        let this = *self;
        set_timeout(
            move || {
                if this.token.with_value(|t| t.generation) == generation {
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

    /// Replaces the user and memberships (after a change of name, or joining an organization).
    pub fn set_me(&self, me: MeOut) {
        self.me.set(Some(me));
    }

    /// Gets a new access token from the refresh cookie; concurrent callers share one request.
    pub async fn refresh(&self) -> api::ApiResult<()> {
        if let Some(running) = self.refreshing.with_value(Clone::clone) {
            return running.await;
        }
        let this = *self;
        let fut: RefreshFuture = async move {
            let result = match api::auth::refresh().await {
                Ok(TokenOut {
                    access_token,
                    expires_in,
                    ..
                }) => {
                    this.set_token(access_token, expires_in);
                    Ok(())
                }
                Err(e) => {
                    if e.status == 401 {
                        this.sign_out_locally();
                    }
                    Err(e)
                }
            };
            this.refreshing.set_value(None);
            result
        }
        .boxed_local()
        .shared();
        self.refreshing.set_value(Some(fut.clone()));
        fut.await
    }

    /// Reloads the user and memberships.
    pub async fn reload_me(&self) -> api::ApiResult<()> {
        let me = api::me::get_me(*self).await?;
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
        self.token.set_value(Token::default());
        self.me.set(None);
        self.status.set(Status::SignedOut);
    }

    /// Ends the session on the server too.
    pub async fn log_out(&self) {
        let _ = api::auth::logout().await;
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
