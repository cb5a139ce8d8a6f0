//! Generates the sample incident history and stores it through the same batch pipeline as real sources,
//! reporting progress as it goes, then refines the organization's patterns and adds the sample runbooks
//! (enqueued for the index like any runbook). The seed comes from the organization id, so running it again
//! stores nothing new.

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use insights_core::db::{incidents, job_runs};
use insights_core::jobs::{GenerateSampleData, Job};
use insights_ingest::sample;

/// Days of history generated.
pub const DAYS: u32 = 180;
const BATCH: usize = 1_000;

pub async fn run(job: GenerateSampleData, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let GenerateSampleData::V1 { org_id, job_run_id } = job;
    tracked(&state, org_id, job_run_id, GenerateSampleData::KIND, None, |_| async {
        let seed = u64::from_le_bytes(org_id.0.as_bytes()[..8].try_into().expect("8 bytes"));
        let history = tokio::task::spawn_blocking(move || sample::generate(seed, chrono::Utc::now(), DAYS)).await?;
        let total = history.len();
        let mut stored = 0usize;
        let mut inserted = 0u64;
        for batch in history.chunks(BATCH) {
            let mut db = state.db.org_tx(org_id, None).await?;
            let stats = incidents::upsert_batch(&mut db, None, batch).await?;
            stored += batch.len();
            inserted += stats.inserted;
            let progress = serde_json::json!({ "total": total, "processed": stored, "inserted": inserted });
            job_runs::set_progress(&mut db, job_run_id, &progress).await?;
            db.commit().await?;
        }
        tracing::info!(%org_id, total, inserted, "sample history stored");
        super::refine_patterns::refine_now(&state, org_id).await;
        // The runbooks that come with the sample history (kept, with people's edits, when loaded again).
        let mut db = state.db.org_tx(org_id, None).await?;
        let runbooks = insights_core::runbooks::sample::load(&mut db).await?;
        db.commit().await?;
        tracing::info!(%org_id, runbooks, "sample runbooks loaded");
        Ok(Outcome::Done)
    })
    .await
    .map_err(Into::into)
}
