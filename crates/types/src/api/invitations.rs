//! Invitations to an organization and their email delivery.

use crate::ids::*;
use crate::roles::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use super::*;

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
