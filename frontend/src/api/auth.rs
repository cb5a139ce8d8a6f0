//! Authentication: sign-up, login, the silent refresh of the access token, and logout. All of them go without
//! an access token (the refresh token is the `HttpOnly` cookie).

use super::{ApiResult, NO_BODY, anonymous};
use insights_types::api::{AuthOut, LoginIn, SignupIn, TokenOut};

/// `POST /api/v1/auth/signup`: creates an account (with a new organization, or through an invitation).
pub async fn signup(body: &SignupIn) -> ApiResult<AuthOut> {
    anonymous("POST", "/api/v1/auth/signup", Some(body)).await
}

/// `POST /api/v1/auth/login`.
pub async fn login(body: &LoginIn) -> ApiResult<AuthOut> {
    anonymous("POST", "/api/v1/auth/login", Some(body)).await
}

/// `POST /api/v1/auth/refresh`: exchanges the refresh cookie for a new access token.
pub async fn refresh() -> ApiResult<TokenOut> {
    anonymous("POST", "/api/v1/auth/refresh", NO_BODY).await
}

/// `POST /api/v1/auth/logout`: ends the session on the server and clears the refresh cookie.
pub async fn logout() -> ApiResult<()> {
    anonymous("POST", "/api/v1/auth/logout", NO_BODY).await
}
