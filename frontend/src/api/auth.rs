//! Authentication: sign-up, login, the silent refresh of the access token, logout, and the links sent by
//! email (verification, password reset). All of them go without an access token (the refresh token is the
//! `HttpOnly` cookie).

use super::{ApiResult, NO_BODY, anonymous};
use insights_types::api::{
    AcceptedOut, AuthOut, ForgotPasswordIn, LoginIn, ResetPasswordIn, SignupIn, TokenOut,
    VerifyEmailIn,
};

/// `POST /api/v1/auth/signup`: creates an account (with a new organization, or through an invitation).
pub fn signup(body: &SignupIn) -> impl Future<Output = ApiResult<AuthOut>> {
    anonymous("POST", "/api/v1/auth/signup".to_owned(), Some(body))
}

/// `POST /api/v1/auth/login`.
pub fn login(body: &LoginIn) -> impl Future<Output = ApiResult<AuthOut>> {
    anonymous("POST", "/api/v1/auth/login".to_owned(), Some(body))
}

/// `POST /api/v1/auth/refresh`: exchanges the refresh cookie for a new access token.
pub fn refresh() -> impl Future<Output = ApiResult<TokenOut>> {
    anonymous("POST", "/api/v1/auth/refresh".to_owned(), NO_BODY)
}

/// `POST /api/v1/auth/logout`: ends the session on the server and clears the refresh cookie.
pub fn logout() -> impl Future<Output = ApiResult<()>> {
    anonymous("POST", "/api/v1/auth/logout".to_owned(), NO_BODY)
}

/// `POST /api/v1/auth/verify-email`: confirms the address with the token of a verification link.
pub fn verify_email(body: &VerifyEmailIn) -> impl Future<Output = ApiResult<()>> {
    anonymous("POST", "/api/v1/auth/verify-email".to_owned(), Some(body))
}

/// `POST /api/v1/auth/forgot-password`: asks for a reset link (the answer is the same for every address).
pub fn forgot_password(body: &ForgotPasswordIn) -> impl Future<Output = ApiResult<AcceptedOut>> {
    anonymous(
        "POST",
        "/api/v1/auth/forgot-password".to_owned(),
        Some(body),
    )
}

/// `POST /api/v1/auth/reset-password`: sets a new password with the token of a reset link.
pub fn reset_password(body: &ResetPasswordIn) -> impl Future<Output = ApiResult<()>> {
    anonymous("POST", "/api/v1/auth/reset-password".to_owned(), Some(body))
}
