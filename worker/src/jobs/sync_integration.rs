//! Imports from PagerDuty or Opsgenie: a backfill of the whole history or an incremental sync, as the job's
//! checkpoint says. Each step reads one page (through the connector, which honours rate limits and retries
//! transient failures), then one transaction stores its incidents and timeline entries **and** the cursor of
//! the next step: a worker killed at any moment leaves either the whole page and its cursor or neither, so the
//! next attempt resumes at the first page not stored and nothing is lost or stored twice. Progress (pages,
//! incidents fetched and stored, errors, percent, estimated time left) is saved with each checkpoint; a
//! cancel request stops the sync after the current page.

use super::{JobCtx, Outcome, tracked};
use crate::WorkerState;
use anyhow::Context;
use apalis::prelude::{BoxDynError, Data, WorkerContext};
use insights_core::db::{DbError, incidents, integrations};
use insights_core::jobs::{Job, SyncIntegration};
use insights_core::sync::{self, SyncCheckpoint};
use insights_ingest::connector::{Connector, Cursor};
use insights_types::IntegrationId;
use insights_types::api::{SyncMode, SyncProgress};
use std::time::Instant;

/// Errors kept in `progress.recent_errors`.
const RECENT_ERRORS: usize = 10;

pub async fn run(
    job: SyncIntegration,
    state: Data<WorkerState>,
    worker: WorkerContext,
) -> Result<(), BoxDynError> {
    let SyncIntegration::V1 {
        org_id,
        job_run_id,
        integration_id,
    } = job;
    tracked(
        &state,
        org_id,
        job_run_id,
        SyncIntegration::KIND,
        Some(worker),
        |ctx| sync(&state, ctx, integration_id),
    )
    .await
    .map_err(Into::into)
}

async fn sync(
    state: &WorkerState,
    ctx: JobCtx,
    integration_id: IntegrationId,
) -> anyhow::Result<Outcome> {
    let mut db = state.db.org_tx(ctx.org, None).await?;
    let row = match integrations::get(&mut db, integration_id).await {
        Ok(r) if r.deleting_at.is_none() => r,
        Ok(_) | Err(DbError::NotFound) => {
            return Ok(Outcome::Skipped("the integration was deleted"));
        }
        Err(e) => return Err(e.into()),
    };
    let (checkpoint, progress) =
        insights_core::db::job_runs::saved_checkpoint(&mut db, ctx.attempt.job).await?;
    db.commit().await?;
    let mut checkpoint: SyncCheckpoint =
        serde_json::from_value(checkpoint.context("the sync job has no checkpoint")?)
            .context("the sync job's checkpoint cannot be read")?;
    let mut progress: SyncProgress = serde_json::from_value(progress).unwrap_or_default();

    let kind = row.kind();
    let connector = sync::connector(&row, &state.secrets, &state.config.sources)
        .context("the integration's settings cannot be used")?;
    let mut cursor: Cursor = match checkpoint.cursor.clone() {
        Some(c) => c,
        None => match (checkpoint.mode, checkpoint.since) {
            (SyncMode::Incremental, Some(since)) => connector.changes(since, checkpoint.until),
            _ => connector.backfill(checkpoint.until),
        },
    };
    let source = kind.source();
    let requests_before = progress.requests;
    let started = Instant::now();
    let fraction_at_start = Connector::progress(&cursor).fraction;
    tracing::info!(%integration_id, job = %ctx.attempt.job, mode = ?checkpoint.mode, attempt = ctx.attempt.number,
        resumed = checkpoint.cursor.is_some(), "sync started");

    loop {
        if let Some(stop) = ctx.should_stop() {
            return Ok(stop);
        }
        let reading = || {
            format!(
                "reading {} ({})",
                kind.label(),
                Connector::progress(&cursor).phase
            )
        };
        let step = match connector.step(&cursor).await {
            Ok(step) => step,
            // A refused credential or request will be refused again: say so now instead of retrying.
            Err(e) if !e.is_transient() => {
                return Ok(Outcome::FailedForGood(format!("{}: {e}", reading())));
            }
            Err(e) => return Err(anyhow::Error::new(e).context(reading())),
        };

        let mut db = state.db.org_tx(ctx.org, None).await?;
        let stats = incidents::upsert_batch(&mut db, Some(integration_id), &step.incidents).await?;
        let events: Vec<_> = step
            .events
            .iter()
            .map(|(incident, e)| (source, incident.as_str(), e))
            .collect();
        let new_events = incidents::upsert_events(&mut db, &events).await?;

        progress.pages += 1;
        progress.requests = requests_before + connector.requests();
        progress.fetched += step.incidents.len() as u64;
        progress.stored += stats.inserted + stats.updated;
        progress.events += stats.events_inserted + new_events;
        progress.errors += step.skipped.len() as u64;
        progress.recent_errors.extend(step.skipped);
        let excess = progress.recent_errors.len().saturating_sub(RECENT_ERRORS);
        progress.recent_errors.drain(..excess);
        let done = step.next.is_none();
        if let Some(next) = step.next {
            let at = Connector::progress(&next);
            progress.phase = Some(at.phase.to_owned());
            progress.percent = Some((at.fraction * 1000.0).round() / 10.0);
            let gained = at.fraction - fraction_at_start;
            progress.eta_seconds = (gained > 0.0).then(|| {
                (started.elapsed().as_secs_f64() * (1.0 - at.fraction) / gained).round() as u64
            });
            cursor = next;
        } else {
            progress.phase = None;
            progress.percent = Some(100.0);
            progress.eta_seconds = Some(0);
        }
        checkpoint.cursor = Some(cursor.clone());
        let stop = ctx
            .checkpoint(
                &mut db,
                &serde_json::to_value(&checkpoint)?,
                &serde_json::to_value(&progress)?,
            )
            .await?;
        if matches!(stop, Some(Outcome::Lost)) {
            return Ok(Outcome::Lost);
        }
        if done {
            integrations::synced(&mut db, integration_id, checkpoint.until).await?;
        }
        db.commit().await?;
        if done {
            tracing::info!(%integration_id, pages = progress.pages, fetched = progress.fetched,
                stored = progress.stored, errors = progress.errors, "sync finished");
            // A backfill brings a whole history: group it now rather than at the next scheduled refinement.
            if checkpoint.mode == SyncMode::Backfill {
                super::refine_patterns::refine_now(state, ctx.org).await;
            }
            return Ok(Outcome::Done);
        }
        if let Some(stop) = stop {
            return Ok(stop);
        }
    }
}
