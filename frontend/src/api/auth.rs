//! Authentication: sign-up, login, the silent refresh of the access token, and logout. All of them go without
//! an access token (the refresh token is the `HttpOnly` cookie).

use super::{ApiResult, NO_BODY, anonymous};
use insights_types::api::{AuthOut, LoginIn, SignupIn, TokenOut};

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
