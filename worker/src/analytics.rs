//! The analytics refresher: every `INSIGHTS_ANALYTICS_REFRESH_MS`, finds the organizations whose incidents
//! changed (the dirty marks the triggers on `incidents` write) and rolls the changes up, one organization per
//! transaction ([`insights_core::analytics::refresh::refresh_org`]). An organization another worker is refreshing is
//! skipped (its state row is locked); a failure is logged, recorded in the state row and retried next tick.

use crate::WorkerState;
use insights_core::analytics::{self, refresh};
use insights_types::OrgId;

/// Organizations looked at per tick.
const ORGS_PER_TICK: i32 = 100;
/// Refresh transactions one organization gets per tick (each takes up to 62 days of marks): a large backfill
/// is rolled up over several ticks, and the other organizations' changes get their turn in between.
const PASSES_PER_TICK: usize = 4;

/// Runs until `stop` turns true.
pub async fn run(state: WorkerState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(state.config.jobs.analytics_refresh) => {}
        }
        if let Err(e) = refresh_once(&state).await {
            tracing::error!(error = ?e, "analytics refresher failed");
        }
    }
}

/// One pass: refreshes every organization with dirty marks (up to [`PASSES_PER_TICK`] transactions each, unless
/// another worker holds it); returns how many organizations were refreshed.
pub async fn refresh_once(state: &WorkerState) -> anyhow::Result<usize> {
    let orgs: Vec<OrgId> = sqlx::query_scalar!(
        r#"SELECT org_id AS "org_id!: OrgId" FROM analytics_dirty_orgs($1)"#,
        ORGS_PER_TICK
    )
    .fetch_all(state.db.pool())
    .await?;
    let mut refreshed = 0;
    for org in orgs {
        match refresh_org(state, org).await {
            Ok(true) => refreshed += 1,
            Ok(false) => {}
            Err(e) => {
                let error = format!("{e:#}");
                tracing::error!(%org, %error, "analytics refresh failed; retried next tick");
                let mut db = state.db.org_tx(org, None).await?;
                analytics::record_refresh_error(&mut db, &error).await?;
                db.commit().await?;
            }
        }
    }
    Ok(refreshed)
}

/// Refreshes one organization until its marks are used up or it had its passes; `false` when another worker
/// holds it.
async fn refresh_org(state: &WorkerState, org: OrgId) -> anyhow::Result<bool> {
    for _ in 0..PASSES_PER_TICK {
        let mut db = state.db.org_tx(org, None).await?;
        let done = refresh::refresh_org(&mut db).await?;
        db.commit().await?;
        match done {
            refresh::Refreshed::Busy => return Ok(false),
            refresh::Refreshed::Days { days, more } => {
                tracing::debug!(%org, days, more, "analytics rolled up");
                if !more {
                    return Ok(true);
                }
            }
        }
    }
    Ok(true)
}
