//! The organization's generation settings, for those who manage generation: whether drafts may be written by
//! a model (off, on with redaction, on), whether emails and IP addresses are redacted too, the monthly token
//! budget and this month's use, which model and embeddings this installation has, and re-indexing.

use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, SubmitButton, field_error};
use crate::session::use_session;
use insights_types::OrgId;
use insights_types::api::{GenerationPolicy, RunbookSettingsIn, RunbookSettingsOut};
use leptos::prelude::*;

const POLICIES: [(&str, GenerationPolicy, &str); 3] = [
    (
        "off",
        GenerationPolicy::Off,
        "Off: nothing is sent to a model; drafts are assembled from your runbooks and past fixes.",
    ),
    (
        "redacted",
        GenerationPolicy::Redacted,
        "On, with redaction: secrets (keys, tokens, passwords, connection strings) are removed before sending.",
    ),
    (
        "on",
        GenerationPolicy::On,
        "On: sources are sent as stored.",
    ),
];

/// The settings panel.
#[component]
pub fn GenerationSettings(org: OrgId) -> impl IntoView {
    let session = use_session();
    let loaded = RwSignal::new(None::<RunbookSettingsOut>);
    let policy = RwSignal::new("redacted".to_owned());
    let contacts = RwSignal::new(false);
    let budget = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(false);
    let reindexed = RwSignal::new(false);
    let show = move |s: RunbookSettingsOut| {
        policy.set(
            POLICIES
                .iter()
                .find(|p| p.1 == s.generation)
                .map_or("redacted", |p| p.0)
                .to_owned(),
        );
        contacts.set(s.redact_contacts);
        budget.set(
            s.monthly_token_budget
                .map(|b| b.to_string())
                .unwrap_or_default(),
        );
        loaded.set(Some(s));
    };
    leptos::task::spawn_local(async move {
        match api::runbooks::get_settings(session, org).await {
            Ok(s) => {
                let _ = loaded.try_set(None);
                show(s);
            }
            Err(e) => {
                let _ = error.try_set(Some(e));
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = budget.get_untracked().trim().replace([',', '_', ' '], "");
        let monthly_token_budget = if text.is_empty() {
            None
        } else {
            match text.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    error.set(Some(ApiFailure::invalid(vec![
                        insights_types::FieldError::new(
                            "monthly_token_budget",
                            "invalid",
                            "A whole number of tokens, or empty for no limit.",
                        ),
                    ])));
                    return;
                }
            }
        };
        let body = RunbookSettingsIn {
            generation: POLICIES
                .iter()
                .find(|p| p.0 == policy.get_untracked())
                .map_or(GenerationPolicy::Redacted, |p| p.1),
            redact_contacts: contacts.get_untracked(),
            monthly_token_budget,
        };
        busy.set(true);
        saved.set(false);
        leptos::task::spawn_local(async move {
            let r = api::runbooks::put_settings(session, org, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(s) => {
                    show(s);
                    let _ = error.try_set(None);
                    let _ = saved.try_set(true);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let reindex = move |_| {
        leptos::task::spawn_local(async move {
            match api::runbooks::reindex(session, org).await {
                Ok(_) => {
                    let _ = reindexed.try_set(true);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let budget_error = field_error(error, "monthly_token_budget");
    view! {
        <section class="card generation-settings" aria-labelledby="generation-settings-title">
            <h2 id="generation-settings-title">"Generation settings"</h2>
            {move || loaded.get().map(|s| view! {
                <p class="muted model-info">
                    {match s.model {
                        Some(m) => format!("Model: {m}. "),
                        None => "No model is configured on this installation: every draft is assembled from your sources. ".to_owned(),
                    }}
                    {match s.embedding_model {
                        Some(m) => format!("Search matches by words and meaning ({m})."),
                        None => "Search matches by words.".to_owned(),
                    }}
                </p>
                <p class="tokens-used">{match s.monthly_token_budget {
                    Some(b) => format!("Tokens used this month: {} of {b}.", s.tokens_used_this_month),
                    None => format!("Tokens used this month: {} (no limit).", s.tokens_used_this_month),
                }}</p>
            })}
            <form on:submit=submit>
                <fieldset class="choices">
                    <legend>"Drafts written by a model"</legend>
                    {POLICIES.iter().map(|(value, _, label)| view! {
                        <label class="choice">
                            <input type="radio" name="generation-policy" value=*value
                                prop:checked=move || policy.get() == *value
                                on:change=move |_| policy.set((*value).to_owned()) />
                            <span>{*label}</span>
                        </label>
                    }).collect_view()}
                </fieldset>
                <label class="check">
                    <input type="checkbox" id="redact-contacts" prop:checked=move || contacts.get()
                        on:change=move |ev| contacts.set(event_target_checked(&ev)) />
                    "Also remove email addresses and IP addresses before sending"
                </label>
                <div class="field">
                    <label for="token-budget">"Monthly token budget"</label>
                    <p class="hint">"Empty: no limit. When spent, asking for a draft is refused until next month."</p>
                    <input id="token-budget" inputmode="numeric" prop:value=move || budget.get()
                        on:input=move |ev| budget.set(event_target_value(&ev))
                        aria-invalid=move || budget_error.get().is_some().to_string() />
                    <p class="field-error" role="alert">{move || budget_error.get()}</p>
                </div>
                <ErrorBanner error=error.into() />
                <Show when=move || saved.get()><p class="banner success" role="status">"Saved."</p></Show>
                <div class="actions">
                    <button type="button" class="btn" id="reindex" on:click=reindex>"Re-index everything"</button>
                    <SubmitButton label="Save settings" busy_label="Saving…" busy=busy.into() />
                </div>
                <Show when=move || reindexed.get()><p class="banner" role="status">"Re-indexing: search catches up within a minute."</p></Show>
            </form>
        </section>
    }
}
