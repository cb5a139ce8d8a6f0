//! One connected integration: what it is, its status, when it synced and syncs next, how many incidents it
//! brought, the live progress of its sync, and — for admins and owners — sync now, full re-import, cancel,
//! pause or resume, settings, webhook setup, and disconnect (keeping or deleting what it imported).

use super::Board;
use super::progress::{SyncProgress, status_badge};
use super::settings::SettingsForm;
use super::webhook::{WebhookSetup, webhook_state};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, trap_focus};
use crate::time;
use insights_types::api::{IntegrationOut, IntegrationPatch, IntegrationStatus, SyncMode};
use insights_types::{IntegrationId, Permission};
use leptos::prelude::*;
use leptos_router::components::A;

/// An action of the card's buttons.
#[derive(Clone, Copy, Debug)]
enum Action {
    Sync(SyncMode),
    Cancel,
    Pause(bool),
}

/// Which panel of the card is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Panel {
    None,
    Settings,
    Webhook,
}

/// The card of one integration of the board.
#[component]
pub fn IntegrationCard(board: Board, id: IntegrationId) -> impl IntoView {
    let session = board.session();
    let org = board.org;
    let manage = move || {
        session
            .role_in(org)
            .is_some_and(|r| r.can(Permission::ManageIntegrations))
    };
    let it = board.get(id);
    let run = Signal::derive(move || it.get().and_then(|i| i.current_run));
    let running = Memo::new(move |_| run.with(|r| r.as_ref().is_some_and(|r| r.state.is_active())));
    let running = move || running.get();
    let status = Memo::new(move |_| it.with(|i| i.as_ref().map(|i| i.status)));
    let deleting = move || status.get() == Some(IntegrationStatus::Deleting);
    let panel = RwSignal::new(Panel::None);
    let confirm = RwSignal::new(false);
    let acting = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let title_id = format!("integration-{id}");
    let disconnect_button = NodeRef::<leptos::html::Button>::new();

    // One action: a request, then the list read again (and watched while it runs).
    let act = move |action: Action| {
        acting.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let r = match action {
                Action::Sync(mode) => api::integrations::sync_integration(session, org, id, mode)
                    .await
                    .map(drop),
                Action::Cancel => api::integrations::cancel_sync(session, org, id)
                    .await
                    .map(drop),
                Action::Pause(paused) => {
                    let patch = IntegrationPatch {
                        paused: Some(paused),
                        ..IntegrationPatch::default()
                    };
                    board.patch(id, &patch).await.map(drop)
                }
            };
            let _ = acting.try_set(false);
            if let Err(e) = r {
                let _ = error.try_set(Some(e));
            }
            board.refresh();
        });
    };
    let toggle = move |p: Panel| panel.update(|v| *v = if *v == p { Panel::None } else { p });

    // Each fact is its own memo, so a poll only touches the text that changed (and never the focus).
    let fact = move |f: fn(&IntegrationOut) -> String| {
        Memo::new(move |_| it.with(|i| i.as_ref().map(f).unwrap_or_default()))
    };
    let name = fact(|i| i.name.clone());
    let kind = fact(|i| {
        let region = i
            .region
            .map(|r| format!(" · {} region", r.as_str().to_uppercase()))
            .unwrap_or_default();
        format!("{}{region}", i.kind.label())
    });
    let badge = fact(|i| status_badge(i.status).0.to_owned());
    let badge_class = fact(|i| format!("status {}", status_badge(i.status).1));
    let synced = fact(|i| {
        i.synced_until
            .map_or_else(|| "not yet".to_owned(), time::when)
    });
    let clock = board.clock;
    let next = Memo::new(move |_| {
        let now = clock.get();
        it.with(|i| match i.as_ref().map(|i| (i.status, i.next_sync_at)) {
            Some((IntegrationStatus::Paused, _)) => "paused".to_owned(),
            Some((_, Some(t))) => format!("{} ({})", time::relative(t, now), time::when(t)),
            _ => "—".to_owned(),
        })
    });
    let every = fact(|i| format!("{} min", i.sync_interval_minutes));
    let count = fact(|i| i.incidents.to_string());
    let hook = Memo::new(move |_| {
        clock.track();
        it.with(|i| i.as_ref().map(webhook_state).unwrap_or_default())
    });
    let last_error = fact(|i| i.last_error.clone().unwrap_or_default());
    let source = it
        .get_untracked()
        .map(|i| i.kind.source().as_str())
        .unwrap_or_default();
    let head = view! {
        <header class="integration-head">
            <div>
                <h2 id=title_id.clone()>{name}</h2>
                <p class="muted">{kind}</p>
            </div>
            <span class=badge_class>{badge}</span>
        </header>
        <dl class="facts">
            <dt>"Synced until"</dt><dd class="synced-until">{synced}</dd>
            <dt>"Next sync"</dt><dd>{next}</dd>
            <dt>"Every"</dt><dd>{every}</dd>
            <dt>"Incidents imported"</dt>
            <dd class="incident-count">
                {count}" "<A href=format!("/orgs/{org}/incidents?source={source}")>"See incidents"</A>
            </dd>
            <dt>"Webhook"</dt><dd>{hook}</dd>
        </dl>
        <Show when=move || status.get() == Some(IntegrationStatus::Failing)>
            <div class="banner error last-error" role="alert">
                <strong>"The last sync failed: "</strong>{last_error}" Syncs keep being tried on schedule."
            </div>
        </Show>
    };

    view! {
        <article class="card integration" aria-labelledby=title_id.clone() data-id=id.to_string()>
            {head}
            <SyncProgress run />
            <Show when=move || manage() && !deleting()>
                <div class="integration-actions" role="group" aria-label="Actions">
                    <button class="btn small" data-action="sync" disabled=move || acting.get() || running()
                        on:click=move |_| act(Action::Sync(SyncMode::Incremental))>"Sync now"</button>
                    <button class="btn small" data-action="backfill" disabled=move || acting.get() || running()
                        title="Import the whole history again (nothing is stored twice)"
                        on:click=move |_| act(Action::Sync(SyncMode::Backfill))>"Full re-import"</button>
                    <Show when=running>
                        <button class="btn small" data-action="cancel" disabled=move || acting.get()
                            on:click=move |_| act(Action::Cancel)>"Cancel sync"</button>
                    </Show>
                    <Show when=move || status.get() == Some(IntegrationStatus::Paused) fallback=move || view! {
                        <button class="btn small" data-action="pause" disabled=move || acting.get() on:click=move |_| act(Action::Pause(true))>"Pause"</button>
                    }>
                        <button class="btn small" data-action="resume" disabled=move || acting.get() on:click=move |_| act(Action::Pause(false))>"Resume"</button>
                    </Show>
                    <button class="btn small" data-action="settings" aria-expanded=move || (panel.get() == Panel::Settings).to_string()
                        aria-controls=format!("settings-{id}") on:click=move |_| toggle(Panel::Settings)>"Settings"</button>
                    <button class="btn small" data-action="webhook" aria-expanded=move || (panel.get() == Panel::Webhook).to_string()
                        aria-controls=format!("webhook-{id}") on:click=move |_| toggle(Panel::Webhook)>"Webhook"</button>
                    <button class="btn small danger" data-action="disconnect" node_ref=disconnect_button
                        on:click=move |_| confirm.set(true)>"Disconnect"</button>
                </div>
                <ErrorBanner error=error.into() />
                <Show when=move || panel.get() == Panel::Settings>
                    <div class="panel" id=format!("settings-{id}")>
                        <h3>"Settings"</h3>
                        <SettingsForm board id close=move || panel.set(Panel::None) />
                    </div>
                </Show>
                <Show when=move || panel.get() == Panel::Webhook>
                    <div class="panel" id=format!("webhook-{id}")>
                        <h3>"Webhook setup"</h3>
                        <WebhookSetup board id secret=None />
                    </div>
                </Show>
            </Show>
            <Show when=move || confirm.get()>
                <DisconnectDialog board id close=move || {
                    confirm.set(false);
                    if let Some(b) = disconnect_button.get_untracked() { let _ = b.focus(); }
                } />
            </Show>
        </article>
    }
}

