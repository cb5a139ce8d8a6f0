//! Writes a runbook draft (skeleton: the generation engineer replaces this file).

use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use insights_core::jobs::GenerateRunbook;

pub async fn run(job: GenerateRunbook, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let _ = (job, state);
    Err("runbook generation is not built yet".into())
}
