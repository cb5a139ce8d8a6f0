//! Sign up, log in, refresh and log out. Access tokens are short-lived JWTs; refresh tokens are opaque,
//! stored hashed, rotated on every use, and travel only in an `HttpOnly; Secure; SameSite=Strict` cookie.
//! A browser that logged in gets a signed device cookie too, and its later logins are throttled apart from
//! everyone else's attempts on the account.

use crate::auth::{rate_limit, sessions, tokens};
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

/// Counts an attempt in the bucket `key` (per account, per device) before any password is checked; 429 when
/// over the per-account limit. A right password gives its attempt back with [`refund`].
pub(crate) async fn limit_attempt(state: &AppState, key: &str) -> Result<(), ApiError> {
    let mut redis = state.redis.clone();
    rate_limit::hit(
        &mut redis,
        key,
        state.config.auth.rate_limit_per_account,
        WINDOW,
    )
    .await
    .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?
    .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
}

/// Gives back the attempt of a right password (counted by [`limit_attempt`]).
pub(crate) async fn refund(state: &AppState, key: &str) {
    let mut redis = state.redis.clone();
    if let Err(e) = rate_limit::refund(&mut redis, key).await {
        tracing::warn!(error = %e, "could not give a successful attempt back");
    }
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

/// Records a login, failed login or password change in the user's own security log. Not in organizations'
/// audit logs: the user's access serves all their organizations, and one organization's admins must not learn
/// from their log that the user is active in others.
pub(crate) async fn security_log(
    state: &AppState,
    user: UserId,
    action: &str,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let mut tx = state.db.user_tx(user).await?;
    db::security_events::record(&mut tx, user, action, ip).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// [`security_log`] after the answer has gone: a failed login for an existing account must not take longer
/// than one for an unknown address (which has nothing to record).
pub(crate) fn security_log_later(
    state: &AppState,
    user: UserId,
    action: &'static str,
    ip: Option<IpAddr>,
) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = security_log(&state, user, action, ip).await {
            tracing::error!(error = %e, user_id = %user, action, "could not record a security event");
        }
    });
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

/// Log in with email and password. A browser that has logged in to this account before presents its device
/// cookie and is throttled on its own: failures from elsewhere that exhaust the account's limit do not lock it
/// out.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, description = "Logged in; the refresh token is in the `insights_refresh` cookie, a device cookie in `insights_device`", body = AuthOut),
              (status = 401, description = "Wrong email or password", body = insights_types::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(body): Json<LoginIn>,
) -> Result<Response, ApiError> {
    limit_ip(&state, "login", ip).await?;
    // A malformed email cannot belong to an account: answer exactly like a wrong password.
    let email = Email::parse(&body.email).ok();
    // Counted before the password is checked, atomically: of N parallel guesses, only as many as the limit
    // are ever verified (and hashed); the rest are refused at once. The bucket is the device's when the
    // request carries a device cookie this server signed for this account, the account's otherwise.
    let bucket = email.as_ref().map(|email| {
        let device = tokens::cookie_from(&headers, tokens::DEVICE_COOKIE).and_then(|c| {
            state
                .tokens
                .verify_device_cookie(email.as_str(), &c)
                .map(str::to_owned)
        });
        match device {
            Some(device) => state.redis_key(&["rl", "login", "device", &device]),
            None => account_key(&state, "login", email),
        }
    });
    if let Some(key) = &bucket {
        limit_attempt(&state, key).await?;
    }
    let user = match &email {
        Some(email) => {
            let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
            db::users::find_by_email(&mut conn, email.as_str()).await?
        }
        None => None,
    };
    // Known or not, one verification against an argon2id hash of the same parameters (a dummy one for an
    // unknown address), and nothing else before answering.
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
                security_log_later(&state, u.user_id(), "login_failed", ip);
            }
            return Err(ApiError::invalid_credentials());
        }
    };
    if let Some(key) = &bucket {
        refund(&state, key).await;
    }
    let user_id = user.user_id();
    let mut tx = state.db.user_tx(user_id).await?;
    let orgs = db::orgs::list_for_user(&mut tx, user_id).await?;
    let (access, refresh) = start_session(&state, &mut tx, user_id).await?;
    db::security_events::record(&mut tx, user_id, "login", ip).await?;
    tx.commit().await.map_err(DbError::from)?;
    let out = auth_out(
        &state,
        user.out(),
        orgs.first().map(|(o, _)| o.out()),
        access,
    );
    let mut resp = with_refresh_cookie(&state, StatusCode::OK, out, &refresh);
    // A fresh device cookie on every successful login (OWASP: a new nonce each time).
    let device = tokens::device_cookie(
        &state.tokens.device_cookie(&user.email),
        state.config.auth.device_cookie_ttl,
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&device).expect("cookie is ASCII"),
    );
    Ok(resp)
}

