//! Executes one admitted automation run (issue 13; being built).

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use insights_core::jobs::{Job, RunAutomation};

pub async fn run(job: RunAutomation, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let RunAutomation::V1 { org_id, job_run_id, .. } = job;
    let state = &*state;
    tracked(state, org_id, job_run_id, RunAutomation::KIND, None, |_| async move {
            Ok(Outcome::FailedForGood("automation runs are not built yet".into()))
    })
    .await
    .map_err(Into::into)
}
