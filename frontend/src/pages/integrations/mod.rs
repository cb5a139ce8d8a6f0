//! Integrations: a card per connected tool (status, the live progress of its sync, and for admins and owners
//! the actions and settings), a connect wizard per tool, and the one-click sample history. The page polls the
//! list while a sync (or a deletion) is under way, and stops once everything is idle.

mod card;
mod connect;
mod progress;
pub mod sample;
mod settings;
mod webhook;

use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner};
use crate::layout::use_org;
use crate::session::{Session, use_session};
use crate::time;
use card::IntegrationCard;
use connect::ConnectWizard;
use insights_types::api::{
    IntegrationKind, IntegrationOptions, IntegrationOut, IntegrationPatch, IntegrationStatus,
};
use insights_types::{IntegrationId, OrgId, Permission};
use leptos::prelude::*;
use sample::SampleHistory;
use std::time::Duration;

/// How often the list is read again while something runs.
const POLL: Duration = Duration::from_millis(1200);

/// The page's state, shared by its cards and the wizard: the integrations as last read, and the polling loop.
#[derive(Clone, Copy)]
pub struct Board {
    pub org: OrgId,
    session: Session,
    pub list: RwSignal<Vec<IntegrationOut>>,
    loaded: RwSignal<bool>,
    error: RwSignal<Option<ApiFailure>>,
    polling: StoredValue<bool>,
    /// Now, to the minute: relative times ("in 12 min") follow it.
    pub clock: RwSignal<chrono::DateTime<chrono::Utc>>,
}

/// Whether the integration is doing something worth watching.
fn busy(i: &IntegrationOut) -> bool {
    matches!(
        i.status,
        IntegrationStatus::Backfilling | IntegrationStatus::Syncing | IntegrationStatus::Deleting
    ) || i.current_run.as_ref().is_some_and(|r| r.state.is_active())
}

impl Board {
    fn new(org: OrgId, session: Session) -> Self {
        Self {
            org,
            session,
            list: RwSignal::new(Vec::new()),
            loaded: RwSignal::new(false),
            error: RwSignal::new(None),
            polling: StoredValue::new(false),
            clock: RwSignal::new(time::now()),
        }
    }

    /// Moves the clock every half minute until the page is left.
    fn tick(self) {
        leptos::task::spawn_local(async move {
            loop {
                time::sleep(Duration::from_secs(30)).await;
                if self.clock.try_set(time::now()).is_some() {
                    return;
                }
            }
        });
    }

    /// The signed-in user's session, for the page's requests.
    #[must_use]
    pub fn session(&self) -> Session {
        self.session
    }

    /// Changes an integration (`PATCH`) and shows the answer.
    pub async fn patch(
        self,
        id: IntegrationId,
        patch: &IntegrationPatch,
    ) -> api::ApiResult<IntegrationOut> {
        let out = api::integrations::update_integration(self.session, self.org, id, patch).await?;
        self.put(out.clone());
        Ok(out)
    }

    /// One integration, as last read.
    pub fn get(&self, id: IntegrationId) -> Signal<Option<IntegrationOut>> {
        let list = self.list;
        Signal::derive(move || list.with(|l| l.iter().find(|i| i.id == id).cloned()))
    }

    /// Reads the list once; `false` when the page is gone.
    async fn fetch(self) -> bool {
        let r = api::integrations::list_integrations(self.session, self.org).await;
        match r {
            Ok(page) => {
                let gone = self.list.try_set(page.items).is_some();
                let _ = self.loaded.try_set(true);
                let _ = self.error.try_set(None);
                !gone
            }
            Err(e) => self.error.try_set(Some(e)).is_none(),
        }
    }

    /// Reads the list now, then keeps reading it while something runs.
    pub fn refresh(self) {
        leptos::task::spawn_local(async move {
            if self.fetch().await {
                self.watch();
            }
        });
    }

    /// Puts an answer in the list (a new integration, or a changed one) and watches it if it runs.
    pub fn put(self, out: IntegrationOut) {
        self.list
            .update(|l| match l.iter_mut().find(|i| i.id == out.id) {
                Some(i) => *i = out,
                None => l.push(out),
            });
        self.watch();
    }

