//! Ingestion: every source (PagerDuty, Opsgenie, the sample generator) maps what it fetched into
//! [`NormalizedIncident`]s and [`NormalizedEvent`]s, and [`crate::db::incidents::upsert_batch`] stores a batch
//! of them in one round of statements, idempotently and monotonically (an older version of an incident never
//! overwrites a newer one), keeping each raw payload for later re-normalization.
//!
//! - [`connector`]: one interface over the sources: check a credential, walk a history or the recent
//!   changes page by page with a resumable cursor, read a webhook.
//! - [`pagerduty`], [`opsgenie`]: the two REST APIs and their webhooks; [`sample`]: generated history.
//! - [`client`]: the client they share (rate limits, retries); [`window`]: paging a time range under offset caps.

pub mod client;
pub mod connector;
pub mod opsgenie;
pub mod pagerduty;
pub mod sample;
pub mod sample_runbooks;
#[cfg(test)]
mod test_support;
pub mod window;

use chrono::{DateTime, Utc};
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};

/// A service or team as the source names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceRef {
    pub external_id: String,
    pub name: String,
}

/// One incident, mapped from its source.
#[derive(Clone, Debug)]
pub struct NormalizedIncident {
    pub source: IncidentSource,
    pub external_id: String,
    pub number: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    pub service: Option<SourceRef>,
    pub team: Option<SourceRef>,
    pub urgency: Option<Urgency>,
    pub priority: Option<String>,
    pub status: IncidentStatus,
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub assignees: Vec<String>,
    pub tags: Vec<String>,
    pub source_url: Option<String>,
    /// When the source last changed this incident; decides which of two versions wins.
    pub source_updated_at: DateTime<Utc>,
    pub raw: serde_json::Value,
    pub timeline: Vec<NormalizedEvent>,
}

/// One timeline entry (log entry, note, state change).
#[derive(Clone, Debug)]
pub struct NormalizedEvent {
    /// Unique within its incident in the source (a log entry id); stored once.
    pub external_id: String,
    /// One of [`event_kind`]'s values.
    pub kind: String,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub message: Option<String>,
    pub raw: serde_json::Value,
}

/// What a batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpsertStats {
    pub inserted: u64,
    pub updated: u64,
    /// Versions older than what is stored, left alone.
    pub stale: u64,
    pub events_inserted: u64,
}

/// The kinds of timeline entries, the same for every source. `acknowledge` and `resolve` entries also fill in
/// an incident's acknowledgement and resolution times when its source does not state them.
pub mod event_kind {
    pub const TRIGGER: &str = "trigger";
    pub const ACKNOWLEDGE: &str = "acknowledge";
    pub const UNACKNOWLEDGE: &str = "unacknowledge";
    pub const RESOLVE: &str = "resolve";
    pub const REOPEN: &str = "reopen";
    pub const ASSIGN: &str = "assign";
    pub const ESCALATE: &str = "escalate";
    pub const NOTIFY: &str = "notify";
    pub const NOTE: &str = "note";
    pub const SNOOZE: &str = "snooze";
    pub const PRIORITY: &str = "priority";
    pub const URGENCY: &str = "urgency";
    /// Anything else the source records (its own type name is in `raw`).
    pub const OTHER: &str = "other";
}
