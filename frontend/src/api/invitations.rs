//! Invitations: an organization's pending ones (list, create, revoke), and the invitation link's own calls
//! (look it up without signing in, accept it signed in).

use super::{ApiResult, NO_BODY, anonymous, call, get};
use crate::session::Session;
use insights_types::api::{
    InvitationIn, InvitationOut, InvitationPreviewOut, InvitationTokenIn, MeOut, Page,
};
use insights_types::{InvitationId, OrgId};

/// `GET /api/v1/orgs/{org}/invitations`: the pending invitations.
pub async fn list_invitations(session: Session, org: OrgId) -> ApiResult<Page<InvitationOut>> {
    get(session, &format!("/api/v1/orgs/{org}/invitations")).await
}

/// `POST /api/v1/orgs/{org}/invitations`: the answer holds the link, shown only this once.
pub async fn create_invitation(
    session: Session,
    org: OrgId,
    body: &InvitationIn,
) -> ApiResult<InvitationOut> {
    let path = format!("/api/v1/orgs/{org}/invitations");
    call(session, "POST", &path, Some(body)).await
}

/// `DELETE /api/v1/orgs/{org}/invitations/{id}`: revokes a pending invitation.
pub async fn revoke_invitation(session: Session, org: OrgId, id: InvitationId) -> ApiResult<()> {
    let path = format!("/api/v1/orgs/{org}/invitations/{id}");
    call(session, "DELETE", &path, NO_BODY).await
}

/// `POST /api/v1/invitations/lookup`: what an invitation link is for, without signing in.
pub async fn lookup_invitation(body: &InvitationTokenIn) -> ApiResult<InvitationPreviewOut> {
    anonymous("POST", "/api/v1/invitations/lookup", Some(body)).await
}

/// `POST /api/v1/invitations/accept`: joins the organization as the signed-in user; answers with the
/// memberships after joining.
pub async fn accept_invitation(session: Session, body: &InvitationTokenIn) -> ApiResult<MeOut> {
    call(session, "POST", "/api/v1/invitations/accept", Some(body)).await
}
