//! Sign up, log in, refresh and log out. Access tokens are short-lived JWTs; refresh tokens are opaque,
//! stored hashed, rotated on every use, and travel only in an `HttpOnly; Secure; SameSite=Strict` cookie.

use crate::auth::{rate_limit, tokens};
use crate::error::ApiError;
use crate::http::{ClientIp, Json};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use insights_core::accounts::{self, Purpose};
use insights_core::crypto::{random_token, token_hash};
use insights_core::db::audit::AuditEntry;
use insights_core::db::{self, DbError};
use insights_core::{invitations, orgs};
use insights_types::api::{AuthOut, LoginIn, OrgOut, SignupIn, TokenOut, UserOut};
use insights_types::domain::{Email, FieldErrors, Name, Password};
use insights_types::{FieldError, OrgId, UserId};
use sqlx::PgConnection;
use std::net::IpAddr;
use std::time::Duration;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

mod recovery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .merge(recovery::router())
}

const WINDOW: Duration = Duration::from_secs(60);

/// Counts an attempt from this IP for `action`; 429 when over the limit.
pub(crate) async fn limit_ip(
    state: &AppState,
    action: &str,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let ip = ip.map_or_else(|| "unknown".to_owned(), rate_limit::client_bucket);
    let key = state.redis_key(&["rl", action, "ip", &ip]);
    let mut redis = state.redis.clone();
    rate_limit::hit(
        &mut redis,
        &key,
        state.config.auth.rate_limit_per_ip,
        WINDOW,
    )
    .await
    .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?
    .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
}

fn account_key(state: &AppState, action: &str, email: &Email) -> String {
    state.redis_key(&["rl", action, "account", email.as_str()])
}

/// A new login session: a refresh token (new family) stored hashed, and an access token.
pub(crate) async fn start_session(
    state: &AppState,
    conn: &mut PgConnection,
    user: UserId,
) -> Result<(String, String), ApiError> {
    let family = Uuid::now_v7();
    let refresh = random_token();
    let expires_at = Utc::now() + state.config.auth.refresh_token_ttl;
    db::refresh_tokens::insert(conn, user, family, &token_hash(&refresh), expires_at).await?;
    let access = state.tokens.issue(user, family)?;
    Ok((access, refresh))
}

fn with_refresh_cookie(
    state: &AppState,
    status: StatusCode,
    body: impl serde::Serialize,
    refresh: &str,
) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    let cookie = tokens::refresh_cookie(refresh, state.config.auth.refresh_token_ttl);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("cookie is ASCII"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn auth_out(
    state: &AppState,
    user: UserOut,
    organization: Option<OrgOut>,
    access: String,
) -> AuthOut {
    AuthOut {
        user,
        organization,
        access_token: access,
        token_type: "Bearer".into(),
        expires_in: state.config.auth.access_token_ttl.as_secs() as i64,
    }
}

/// Records an audit entry in every organization the user belongs to (logins are per user, the log per org).
pub(crate) async fn audit_in_user_orgs(
    state: &AppState,
    user: UserId,
    entry: AuditEntry,
) -> Result<(), ApiError> {
    let mut tx = state.db.user_tx(user).await?;
    let orgs = db::orgs::list_for_user(&mut tx, user).await?;
    tx.commit().await.map_err(DbError::from)?;
    for (org, _) in orgs {
        let mut db = state.db.org_tx(OrgId(org.id), Some(user)).await?;
        db::audit::record(&mut db, entry.clone()).await?;
        db.commit().await?;
    }
    Ok(())
}

/// Create an account, with a new organization or by accepting an invitation. When SMTP is configured, an
/// account created with a new organization gets a verification link by email (see `/auth/verify-email`).
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = SignupIn,
    responses((status = 201, description = "Signed up; the refresh token is in the `insights_refresh` cookie", body = AuthOut)))]
