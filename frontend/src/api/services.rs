//! The services the connected tools know of (the incidents' filters use them).

use super::{ApiResult, get};
use crate::session::Session;
use insights_types::OrgId;
use insights_types::api::{Page, ServiceOut};

/// `GET /api/v1/orgs/{org}/services`.
pub fn list_services(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<ServiceOut>>> {
    get(session, format!("/api/v1/orgs/{org}/services"))
}
