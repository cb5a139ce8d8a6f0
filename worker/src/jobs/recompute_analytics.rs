//! Recomputes every analytics rollup of an organization after its analytics settings changed, month by month
//! (one transaction each, with a checkpoint and progress), then removes rollups left outside the incidents'
//! months (another time zone's dates) and bumps the organization's analytics version. The refresher keeps
//! running meanwhile; both hold the organization's analytics state row while they write, so they take turns.

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data, WorkerContext};
use chrono::NaiveDate;
use insights_core::analytics;
use insights_core::db::job_runs;
use insights_core::jobs::{Job, RecomputeAnalytics};
use serde::{Deserialize, Serialize};

/// Where a recomputation stands: the months `[first, end)` it goes through (fixed by its first attempt), and
/// the next one to compute.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Checkpoint {
    months: Option<(NaiveDate, NaiveDate)>,
    next: Option<NaiveDate>,
}

pub async fn run(
    job: RecomputeAnalytics,
    state: Data<WorkerState>,
    worker: WorkerContext,
) -> Result<(), BoxDynError> {
    let RecomputeAnalytics::V1 { org_id, job_run_id } = job;
    let state = &*state;
    tracked(
        state,
        org_id,
        job_run_id,
        RecomputeAnalytics::KIND,
        Some(worker),
        |ctx| async move {
            let mut db = state.db.org_tx(org_id, None).await?;
            let saved = job_runs::saved_checkpoint(&mut db, job_run_id).await?.0;
            let mut at: Checkpoint = match saved.and_then(|v| serde_json::from_value(v).ok()) {
                Some(c) => c,
                None => {
                    let months = analytics::recompute_months(&mut db).await?;
                    Checkpoint {
                        months,
                        next: months.map(|m| m.0),
                    }
                }
            };
            db.commit().await?;
            let total = at
                .months
                .map_or(0, |(a, b)| months_between(a, b));
            while let (Some(next), Some((first, end))) = (at.next, at.months) {
                if next >= end {
                    break;
                }
                let mut db = state.db.org_tx(org_id, None).await?;
                analytics::recompute_month(&mut db, next).await?;
                at.next = Some(analytics::next_month(next));
                let progress = serde_json::json!({
                    "total": total,
                    "processed": months_between(first, analytics::next_month(next)),
                });
                let stop = ctx
                    .checkpoint(&mut db, &serde_json::to_value(at)?, &progress)
                    .await?;
                db.commit().await?;
                if let Some(outcome) = stop {
                    return Ok(outcome);
                }
            }
            let mut db = state.db.org_tx(org_id, None).await?;
            analytics::finish_recompute(&mut db, at.months, job_run_id).await?;
            db.commit().await?;
            tracing::info!(%org_id, months = total, "analytics recomputed");
            Ok(Outcome::Done)
        },
    )
    .await
    .map_err(Into::into)
}

/// Months from `a` to `b` (both first days of months).
fn months_between(a: NaiveDate, b: NaiveDate) -> usize {
    use chrono::Datelike;
    ((b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32).max(0) as usize
}
