//! Background jobs: following one while it runs.

use super::{ApiResult, get};
use crate::session::Session;
use insights_types::api::JobRunOut;
use insights_types::{JobRunId, OrgId};

/// `GET /api/v1/orgs/{org}/jobs/{id}`.
pub async fn get_job(session: Session, org: OrgId, id: JobRunId) -> ApiResult<JobRunOut> {
    get(session, &format!("/api/v1/orgs/{org}/jobs/{id}")).await
}
