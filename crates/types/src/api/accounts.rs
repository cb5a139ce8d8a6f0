//! Accounts and sessions: sign-up, login, tokens, the current user and their memberships.

use crate::ids::*;
use crate::roles::Role;
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

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
    /// Whether the account proved its address (always true when the server sends no email). Until it has,
    /// it cannot accept invitations into other organizations.
    pub email_verified: bool,
    /// Where the app's Help link and its feedback dialog point: this server's user guide and
    /// troubleshooting page (`INSIGHTS_HELP_URL`, `INSIGHTS_TROUBLESHOOTING_URL`).
    pub help: HelpLinksOut,
}

/// The user guide and the troubleshooting page of this server (part of [`MeOut`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HelpLinksOut {
    pub guide_url: String,
    pub troubleshooting_url: String,
}

/// `POST /api/v1/auth/verify-email`: the token of a verification link (the fragment of `/verify-email#token=…`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailIn {
    pub token: String,
}

/// `POST /api/v1/auth/forgot-password`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordIn {
    pub email: String,
}

/// `POST /api/v1/auth/reset-password`: the token of a reset link (the fragment of `/reset-password#token=…`)
/// and the new password.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordIn {
    pub token: String,
    pub new_password: String,
}

/// The answer to requests whose outcome is not told (`forgot-password`, `me/verification-email`): what
/// happens next, the same whatever the address.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AcceptedOut {
    pub message: String,
}

/// `PATCH /api/v1/me`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    #[serde(default)]
    pub name: Option<String>,
}

/// One entry of your own security log (`GET /api/v1/me/security-events`): a login, a failed login or a
/// password change of your account. Only you see it; organizations' audit logs do not record logins.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SecurityEventOut {
    pub id: SecurityEventId,
    /// `login`, `login_failed`, `password_changed`, `password_reset` or `email_verified`.
    pub action: String,
    /// The client address it came from.
    pub ip: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /api/v1/me/password`: signs out every other session.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeIn {
    pub current_password: String,
    pub new_password: String,
}
