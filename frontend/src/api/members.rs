//! An organization's members: the list, a member's role, removing a member.

use super::{ApiResult, NO_BODY, call, get};
use crate::session::Session;
use insights_types::api::{MemberOut, MemberPatch, Page};
use insights_types::{OrgId, UserId};

/// `GET /api/v1/orgs/{org}/members`.
pub fn list_members(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<MemberOut>>> {
    get(session, format!("/api/v1/orgs/{org}/members"))
}

/// `PATCH /api/v1/orgs/{org}/members/{user}`: changes a member's role.
pub fn update_member(
    session: Session,
    org: OrgId,
    user: UserId,
    body: &MemberPatch,
) -> impl Future<Output = ApiResult<MemberOut>> {
    let path = format!("/api/v1/orgs/{org}/members/{user}");
    call(session, "PATCH", path, Some(body))
}

/// `DELETE /api/v1/orgs/{org}/members/{user}`: removes a member (or, for oneself, leaves).
pub fn remove_member(
    session: Session,
    org: OrgId,
    user: UserId,
) -> impl Future<Output = ApiResult<()>> {
    let path = format!("/api/v1/orgs/{org}/members/{user}");
    call(session, "DELETE", path, NO_BODY)
}
