//! The signed-in user: who they are with their memberships, their name, their password.

use super::{ApiResult, call, get};
use crate::session::Session;
use insights_types::api::{MeOut, MePatch, PasswordChangeIn};

/// `GET /api/v1/me`: the user and their memberships.
pub async fn get_me(session: Session) -> ApiResult<MeOut> {
    get(session, "/api/v1/me").await
}

/// `PATCH /api/v1/me`: changes the user's name.
pub async fn update_me(session: Session, body: &MePatch) -> ApiResult<MeOut> {
    call(session, "PATCH", "/api/v1/me", Some(body)).await
}

/// `POST /api/v1/me/password`: changes the password (the user's other sessions are signed out).
pub async fn change_password(session: Session, body: &PasswordChangeIn) -> ApiResult<()> {
    call(session, "POST", "/api/v1/me/password", Some(body)).await
}
