//! Integrations with PagerDuty and Opsgenie: connecting, options, syncs and webhooks.

use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use super::*;

/// A tool incidents are imported from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    Pagerduty,
    Opsgenie,
}

impl IntegrationKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pagerduty => "pagerduty",
            Self::Opsgenie => "opsgenie",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pagerduty, Self::Opsgenie]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    /// The product's name, for people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Pagerduty => "PagerDuty",
            Self::Opsgenie => "Opsgenie",
        }
    }

    /// The incident source it feeds.
    #[must_use]
    pub fn source(self) -> IncidentSource {
        match self {
            Self::Pagerduty => IncidentSource::Pagerduty,
            Self::Opsgenie => IncidentSource::Opsgenie,
        }
    }
}

/// Where an Opsgenie account lives: its API is `api.opsgenie.com` (us) or `api.eu.opsgenie.com` (eu).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OpsgenieRegion {
    Us,
    Eu,
}

impl OpsgenieRegion {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Us => "us",
            Self::Eu => "eu",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Us, Self::Eu].into_iter().find(|v| v.as_str() == s)
    }
}

#[cfg(feature = "sqlx")]
crate::ids::stored_as_text!(
    IntegrationKind => IntegrationKind::parse,
    OpsgenieRegion => OpsgenieRegion::parse,
);

/// A PagerDuty REST API key (account key, read-only is enough; or a user's key).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PagerDutyCredentials {
    pub api_token: String,
}

/// An Opsgenie API key with read access (API Key Management, or an API integration's key).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OpsgenieCredentials {
    pub api_key: String,
}

impl std::fmt::Debug for PagerDutyCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PagerDutyCredentials(<redacted>)")
    }
}

impl std::fmt::Debug for OpsgenieCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpsgenieCredentials(<redacted>)")
    }
}

/// What to import from PagerDuty. Every field is optional: by default, the whole history of every service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PagerDutyOptions {
    /// Import incidents created at or after this time (default: the whole history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Only these services (PagerDuty ids such as `PIJ90N7`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_ids: Vec<String>,
    /// Only these teams (PagerDuty ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub team_ids: Vec<String>,
    /// Only incidents in these states (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<IncidentStatus>,
    /// The email of a user of the PagerDuty account that notes posted by automations are written as (sent
    /// in PagerDuty's `From` header). An account API key cannot add notes without it; a user's key can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_author_email: Option<String>,
}

/// What to import from Opsgenie. By default, the whole history of alerts (and incidents, where the plan has
/// the Incident API).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OpsgenieOptions {
    /// Import alerts created at or after this time (default: the whole history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// An Opsgenie search query that alerts must also match, e.g. `teams:platform AND priority:(P1 OR P2)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// `POST /api/v1/orgs/{org_id}/integrations`: connect a tool. The credential is checked with one call first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IntegrationIn {
    Pagerduty(PagerDutyIn),
    Opsgenie(OpsgenieIn),
}

/// Connect PagerDuty (`"kind": "pagerduty"`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PagerDutyIn {
    pub name: String,
    pub credentials: PagerDutyCredentials,
    #[serde(default)]
    pub options: PagerDutyOptions,
    /// Minutes between incremental syncs (1–1440, default 15).
    #[serde(default)]
    pub sync_interval_minutes: Option<u32>,
}

/// Connect Opsgenie (`"kind": "opsgenie"`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OpsgenieIn {
    pub name: String,
    pub credentials: OpsgenieCredentials,
    pub region: OpsgenieRegion,
    #[serde(default)]
    pub options: OpsgenieOptions,
    /// Minutes between incremental syncs (1–1440, default 15).
    #[serde(default)]
    pub sync_interval_minutes: Option<u32>,
}

/// Options of either kind, as stored and shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntegrationOptions {
    Pagerduty(PagerDutyOptions),
    Opsgenie(OpsgenieOptions),
}

/// The schemas of the two enums above, written by hand because the derived ones describe no body the API takes
/// or gives: `IntegrationIn` would be `allOf` a struct whose `additionalProperties: false` forbids `kind`, and
/// `IntegrationOptions` a `oneOf` that the default options (`{}`, valid for both kinds) break.
#[cfg(feature = "openapi")]
mod schemas {
    use super::*;
    use utoipa::PartialSchema;
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::{Ref, RefOr};

    type Schemas = Vec<(String, RefOr<Schema>)>;

