//! Email ownership and recovery: verifying an account's address, and choosing a new password through a link
//! sent to it. The links are single-use, expire, are stored hashed (`account_tokens`) and carry their token in
//! the URL fragment; the emails are sent by the `send_account_email` job. Without SMTP, accounts count as
//! verified and `insights-api reset-link <email>` prints a reset link for an administrator to hand over.

use super::{account_key, limit_ip, security_log};
use crate::auth::{rate_limit, sessions};
use crate::error::ApiError;
use crate::http::{AuthUser, ClientIp, Json};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::accounts::{self, Purpose};
use insights_core::crypto::token_hash;
use insights_core::db::{self, DbError, account_tokens};
use insights_types::api::{AcceptedOut, ForgotPasswordIn, ResetPasswordIn, VerifyEmailIn};
use insights_types::domain::{Email, Password};
use insights_types::{OrgId, UserId};
use std::time::Duration;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification_email))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
}

/// Emails asked for per address (reset links, verification links): a few per quarter hour, so that nobody
/// can flood an inbox through us.
const EMAILS_PER_ADDRESS: u32 = 3;
const EMAIL_WINDOW: Duration = Duration::from_secs(15 * 60);

async fn limit_emails(state: &AppState, action: &str, email: &Email) -> Result<(), ApiError> {
    let mut redis = state.redis.clone();
    rate_limit::hit(
        &mut redis,
        &account_key(state, action, email),
        EMAILS_PER_ADDRESS,
        EMAIL_WINDOW,
    )
    .await
    .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?
    .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
}

fn invalid_link() -> ApiError {
    ApiError::field(
        "token",
        "invalid",
        "this link is not valid any more (used, replaced by a newer one, or expired): ask for a new one",
    )
}

/// The organization an account email of `user` is tracked in (its oldest membership), if any.
async fn home_org(state: &AppState, user: UserId) -> Result<Option<OrgId>, ApiError> {
    let mut tx = state.db.user_tx(user).await?;
    let orgs = db::orgs::list_for_user(&mut tx, user).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(orgs.first().map(|(o, _)| OrgId(o.id)))
}

/// Issues a link of `purpose` for `user` and queues its email (SMTP is configured). `false` when the user
/// belongs to no organization to track the job in.
async fn send_link(
    state: &AppState,
    user: UserId,
    purpose: Purpose,
    ttl: Duration,
) -> Result<bool, ApiError> {
    let Some(org) = home_org(state, user).await? else {
        return Ok(false);
    };
    let mut db = state.db.org_tx(org, Some(user)).await?;
    let job =
        accounts::email_link(&mut db, &state.jobs, &state.secrets, user, purpose, ttl).await?;
    db.commit().await?;
    state.jobs.push(job).await;
    Ok(true)
}

/// Confirm an account's email address with the token of a verification link. Works once; no sign-in needed
/// (the link may be opened in another browser).
#[utoipa::path(post, path = "/auth/verify-email", tag = "auth", request_body = VerifyEmailIn,
    responses((status = 204, description = "Verified"),
              (status = 422, description = "The link is used, replaced or expired", body = insights_types::ErrorBody),
              (status = 429, description = "Too many attempts from this client or for this address; see `Retry-After`", body = insights_types::ErrorBody)))]
async fn verify_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<VerifyEmailIn>,
) -> Result<StatusCode, ApiError> {
    limit_ip(&state, "verify_email", ip).await?;
    let mut tx = state.db.pool().begin().await.map_err(DbError::from)?;
    let user = account_tokens::consume(
        &mut tx,
        Purpose::VerifyEmail,
        &token_hash(body.token.trim()),
    )
    .await?
    .ok_or_else(invalid_link)?;
    db::users::mark_email_verified(&mut tx, user).await?;
    tx.commit().await.map_err(DbError::from)?;
    state.cache.forget(crate::cache::Change::User { user });
    security_log(&state, user, "email_verified", ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send the signed-in user a new verification link (the earlier ones stop working). Rate-limited per
/// address; 409 when the address is already verified or the server sends no email.
#[utoipa::path(post, path = "/me/verification-email", tag = "me", security(("bearer" = [])),
    responses((status = 202, description = "The email is on its way", body = AcceptedOut),
              (status = 409, description = "Already verified (`already_verified`), or this server sends no email (`email_not_configured`)", body = insights_types::ErrorBody),
              (status = 429, description = "Too many attempts from this client or for this address; see `Retry-After`", body = insights_types::ErrorBody)))]
