//! Background jobs: following one while it runs.

use super::{ApiResult, get};
use crate::session::Session;
use insights_types::api::JobRunOut;
use insights_types::{JobRunId, OrgId};

/// `GET /api/v1/orgs/{org}/jobs/{id}`.
pub fn get_job(
    session: Session,
    org: OrgId,
    id: JobRunId,
) -> impl Future<Output = ApiResult<JobRunOut>> {
    get(session, format!("/api/v1/orgs/{org}/jobs/{id}"))
}