    /// A kind's body with its `"kind"` tag as one more required property.
    fn tagged(kind: IntegrationKind, body: RefOr<Schema>) -> Schema {
        let RefOr::T(Schema::Object(mut object)) = body else {
            unreachable!("a struct's schema is an object")
        };
        let tag = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([kind.as_str()]));
        object.properties.insert("kind".into(), tag.into());
        object.required.insert(0, "kind".into());
        Schema::Object(object)
    }

    impl PartialSchema for IntegrationIn {
        fn schema() -> RefOr<Schema> {
            OneOfBuilder::new()
                .item(tagged(IntegrationKind::Pagerduty, PagerDutyIn::schema()))
                .item(tagged(IntegrationKind::Opsgenie, OpsgenieIn::schema()))
                .description(Some(
                    "`POST /api/v1/orgs/{org_id}/integrations`: connect a tool. The credential is checked with \
                     one call first.",
                ))
                .into()
        }
    }

    impl ToSchema for IntegrationIn {
        /// The kinds' bodies stay components too, under their names (without the tag).
        fn schemas(schemas: &mut Schemas) {
            push_with_references::<PagerDutyIn>(schemas);
            push_with_references::<OpsgenieIn>(schemas);
        }
    }

    impl PartialSchema for IntegrationOptions {
        fn schema() -> RefOr<Schema> {
            AnyOfBuilder::new()
                .item(Ref::from_schema_name(PagerDutyOptions::name()))
                .item(Ref::from_schema_name(OpsgenieOptions::name()))
                .description(Some("Options of either kind, as stored and shown."))
                .into()
        }
    }

    impl ToSchema for IntegrationOptions {
        fn schemas(schemas: &mut Schemas) {
            push_with_references::<PagerDutyOptions>(schemas);
            push_with_references::<OpsgenieOptions>(schemas);
        }
    }

    /// A component and the ones it refers to, as a derived `ToSchema` registers its fields' types.
    fn push_with_references<T: ToSchema>(schemas: &mut Schemas) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

/// `PATCH /api/v1/orgs/{org_id}/integrations/{integration_id}`: every field optional. A new credential is
/// checked before it replaces the old one; new options apply from the next sync (a full re-import with
/// `POST …/sync?mode=backfill`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntegrationPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// `{"api_token": …}` for PagerDuty, `{"api_key": …}` for Opsgenie.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub credentials: Option<serde_json::Value>,
    #[serde(default)]
    pub region: Option<OpsgenieRegion>,
    /// Options of the integration's kind (replace the stored ones).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub options: Option<serde_json::Value>,
    #[serde(default)]
    pub sync_interval_minutes: Option<u32>,
    /// Pause (true) or resume (false) the scheduled syncs (webhooks are still applied).
    #[serde(default)]
    pub paused: Option<bool>,
    /// PagerDuty only: the signing secret PagerDuty showed when the webhook subscription was created.
    #[serde(default)]
    pub webhook_secret: Option<String>,
}

/// What an integration is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntegrationStatus {
    /// Importing its history for the first time.
    Backfilling,
    /// An incremental sync is running or queued.
    Syncing,
    /// Up to date; syncs on its schedule.
    Active,
    /// The last sync failed; `last_error` says why. Syncs keep being tried on schedule.
    Failing,
    /// Scheduled syncs and webhooks are paused.
    Paused,
    /// Being deleted with its imported data.
    Deleting,
}

/// A full import of the history, or the changes since the last sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    Backfill,
    Incremental,
}

/// How a sync is going: stored as the job's `progress` while it runs, and kept when it ends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SyncProgress {
    /// `incidents`, `timeline`, `changes`… (what the sync is reading now).
    #[serde(default)]
    pub phase: Option<String>,
    /// API pages read.
    #[serde(default)]
    pub pages: u64,
    /// API requests made (pages plus per-item calls, retries excluded).
    #[serde(default)]
    pub requests: u64,
    /// Incidents read from the source.
    #[serde(default)]
    pub fetched: u64,
    /// Incidents stored: new ones plus changed ones.
    #[serde(default)]
    pub stored: u64,
    /// Timeline entries stored.
    #[serde(default)]
    pub events: u64,
    /// Items that could not be read (the rest went on); `recent_errors` says which.
    #[serde(default)]
    pub errors: u64,
    /// The last few errors, newest last.
    #[serde(default)]
    pub recent_errors: Vec<String>,
    /// How much of the range is done, 0–100.
    #[serde(default)]
    pub percent: Option<f64>,
    /// Estimated seconds left, from the pace so far.
    #[serde(default)]
    pub eta_seconds: Option<u64>,
}

/// One sync of an integration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SyncRunOut {
    /// The job's id (also under `GET …/jobs/{job_id}`).
    pub id: JobRunId,
    pub mode: SyncMode,
    pub state: JobState,
    pub progress: SyncProgress,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Where the tool sends webhooks, and how they are authenticated.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct WebhookOut {
    /// The URL to paste into PagerDuty or Opsgenie.
    pub url: String,
    /// Whether a secret is set (PagerDuty: the signing secret you pasted; Opsgenie: always).
    pub secret_set: bool,
    /// Opsgenie: the header Opsgenie must send, with `secret` as its value.
    pub header: Option<String>,
    /// Opsgenie: the secret, shown only in the answer that created it (connect, or rotate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// When the last delivery arrived.
    pub last_delivery_at: Option<DateTime<Utc>>,
}

/// A connected tool. The credential is never shown again once stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IntegrationOut {
    pub id: IntegrationId,
    pub kind: IntegrationKind,
    pub name: String,
    /// Opsgenie only.
    pub region: Option<OpsgenieRegion>,
    pub options: IntegrationOptions,
    pub status: IntegrationStatus,
    pub sync_interval_minutes: u32,
    /// Changes up to this time are imported.
    pub synced_until: Option<DateTime<Utc>>,
    pub next_sync_at: Option<DateTime<Utc>>,
    /// The running sync, or else the last one.
    pub current_run: Option<SyncRunOut>,
    /// Why the last sync failed, if it did.
    pub last_error: Option<String>,
    /// Incidents imported through this integration.
    pub incidents: i64,
    pub webhook: WebhookOut,
    pub credentials_updated_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