async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SignupIn>,
) -> Result<Response, ApiError> {
    limit_ip(&state, "signup", ip).await?;
    let mut errors = FieldErrors::default();
    let email = errors.check(Email::parse(&body.email));
    let password = errors.check(Password::parse(&body.password));
    let name = errors.check(Name::parse_field("name", &body.name));
    let org_name = match (&body.organization_name, &body.invitation_token) {
        (Some(n), None) => errors
            .check(Name::parse_field("organization_name", n))
            .map(Some),
        (None, Some(_)) => Some(None),
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "organization_name",
                "conflict",
                "give organization_name or invitation_token, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(FieldError::new(
                "organization_name",
                "required",
                "give organization_name to create an organization, or invitation_token to join one",
            ));
            None
        }
    };
    errors.finish()?;
    let (Some(email), Some(password), Some(name), Some(org_name)) =
        (email, password, name, org_name)
    else {
        unreachable!("FieldErrors::finish returned Ok, so every field parsed");
    };
    let mut redis = state.redis.clone();
    rate_limit::hit(
        &mut redis,
        &account_key(&state, "signup", &email),
        state.config.auth.rate_limit_per_account,
        WINDOW,
    )
    .await
    .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?
    .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;

    let user_id = UserId::new();
    let invitation = match &body.invitation_token {
        None => None,
        Some(token) => {
            let hash = token_hash(token.trim());
            let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
            let org = db::invitations::org_of_token(&mut conn, &hash)
                .await?
                .ok_or_else(|| {
                    ApiError::field(
                        "invitation_token",
                        "invalid",
                        "this invitation link is not valid",
                    )
                })?;
            Some((org, hash))
        }
    };
    let password_hash = state.hasher.hash(password.expose().to_owned()).await?;

    let org_id = invitation.as_ref().map_or_else(OrgId::new, |(org, _)| *org);
    let mut db = state.db.org_tx(org_id, Some(user_id)).await?;
    // An invitation link reached this address, so signing up through one proves it; without SMTP nobody can
    // prove an address and accounts count as verified. Otherwise a verification link is emailed.
    let verified = invitation.is_some() || state.config.smtp.is_none();
    let user = db::users::create(
        db.conn(),
        user_id,
        email.as_str(),
        name.as_str(),
        &password_hash,
        verified,
    )
    .await?;
    let org = match (&invitation, org_name) {
        (Some((_, hash)), _) => {
            let inv = db::invitations::find_by_token_for_update(&mut db, hash).await?;
            let role = invitations::usable_by(&inv, &email)?;
            db::members::add(&mut db, user_id, role).await?;
            db::invitations::mark_accepted(&mut db, insights_types::InvitationId(inv.id), user_id)
                .await?;
            db::audit::record(
                &mut db,
                AuditEntry::new(Some(user_id), "invitation_accepted", ip)
                    .target("invitation", inv.id)
                    .details(serde_json::json!({ "email": email.as_str(), "role": role, "signup": true })),
            )
            .await?;
            db::orgs::get(&mut db).await?
        }
        (None, Some(org_name)) => {
            orgs::create_with_owner(&mut db, user_id, org_name.as_str(), ip).await?
        }
        (None, None) => unreachable!("checked above"),
    };
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(user_id), "signup", ip).target("user", user_id),
    )
    .await?;
    let verification = if verified {
        None
    } else {
        Some(
            accounts::email_link(
                &mut db,
                &state.jobs,
                &state.secrets,
                user_id,
                Purpose::VerifyEmail,
                state.config.auth.email_verification_ttl,
            )
            .await?,
        )
    };
    let (access, refresh) = start_session(&state, db.conn(), user_id).await?;
    db.commit().await?;
    if let Some(job) = verification {
        state.jobs.push(job).await;
    }
    tracing::info!(user_id = %user_id, org_id = %org_id, "signed up");
    let out = auth_out(&state, user.out(), Some(org.out()), access);
    Ok(with_refresh_cookie(
        &state,
        StatusCode::CREATED,
        out,
        &refresh,
    ))
}

