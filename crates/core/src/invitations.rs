//! Invitation rules: whether an invitation can still be used, and by whom.

use crate::db::invitations::InvitationRow;
use chrono::Utc;
use insights_types::Role;
use insights_types::domain::Email;

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
