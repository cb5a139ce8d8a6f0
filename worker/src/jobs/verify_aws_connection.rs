//! Verifies an AWS connection (issue 13; being built): assumes its role with the external id (or uses its
//! access keys), then looks up each allow-listed function, and records each check on the connection.

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use insights_core::jobs::{Job, VerifyAwsConnection};

pub async fn run(job: VerifyAwsConnection, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let VerifyAwsConnection::V1 { org_id, job_run_id, .. } = job;
    let state = &*state;
    tracked(state, org_id, job_run_id, VerifyAwsConnection::KIND, None, |_| async move {
            Ok(Outcome::FailedForGood("AWS verification is not built yet".into()))
    })
    .await
    .map_err(Into::into)
}
