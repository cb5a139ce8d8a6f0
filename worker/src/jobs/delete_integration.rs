//! Deletes an integration with the incidents it imported, ten thousand at a time (each batch its own
//! transaction, with progress), then the integration itself. Running again after a crash continues where
//! the last batch ended.

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
        let mut deleted = 0u64;
        loop {
            if let Some(stop @ (Outcome::Interrupted | Outcome::Lost)) = ctx.should_stop() {
                return Ok(stop);
            }
            let mut db = state.db.org_tx(org_id, None).await?;
            let n = integrations::purge_incidents(&mut db, integration_id, BATCH).await?;
            deleted += n;
            if n == 0 {
                match integrations::delete(&mut db, integration_id).await {
                    Ok(()) | Err(DbError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            job_runs::set_progress(&mut db, job_run_id, &serde_json::json!({ "deleted": deleted }))
                .await?;
            db.commit().await?;
            if n == 0 {
                tracing::info!(%integration_id, deleted, "integration deleted with its incidents");
                return Ok(Outcome::Done);
            }
        }
    })
    .await
    .map_err(Into::into)
}
