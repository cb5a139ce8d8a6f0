//! Deletes an integration, then the integration itself: first the incidents it imported, ten thousand at a
//! time (each batch its own transaction, with progress) — deleted, or unlinked when the disconnection keeps
//! them (they stay, no longer updated). Running again after a crash continues where the last batch ended.

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data, WorkerContext};
use insights_core::db::{DbError, integrations, job_runs};
use insights_core::jobs::{DeleteIntegration, Job};

const BATCH: i64 = 10_000;

pub async fn run(
    job: DeleteIntegration,
    state: Data<WorkerState>,
    worker: WorkerContext,
) -> Result<(), BoxDynError> {
    let DeleteIntegration::V1 {
        org_id,
        job_run_id,
        integration_id,
    } = job;
    let state = &*state;
    tracked(state, org_id, job_run_id, DeleteIntegration::KIND, Some(worker), |ctx| async move {
        let mut done = 0u64;
        loop {
            if let Some(stop @ (Outcome::Interrupted | Outcome::Lost)) = ctx.should_stop() {
                return Ok(stop);
            }
            let mut db = state.db.org_tx(org_id, None).await?;
            let keep = integrations::deletion_keeps_incidents(&mut db, integration_id).await?;
            let n = match keep {
                Some(true) => integrations::unlink_incidents(&mut db, integration_id, BATCH).await?,
                Some(false) => integrations::purge_incidents(&mut db, integration_id, BATCH).await?,
                None => 0, // already gone
            };
            done += n;
            if n == 0 {
                match integrations::delete(&mut db, integration_id).await {
                    Ok(()) | Err(DbError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let progress = if keep == Some(true) {
                serde_json::json!({ "kept": done })
            } else {
                serde_json::json!({ "deleted": done })
            };
            job_runs::set_progress(&mut db, job_run_id, &progress).await?;
            db.commit().await?;
            if n == 0 {
                tracing::info!(%integration_id, incidents = done, kept = keep == Some(true), "integration deleted");
                return Ok(Outcome::Done);
            }
        }
    })
    .await
    .map_err(Into::into)
}
