//! The built-in sample source: one call loads a realistic incident history, through the same pipeline as
//! PagerDuty and Opsgenie, so the whole product can be tried without an account there.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::audit::AuditEntry;
use insights_core::db::{self};
use insights_core::jobs::{GenerateSampleData, Job};
use insights_types::api::JobRunOut;
use insights_types::{JobRunId, OrgId, Permission};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(load_sample_data))
}

/// Load six months of sample incidents (idempotent: loading again adds nothing). Answers with the job that
/// does it; follow it at `GET …/jobs/{job_id}`.
#[utoipa::path(post, path = "/orgs/{org_id}/sample-data", tag = "incidents", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 202, description = "The generation job", body = JobRunOut)))]
async fn load_sample_data(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
) -> Result<(StatusCode, Json<JobRunOut>), ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let job = JobRunId::new();
    let mut tx = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    db::job_runs::create(
        &mut tx,
        job,
        GenerateSampleData::KIND,
        None,
        state.config.jobs.max_attempts as i32,
    )
    .await?;
    db::audit::record(
        &mut tx,
        AuditEntry::new(Some(member.user_id), "sample_data_requested", ip).target("job", job),
    )
    .await?;
    let out = db::job_runs::get(&mut tx, job).await?;
    tx.commit().await?;
    state
        .jobs
        .push_or_sweep(
            job,
            GenerateSampleData::V1 {
                org_id: member.org_id,
                job_run_id: job,
            },
        )
        .await;
    Ok((StatusCode::ACCEPTED, Json(out)))
}
