//! Starts the scheduled incremental syncs: every tick, integrations whose `next_sync_at` has passed (and that
//! are not paused, being deleted or already syncing) get a sync job. Several workers may run this at once: a
//! unique index lets only one sync per integration exist, so a race starts it once. It also keeps webhook
//! deliveries for a week only (long enough to recognize redeliveries), and starts the refinement of the
//! patterns of organizations that got incidents since their last one, `INSIGHTS_PATTERNS_REFINE_INTERVAL_S`
//! after it (at most one waiting or running per organization).

use crate::WorkerState;
use insights_core::db::{integrations, webhooks};
use insights_core::patterns;
use std::time::Duration;

/// How long processed webhook deliveries (and their jobs) are kept.
pub const WEBHOOK_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
use insights_core::sync::{self, SyncStart};
use insights_types::api::SyncMode;

/// Runs until `stop` turns true.
pub async fn run(state: WorkerState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(state.config.jobs.worker_tick) => {}
        }
        match tick(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(syncs = n, "scheduled syncs started"),
            Err(e) => tracing::error!(error = ?e, "scheduler failed"),
        }
    }
}

/// One pass: starts the syncs that are due (returns how many), and drops old webhook deliveries.
pub async fn tick(state: &WorkerState) -> anyhow::Result<usize> {
    let mut conn = state.db.pool().acquire().await?;
    let purged = webhooks::purge(&mut conn, WEBHOOK_RETENTION).await?;
    if purged > 0 {
        tracing::info!(deliveries = purged, "old webhook deliveries deleted");
    }
    let due = integrations::due(&mut conn, 200).await?;
    let refinements =
        patterns::due(&mut conn, state.config.jobs.patterns_refine_interval, 200).await?;
    drop(conn);
    for org_id in refinements {
        let mut db = state.db.org_tx(org_id, None).await?;
        let pending = patterns::request_refine(&mut db, &state.queue).await?;
        db.commit().await?;
        if let Some(pending) = pending {
            state.queue.push(pending).await;
        }
    }
    let mut started = 0;
    for (integration_id, org_id) in due {
        let mut db = state.db.org_tx(org_id, None).await?;
        let row = integrations::get(&mut db, integration_id).await?;
        let start = sync::start(&mut db, &state.queue, &row, SyncMode::Incremental).await?;
        db.commit().await?;
        if matches!(start, SyncStart::Started(..)) {
            started += 1;
        }
        start.push(&state.queue).await;
    }
    Ok(started)
}
