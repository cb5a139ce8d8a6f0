//! Background jobs of an organization: their state, attempts and last error (admins and owners).

use crate::error::ApiError;
use crate::http::{Json, ListQuery, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use insights_core::db;
use insights_types::api::{JobRunOut, JobState, Page};
use insights_types::{JobRunId, OrgId, Permission};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct JobsQuery {
    /// Only jobs in this state.
    state: Option<JobState>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Jobs, newest first.
#[utoipa::path(get, path = "/orgs/{org_id}/jobs", tag = "jobs", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), JobsQuery), responses((status = 200, body = Page<JobRunOut>)))]
async fn list_jobs(
    State(state): State<AppState>,
    member: OrgMember,
    Query(q): Query<JobsQuery>,
) -> Result<Json<Page<JobRunOut>>, ApiError> {
    member.require(Permission::ViewJobs)?;
    let (after, limit) = ListQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .parse()?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let (items, next_cursor) = db::job_runs::list(&mut db, after, q.state, limit).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// One job.
#[utoipa::path(get, path = "/orgs/{org_id}/jobs/{job_id}", tag = "jobs", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("job_id" = JobRunId, Path)), responses((status = 200, body = JobRunOut)))]
async fn get_job(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, job_id)): Path<(OrgId, JobRunId)>,
) -> Result<Json<JobRunOut>, ApiError> {
    member.require(Permission::ViewJobs)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(db::job_runs::get(&mut db, job_id).await?))
}