/// Exchange the refresh cookie for a new access token; the cookie is rotated. Presenting a refresh token that
/// was already used revokes every token of its login session, except the immediately previous token within the
/// grace window (`INSIGHTS_REFRESH_GRACE_SECS`): tabs refreshing at the same instant all get the same successor.
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
    let user = UserId(row.user_id);
    let now = Utc::now();
    // The successor is derived from the token, so a second use can be answered with the same one.
    let next = state.tokens.successor(&token);
    if let Some(used_at) = row.used_at {
        let grace = chrono::Duration::from_std(state.config.auth.refresh_grace)
            .map_err(anyhow::Error::from)?;
        // The immediately previous token is the one whose successor is still unused.
        let successor = if now - used_at <= grace {
            db::refresh_tokens::find_for_update(&mut tx, &token_hash(&next)).await?
        } else {
            None
        };
        if successor.is_some_and(|s| {
            s.family_id == row.family_id && s.used_at.is_none() && s.revoked_at.is_none()
        }) {
            let access = state.tokens.issue(user, row.family_id)?;
            tx.commit().await.map_err(DbError::from)?;
            return Ok(token_response(&state, access, &next));
        }
        db::refresh_tokens::revoke_family(&mut tx, row.family_id).await?;
        tx.commit().await.map_err(DbError::from)?;
        sessions::ended(&state, &[row.family_id]).await;
        tracing::warn!(user_id = %row.user_id, family = %row.family_id, "refresh token reused; session revoked");
        return Ok(unauthorized(
            "refresh_token_reused",
            "This session was used from somewhere else and has been ended for safety: sign in again.",
        ));
    }
    db::refresh_tokens::mark_used(&mut tx, row.id, now).await?;
    let expires_at = now + state.config.auth.refresh_token_ttl;
    db::refresh_tokens::insert(&mut tx, user, row.family_id, &token_hash(&next), expires_at)
        .await?;
    let access = state.tokens.issue(user, row.family_id)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(token_response(&state, access, &next))
}

fn token_response(state: &AppState, access: String, refresh: &str) -> Response {
    let out = TokenOut {
        access_token: access,
        token_type: "Bearer".into(),
        expires_in: state.config.auth.access_token_ttl.as_secs() as i64,
    };
    with_refresh_cookie(state, StatusCode::OK, out, refresh)
}

/// End the session of the refresh cookie (its whole token family) and clear the cookie.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204, description = "Logged out")))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = tokens::refresh_token_from(&headers) {
        let mut tx = state.db.pool().begin().await.map_err(DbError::from)?;
        let row = db::refresh_tokens::find_for_update(&mut tx, &token_hash(&token)).await?;
        if let Some(row) = &row {
            db::refresh_tokens::revoke_family(&mut tx, row.family_id).await?;
        }
        tx.commit().await.map_err(DbError::from)?;
        if let Some(row) = row {
            sessions::ended(&state, &[row.family_id]).await;
        }
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&tokens::clear_refresh_cookie()).expect("ASCII"),
    );
    Ok(resp)
}
