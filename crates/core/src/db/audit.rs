//! The audit log: security-relevant actions with actor, time and IP.

use super::{DbResult, OrgTx, cursor};
use chrono::{DateTime, Utc};
use insights_types::{AuditEventId, UserId, api::AuditEventOut};
use std::net::IpAddr;

/// What to record.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: Option<UserId>,
    pub action: &'static str,
    pub target: serde_json::Value,
    pub details: serde_json::Value,
    pub ip: Option<IpAddr>,
}

impl AuditEntry {
    pub fn new(actor: Option<UserId>, action: &'static str, ip: Option<IpAddr>) -> Self {
        Self {
            actor,
            action,
            target: serde_json::json!({}),
            details: serde_json::json!({}),
            ip,
        }
    }

    #[must_use]
    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target = serde_json::json!({ "type": kind, "id": id.to_string() });
        self
    }

    #[must_use]
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

pub async fn record(db: &mut OrgTx, entry: AuditEntry) -> DbResult<()> {
    org_execute!(
        db,
        "INSERT INTO audit_events (org_id, id, actor_id, action, target, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::inet)",
        AuditEventId::new() as AuditEventId,
        entry.actor as Option<UserId>,
        entry.action,
        entry.target,
        entry.details,
        entry.ip.map(|ip| ip.to_string()),
    )
}

struct Row {
    id: AuditEventId,
    action: String,
    target: serde_json::Value,
    details: serde_json::Value,
    ip: Option<String>,
    created_at: DateTime<Utc>,
    actor_id: Option<UserId>,
    actor_email: Option<String>,
    actor_name: Option<String>,
}

/// Newest first, `limit` per page, after the cursor if given.
pub async fn list(
    db: &mut OrgTx,
    after: Option<cursor::Position>,
    action: Option<&str>,
    limit: i64,
) -> DbResult<(Vec<AuditEventOut>, Option<String>)> {
    let (at, id) = after.unzip();
    let rows = org_query_as!(
        db,
        Row,
        r#"SELECT e.id AS "id: AuditEventId", e.action, e.target, e.details, host(e.ip) AS ip, e.created_at,
                  u.id AS "actor_id?: UserId", u.email AS "actor_email?", u.name AS "actor_name?"
             FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id
            WHERE e.org_id = $1
              AND ($2::timestamptz IS NULL OR (e.created_at, e.id) < ($2, $3))
              AND ($4::text IS NULL OR e.action = $4)
            ORDER BY e.created_at DESC, e.id DESC
            LIMIT $5"#,
        at,
        id,
        action,
        limit + 1,
    )
    .fetch_all(db.conn())
    .await?;
    let items: Vec<AuditEventOut> = rows
        .into_iter()
        .map(|r| AuditEventOut {
            id: r.id,
            action: r.action,
            actor: super::users::joined(r.actor_id, r.actor_email, r.actor_name),
            target: r.target,
            details: r.details,
            ip: r.ip,
            created_at: r.created_at,
        })
        .collect();
    Ok(cursor::page(items, limit, |e| (e.created_at, e.id.0)))
}
