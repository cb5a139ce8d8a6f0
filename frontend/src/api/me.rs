//! The signed-in user: who they are with their memberships, their name, their password, their security log.

use super::{ApiResult, NO_BODY, call, get, page_path};
use crate::session::Session;
use insights_types::api::{AcceptedOut, MeOut, MePatch, Page, PasswordChangeIn, SecurityEventOut};

/// `GET /api/v1/me`: the user and their memberships.
pub fn get_me(session: Session) -> impl Future<Output = ApiResult<MeOut>> {
    get(session, "/api/v1/me".to_owned())
}

/// `PATCH /api/v1/me`: changes the user's name.
pub fn update_me(session: Session, body: &MePatch) -> impl Future<Output = ApiResult<MeOut>> {
    call(session, "PATCH", "/api/v1/me".to_owned(), Some(body))
}

/// `POST /api/v1/me/password`: changes the password (the user's other sessions are signed out).
pub fn change_password(
    session: Session,
    body: &PasswordChangeIn,
) -> impl Future<Output = ApiResult<()>> {
    call(
        session,
        "POST",
        "/api/v1/me/password".to_owned(),
        Some(body),
    )
}

/// `POST /api/v1/me/verification-email`: sends a new verification link to the user's address.
pub fn send_verification_email(session: Session) -> impl Future<Output = ApiResult<AcceptedOut>> {
    call(
        session,
        "POST",
        "/api/v1/me/verification-email".to_owned(),
        NO_BODY,
    )
}

/// `GET /api/v1/me/security-events?limit=…&cursor=…`: a page of the user's security log (sign-ins, failed
/// sign-ins, password changes and resets, email verification), newest first; `cursor` is the previous page's
/// `next_cursor`.
pub fn list_security_events(
    session: Session,
    limit: u32,
    cursor: Option<&str>,
) -> impl Future<Output = ApiResult<Page<SecurityEventOut>>> {
    let path = page_path("/api/v1/me/security-events", limit, cursor);
    get(session, path)
}
