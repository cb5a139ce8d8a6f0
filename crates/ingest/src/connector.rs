//! One interface over the sources. A [`Connector`] checks its credential, and walks either the whole history
//! (a backfill) or the changes of a time range (an incremental sync) one [`Step`] at a time: each step is one
//! page of the source's API (plus what that page needs, such as timelines), and returns the cursor of the next
//! step. The cursor is plain data; the sync engine stores it in the same transaction as the step's incidents,
//! so a sync killed at any moment resumes at the step it had not finished, and stores nothing twice.

use super::{NormalizedEvent, NormalizedIncident, opsgenie, pagerduty};
use crate::client::{HttpPolicy, SourceError, SourceHttp};
use chrono::{DateTime, Utc};
use insights_types::api::{IntegrationKind, IntegrationOptions, OpsgenieRegion};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

/// The base URLs of the sources' APIs (from `INSIGHTS_PAGERDUTY_API_URL` / `INSIGHTS_OPSGENIE_API_URL`).
#[derive(Clone, Debug)]
pub struct SourceEndpoints {
    pub pagerduty: Url,
    /// When set, used for both Opsgenie regions (a proxy, or a test server).
    pub opsgenie: Option<Url>,
}

impl SourceEndpoints {
    /// Opsgenie's API for a region: `api.opsgenie.com` or `api.eu.opsgenie.com`, unless overridden.
    #[must_use]
    pub fn opsgenie(&self, region: OpsgenieRegion) -> Url {
        self.opsgenie.clone().unwrap_or_else(|| {
            Url::parse(match region {
                OpsgenieRegion::Us => "https://api.opsgenie.com",
                OpsgenieRegion::Eu => "https://api.eu.opsgenie.com",
            })
            .expect("valid URL")
        })
    }
}

/// What one step read.
#[derive(Debug)]
pub struct Step<C> {
    /// Full versions of incidents.
    pub incidents: Vec<NormalizedIncident>,
    /// Timeline entries of incidents read earlier (or in this step), by the incident's external id.
    pub events: Vec<(String, NormalizedEvent)>,
    /// Items that could not be read, one sentence each (the rest of the page was kept).
    pub skipped: Vec<String>,
    /// Where the next step starts; `None` when the walk is over.
    pub next: Option<C>,
}

impl<C> Default for Step<C> {
    fn default() -> Self {
        Self {
            incidents: Vec::new(),
            events: Vec::new(),
            skipped: Vec::new(),
            next: None,
        }
    }
}

impl<C> Step<C> {
    /// The same step with its cursor mapped (for the dispatch below).
    pub fn map<D>(self, f: impl FnOnce(C) -> D) -> Step<D> {
        Step {
            incidents: self.incidents,
            events: self.events,
            skipped: self.skipped,
            next: self.next.map(f),
        }
    }
}

/// Where a walk stands, for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// What is being read: `incidents`, `timeline`, `changes`, `alerts`…
    pub phase: &'static str,
    /// 0–1 over the whole walk.
    pub fraction: f64,
}

/// A resumable position in a walk of either source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Cursor {
    Pagerduty(pagerduty::Cursor),
    Opsgenie(opsgenie::Cursor),
}

/// What a webhook delivery says: its event type, and the incident it changes as a partial version (absent
/// for events about something else, such as a service).
#[derive(Debug)]
pub struct WebhookUpdate {
    pub event_type: String,
    pub incident: Option<NormalizedIncident>,
}

/// A connection to one account of one source.
#[derive(Clone, Debug)]
pub enum Connector {
    Pagerduty(pagerduty::PagerDuty),
    Opsgenie(opsgenie::Opsgenie),
}

/// A setting the connector cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSettings(pub String);

impl Connector {
    /// A connector of `kind` with its credential (`api_token` or `api_key`), region and options.
    pub fn new(
        kind: IntegrationKind,
        credential: SecretString,
        region: Option<OpsgenieRegion>,
        options: &IntegrationOptions,
        endpoints: &SourceEndpoints,
        policy: HttpPolicy,
    ) -> Result<Self, InvalidSettings> {
        match (kind, options) {
            (IntegrationKind::Pagerduty, IntegrationOptions::Pagerduty(o)) => {
                Ok(Self::Pagerduty(pagerduty::PagerDuty::new(
                    SourceHttp::new("PagerDuty", policy),
                    endpoints.pagerduty.clone(),
                    credential,
                    o.clone(),
                )))
            }
            (IntegrationKind::Opsgenie, IntegrationOptions::Opsgenie(o)) => {
                let region = region.ok_or_else(|| {
                    InvalidSettings("an Opsgenie integration needs a region".into())
                })?;
                Ok(Self::Opsgenie(opsgenie::Opsgenie::new(
                    SourceHttp::new("Opsgenie", policy),
                    endpoints.opsgenie(region),
                    credential,
                    o.clone(),
                )))
            }
            _ => Err(InvalidSettings(format!(
                "options do not belong to a {} integration",
                kind.label()
            ))),
        }
    }

