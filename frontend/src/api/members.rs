//! An organization's members: the list, a member's role, removing a member.

use super::{ApiResult, NO_BODY, call, get};
use crate::session::Session;
use insights_types::api::{MemberOut, MemberPatch, Page};
use insights_types::{OrgId, UserId};

/// `GET /api/v1/orgs/{org}/members`.
pub async fn list_members(session: Session, org: OrgId) -> ApiResult<Page<MemberOut>> {
    get(session, &format!("/api/v1/orgs/{org}/members")).await
}

/// `PATCH /api/v1/orgs/{org}/members/{user}`: changes a member's role.
pub async fn update_member(
    session: Session,
    org: OrgId,
    user: UserId,
    body: &MemberPatch,
) -> ApiResult<MemberOut> {
    let path = format!("/api/v1/orgs/{org}/members/{user}");
    call(session, "PATCH", &path, Some(body)).await
}

/// `DELETE /api/v1/orgs/{org}/members/{user}`: removes a member (or, for oneself, leaves).
pub async fn remove_member(session: Session, org: OrgId, user: UserId) -> ApiResult<()> {
    let path = format!("/api/v1/orgs/{org}/members/{user}");
    call(session, "DELETE", &path, NO_BODY).await
}
