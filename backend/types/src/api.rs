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
        ]
        .into_iter()
        .find(|j| j.as_str() == s)
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
