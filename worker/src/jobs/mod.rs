//! Job handlers, one per file, and the bookkeeping every job shares: each attempt moves its `job_runs` row
//! to `running`, then to `succeeded`, `retrying` (with the error) or `failed` (after the last attempt).

pub mod generate_sample_data;
pub mod send_invitation_email;

use crate::WorkerState;
use insights_backend::db::job_runs;
use insights_types::{JobRunId, OrgId};
use std::future::Future;

/// What a job's work says when it did not fail.
pub enum Outcome {
    Done,
    /// Nothing to do any more (e.g. the invitation was revoked before its email went out); recorded as
    /// succeeded with the reason in `progress.skipped`.
    Skipped(&'static str),
}

/// Runs one attempt of a tracked job and records its outcome. An error is returned to apalis, which retries
/// with backoff until the attempts are used up.
pub async fn tracked<F, Fut>(
    state: &WorkerState,
    org: OrgId,
    job: JobRunId,
    kind: &str,
    work: F,
) -> Result<(), anyhow::Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    let mut db = state.db.org_tx(org, None).await?;
    let Some((attempt, max)) = job_runs::start_attempt(&mut db, job).await? else {
        tracing::info!(%job, kind, "job already ended; duplicate delivery ignored");
        return Ok(());
    };
    db.commit().await?;
    let started = std::time::Instant::now();
    let result = work().await;
    let mut db = state.db.org_tx(org, None).await?;
    let outcome = match result {
        Ok(Outcome::Done) => {
            job_runs::succeed(&mut db, job).await?;
            Ok(())
        }
        Ok(Outcome::Skipped(why)) => {
            job_runs::set_progress(&mut db, job, &serde_json::json!({ "skipped": why })).await?;
            job_runs::succeed(&mut db, job).await?;
            Ok(())
        }
        Err(e) => {
            let is_final = attempt >= max;
            job_runs::fail_attempt(&mut db, job, &format!("{e:#}"), is_final).await?;
            if is_final {
                tracing::error!(%job, kind, attempt, error = %format!("{e:#}"), "job failed for good");
            } else {
                tracing::warn!(%job, kind, attempt, error = %format!("{e:#}"), "job attempt failed; will retry");
            }
            Err(e)
        }
    };
    db.commit().await?;
    tracing::info!(
        %job,
        kind,
        attempt,
        ok = outcome.is_ok(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "job attempt finished"
    );
    outcome
}
