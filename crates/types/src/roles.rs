//! Organization roles and the one table of what each may do. The backend enforces it; the web app reads the
//! same table to hide actions a role may not use.

use serde::{Deserialize, Serialize};

/// A member's role in an organization, from most to least powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// Parses the stored or submitted spelling.
    pub fn parse(s: &str) -> Result<Self, crate::FieldError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                crate::FieldError::new(
                    "role",
                    "invalid",
                    "must be one of owner, admin, member, viewer",
                )
            })
    }

    /// Whether this role may do `permission`. This match is the permission table; `docs/API-DESIGN.md` shows
    /// the same table for people.
    #[must_use]
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            ViewOrganization | ListMembers | LeaveOrganization | SendFeedback => true,
            UpdateOrganization | InviteMembers | ManageMembers | ViewAuditLog | ViewJobs
            | ViewFeedback | ManageIntegrations => {
                matches!(self, Owner | Admin)
            }
            ManageOwners => self == Owner,
            EditPatterns => matches!(self, Owner | Admin | Member),
        }
    }

    /// The permissions of this role, for display.
    #[must_use]
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.can(*p))
            .collect()
    }
}

#[cfg(feature = "sqlx")]
crate::ids::stored_as_text!(Role => |s| Role::parse(s).ok());

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a member may or may not do in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the organization and its data.
    ViewOrganization,
    /// List the members and their roles.
    ListMembers,
    /// Leave the organization (remove oneself).
    LeaveOrganization,
    /// Leave a feedback message.
    SendFeedback,
    /// Rename the organization.
    UpdateOrganization,
    /// Create, list and revoke invitations.
    InviteMembers,
    /// Change roles of and remove admins, members and viewers.
    ManageMembers,
    /// Grant or take the owner role, change or remove an owner.
    ManageOwners,
    /// Read the audit log.
    ViewAuditLog,
    /// See background jobs and their errors.
    ViewJobs,
    /// Read the feedback people left.
    ViewFeedback,
    /// Connect sources of incidents (and load the sample history).
    ManageIntegrations,
    /// Correct recurring patterns: rename, mute, merge, move incidents between them.
    EditPatterns,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::ViewOrganization,
        Permission::ListMembers,
        Permission::LeaveOrganization,
        Permission::SendFeedback,
        Permission::UpdateOrganization,
        Permission::InviteMembers,
        Permission::ManageMembers,
        Permission::ManageOwners,
        Permission::ViewAuditLog,
        Permission::ViewJobs,
        Permission::ViewFeedback,
        Permission::ManageIntegrations,
        Permission::EditPatterns,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_manage_owners() {
        assert!(Role::Owner.can(Permission::ManageOwners));
        for role in [Role::Admin, Role::Member, Role::Viewer] {
            assert!(!role.can(Permission::ManageOwners), "{role}");
        }
    }

    #[test]
    fn viewers_and_members_cannot_invite_or_read_the_audit_log() {
        for role in [Role::Member, Role::Viewer] {
            assert!(!role.can(Permission::InviteMembers));
            assert!(!role.can(Permission::ViewAuditLog));
            assert!(role.can(Permission::ListMembers));
        }
    }

    #[test]
    fn roles_round_trip_through_their_spelling() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("superuser").is_err());
        assert!(Role::parse("Owner").is_err());
    }

    #[test]
    fn every_role_order_puts_owner_first() {
        assert!(
            Role::Owner < Role::Admin && Role::Admin < Role::Member && Role::Member < Role::Viewer
        );
    }
}
