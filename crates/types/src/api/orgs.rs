//! Organizations and their members, the audit log and feedback.

use crate::ids::*;
use crate::roles::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use super::*;

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

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEventOut {
    pub id: AuditEventId,
    /// What happened, e.g. `invitation_created`, `member_role_changed` (logins are in each user's own security
    /// log, `GET /me/security-events`).
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
