//! The life of an admitted run on the worker side: its attempts, outcome, retries, the circuit breaker's
//! bookkeeping, and the reconciliation of a run whose worker died.

use crate::db::{DbError, DbResult, OrgTx};
use crate::jobs::{JobQueue, Pending, RunAutomation};
use insights_types::AutomationRunId;

/// Queues a run that was approved (`pending_approval` → `queued`, with its `queued` event and its job), in
/// the caller's transaction; push the job once it committed. `NotFound` when the run is not pending approval.
pub async fn enqueue(
    db: &mut OrgTx,
    queue: &JobQueue,
    run_id: AutomationRunId,
) -> DbResult<Pending<RunAutomation>> {
    let _ = (db, queue, run_id);
    Err(DbError::NotFound)
}
