//! Recomputes every analytics rollup of an organization after its analytics settings changed, month by month,
//! with progress. (Skeleton: the engine fills it in.)

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use insights_core::jobs::{Job, RecomputeAnalytics};

pub async fn run(job: RecomputeAnalytics, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let RecomputeAnalytics::V1 { org_id, job_run_id } = job;
    tracked(&state, org_id, job_run_id, RecomputeAnalytics::KIND, None, |_| async {
        Ok(Outcome::Done)
    })
    .await
    .map_err(Into::into)
}