    /// Takes an integration off the list (it was disconnected).
    pub fn remove(self, id: IntegrationId) {
        self.list.update(|l| l.retain(|i| i.id != id));
    }

    /// Starts the polling loop unless it runs already or nothing is busy. The loop ends when everything is
    /// idle, or when the page is left.
    fn watch(self) {
        let idle = self
            .list
            .try_with_untracked(|l| !l.iter().any(busy))
            .unwrap_or(true);
        if idle || self.polling.try_get_value() != Some(false) {
            return;
        }
        self.polling.set_value(true);
        leptos::task::spawn_local(async move {
            loop {
                time::sleep(POLL).await;
                if !self.fetch().await {
                    return;
                }
                let idle = self
                    .list
                    .try_with_untracked(|l| !l.iter().any(busy))
                    .unwrap_or(true);
                if idle {
                    break;
                }
            }
            let _ = self.polling.try_set_value(false);
        });
    }
}

/// The `since` of either kind's options.
#[must_use]
pub fn options_since(o: &IntegrationOptions) -> Option<chrono::DateTime<chrono::Utc>> {
    match o {
        IntegrationOptions::Pagerduty(p) => p.since,
        IntegrationOptions::Opsgenie(o) => o.since,
    }
}

/// Ids typed into a text field, separated by commas, spaces or lines.
#[must_use]
pub fn split_ids(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn focus_by_id(id: &str) {
    use wasm_bindgen::JsCast;
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// The organization of the page, and whether the signed-in user may manage its integrations.
pub(crate) fn org_and_permission() -> (OrgId, Session, impl Fn() -> bool + Copy) {
    let session = use_session();
    let org = use_org()
        .get_untracked()
        .expect("integration pages render under /orgs/:org");
    let allowed = move || {
        session
            .role_in(org)
            .is_some_and(|r| r.can(Permission::ManageIntegrations))
    };
    (org, session, allowed)
}

/// `/orgs/:org/integrations`: the connected tools, connecting another, and the sample history.
#[component]
pub fn Integrations() -> impl IntoView {
    let (org, session, allowed) = org_and_permission();
    let board = Board::new(org, session);
    board.refresh();
    board.tick();
    let wizard = RwSignal::new(None::<IntegrationKind>);
    let ids = move || {
        board
            .list
            .with(|l| l.iter().map(|i| i.id).collect::<Vec<_>>())
    };
    view! {
        <h1>"Integrations"</h1>
        <Show when=allowed>
            {move || match wizard.get() {
                Some(kind) => view! { <ConnectWizard board kind close=move || {
                    wizard.set(None);
                    // Back to the button that opened the wizard, once it is drawn again.
                    request_animation_frame(move || focus_by_id(&format!("connect-{}", kind.as_str())));
                } /> }.into_any(),
                None => view! {
                    <section class="card connect" aria-labelledby="connect-title">
                        <h2 id="connect-title">"Connect a tool"</h2>
                        <p>"Import your whole incident history from PagerDuty or Opsgenie, then keep it in sync. You need an API key with read access."</p>
                        <div class="connect-buttons">
                            <button class="btn primary" id="connect-pagerduty" on:click=move |_| wizard.set(Some(IntegrationKind::Pagerduty))>"Connect PagerDuty"</button>
                            <button class="btn primary" id="connect-opsgenie" on:click=move |_| wizard.set(Some(IntegrationKind::Opsgenie))>"Connect Opsgenie"</button>
                        </div>
                    </section>
                }.into_any(),
            }}
        </Show>
        <ErrorBanner error=board.error.into() />
        <Show when=move || board.loaded.get() fallback=|| view! { <Spinner label="Loading integrations…" /> }>
            <Show when=move || !ids().is_empty() fallback=move || view! {
                <Show when=move || !allowed()>
                    <section class="card"><p class="muted">"No tool is connected yet. Admins and owners can connect PagerDuty or Opsgenie here."</p></section>
                </Show>
            }>
                <h2 class="section-title">"Connected"</h2>
                <For each=ids key=|id| *id let:id>
                    <IntegrationCard board id />
                </For>
            </Show>
        </Show>
        <SampleHistory />
    }
}