    /// Adds a note to the imported item `external_id` (whose stored tags tell an Opsgenie incident from an
    /// alert). A PagerDuty note is written as the options' `note_author_email`.
    pub async fn add_note(
        &self,
        external_id: &str,
        tags: &[String],
        text: &str,
    ) -> Result<(), SourceError> {
        match self {
            Self::Pagerduty(c) => c
                .add_note(external_id, c.note_author(), text)
                .await
                .map(drop),
            Self::Opsgenie(c) => {
                let is_incident = tags.iter().any(|t| t == opsgenie::INCIDENT_TAG);
                c.add_note(external_id, is_incident, text).await
            }
        }
    }

    /// Checks the credential with one cheap read; the error says, for a person, what is wrong with it.
    pub async fn verify(&self) -> Result<(), SourceError> {
        match self {
            Self::Pagerduty(c) => c.verify().await,
            Self::Opsgenie(c) => c.verify().await,
        }
    }

    /// The start of a walk over the whole history (from the options' `since`) up to `until`.
    #[must_use]
    pub fn backfill(&self, until: DateTime<Utc>) -> Cursor {
        match self {
            Self::Pagerduty(c) => Cursor::Pagerduty(c.backfill(until)),
            Self::Opsgenie(c) => Cursor::Opsgenie(c.backfill(until)),
        }
    }

    /// The start of a walk over what changed in `[since, until)`: new incidents, and old ones acknowledged,
    /// resolved or otherwise changed since.
    #[must_use]
    pub fn changes(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Cursor {
        match self {
            Self::Pagerduty(c) => Cursor::Pagerduty(c.changes(since, until)),
            Self::Opsgenie(c) => Cursor::Opsgenie(c.changes(since, until)),
        }
    }

    /// Reads one step at `cursor`. Transient failures have already been retried when this errs.
    pub async fn step(&self, cursor: &Cursor) -> Result<Step<Cursor>, SourceError> {
        match (self, cursor) {
            (Self::Pagerduty(c), Cursor::Pagerduty(at)) => {
                Ok(c.step(at).await?.map(Cursor::Pagerduty))
            }
            (Self::Opsgenie(c), Cursor::Opsgenie(at)) => {
                Ok(c.step(at).await?.map(Cursor::Opsgenie))
            }
            _ => Err(SourceError::Rejected {
                source_name: self.name(),
                status: 0,
                detail: "the saved cursor belongs to another source".into(),
            }),
        }
    }

    /// Where `cursor` stands.
    #[must_use]
    pub fn progress(cursor: &Cursor) -> Progress {
        match cursor {
            Cursor::Pagerduty(c) => pagerduty::PagerDuty::progress(c),
            Cursor::Opsgenie(c) => opsgenie::Opsgenie::progress(c),
        }
    }

    /// HTTP requests sent so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        match self {
            Self::Pagerduty(c) => c.requests(),
            Self::Opsgenie(c) => c.requests(),
        }
    }

    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pagerduty(_) => "PagerDuty",
            Self::Opsgenie(_) => "Opsgenie",
        }
    }
}

/// Why a webhook delivery was not accepted as coming from the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookAuthError {
    #[error("The X-PagerDuty-Signature does not match this integration's signing secret.")]
    BadPagerDutySignature,
    #[error("The X-Insights-Webhook-Secret header does not match this integration's secret.")]
    BadOpsgenieSecret,
}

/// Authenticates a webhook delivery of `kind` with the integration's `secret`: PagerDuty's v3 signature
/// (HMAC-SHA256 of the raw body, every `v1=` value tried) or Opsgenie's secret header. `header` looks up a
/// request header by its lower-case name.
pub fn authenticate_webhook<'a>(
    kind: IntegrationKind,
    secret: &[u8],
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
) -> Result<(), WebhookAuthError> {
    let authentic = match kind {
        IntegrationKind::Pagerduty => header("x-pagerduty-signature")
            .is_some_and(|sig| pagerduty::webhook::verify_signature(secret, body, sig)),
        IntegrationKind::Opsgenie => header(&opsgenie::webhook::SECRET_HEADER.to_ascii_lowercase())
            .is_some_and(|given| opsgenie::webhook::verify_secret(secret, given)),
    };
    match (authentic, kind) {
        (true, _) => Ok(()),
        (false, IntegrationKind::Pagerduty) => Err(WebhookAuthError::BadPagerDutySignature),
        (false, IntegrationKind::Opsgenie) => Err(WebhookAuthError::BadOpsgenieSecret),
    }
}

/// Reads a webhook delivery of `kind` (already authenticated).
pub fn parse_webhook(kind: IntegrationKind, body: &[u8]) -> Result<WebhookUpdate, String> {
    match kind {
        IntegrationKind::Pagerduty => pagerduty::webhook::parse(body),
        IntegrationKind::Opsgenie => opsgenie::webhook::parse(body),
    }
}
