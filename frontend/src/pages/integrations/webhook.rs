//! Webhook setup, step by step in the tool's own words: PagerDuty's Generic Webhooks (v3), created here in one
//! step when the key may write, or by hand with the signing secret pasted back here; Opsgenie's Webhook
//! integration with a custom header holding a secret made here,
//! shown once, and rotated on demand.

use super::Board;
use crate::api::{self, ApiFailure};
use crate::components::{CopyField, ErrorBanner, SubmitButton, TextField, field_error};
use crate::time;
use insights_types::IntegrationId;
use insights_types::api::{IntegrationKind, IntegrationOut, IntegrationPatch};
use insights_types::domain::ApiSecret;
use leptos::prelude::*;

/// One line on the webhook's state, for everyone.
#[must_use]
pub fn webhook_state(i: &IntegrationOut) -> String {
    let delivery = match i.webhook.last_delivery_at {
        Some(t) => format!("last delivery {}", time::relative(t, time::now())),
        None => "no delivery yet".to_owned(),
    };
    match (i.kind, i.webhook.secret_set) {
        (IntegrationKind::Pagerduty, false) => {
            format!("not set up (no signing secret) · {delivery}")
        }
        _ => format!("set up · {delivery}"),
    }
}

/// The instructions and forms. `secret` is Opsgenie's secret when it was just made (connect or rotate).
#[component]
pub fn WebhookSetup(board: Board, id: IntegrationId, secret: Option<String>) -> impl IntoView {
    let it = board.get(id);
    let kind = it.get_untracked().map(|i| i.kind);
    let url = Signal::derive(move || it.get().map(|i| i.webhook.url).unwrap_or_default());
    let status = move || it.get().map(|i| webhook_state(&i));
    let body = match kind {
        Some(IntegrationKind::Pagerduty) => view! { <PagerDutySteps board id url /> }.into_any(),
        Some(IntegrationKind::Opsgenie) => {
            let header = it
                .get_untracked()
                .and_then(|i| i.webhook.header)
                .unwrap_or_else(|| "X-Insights-Webhook-Secret".into());
            view! { <OpsgenieSteps board id url header secret /> }.into_any()
        }
        None => ().into_any(),
    };
    view! {
        <div class="webhook-setup">
            {body}
            <p class="muted webhook-state">"Webhook: "{status}</p>
        </div>
    }
}

