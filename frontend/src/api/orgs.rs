//! Organizations: creating one, reading and renaming it.

use super::{ApiResult, call, get};
use crate::session::Session;
use insights_types::OrgId;
use insights_types::api::{OrgDetailOut, OrgIn, OrgPatch};

/// `POST /api/v1/orgs`: creates an organization, owned by the signed-in user.
pub fn create_org(session: Session, body: &OrgIn) -> impl Future<Output = ApiResult<OrgDetailOut>> {
    call(session, "POST", "/api/v1/orgs".to_owned(), Some(body))
}

/// `GET /api/v1/orgs/{org}`.
pub fn get_org(session: Session, org: OrgId) -> impl Future<Output = ApiResult<OrgDetailOut>> {
    get(session, format!("/api/v1/orgs/{org}"))
}

/// `PATCH /api/v1/orgs/{org}`: renames the organization.
pub fn update_org(
    session: Session,
    org: OrgId,
    body: &OrgPatch,
) -> impl Future<Output = ApiResult<OrgDetailOut>> {
    call(session, "PATCH", format!("/api/v1/orgs/{org}"), Some(body))
}
