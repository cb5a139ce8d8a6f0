//! Typed ids: a function taking `(OrgId, UserId)` cannot be called with them swapped. With the `sqlx` feature
//! they, and the enums stored as text (see [`stored_as_text`]), are SQL values of their own.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
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
    /// One entry of a user's own security log (logins, password changes).
    SecurityEventId,
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
    /// A single-use email link of an account (email verification or password reset).
    AccountTokenId,
    /// A recurring pattern of incidents.
    PatternId,
);

/// Stores enums in `text` columns as their `as_str()` spelling. Reading a spelling that `$parse` does not know
/// is an error naming the type and the value — never a default.
#[cfg(feature = "sqlx")]
macro_rules! stored_as_text {
    ($($ty:ident => $parse:expr),* $(,)?) => {$(
        impl sqlx::Type<sqlx::Postgres> for $ty {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $ty {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $ty {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)?;
                let parse: fn(&str) -> Option<Self> = $parse;
                parse(s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($ty)).into())
            }
        }
    )*};
}
#[cfg(feature = "sqlx")]
pub(crate) use stored_as_text;