/// The choice disconnecting asks for: keep the imported incidents, or delete them too.
#[component]
fn DisconnectDialog(
    board: Board,
    id: IntegrationId,
    #[prop(into)] close: Callback<()>,
) -> impl IntoView {
    let it = board.get(id);
    let choice = RwSignal::new(None::<&'static str>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let first = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = first.get() {
            let _ = input.focus();
        }
    });
    let name = move || it.get().map(|i| i.name).unwrap_or_default();
    let count = move || it.get().map_or(0, |i| i.incidents);
    let confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(data) = choice.get_untracked() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r =
                api::integrations::delete_integration(board.session(), board.org, id, data).await;
            let _ = busy.try_set(false);
            match r {
                Ok(None) => board.remove(id),
                Ok(Some(_)) => board.refresh(),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                    return;
                }
            }
            close.run(());
        });
    };
    let dialog = NodeRef::<leptos::html::Div>::new();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            close.run(());
        } else if let Some(d) = dialog.get_untracked() {
            trap_focus(&d, &ev);
        }
    };
    view! {
        <div class="dialog-backdrop" on:keydown=on_key>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="disconnect-title" aria-describedby="disconnect-what" node_ref=dialog>
                <h2 id="disconnect-title">{move || format!("Disconnect {}?", name())}</h2>
                <p id="disconnect-what">{move || format!(
                    "Syncs and webhooks stop at once. What should happen to the {} incidents it imported?", count()
                )}</p>
                <form on:submit=confirm>
                    <fieldset class="choices">
                        <legend class="sr-only">"Imported incidents"</legend>
                        <label class="choice">
                            <input type="radio" name="disconnect-data" value="keep" node_ref=first
                                on:change=move |_| choice.set(Some("keep")) />
                            <span><strong>"Keep them"</strong>" — they stay in Incidents and in every report, but are no longer updated."</span>
                        </label>
                        <label class="choice">
                            <input type="radio" name="disconnect-data" value="delete"
                                on:change=move |_| choice.set(Some("delete")) />
                            <span><strong>"Delete them"</strong>" — every incident it imported is removed, in the background. This cannot be undone."</span>
                        </label>
                    </fieldset>
                    <ErrorBanner error=error.into() />
                    <div class="actions">
                        <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                        <button type="submit" class="btn danger-solid" id="disconnect-confirm"
                            disabled=move || choice.get().is_none() || busy.get()>
                            {move || if busy.get() { "Disconnecting…" } else { "Disconnect" }}
                        </button>
                    </div>
                </form>
            </div>
        </div>
    }
}
