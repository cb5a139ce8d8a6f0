//! The built-in sample source: one call loads a realistic incident history, through the same pipeline as
//! PagerDuty and Opsgenie, so the whole product can be tried without an account there.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::audit::AuditEntry;
use insights_core::db::{self};
use insights_core::jobs::GenerateSampleData;
use insights_types::api::JobRunOut;
use insights_types::{OrgId, Permission};
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
    let mut tx = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let job = state.jobs.record::<GenerateSampleData>(&mut tx, ()).await?;
    db::audit::record(
        &mut tx,
        AuditEntry::new(Some(member.user_id), "sample_data_requested", ip)
            .target("job", job.job_run_id()),
    )
    .await?;
    let out = db::job_runs::get(&mut tx, job.job_run_id()).await?;
    tx.commit().await?;
    state.jobs.push(job).await;
    Ok((StatusCode::ACCEPTED, Json(out)))
}
