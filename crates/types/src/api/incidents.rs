//! Incidents in the unified schema, with their timelines, services and teams.

use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Where an incident came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentSource {
    Pagerduty,
    Opsgenie,
    /// The built-in generator of realistic sample history.
    Sample,
}

impl IncidentSource {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pagerduty => "pagerduty",
            Self::Opsgenie => "opsgenie",
            Self::Sample => "sample",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pagerduty, Self::Opsgenie, Self::Sample]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The lifecycle state of an incident, the same for every source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

impl IncidentStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triggered => "triggered",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Triggered, Self::Acknowledged, Self::Resolved]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    High,
    Low,
}

impl Urgency {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Low => "low",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::High, Self::Low]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[cfg(feature = "sqlx")]
crate::ids::stored_as_text!(
    IncidentSource => IncidentSource::parse,
    IncidentStatus => IncidentStatus::parse,
    Urgency => Urgency::parse,
);

/// A service or team, by id and name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NamedRef {
    pub id: uuid::Uuid,
    pub name: String,
}

/// A service incidents belong to, as its source names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ServiceOut {
    pub id: ServiceId,
    pub name: String,
    pub source: IncidentSource,
    /// Its id in the source.
    pub external_id: String,
}

/// A team incidents belong to, as its source names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TeamOut {
    pub id: TeamId,
    pub name: String,
    pub source: IncidentSource,
    /// Its id in the source.
    pub external_id: String,
}

/// An incident in the unified schema.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentOut {
    pub id: IncidentId,
    pub source: IncidentSource,
    /// The id in the source (PagerDuty incident id, Opsgenie alert id).
    pub external_id: String,
    pub number: Option<i64>,
    pub title: String,
    pub service: Option<NamedRef>,
    pub team: Option<NamedRef>,
    pub urgency: Option<Urgency>,
    pub priority: Option<String>,
    pub status: IncidentStatus,
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub assignees: Vec<String>,
    pub tags: Vec<String>,
    /// The incident's page in the source tool.
    pub source_url: Option<String>,
}

/// One entry of an incident's timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentEventOut {
    /// e.g. `trigger`, `acknowledge`, `resolve`, `assign`, `escalate`, `note`.
    pub kind: String,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub message: Option<String>,
}

/// An incident with its description and timeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentDetailOut {
    #[serde(flatten)]
    pub incident: IncidentOut,
    pub description: Option<String>,
    pub timeline: Vec<IncidentEventOut>,
    /// Its recurring pattern, why it belongs there, and similar and related incidents (`null` until assigned).
    #[serde(default)]
    pub pattern: Option<super::IncidentPatternOut>,
}
