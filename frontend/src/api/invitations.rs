//! Invitations: an organization's pending ones (list, create, revoke), and the invitation link's own calls
//! (look it up without signing in, accept it signed in).

use super::{ApiResult, NO_BODY, anonymous, call, get};
use crate::session::Session;
use insights_types::api::{
    InvitationIn, InvitationOut, InvitationPreviewOut, InvitationTokenIn, MeOut, Page,
};
use insights_types::{InvitationId, OrgId};

/// `GET /api/v1/orgs/{org}/invitations`: the pending invitations.
pub fn list_invitations(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<InvitationOut>>> {
    get(session, format!("/api/v1/orgs/{org}/invitations"))
}

/// `POST /api/v1/orgs/{org}/invitations`: the answer holds the link, shown only this once.
pub fn create_invitation(
    session: Session,
    org: OrgId,
    body: &InvitationIn,
) -> impl Future<Output = ApiResult<InvitationOut>> {
    let path = format!("/api/v1/orgs/{org}/invitations");
    call(session, "POST", path, Some(body))
}

/// `DELETE /api/v1/orgs/{org}/invitations/{id}`: revokes a pending invitation.
pub fn revoke_invitation(
    session: Session,
    org: OrgId,
    id: InvitationId,
) -> impl Future<Output = ApiResult<()>> {
    let path = format!("/api/v1/orgs/{org}/invitations/{id}");
    call(session, "DELETE", path, NO_BODY)
}

/// `POST /api/v1/invitations/lookup`: what an invitation link is for, without signing in.
pub fn lookup_invitation(
    body: &InvitationTokenIn,
) -> impl Future<Output = ApiResult<InvitationPreviewOut>> {
    anonymous("POST", "/api/v1/invitations/lookup".to_owned(), Some(body))
}

/// `POST /api/v1/invitations/accept`: joins the organization as the signed-in user; answers with the
/// memberships after joining.
pub fn accept_invitation(
    session: Session,
    body: &InvitationTokenIn,
) -> impl Future<Output = ApiResult<MeOut>> {
    call(
        session,
        "POST",
        "/api/v1/invitations/accept".to_owned(),
        Some(body),
    )
}
