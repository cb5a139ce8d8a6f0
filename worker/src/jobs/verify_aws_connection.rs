//! Verifies an AWS connection (issue 13): assumes its role with the external id (or checks its access keys),
//! then looks up each allow-listed function, and records each check on the connection — `verified` only if
//! every check passed. A failed check is a result, not a failure of the job: the job fails only on errors of
//! ours (the database).

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use insights_core::automations::aws::{self as stored, LoadedConnection, Recorded};
use insights_core::jobs::{Job, VerifyAwsConnection};
use insights_types::api::AwsCheckOut;
use secrecy::ExposeSecret;

/// How many times a connection changed while being checked is checked again before giving up (the next
/// request starts over).
const MAX_ROUNDS: usize = 3;

/// The apalis handler.
pub async fn run(job: VerifyAwsConnection, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let VerifyAwsConnection::V1 { org_id, job_run_id, connection_id } = job;
    let state = &*state;
    tracked(state, org_id, job_run_id, VerifyAwsConnection::KIND, None, |_| async move {
        for _ in 0..MAX_ROUNDS {
            let mut db = state.db.org_tx(org_id, None).await?;
            let Some(loaded) = stored::load(&mut db, &state.secrets, connection_id).await? else {
                return Ok(Outcome::Skipped("the connection was deleted"));
            };
            db.commit().await?;
            let checks = check(state, &loaded, &job_run_id.0.to_string()).await;
            let mut db = state.db.org_tx(org_id, None).await?;
            let recorded = stored::record_checks(&mut db, connection_id, loaded.updated_at, &checks).await?;
            db.commit().await?;
            match recorded {
                Recorded::Stored { verified } => {
                    tracing::info!(%connection_id, verified, "AWS connection verified");
                    return Ok(Outcome::Done);
                }
                Recorded::Gone => return Ok(Outcome::Skipped("the connection was deleted")),
                Recorded::Changed { still_verifying: false } => {
                    return Ok(Outcome::Skipped("the connection changed while it was checked"));
                }
                Recorded::Changed { still_verifying: true } => continue,
            }
        }
        Ok(Outcome::Skipped("the connection kept changing while it was checked"))
    })
    .await
    .map_err(Into::into)
}

/// The connection as the AWS client takes it, or the check that says why there is none (no role ARN yet,
/// keys that cannot be opened).
pub fn aws_connection(loaded: &LoadedConnection) -> Result<insights_aws::Connection, AwsCheckOut> {
    let auth = match (&loaded.keys, &loaded.role_arn) {
        (Some(Ok(keys)), _) => insights_aws::ConnectionAuth::Keys {
            access_key_id: keys.access_key_id.clone(),
            secret_access_key: keys.secret_access_key.expose_secret().to_owned().into(),
        },
        (Some(Err(e)), _) => {
            tracing::warn!(connection_id = %loaded.id, error = %e, "the stored AWS key pair does not open");
            return Err(AwsCheckOut {
                check: "credentials".into(),
                ok: false,
                message: "The stored access key pair could not be opened (the product's secret key may have \
                          changed): enter the key pair again."
                    .into(),
            });
        }
        (None, Some(role_arn)) => insights_aws::ConnectionAuth::Role {
            role_arn: role_arn.clone(),
            external_id: loaded.external_id.clone(),
        },
        (None, None) => {
            return Err(AwsCheckOut {
                check: "assume_role".into(),
                ok: false,
                message: "No role ARN is set: create the role with the template, then save its ARN on the \
                          connection."
                    .into(),
            });
        }
    };
    Ok(insights_aws::Connection { region: loaded.region.clone(), auth })
}

async fn check(state: &WorkerState, loaded: &LoadedConnection, verify_id: &str) -> Vec<AwsCheckOut> {
    match aws_connection(loaded) {
        Ok(connection) => insights_aws::verify(&state.aws, &connection, &loaded.functions, verify_id).await,
        Err(check) => vec![check],
    }
}
