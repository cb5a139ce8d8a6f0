//! The teams the connected tools know of (the incidents' filters use them).

use super::{ApiResult, get};
use crate::session::Session;
use insights_types::OrgId;
use insights_types::api::{Page, TeamOut};

/// `GET /api/v1/orgs/{org}/teams`.
pub fn list_teams(session: Session, org: OrgId) -> impl Future<Output = ApiResult<Page<TeamOut>>> {
    get(session, format!("/api/v1/orgs/{org}/teams"))
}
