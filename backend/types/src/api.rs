//! Request and response bodies of the HTTP API (`…In` is what a client sends, `…Out` what it gets back,
//! `…Patch` a partial update). Request bodies refuse unknown fields so that a typo is an error, not a no-op.

use crate::ids::*;
use crate::roles::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// One page of a list: `next_cursor` is present when there is more; pass it back as `?cursor=`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------- accounts

/// `POST /api/v1/auth/signup`. Give `organization_name` to create an organization, or `invitation_token` to
/// join the organization that invited you.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupIn {
    pub email: String,
    pub password: String,
    pub name: String,
    #[serde(default)]
    pub organization_name: Option<String>,
    #[serde(default)]
    pub invitation_token: Option<String>,
}

/// `POST /api/v1/auth/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub email: String,
    pub password: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UserOut {
    pub id: UserId,
    pub email: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OrgOut {
    pub id: OrgId,
    pub name: String,
    pub slug: String,
}

/// A short-lived access token; send it as `Authorization: Bearer <access_token>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TokenOut {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// The answer to signup and login: who you are, where you landed, and your access token. The refresh token
/// travels in an `HttpOnly` cookie, never in the body.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuthOut {
    pub user: UserOut,
    /// The organization created or joined at signup; at login, the first organization of the user, if any.
    pub organization: Option<OrgOut>,
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MembershipOut {
    pub organization: OrgOut,
    pub role: Role,
}

/// `GET /api/v1/me`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MeOut {
    pub user: UserOut,
    pub memberships: Vec<MembershipOut>,
}

/// `PATCH /api/v1/me`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    #[serde(default)]
    pub name: Option<String>,
}

/// `POST /api/v1/me/password`: signs out every other session.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeIn {
    pub current_password: String,
    pub new_password: String,
}

// ---------------------------------------------------------------- organizations

/// `POST /api/v1/orgs`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrgIn {
    pub name: String,
}

/// `PATCH /api/v1/orgs/{org_id}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    #[serde(default)]
    pub name: Option<String>,
}

/// An organization seen by one of its members.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OrgDetailOut {
    pub id: OrgId,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
    /// The caller's role here.
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MemberOut {
    pub user: UserOut,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

/// `PATCH /api/v1/orgs/{org_id}/members/{user_id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    pub role: Role,
}

// ---------------------------------------------------------------- invitations

/// `POST /api/v1/orgs/{org_id}/invitations`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InvitationIn {
    pub email: String,
    pub role: Role,
}

/// Delivery of the invitation email (when SMTP is configured).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeliveryOut {
    pub job_id: JobRunId,
    pub state: JobState,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// A pending invitation. `accept_url` (which holds the secret token) is present only in the answer to its
/// creation: the token is stored hashed and cannot be shown again.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InvitationOut {
    pub id: InvitationId,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub invited_by: Option<UserOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_url: Option<String>,
    /// The email delivery job, if SMTP is configured.
    pub delivery: Option<DeliveryOut>,
}

/// `POST /api/v1/invitations/accept` (signed in) and `POST /api/v1/invitations/lookup` (anyone with the token).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InvitationTokenIn {
    pub token: String,
}

/// What an invitation link leads to, shown before accepting.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InvitationPreviewOut {
    pub organization: OrgOut,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- audit log, jobs, feedback

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEventOut {
    pub id: AuditEventId,
    /// What happened, e.g. `login`, `login_failed`, `invitation_created`, `member_role_changed`.
    pub action: String,
    /// Who did it (absent for system actions).
    pub actor: Option<UserOut>,
    /// What it was done to, e.g. `{"type":"user","id":"…"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub target: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// State of a tracked background job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// A worker is on it.
    Running,
    /// Failed at least once, will be tried again after a backoff.
    Retrying,
    Succeeded,
    /// Failed for good; `last_error` says why.
    Failed,
    /// Cancelled by someone before it ended.
    Cancelled,
}

impl JobState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Retrying => "retrying",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Retrying,
            Self::Succeeded,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|j| j.as_str() == s)
    }

    /// Queued or running (not ended).
    #[must_use]
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running | Self::Retrying)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct JobRunOut {
    pub id: JobRunId,
    /// The job's kind, e.g. `send_invitation_email`.
    pub kind: String,
    pub state: JobState,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub progress: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/orgs/{org_id}/feedback`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FeedbackIn {
    pub message: String,
    /// The page the message was written on (a path such as `/settings/members`).
    pub page: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FeedbackOut {
    pub id: FeedbackId,
    pub message: String,
    pub page: String,
    pub author: Option<UserOut>,
    pub created_at: DateTime<Utc>,
}

// ---------------------------------------------------------------- operations

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HealthOut {
    /// `ok` or `unavailable`.
    pub status: String,
    /// Each dependency and whether it answered (`ok` or the reason it did not).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub checks: serde_json::Map<String, serde_json::Value>,
}

// ---------------------------------------------------------------- incidents (unified schema)

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
}

// ---------------------------------------------------------------- integrations (PagerDuty, Opsgenie)

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
#[cfg_attr(feature = "openapi", derive(ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(untagged)]
pub enum IntegrationOptions {
    Pagerduty(PagerDutyOptions),
    Opsgenie(OpsgenieOptions),
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