/// Log in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, description = "Logged in; the refresh token is in the `insights_refresh` cookie", body = AuthOut),
              (status = 401, description = "Wrong email or password", body = insights_types::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginIn>,
) -> Result<Response, ApiError> {
    limit_ip(&state, "login", ip).await?;
    // A malformed email cannot belong to an account: answer exactly like a wrong password.
    let email = Email::parse(&body.email).ok();
    let mut redis = state.redis.clone();
    // Counted before the password is checked, atomically: of N parallel guesses, only as many as the limit
    // are ever verified (and hashed); the rest are refused at once. A right password gives its attempt back.
    let acct_key = email.as_ref().map(|e| account_key(&state, "login", e));
    if let Some(key) = &acct_key {
        rate_limit::hit(
            &mut redis,
            key,
            state.config.auth.rate_limit_per_account,
            WINDOW,
        )
        .await
        .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    }
    let user = match &email {
        Some(email) => {
            let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
            db::users::find_by_email(&mut conn, email.as_str()).await?
        }
        None => None,
    };
    let ok = state
        .hasher
        .verify(
            body.password.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    let user = match user {
        Some(user) if ok => user,
        known => {
            if let Some(u) = known {
                audit_in_user_orgs(
                    &state,
                    u.user_id(),
                    AuditEntry::new(Some(u.user_id()), "login_failed", ip),
                )
                .await?;
            }
            return Err(ApiError::invalid_credentials());
        }
    };
    if let Some(key) = &acct_key
        && let Err(e) = rate_limit::refund(&mut redis, key).await
    {
        tracing::warn!(error = %e, "could not give a successful login's attempt back");
    }
    let user_id = user.user_id();
    let mut tx = state.db.user_tx(user_id).await?;
    let orgs = db::orgs::list_for_user(&mut tx, user_id).await?;
    let (access, refresh) = start_session(&state, &mut tx, user_id).await?;
    tx.commit().await.map_err(DbError::from)?;
    audit_in_user_orgs(&state, user_id, AuditEntry::new(Some(user_id), "login", ip)).await?;
    let out = auth_out(
        &state,
        user.out(),
        orgs.first().map(|(o, _)| o.out()),
        access,
    );
    Ok(with_refresh_cookie(&state, StatusCode::OK, out, &refresh))
}

/// Exchange the refresh cookie for a new access token; the cookie is rotated. Presenting a refresh token that
/// was already used revokes every token of its login session.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth",
    responses((status = 200, description = "A new access token; the cookie is rotated", body = TokenOut),
              (status = 401, description = "No valid refresh cookie: the session has ended", body = insights_types::ErrorBody)))]
async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let unauthorized = |code: &'static str, message: &str| {
        let mut resp = ApiError::Unauthorized {
            code,
            message: message.into(),
        }
        .into_response();
        resp.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&tokens::clear_refresh_cookie()).expect("ASCII"),
        );
        resp
    };
    let Some(token) = tokens::refresh_token_from(&headers) else {
        return Ok(unauthorized(
            "no_session",
            "No refresh cookie: sign in again.",
        ));
    };
    let mut tx = state.db.pool().begin().await.map_err(DbError::from)?;
    let Some(row) = db::refresh_tokens::find_for_update(&mut tx, &token_hash(&token)).await? else {
        return Ok(unauthorized(
            "invalid_session",
            "The session is not valid: sign in again.",
        ));
    };
    if row.revoked_at.is_some() || row.expires_at <= Utc::now() {
        return Ok(unauthorized(
            "invalid_session",
            "The session has ended: sign in again.",
        ));
    }
    if row.used_at.is_some() {
        db::refresh_tokens::revoke_family(&mut tx, row.family_id).await?;
        tx.commit().await.map_err(DbError::from)?;
        tracing::warn!(user_id = %row.user_id, family = %row.family_id, "refresh token reused; session revoked");
        return Ok(unauthorized(
            "refresh_token_reused",
            "This session was used from somewhere else and has been ended for safety: sign in again.",
        ));
    }
    db::refresh_tokens::mark_used(&mut tx, row.id).await?;
    let user = UserId(row.user_id);
    let next = random_token();
    let expires_at = Utc::now() + state.config.auth.refresh_token_ttl;
    db::refresh_tokens::insert(&mut tx, user, row.family_id, &token_hash(&next), expires_at)
        .await?;
    let access = state.tokens.issue(user, row.family_id)?;
    tx.commit().await.map_err(DbError::from)?;
    let out = TokenOut {
        access_token: access,
        token_type: "Bearer".into(),
        expires_in: state.config.auth.access_token_ttl.as_secs() as i64,
    };
    Ok(with_refresh_cookie(&state, StatusCode::OK, out, &next))
}

/// End the session of the refresh cookie (its whole token family) and clear the cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "Logged out")))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = tokens::refresh_token_from(&headers) {
        let mut tx = state.db.pool().begin().await.map_err(DbError::from)?;
        if let Some(row) = db::refresh_tokens::find_for_update(&mut tx, &token_hash(&token)).await?
        {
            db::refresh_tokens::revoke_family(&mut tx, row.family_id).await?;
        }
        tx.commit().await.map_err(DbError::from)?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&tokens::clear_refresh_cookie()).expect("ASCII"),
    );
    Ok(resp)
}
