//! Recurring patterns (issue 11): `GET …/patterns`, `GET/PATCH …/patterns/{id}`, `POST …/patterns/{id}/merge`,
//! `POST …/incidents/{id}/pattern`, and the pattern part of an incident's detail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use super::{Bucket, IncidentOut, NamedRef};
use crate::ids::{IncidentId, PatternId, UserId};

/// What kind of value a template's slot stands for (`<kind>` in a template's text form).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlotKindOut {
    Number,
    Id,
    Hex,
    Uuid,
    Ip,
    Host,
    Path,
    Url,
    Email,
    Duration,
    Quoted,
    Timestamp,
    Service,
    /// A value that varies, of no recognized kind (`<*>`).
    Var,
}

/// One part of a template: literal text, or a slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplatePartOut {
    Text { text: String },
    Slot { kind: SlotKindOut },
}

/// How a pattern's count moved against the previous period of the same length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PatternTrend {
    /// First seen in the period.
    New,
    Growing,
    Steady,
    Declining,
}

/// What the pattern list is sorted by (descending unless `order=asc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PatternSort {
    /// Incidents in the period.
    #[default]
    Count,
    /// Total time to resolve in the period.
    Cost,
    /// Last seen.
    Recent,
    /// Change of count against the previous period.
    Growth,
}

/// A recurring pattern, with its figures over the requested period and filters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PatternOut {
    pub id: PatternId,
    /// A person's name for it, or its template.
    pub name: String,
    /// Whether `name` was given by a person.
    pub renamed: bool,
    /// The template's text form, e.g. `High latency on <service> (p99 > <duration>)`.
    pub template: String,
    pub parts: Vec<TemplatePartOut>,
    pub muted: bool,
    /// Incidents in the period (with the filters).
    pub count: i64,
    /// Incidents in the previous period of the same length (with the filters).
    pub previous_count: i64,
    pub trend: PatternTrend,
    /// Incidents of all time.
    pub total_count: i64,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub services: Vec<NamedRef>,
    pub teams: Vec<NamedRef>,
    /// Mean time to acknowledge in seconds over the period (`null` if none was acknowledged).
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
    /// Share (0..=1) of the period's incidents created off hours.
    pub off_hours_share: Option<f64>,
    /// Total time to resolve in seconds over the period ("what it costs").
    pub cost_seconds: f64,
    /// Up to five distinct titles.
    pub examples: Vec<String>,
    /// Incident counts per `sparkline_bucket` of the period, oldest first.
    pub sparkline: Vec<i64>,
}

/// `GET …/patterns`: a page of patterns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PatternPageOut {
    pub items: Vec<PatternOut>,
    pub next_cursor: Option<String>,
    pub sort: PatternSort,
    /// The width of a sparkline's buckets, and where each starts (UTC).
    pub sparkline_bucket: Bucket,
    pub sparkline_starts: Vec<DateTime<Utc>>,
}

/// A pattern that usually happens together with another: incidents of both (of different services) started
/// within a few minutes of each other `times` times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RelatedPatternOut {
    pub id: PatternId,
    pub name: String,
    pub times: i64,
    pub last_at: DateTime<Utc>,
    pub services: Vec<NamedRef>,
}

/// One template that assigns incidents to a pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PatternTemplateOut {
    pub template: String,
    pub parts: Vec<TemplatePartOut>,
    /// `mined` (the engine's, replaced by refinement), `merge` or `move` (a person's correction, kept).
    pub origin: String,
    pub created_by: Option<UserId>,
}

/// `GET …/patterns/{id}`: a pattern with its templates, latest incidents, trend series and related patterns.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PatternDetailOut {
    #[serde(flatten)]
    pub pattern: PatternOut,
    pub templates: Vec<PatternTemplateOut>,
    /// Ids merged into this pattern; they answer as it.
    pub aliases: Vec<PatternId>,
    /// The latest incidents (with the filters), newest first; the incident list with `pattern=<id>` has all.
    pub incidents: Vec<IncidentOut>,
    /// Incident counts per `series_bucket` over the period, oldest first.
    pub series_bucket: Bucket,
    pub series_starts: Vec<DateTime<Utc>>,
    pub series: Vec<i64>,
    pub related: Vec<RelatedPatternOut>,
}

/// `PATCH …/patterns/{id}`: rename (`name: null` goes back to the template's name) or mute.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PatternPatch {
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub name: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
}

/// `POST …/patterns/{id}/merge`: merges the pattern into `into`, which keeps its id; the merged id becomes an
/// alias of it, and its templates go with it (future incidents like its own go to `into`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PatternMergeIn {
    pub into: PatternId,
}

/// `POST …/incidents/{id}/pattern`: moves an incident to another pattern (`{"pattern_id": …}`) or to a new one
/// (`{"new": true}`). Future incidents with the same template follow it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IncidentPatternIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern_id: Option<PatternId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
}

/// How an incident came to be in its pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssignedBy {
    /// The engine matched its title to the pattern's mined template.
    Mined,
    /// A person's correction matched it (a merge, or another incident moved by hand).
    Rule,
    /// A person moved this incident.
    Manual,
}

/// The value an incident's title has in one slot of its template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SlotValueOut {
    /// The index of the slot in the template's `parts`.
    pub part: usize,
    pub kind: SlotKindOut,
    pub value: String,
}

/// Why an incident is in its pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PatternWhyOut {
    pub assigned_by: AssignedBy,
    /// The template its title matched.
    pub template: String,
    pub parts: Vec<TemplatePartOut>,
    /// Which parts of the title were slots, and their values.
    pub slots: Vec<SlotValueOut>,
    /// The similarity of its title to the template (0..=1).
    pub score: f32,
}

/// An incident that started within a few minutes of this one, in a pattern that usually happens together with
/// this one's.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RelatedIncidentOut {
    pub incident: IncidentOut,
    pub pattern: RelatedPatternOut,
}

/// The pattern part of an incident's detail.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentPatternOut {
    pub id: PatternId,
    pub name: String,
    pub muted: bool,
    pub total_count: i64,
    pub why: PatternWhyOut,
    /// Other incidents of the same pattern, newest first (at most 5).
    pub similar: Vec<IncidentOut>,
    /// Incidents of co-occurring patterns that started within a few minutes of this one.
    pub related: Vec<RelatedIncidentOut>,
}

/// `POST …/incidents/{id}/pattern` answers the incident's new pattern.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentPatternMovedOut {
    pub incident_id: IncidentId,
    pub pattern: PatternOut,
}

/// Serde for `Option<Option<T>>`: absent = `None`, `null` = `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
