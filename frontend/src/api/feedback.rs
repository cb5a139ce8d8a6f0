//! Feedback: sending a message from any page, and reading what was sent.

use super::{ApiResult, call, get};
use crate::session::Session;
use insights_types::OrgId;
use insights_types::api::{FeedbackIn, FeedbackOut, Page};

/// `POST /api/v1/orgs/{org}/feedback`.
pub fn send_feedback(
    session: Session,
    org: OrgId,
    body: &FeedbackIn,
) -> impl Future<Output = ApiResult<FeedbackOut>> {
    let path = format!("/api/v1/orgs/{org}/feedback");
    call(session, "POST", path, Some(body))
}

/// `GET /api/v1/orgs/{org}/feedback?limit=…`: the newest messages.
pub fn list_feedback(
    session: Session,
    org: OrgId,
    limit: u32,
) -> impl Future<Output = ApiResult<Page<FeedbackOut>>> {
    let path = format!("/api/v1/orgs/{org}/feedback?limit={limit}");
    get(session, path)
}
