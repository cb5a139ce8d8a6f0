//! When refinement runs: the worker's scheduler asks for organizations that are due ([`due`]), and a backfill
//! or sample-data load asks for one as it ends; either way through [`request_refine`], which records at most
//! one waiting or running `refine_patterns` job per organization (`pattern_state.refine_job_id`).

use super::PatternResult;
use crate::db::{DbError, DbResult, OrgTx};
use crate::jobs::{JobQueue, Pending, RefinePatterns};
use insights_types::{JobRunId, OrgId};
use sqlx::PgConnection;
use std::time::Duration;

/// Organizations (across tenants) that got incidents since their last refinement, which was at least
/// `interval` ago, and have no refinement waiting or running.
///
/// # Errors
/// A database error.
pub async fn due(conn: &mut PgConnection, interval: Duration, limit: i32) -> DbResult<Vec<OrgId>> {
    let secs = i32::try_from(interval.as_secs()).unwrap_or(i32::MAX);
    Ok(sqlx::query_scalar!(
        r#"SELECT org_id AS "org_id!: OrgId" FROM patterns_due_orgs($1, $2)"#,
        secs,
        limit
    )
    .fetch_all(conn)
    .await?)
}

/// Records a refinement of the organization unless one is waiting or running (or the state row is held by
/// one right now); push the job once the transaction committed.
///
/// # Errors
/// A database error.
pub async fn request_refine(
    db: &mut OrgTx,
    queue: &JobQueue,
) -> PatternResult<Option<Pending<RefinePatterns>>> {
    org_execute!(
        db,
        "INSERT INTO pattern_state (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING"
    )?;
    let Some(row) = org_query!(
        db,
        r#"SELECT (SELECT j.state FROM job_runs j WHERE j.org_id = $1 AND j.id = s.refine_job_id) AS job_state
             FROM pattern_state s WHERE s.org_id = $1 FOR UPDATE SKIP LOCKED"#
    )
    .fetch_optional(db.conn())
    .await
    .map_err(DbError::from)?
    else {
        return Ok(None);
    };
    if matches!(
        row.job_state.as_deref(),
        Some("queued" | "running" | "retrying")
    ) {
        return Ok(None);
    }
    let pending = queue.record::<RefinePatterns>(db, ()).await?;
    org_execute!(
        db,
        "UPDATE pattern_state SET refine_job_id = $2, updated_at = now() WHERE org_id = $1",
        pending.job_run_id() as JobRunId
    )?;
    Ok(Some(pending))
}

/// Records why a refinement failed (in a transaction of its own: the refinement's rolled back).
///
/// # Errors
/// A database error.
pub async fn record_error(db: &mut OrgTx, error: &str) -> PatternResult<()> {
    org_execute!(
        db,
        "UPDATE pattern_state SET last_error = $2, updated_at = now() WHERE org_id = $1",
        error
    )?;
    Ok(())
}

/// Forgets the refinement job `job` once it ended (in the refinement's transaction).
///
/// # Errors
/// A database error.
pub async fn finish_refine(db: &mut OrgTx, job: JobRunId) -> PatternResult<()> {
    org_execute!(
        db,
        "UPDATE pattern_state SET refine_job_id = NULL, updated_at = now() WHERE org_id = $1 AND refine_job_id = $2",
        job as JobRunId
    )?;
    Ok(())
}
