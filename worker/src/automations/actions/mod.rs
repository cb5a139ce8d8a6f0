//! The actions beside Lambda (issue 13): post a note to the source incident, send an email, a Slack message or
//! a signed webhook — one entry point, [`perform`], used by the `run_automation` job — and [`post_back`], which
//! posts a run's result to its incident (the source's note, and an entry on the incident's own timeline).

pub mod email;
pub mod note;
pub mod outbound;
pub mod slack;
pub mod webhook;

use crate::WorkerState;
use chrono::Duration as ChronoDuration;
use insights_types::api::{AutomationAction, RunStatus};
use insights_types::{AutomationRunId, IncidentId, OrgId};
use secrecy::ExposeSecret;
use std::time::Duration;

/// The secrets an action needs (the `automations.secrets` column, opened).
pub use insights_core::automations::secrets::ActionSecrets;

/// One action to perform: everything is already rendered by the caller (templates, subject).
#[derive(Clone, Debug)]
pub struct ActionCall {
    pub org: OrgId,
    pub run_id: AutomationRunId,
    /// `note`, `email`, `slack` or `webhook` (`lambda` is the runs engineer's: refused here).
    pub action: AutomationAction,
    /// The run's incident, if any (`note` needs one).
    pub incident_id: Option<IncidentId>,
    /// The rendered template: the message (`note`, `email`, `slack`) or the JSON payload (`webhook`).
    pub body: String,
    /// `email`: the rendered subject.
    pub subject: Option<String>,
    /// `email`: the recipients.
    pub recipients: Vec<String>,
    /// The automation's opened secrets (Slack URL, webhook URL and signing secret).
    pub secrets: ActionSecrets,
    /// The automation's time limit for one attempt.
    pub timeout: Duration,
}

/// What a performed action answered.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActionDone {
    /// The HTTP status of the destination, when there was one.
    pub status: Option<u16>,
    /// Its answer (capped at 64 KiB; JSON when it was, else a string), for the run's `response`.
    pub response: Option<serde_json::Value>,
    /// What was done, in a sentence (e.g. "Posted a note to PagerDuty incident Q1ABC").
    pub summary: String,
}

/// Why an action failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// Another attempt may succeed (a network error, a 5xx, a 429).
    #[error("{0}")]
    Retryable(String),
    /// Another attempt would fail the same way (a refused address, a read-only key, a 4xx, no incident).
    #[error("{0}")]
    Permanent(String),
}

impl ActionError {
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, ActionError::Retryable(_))
    }
}

/// Performs one action.
///
/// # Errors
/// [`ActionError::Retryable`] when another attempt may succeed, else [`ActionError::Permanent`].
pub async fn perform(state: &WorkerState, call: ActionCall) -> Result<ActionDone, ActionError> {
    let out = || {
        outbound::Outbound::new(
            state.config.automations.outbound_allowed.clone(),
            call.timeout
                .min(outbound::DEFAULT_TIMEOUT)
                .max(Duration::from_secs(1)),
        )
    };
    let missing = |what: &str| {
        ActionError::Permanent(format!(
            "the automation has no {what}: set it in the automation's settings"
        ))
    };
    match call.action {
        AutomationAction::Note => {
            let incident = call.incident_id.ok_or_else(|| {
                ActionError::Permanent(
                    "a note needs an incident: run this automation from an incident, or from a rule".into(),
                )
            })?;
            note::post(
                state,
                call.org,
                incident,
                &format!("automation-run:{}", call.run_id.0),
                &call.body,
            )
            .await
        }
        AutomationAction::Email => {
            email::send(state, &call.recipients, call.subject.as_deref(), &call.body).await
        }
        AutomationAction::Slack => {
            let url = call
                .secrets
                .slack_url
                .as_ref()
                .ok_or_else(|| missing("Slack webhook URL"))?;
            slack::send(&out(), url.expose_secret(), &call.body).await
        }
        AutomationAction::Webhook => {
            let url = call
                .secrets
                .webhook_url
                .as_ref()
                .ok_or_else(|| missing("webhook URL"))?;
            let secret = call
                .secrets
                .signing_secret
                .as_ref()
                .ok_or_else(|| missing("signing secret"))?;
            webhook::send(
                &out(),
                url.expose_secret(),
                secret.expose_secret(),
                call.run_id,
                chrono::Utc::now().timestamp(),
                &call.body,
            )
            .await
        }
        AutomationAction::Lambda => Err(ActionError::Permanent(
            "a Lambda function is invoked by the run itself, not as an action".into(),
        )),
    }
}

/// Posts `text` to an incident: an entry on the incident's own timeline (so the product shows it, also for
/// incidents without a source, such as sample data) and a note on the source incident (PagerDuty or
/// Opsgenie) when it was imported through an integration. The timeline entry is keyed by the text (which
/// names the run), so posting the same result again after a failure does not show it twice.
///
/// # Errors
/// [`ActionError::Retryable`] when the source or the database is unavailable; [`ActionError::Permanent`]
/// when the incident is gone or the source refused the note for good (e.g. a read-only key, said so). In
/// both cases the timeline entry may already be written.
pub async fn post_back(
    state: &WorkerState,
    org: OrgId,
    incident: IncidentId,
    text: &str,
) -> Result<ActionDone, ActionError> {
    let key = format!(
        "automation-result:{}",
        &insights_automation::payload::hash(text.as_bytes())[..32]
    );
    note::post(state, org, incident, &key, text).await
}

/// What a result note says about a finished run.
#[derive(Clone, Debug)]
pub struct RunReport<'a> {
    pub run_id: AutomationRunId,
    pub automation_name: &'a str,
    pub status: RunStatus,
    pub duration: Option<ChronoDuration>,
    /// Why it failed / was refused, in a sentence.
    pub reason: Option<&'a str>,
    /// The function's error type (`Handled`, `Unhandled`, or its `errorType`).
    pub function_error: Option<&'a str>,
    /// The function's (or destination's) response.
    pub response: Option<&'a serde_json::Value>,
    pub log_tail: Option<&'a str>,
}

/// The text of the note that posts a run's result back: the automation, its status and duration, the
/// function's error, a short excerpt of the response or log tail, and a link to the run in the product.
#[must_use]
pub fn result_note(state: &WorkerState, org: OrgId, report: &RunReport<'_>) -> String {
    let link = state.config.public_url.link(&format!(
        "orgs/{}/automations/runs/{}",
        org.0, report.run_id.0
    ));
    note::result_text(&link, report)
}
