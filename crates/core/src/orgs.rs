//! Organization rules that span several tables.

use crate::db::audit::{self, AuditEntry};
use crate::db::{DbResult, OrgTx, members, orgs};
use insights_types::{Role, UserId};
use std::net::IpAddr;

/// Creates the organization of `db` with `owner` as its first owner, and audits it.
pub async fn create_with_owner(
    db: &mut OrgTx,
    owner: UserId,
    name: &str,
    ip: Option<IpAddr>,
) -> DbResult<orgs::OrgRow> {
    let org = orgs::create(db, name).await?;
    members::add(db, owner, Role::Owner).await?;
    audit::record(
        db,
        AuditEntry::new(Some(owner), "organization_created", ip)
            .target("organization", org.id)
            .details(serde_json::json!({ "name": name })),
    )
    .await?;
    Ok(org)
}
