//! Re-mines an organization's recurring patterns from its whole history (`insights_core::patterns::refine`):
//! one transaction, under the organization's exclusive pattern lock. A failure is recorded on the
//! organization's pattern state (`last_error`) as well as on the job, which is retried with backoff.

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use insights_core::db::job_runs;
use insights_core::jobs::{Job, RefinePatterns};
use insights_core::patterns;
use insights_types::OrgId;
use std::time::Instant;

pub async fn run(job: RefinePatterns, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let RefinePatterns::V1 { org_id, job_run_id } = job;
    let state = &*state;
    tracked(state, org_id, job_run_id, RefinePatterns::KIND, None, |_| async move {
        let started = Instant::now();
        let mut db = state.db.org_tx(org_id, None).await?;
        let stats = match patterns::refine(&mut db).await {
            Ok(stats) => stats,
            Err(e) => {
                drop(db);
                record_error(state, org_id, &e).await;
                return Err(e.into());
            }
        };
        patterns::finish_refine(&mut db, job_run_id).await?;
        let progress = serde_json::json!({
            "total": stats.incidents,
            "processed": stats.incidents,
            "patterns": stats.patterns,
            "created": stats.created,
            "merged": stats.merged,
            "reassigned": stats.reassigned,
        });
        job_runs::set_progress(&mut db, job_run_id, &progress).await?;
        db.commit().await?;
        tracing::info!(%org_id, incidents = stats.incidents, patterns = stats.patterns, created = stats.created,
            merged = stats.merged, reassigned = stats.reassigned, ms = started.elapsed().as_millis() as u64,
            "patterns refined");
        Ok(Outcome::Done)
    })
    .await
    .map_err(Into::into)
}

/// Records a refinement's failure on the organization's pattern state (best effort: the job has it too).
pub async fn record_error(state: &WorkerState, org_id: OrgId, error: &patterns::PatternError) {
    let recorded = async {
        let mut db = state.db.org_tx(org_id, None).await?;
        patterns::record_error(&mut db, &error.to_string()).await?;
        db.commit().await?;
        anyhow::Ok(())
    };
    if let Err(e) = recorded.await {
        tracing::warn!(%org_id, error = %e, "the refinement's failure could not be recorded");
    }
}

/// Refines an organization's patterns right away (at the end of a backfill or a sample-data load, so a fresh
/// history is grouped when the job that stored it ends). A failure is logged and recorded, not returned: the
/// incidents are stored, and the scheduler refines the organization later.
pub async fn refine_now(state: &WorkerState, org_id: OrgId) {
    let started = Instant::now();
    let refined = async {
        let mut db = state.db.org_tx(org_id, None).await?;
        let stats = patterns::refine(&mut db).await?;
        db.commit().await?;
        Ok::<_, patterns::PatternError>(stats)
    };
    match refined.await {
        Ok(stats) => {
            tracing::info!(%org_id, incidents = stats.incidents, patterns = stats.patterns,
            ms = started.elapsed().as_millis() as u64, "patterns refined after an import")
        }
        Err(e) => {
            tracing::warn!(%org_id, error = %e, "patterns not refined after an import");
            record_error(state, org_id, &e).await;
        }
    }
}
