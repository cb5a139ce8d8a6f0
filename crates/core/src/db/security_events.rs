//! Each user's own security log: logins, failed logins and password changes. Not tenant data: written and read
//! in the user's own transaction (`Db::user_tx`), which row-level security limits to that user's rows.

use super::{DbResult, cursor};
use chrono::{DateTime, Utc};
use insights_types::{SecurityEventId, UserId, api::SecurityEventOut};
use sqlx::PgConnection;
use std::net::IpAddr;

/// Appends an entry for `user` (run in `Db::user_tx(user)`).
pub async fn record(
    conn: &mut PgConnection,
    user: UserId,
    action: &str,
    ip: Option<IpAddr>,
) -> DbResult<()> {
    sqlx::query!(
        "INSERT INTO user_security_events (id, user_id, action, ip) VALUES ($1, $2, $3, $4::text::inet)",
        SecurityEventId::new() as SecurityEventId,
        user as UserId,
        action,
        ip.map(|ip| ip.to_string()),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The user's entries, newest first, `limit` per page, after the cursor if given.
pub async fn list(
    conn: &mut PgConnection,
    user: UserId,
    after: Option<cursor::Position>,
    limit: i64,
) -> DbResult<(Vec<SecurityEventOut>, Option<String>)> {
    let (at, id): (Option<DateTime<Utc>>, Option<uuid::Uuid>) = after.unzip();
    let items = sqlx::query_as!(
        SecurityEventOut,
        r#"SELECT id AS "id: SecurityEventId", action, host(ip) AS ip, created_at
             FROM user_security_events
            WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
            ORDER BY created_at DESC, id DESC
            LIMIT $4"#,
        user as UserId,
        at,
        id,
        limit + 1,
    )
    .fetch_all(conn)
    .await?;
    Ok(cursor::page(items, limit, |e| (e.created_at, e.id.0)))
}
