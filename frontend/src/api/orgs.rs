//! Organizations: creating one, reading and renaming it.

use super::{ApiResult, call, get};
use crate::session::Session;
use insights_types::OrgId;
use insights_types::api::{OrgDetailOut, OrgIn, OrgPatch};

/// `POST /api/v1/orgs`: creates an organization, owned by the signed-in user.
pub async fn create_org(session: Session, body: &OrgIn) -> ApiResult<OrgDetailOut> {
    call(session, "POST", "/api/v1/orgs", Some(body)).await
}

/// `GET /api/v1/orgs/{org}`.
pub async fn get_org(session: Session, org: OrgId) -> ApiResult<OrgDetailOut> {
    get(session, &format!("/api/v1/orgs/{org}")).await
}

/// `PATCH /api/v1/orgs/{org}`: renames the organization.
pub async fn update_org(session: Session, org: OrgId, body: &OrgPatch) -> ApiResult<OrgDetailOut> {
    call(session, "PATCH", &format!("/api/v1/orgs/{org}"), Some(body)).await
}
