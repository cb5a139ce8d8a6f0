//! Typed ids: a function taking `(OrgId, UserId)` cannot be called with them swapped.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    )*};
}

typed_id!(
    /// An organization (tenant).
    OrgId,
    /// A person with an account.
    UserId,
    /// A pending or used invitation to join an organization.
    InvitationId,
    /// One entry of an organization's audit log.
    AuditEventId,
    /// One tracked background job.
    JobRunId,
    /// A feedback message left by a user.
    FeedbackId,
    /// An incident in the unified schema.
    IncidentId,
    /// A service incidents belong to.
    ServiceId,
    /// A team incidents belong to.
    TeamId,
    /// A connection to PagerDuty or Opsgenie.
    IntegrationId,
    /// One webhook delivery received from a source.
    WebhookDeliveryId,
);