async fn resend_verification_email(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<(StatusCode, Json<AcceptedOut>), ApiError> {
    if state.config.smtp.is_none() {
        return Err(ApiError::conflict(
            "email_not_configured",
            "This server sends no email (INSIGHTS_SMTP_URL is not set); addresses need no verification.",
        ));
    }
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let user = db::users::get(&mut conn, auth.user_id).await?;
    drop(conn);
    if user.email_verified_at.is_some() {
        return Err(ApiError::conflict(
            "already_verified",
            "Your email address is already verified.",
        ));
    }
    limit_emails(&state, "verification_email", &Email::parse(&user.email)?).await?;
    let ttl = state.config.auth.email_verification_ttl;
    if !send_link(&state, auth.user_id, Purpose::VerifyEmail, ttl).await? {
        return Err(ApiError::conflict(
            "no_organization",
            "Join or create an organization first.",
        ));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedOut {
            message: format!("We sent a new verification link to {}.", user.email),
        }),
    ))
}

/// Ask for a password reset link by email. The answer is the same whether or not an account has this
/// address, and comes before any work for it is done; the email is sent by a job. Rate-limited per client
/// and per address.
#[utoipa::path(post, path = "/auth/forgot-password", tag = "auth", request_body = ForgotPasswordIn,
    responses((status = 202, description = "Accepted, whatever the address", body = AcceptedOut),
              (status = 429, description = "Too many attempts from this client or for this address; see `Retry-After`", body = insights_types::ErrorBody)))]
async fn forgot_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<ForgotPasswordIn>,
) -> Result<(StatusCode, Json<AcceptedOut>), ApiError> {
    limit_ip(&state, "forgot_password", ip).await?;
    let email = Email::parse(&body.email)?;
    limit_emails(&state, "forgot_password", &email).await?;
    let ttl = state.config.auth.password_reset_ttl;
    // Whether the account exists changes only what happens after the answer.
    let task_state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = request_reset(&task_state, &email, ttl).await {
            tracing::error!(error = %e, "could not issue a password reset link");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(AcceptedOut {
            message: format!(
                "If an account uses this address, a link to choose a new password is on its way. It works \
                 once, within {} minutes.",
                ttl.as_secs() / 60
            ),
        }),
    ))
}

async fn request_reset(state: &AppState, email: &Email, ttl: Duration) -> Result<(), ApiError> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let user = db::users::find_by_email(&mut conn, email.as_str()).await?;
    drop(conn);
    let Some(user) = user else {
        return Ok(());
    };
    if state.config.smtp.is_none() {
        tracing::info!(user_id = %user.id, "password reset asked for, but SMTP is not configured: an \
                       administrator can print a link with `insights-api reset-link <email>`");
        return Ok(());
    }
    if !send_link(state, user.user_id(), Purpose::ResetPassword, ttl).await? {
        tracing::warn!(user_id = %user.id, "password reset asked for an account without organization; no email sent");
    }
    Ok(())
}

/// Choose a new password with the token of a reset link. Works once; ends every session of the account
/// (all its refresh tokens), and proves its address (it received the link).
#[utoipa::path(post, path = "/auth/reset-password", tag = "auth", request_body = ResetPasswordIn,
    responses((status = 204, description = "Password changed; sign in with it"),
              (status = 422, description = "The link is used, replaced or expired, or the password too weak", body = insights_types::ErrorBody),
              (status = 429, description = "Too many attempts from this client or for this address; see `Retry-After`", body = insights_types::ErrorBody)))]
async fn reset_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<ResetPasswordIn>,
) -> Result<StatusCode, ApiError> {
    limit_ip(&state, "reset_password", ip).await?;
    let new = Password::parse_field("new_password", &body.new_password)?;
    let hash = state.hasher.hash(new.expose().to_owned()).await?;
    let mut tx = state.db.pool().begin().await.map_err(DbError::from)?;
    let user = account_tokens::consume(
        &mut tx,
        Purpose::ResetPassword,
        &token_hash(body.token.trim()),
    )
    .await?
    .ok_or_else(invalid_link)?;
    db::users::update_password_hash(&mut tx, user, &hash).await?;
    let ended = db::refresh_tokens::revoke_user_except(&mut tx, user, None).await?;
    db::users::mark_email_verified(&mut tx, user).await?;
    tx.commit().await.map_err(DbError::from)?;
    state.cache.forget(crate::cache::Change::User { user });
    sessions::ended(&state, &ended).await;
    security_log(&state, user, "password_reset", ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
