//! The ingestion pipeline's common end: every source (PagerDuty, Opsgenie, the sample generator) maps what it
//! fetched into [`NormalizedIncident`]s, and [`crate::db::incidents::upsert_batch`] stores a batch of them in
//! one round of statements, idempotently and monotonically (an older version of an incident never overwrites
//! a newer one), keeping each raw payload for later re-normalization.

pub mod sample;

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
    pub external_id: String,
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
