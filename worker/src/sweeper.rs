//! Re-enqueues tracked jobs that waited (queued, or retrying) past the time they were due for longer than
//! `INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS` —
//! their delivery may be lost: Redis restarted or lost its data, or was unreachable right after the API
//! committed the job's row — and jobs `running` without a heartbeat for longer than
//! `INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS` — their worker died (killed, out of memory, the machine went away);
//! those resume from their last checkpoint. A waiting job is pushed again as the same delivery, which the queue
//! stores once: when it was not lost after all (a long backlog), nothing is added. Handlers are idempotent and
//! refuse to run a job that already ended or that a live worker is running, so a job never runs twice at once.

use crate::WorkerState;
use insights_core::db::job_runs;
use insights_core::jobs::Delivery;
use std::time::Duration;

/// Runs until `stop` turns true.
pub async fn run(state: WorkerState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(state.config.jobs.worker_tick) => {}
        }
        match sweep_once(&state, state.config.jobs.heartbeat_timeout).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "re-enqueued jobs whose enqueue was lost"),
            Err(e) => tracing::error!(error = ?e, "sweeper failed"),
        }
    }
}

/// One pass: re-enqueues jobs waiting for longer than `queued_for` past their due time, and dead running ones;
/// returns how many.
pub async fn sweep_once(state: &WorkerState, queued_for: Duration) -> anyhow::Result<usize> {
    let mut conn = state.db.pool().acquire().await?;
    let stale = job_runs::stale(
        &mut conn,
        queued_for,
        state.config.jobs.heartbeat_timeout,
        500,
    )
    .await?;
    drop(conn);
    for job in &stale {
        let (org, id) = job.ids();
        // Back to `queued` first, so that the delivery below finds a job it may start.
        let mut db = state.db.org_tx(org, None).await?;
        let mut delivery =
            job_runs::requeued(&mut db, id, state.config.jobs.heartbeat_timeout).await?;
        if let Some(number) = delivery
            && state.queue.delivery_spent(&job.kind, id, number).await?
        {
            delivery = job_runs::replace_spent_delivery(&mut db, id, number).await?;
        }
        db.commit().await?;
        if let Some(number) = delivery {
            state
                .queue
                .requeue(&job.kind, org, id, job.subject_id, Delivery::now(number))
                .await?;
        }
    }
    Ok(stale.len())
}
