//! The organization's pattern state (`pattern_state`): the lock that orders the writers of patterns, and the
//! versions bumped whenever assignments or patterns change.
//!
//! Writers take an advisory lock of the organization before touching incidents or patterns: the store
//! pipeline shared (batches of one organization still store side by side), refinement and corrections
//! exclusive. A store that already holds incident rows therefore never waits for a refinement that wants
//! them, and a refinement never rewrites assignments a store is making.

use crate::db::{DbResult, OrgTx};

/// Takes the organization's pattern lock shared, for the rest of the transaction (the store pipeline).
pub(crate) async fn lock_shared(db: &mut OrgTx) -> DbResult<()> {
    org_query!(
        db,
        r#"SELECT 1 AS "locked!" FROM pg_advisory_xact_lock_shared(hashtextextended('patterns:' || $1::uuid::text, 0))"#
    )
    .fetch_one(db.conn())
    .await?;
    Ok(())
}

/// Takes the organization's pattern lock exclusively (refinement, corrections), then its state row.
pub(crate) async fn lock_exclusive(db: &mut OrgTx) -> DbResult<()> {
    org_query!(
        db,
        r#"SELECT 1 AS "locked!" FROM pg_advisory_xact_lock(hashtextextended('patterns:' || $1::uuid::text, 0))"#
    )
    .fetch_one(db.conn())
    .await?;
    org_execute!(
        db,
        "INSERT INTO pattern_state (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING"
    )?;
    org_query!(
        db,
        "SELECT version FROM pattern_state WHERE org_id = $1 FOR UPDATE"
    )
    .fetch_one(db.conn())
    .await?;
    Ok(())
}

/// Bumps the pattern version (adding `pending` incidents assigned since the last refinement) and returns the
/// version of the templates (`templates_version`). Holds the state row for the rest of the transaction, so
/// writers bump one at a time, and the templates cannot change under the caller.
pub(crate) async fn bump(db: &mut OrgTx, pending: i64) -> DbResult<i64> {
    Ok(org_query_scalar!(
        db,
        "INSERT INTO pattern_state (org_id, version, pending) VALUES ($1, 1, $2)
         ON CONFLICT (org_id) DO UPDATE SET version = pattern_state.version + 1,
                pending = pattern_state.pending + EXCLUDED.pending, updated_at = now()
         RETURNING templates_version",
        pending
    )
    .fetch_one(db.conn())
    .await?)
}

/// Bumps the version of the templates (after a bump of the pattern version in the same transaction): the
/// store pipeline's matchers are rebuilt.
pub(crate) async fn templates_changed(db: &mut OrgTx) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE pattern_state SET templates_version = templates_version + 1 WHERE org_id = $1"
    )
}

/// Bumps the analytics version (the key of the analytics answer cache): answers grouped or filtered by
/// pattern change when assignments do.
pub(crate) async fn bump_analytics(db: &mut OrgTx) -> DbResult<()> {
    org_execute!(
        db,
        "INSERT INTO analytics_state (org_id, version) VALUES ($1, 1)
         ON CONFLICT (org_id) DO UPDATE SET version = analytics_state.version + 1, updated_at = now()"
    )
}

/// Bumps both versions after a correction or a refinement.
pub(crate) async fn changed(db: &mut OrgTx) -> DbResult<()> {
    bump(db, 0).await?;
    bump_analytics(db).await
}
