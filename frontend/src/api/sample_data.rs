//! The sample history: realistic incidents loaded in the background.

use super::{ApiResult, NO_BODY, call};
use crate::session::Session;
use insights_types::OrgId;
use insights_types::api::JobRunOut;

/// `POST /api/v1/orgs/{org}/sample-data`: starts loading the sample history; answers with its job.
pub fn load_sample_data(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<JobRunOut>> {
    let path = format!("/api/v1/orgs/{org}/sample-data");
    call(session, "POST", path, NO_BODY)
}
