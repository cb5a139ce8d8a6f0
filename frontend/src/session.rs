//! The session: who is signed in, their organizations, and the access token — in memory only (the refresh
//! token lives in an `HttpOnly` cookie the app cannot read). Provided to every component as context.
//!
//! Every tab of the app shares one refresh cookie, so refreshes are coordinated across tabs: a Web Lock
//! (`navigator.locks`) lets one tab refresh at a time, and it posts the new access token on a
//! `BroadcastChannel`; a tab that waited for the lock adopts that token instead of sending the cookie again.
//! (The server also answers a second use of the same cookie within a short grace window with the same
//! successor, for browsers without Web Locks.) A logout is broadcast too.

use crate::api::{self, ApiFailure};
use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use insights_types::api::{AuthOut, MeOut, TokenOut};
use insights_types::{OrgId, Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;

/// The Web Lock held while a tab refreshes.
const REFRESH_LOCK: &str = "insights-refresh";
/// The channel tabs tell each other about new tokens and logouts on.
const CHANNEL: &str = "insights-session";

/// What one tab tells the others.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum TabMessage {
    Token {
        access_token: String,
        expires_in: i64,
    },
    SignedOut,
}

/// An access token another tab got, and when it arrived (ms).
#[derive(Clone)]
struct Received {
    access_token: String,
    expires_in: i64,
    at: f64,
}

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
    /// The channel to the other tabs (absent where the browser has none).
    channel: StoredValue<Option<web_sys::BroadcastChannel>, LocalStorage>,
    /// The last token another tab broadcast.
    received: StoredValue<Option<Received>>,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

impl Session {
    /// A session that does not know yet whether anyone is signed in.
    #[must_use]
    pub fn new() -> Self {
        let this = Self {
            token: StoredValue::new(Token::default()),
            me: RwSignal::new(None),
            status: RwSignal::new(Status::Checking),
            refreshing: StoredValue::new_local(None),
            channel: StoredValue::new_local(None),
            received: StoredValue::new(None),
        };
        this.listen_to_other_tabs();
        this
    }

    fn listen_to_other_tabs(self) {
        let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
            return;
        };
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                let Some(message) = event
                    .data()
                    .as_string()
                    .and_then(|s| serde_json::from_str::<TabMessage>(&s).ok())
                else {
                    return;
                };
                match message {
                    TabMessage::Token {
                        access_token,
                        expires_in,
                    } => {
                        self.received.set_value(Some(Received {
                            access_token: access_token.clone(),
                            expires_in,
                            at: now_ms(),
                        }));
                        // The same session: take the newer token, which also moves this tab's refresh timer.
                        if self.status.get_untracked() == Status::SignedIn {
                            self.set_token(access_token, expires_in);
                        }
                    }
                    TabMessage::SignedOut => self.sign_out_locally(),
                }
            },
        );
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // Lives as long as the app.
        on_message.forget();
        self.channel.set_value(Some(channel));
    }

    fn tell_other_tabs(&self, message: &TabMessage) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        self.channel.with_value(|c| {
            if let Some(c) = c {
                let _ = c.post_message(&JsValue::from_str(&text));
            }
        });
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

    /// Gets a new access token from the refresh cookie; concurrent callers share one request, and across tabs
    /// one tab refreshes while the others wait for its token.
    pub async fn refresh(&self) -> api::ApiResult<()> {
        if let Some(running) = self.refreshing.with_value(Clone::clone) {
            return running.await;
        }
        let this = *self;
        let fut: RefreshFuture = async move {
            let asked = now_ms();
            let result = with_lock(
                REFRESH_LOCK,
                async move {
                    // Another tab refreshed while this one waited for the lock: its token is this session's.
                    if let Some(r) = this.received.get_value().filter(|r| r.at >= asked) {
                        this.set_token(r.access_token, r.expires_in);
                        return Ok(());
                    }
                    match api::auth::refresh().await {
                        Ok(TokenOut {
                            access_token,
                            expires_in,
                            ..
                        }) => {
                            this.tell_other_tabs(&TabMessage::Token {
                                access_token: access_token.clone(),
                                expires_in,
                            });
                            this.set_token(access_token, expires_in);
                            Ok(())
                        }
                        Err(e) => {
                            if e.status == 401 {
                                this.sign_out_locally();
                            }
                            Err(e)
                        }
                    }
                }
                .boxed_local(),
            )
            .await;
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
        self.tell_other_tabs(&TabMessage::SignedOut);
        self.sign_out_locally();
    }
}

/// Runs `work` while holding the Web Lock `name`, which every tab of this origin shares (so they take turns);
/// directly where the browser has no Web Locks.
async fn with_lock<T: 'static>(name: &str, work: LocalBoxFuture<'static, T>) -> T {
    let work = Rc::new(RefCell::new(Some(work)));
    let out: Rc<RefCell<Option<T>>> = Rc::default();
    let locks = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &JsValue::from_str("locks")).ok())
        .filter(|l| l.is_object());
    let request = locks
        .as_ref()
        .and_then(|l| js_sys::Reflect::get(l, &JsValue::from_str("request")).ok())
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let (Some(locks), Some(request)) = (locks, request) {
        let (work_in, out_in) = (work.clone(), out.clone());
        // Called once the lock is granted; the lock is held until the promise it returns settles.
        let granted = Closure::once(move |_lock: JsValue| -> js_sys::Promise {
            wasm_bindgen_futures::future_to_promise(async move {
                let task = work_in.borrow_mut().take();
                if let Some(task) = task {
                    *out_in.borrow_mut() = Some(task.await);
                }
                Ok(JsValue::UNDEFINED)
            })
        });
        if let Ok(held) = request.call2(
            &locks,
            &JsValue::from_str(name),
            granted.as_ref().unchecked_ref(),
        ) {
            let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(held)).await;
        }
    }
    if let Some(done) = out.borrow_mut().take() {
        return done;
    }
    // No Web Locks, or the request failed before the work ran.
    let task = work.borrow_mut().take();
    match task {
        Some(task) => task.await,
        None => unreachable!("the work ran under the lock and stored its result"),
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
