//! Invitation rules: whether an invitation can still be used, and by whom.

use crate::config::{AuthConfig, PublicUrl};
use crate::db::invitations::InvitationRow;
use chrono::Utc;
use insights_types::Role;
use insights_types::domain::Email;
use std::time::Duration;

/// The accept page with the token in the URL fragment: browsers never send a fragment to a server nor put
/// it in a `Referer`, and the page removes it from the address bar once read.
#[must_use]
pub fn accept_link(public_url: &PublicUrl, token: &str) -> String {
    public_url.link(&format!("join#token={token}"))
}

/// How long an invitation to `role` can be accepted: owner and admin links are worth more to whoever finds
/// one, so they expire sooner.
#[must_use]
pub fn ttl(role: Role, auth: &AuthConfig) -> Duration {
    match role {
        Role::Owner | Role::Admin => auth.privileged_invitation_ttl,
        Role::Member | Role::Viewer => auth.invitation_ttl,
    }
}

/// Why an invitation cannot be used; each says what happened in a sentence for the person holding it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("This invitation has already been used.")]
    Used,
    #[error("This invitation was revoked. Ask for a new one.")]
    Revoked,
    #[error("This invitation has expired. Ask for a new one.")]
    Expired,
    #[error("This invitation was sent to another email address ({0}).")]
    OtherEmail(String),
}

impl Unusable {
    /// The error code the API answers with.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Used => "invitation_used",
            Self::Revoked => "invitation_revoked",
            Self::Expired => "invitation_expired",
            Self::OtherEmail(_) => "invitation_email_mismatch",
        }
    }
}

/// The role an invitation grants, if it can still be used by `email`.
pub fn usable_by(inv: &InvitationRow, email: &Email) -> Result<Role, Unusable> {
    if inv.accepted_at.is_some() {
        return Err(Unusable::Used);
    }
    if inv.revoked_at.is_some() {
        return Err(Unusable::Revoked);
    }
    if inv.expires_at <= Utc::now() {
        return Err(Unusable::Expired);
    }
    if inv.email != email.as_str() {
        return Err(Unusable::OtherEmail(inv.email.clone()));
    }
    Ok(inv.role())
}
