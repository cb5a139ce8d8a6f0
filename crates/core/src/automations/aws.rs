//! The worker's side of AWS connections (issue 13): a connection as the worker uses it — its key pair opened —
//! and the result of a verification recorded on it. The AWS calls themselves live in `insights-aws` (the
//! worker's), so this crate never compiles the AWS SDK.

use super::connections::{AwsKeys, open_keys};
use crate::crypto::SecretBox;
use crate::db::{DbResult, OrgTx};
use chrono::{DateTime, Utc};
use insights_types::AwsConnectionId;
use insights_types::api::AwsCheckOut;

/// A connection as the worker uses it.
#[derive(Debug, Clone)]
pub struct LoadedConnection {
    pub id: AwsConnectionId,
    pub region: String,
    /// Mode `role`: the role to assume (`None` until the organization entered it) and the external id.
    pub role_arn: Option<String>,
    pub external_id: String,
    /// Mode `keys`: the opened key pair, or why it could not be opened (a rotated secret key, a damaged row).
    pub keys: Option<Result<AwsKeys, String>>,
    pub functions: Vec<String>,
    /// `unverified`, `verifying`, `verified` or `failed`.
    pub status: String,
    /// When the connection last changed: a verification only records its result on the version it checked.
    pub updated_at: DateTime<Utc>,
}

/// Loads a connection of the transaction's organization (`None`: it was deleted) and opens its key pair.
pub async fn load(
    db: &mut OrgTx,
    secrets: &SecretBox,
    id: AwsConnectionId,
) -> DbResult<Option<LoadedConnection>> {
    let row = org_query!(
        db,
        "SELECT mode, region, role_arn, external_id, credentials, functions, status, updated_at
           FROM aws_connections WHERE org_id = $1 AND id = $2",
        id.0,
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(row.map(|r| LoadedConnection {
        id,
        region: r.region,
        role_arn: r.role_arn.filter(|a| !a.trim().is_empty()),
        external_id: r.external_id,
        keys: match (r.mode.as_str(), r.credentials) {
            ("keys", Some(sealed)) => {
                Some(open_keys(secrets, id, &sealed).map_err(|e| e.to_string()))
            }
            ("keys", None) => Some(Err("no key pair is stored".into())),
            _ => None,
        },
        functions: r.functions,
        status: r.status,
        updated_at: r.updated_at,
    }))
}

/// What happened to a verification's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored: the connection is now `verified` (every check passed) or `failed`.
    Stored { verified: bool },
    /// The connection changed while it was checked (its role, keys or functions): the result is not stored
    /// and the connection must be checked again if it still asks for it (`verifying`).
    Changed { still_verifying: bool },
    /// The connection was deleted meanwhile.
    Gone,
}

/// Records a verification's checks on the connection as it was loaded (`seen` is its `updated_at` then):
/// status `verified` only if there is at least one check and every check passed, else `failed`.
pub async fn record_checks(
    db: &mut OrgTx,
    id: AwsConnectionId,
    seen: DateTime<Utc>,
    checks: &[AwsCheckOut],
) -> DbResult<Recorded> {
    let verified = !checks.is_empty() && checks.iter().all(|c| c.ok);
    let json = serde_json::to_value(checks).unwrap_or_else(|_| serde_json::json!([]));
    let updated = org_query_scalar!(
        db,
        "UPDATE aws_connections
            SET status = CASE WHEN $3 THEN 'verified' ELSE 'failed' END,
                checks = $4,
                verified_at = CASE WHEN $3 THEN now() ELSE verified_at END
          WHERE org_id = $1 AND id = $2 AND updated_at = $5
          RETURNING id",
        id.0,
        verified,
        json,
        seen,
    )
    .fetch_optional(db.conn())
    .await?;
    if updated.is_some() {
        return Ok(Recorded::Stored { verified });
    }
    let status = org_query_scalar!(
        db,
        "SELECT status FROM aws_connections WHERE org_id = $1 AND id = $2",
        id.0,
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(match status {
        None => Recorded::Gone,
        Some(s) => Recorded::Changed {
            still_verifying: s == "verifying",
        },
    })
}
