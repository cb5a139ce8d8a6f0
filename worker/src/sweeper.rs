//! Re-enqueues tracked jobs that stayed `queued` for over a minute: their enqueue was lost (Redis restarted,
//! or unreachable right after the API committed the job's row). Handlers are idempotent and refuse to run a
//! job that already ended, so a job enqueued twice still runs once to completion.

use crate::WorkerState;
use insights_backend::db::job_runs;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(30);
const STALE_AFTER_SECS: i64 = 60;

/// Runs until `stop` turns true.
pub async fn run(state: WorkerState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
        match sweep_once(&state, STALE_AFTER_SECS).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "re-enqueued jobs whose enqueue was lost"),
            Err(e) => tracing::error!(error = ?e, "sweeper failed"),
        }
    }
}

/// One pass: re-enqueues jobs queued for longer than `older_than_secs`; returns how many.
pub async fn sweep_once(state: &WorkerState, older_than_secs: i64) -> anyhow::Result<usize> {
    let mut conn = state.db.pool().acquire().await?;
    let stale = job_runs::stale_queued(&mut conn, older_than_secs, 500).await?;
    drop(conn);
    for job in &stale {
        let (org, id) = job.ids();
        state
            .queue
            .requeue(&job.kind, org, id, job.subject_id)
            .await?;
        let mut db = state.db.org_tx(org, None).await?;
        job_runs::touch(&mut db, id).await?;
        db.commit().await?;
    }
    Ok(stale.len())
}