#[component]
fn PagerDutySteps(board: Board, id: IntegrationId, url: Signal<String>) -> impl IntoView {
    let secret = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let raw = secret.get_untracked();
        if let Err(e) = ApiSecret::parse_field("webhook_secret", &raw) {
            error.set(Some(ApiFailure::invalid(vec![e])));
            return;
        }
        let body = IntegrationPatch {
            webhook_secret: Some(raw.trim().to_owned()),
            ..IntegrationPatch::default()
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = board.patch(id, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(_) => {
                    secret.set(String::new());
                    error.set(None);
                    saved.set(true);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let creating = RwSignal::new(false);
    let create_error = RwSignal::new(None::<ApiFailure>);
    let create = move |_| {
        creating.set(true);
        create_error.set(None);
        saved.set(false);
        leptos::task::spawn_local(async move {
            let r = api::integrations::create_webhook_subscription(board.session(), board.org, id)
                .await;
            let _ = creating.try_set(false);
            match r {
                Ok(out) => {
                    board.put(out);
                    let _ = saved.try_set(true);
                }
                Err(e) => {
                    let _ = create_error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <div class="one-step">
            <p>"In one step: create the webhook in PagerDuty with this integration's key, and keep its signing secret. This needs a key that may write; with a read-only key, follow the steps below."</p>
            <button type="button" class="btn small" id=format!("webhook-subscribe-{id}") on:click=create disabled=move || creating.get()>
                {move || if creating.get() { "Creating the webhook in PagerDuty…" } else { "Create it in PagerDuty for me" }}
            </button>
            <p class="field-error" role="alert" id=format!("webhook-subscribe-error-{id}")>
                {move || field_error(create_error, "webhook").get()}
            </p>
            <ErrorBanner error=create_error.into() />
        </div>
        <p class="muted">"Or by hand:"</p>
        <ol class="steps">
            <li>"In PagerDuty, open "<span class="path">"Integrations → Generic Webhooks (v3)"</span>" and choose "<strong>"New Webhook"</strong>"."</li>
            <li>
                "Paste this URL as the "<strong>"Webhook URL"</strong>". Scope type: "<strong>"Account"</strong>" (or the services you import)."
                <CopyField id=format!("webhook-url-{id}") label="Webhook URL" value=url />
            </li>
            <li>"Under "<strong>"Event Subscription"</strong>", keep every incident event (triggered, acknowledged, resolved, reassigned, escalated, annotated, priority updated…), then "<strong>"Add Webhook"</strong>"."</li>
            <li>
                "PagerDuty then shows the subscription's "<strong>"signing secret"</strong>", once. Paste it here: deliveries are checked against it, and refused until it is saved."
                <form class="inline-form" on:submit=submit novalidate>
                    <TextField id=format!("webhook-secret-{id}") label="Signing secret" value=secret kind="password"
                        autocomplete="off" error=field_error(error, "webhook_secret") />
                    <SubmitButton label="Save signing secret" busy_label="Saving…" busy=busy.into() />
                </form>
                <ErrorBanner error=error.into() />
                <Show when=move || saved.get()>
                    <p class="banner success" role="status">"Signing secret saved: PagerDuty's deliveries are now accepted."</p>
                </Show>
            </li>
        </ol>
    }
}

#[component]
fn OpsgenieSteps(
    board: Board,
    id: IntegrationId,
    url: Signal<String>,
    header: String,
    secret: Option<String>,
) -> impl IntoView {
    let shown = RwSignal::new(secret);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let rotate = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::integrations::rotate_webhook_secret(board.session(), board.org, id).await;
            let _ = busy.try_set(false);
            match r {
                Ok(mut out) => {
                    let _ = shown.try_set(out.webhook.secret.take());
                    let _ = error.try_set(None);
                    board.put(out);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let header_name = header.clone();
    view! {
        <ol class="steps">
            <li>"In Opsgenie, open "<span class="path">"Settings → Integrations"</span>", choose "<strong>"Add integration"</strong>" and pick "<strong>"Webhook"</strong>"."</li>
            <li>
                "Paste this URL as the "<strong>"Webhook URL"</strong>"."
                <CopyField id=format!("webhook-url-{id}") label="Webhook URL" value=url />
            </li>
            <li>
                "Under "<strong>"Custom headers"</strong>", add a header named "<code>{header}</code>" whose value is the secret below."
                {move || match shown.get() {
                    Some(s) => view! {
                        <CopyField id=format!("webhook-secret-value-{id}") label=format!("{header_name} value") value=Signal::derive(move || s.clone()) />
                        <p class="banner" role="status"><strong>"Shown only this once: "</strong>"copy it now. If it is lost, make a new one."</p>
                    }.into_any(),
                    None => view! {
                        <p class="muted">"The secret was shown when it was made and cannot be shown again. If you no longer have it, make a new one: the old one stops working at once."</p>
                    }.into_any(),
                }}
                <button type="button" class="btn small" on:click=rotate disabled=move || busy.get()>
                    {move || if busy.get() { "Making a new secret…" } else { "Make a new secret" }}
                </button>
                <ErrorBanner error=error.into() />
            </li>
            <li>"Keep "<strong>"Add Alert Description to Payload"</strong>" and "<strong>"Add Alert Details to Payload"</strong>" on, keep the alert actions (Create, Acknowledge, Close, Add note, Assign…), then "<strong>"Save Integration"</strong>"."</li>
        </ol>
    }
}
