//! The built-in sample source: one call loads a realistic incident history, through the same pipeline as
//! PagerDuty and Opsgenie, so the whole product can be tried without an account there.

use crate::auth::rate_limit;
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
use std::time::Duration;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(load_sample_data))
}

/// A day: the period of the sample-data quota.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Load six months of sample incidents (idempotent: loading again adds nothing). Answers with the job that
/// does it; follow it at `GET …/jobs/{job_id}`. At most `INSIGHTS_SAMPLE_DATA_LOADS_PER_DAY` loads per
/// organization and day (each is a job that writes thousands of rows).
#[utoipa::path(post, path = "/orgs/{org_id}/sample-data", tag = "incidents", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 202, description = "The generation job", body = JobRunOut),
        (status = 429, description = "The organization's sample-data loads for the day are used up (`quota_exceeded`); see `Retry-After`", body = insights_types::ErrorBody)))]
async fn load_sample_data(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
) -> Result<(StatusCode, Json<JobRunOut>), ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let limit = state.config.limits.sample_data_loads_per_day;
    let key = state.redis_key(&["quota", "sample_data", &member.org_id.to_string()]);
    rate_limit::hit(&mut state.redis.clone(), &key, limit, DAY)
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?
        .map_err(|retry_after| ApiError::Quota {
            quota: "sample_data_loads_per_day",
            message: format!(
                "Sample data can be loaded {limit} times a day per organization. Try again in {} hours.",
                retry_after.div_ceil(3600)
            ),
            limit: u64::from(limit),
            retry_after_secs: Some(retry_after),
        })?;
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
