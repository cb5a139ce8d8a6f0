//! The signed-in user: profile, memberships, password change, their own security log.

use crate::auth::sessions;
use crate::error::ApiError;
use crate::http::{AuthUser, ClientIp, Json, ListQuery, Query};
use crate::routes::auth::{limit_attempt, limit_ip, refund};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::{self, DbError};
use insights_types::api::{
    HelpLinksOut, MeOut, MePatch, MembershipOut, Page, PasswordChangeIn, SecurityEventOut,
};
use insights_types::domain::{Name, Password};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(list_security_events))
}

/// The user with their memberships (401 when the account no longer exists).
pub(super) async fn load_me(
    state: &AppState,
    user: insights_types::UserId,
) -> Result<MeOut, ApiError> {
    let mut tx = state.db.user_tx(user).await?;
    let row = db::users::get(&mut tx, user).await.map_err(|e| match e {
        // The account was deleted after the token was issued.
        DbError::NotFound => ApiError::unauthenticated(),
        e => e.into(),
    })?;
    let memberships = db::orgs::list_for_user(&mut tx, user)
        .await?
        .into_iter()
        .map(|(org, role)| MembershipOut {
            organization: org.out(),
            role,
        })
        .collect();
    tx.commit().await.map_err(DbError::from)?;
    Ok(MeOut {
        email_verified: row.email_verified(state.config.smtp.is_some()),
        user: row.out(),
        memberships,
        help: HelpLinksOut {
            guide_url: state.config.server.help.guide.to_string(),
            troubleshooting_url: state.config.server.help.troubleshooting.to_string(),
        },
    })
}

/// Who you are and the organizations you belong to.
#[utoipa::path(get, path = "/me", tag = "me", security(("bearer" = [])), responses((status = 200, body = MeOut)))]
async fn get_me(State(state): State<AppState>, auth: AuthUser) -> Result<Json<MeOut>, ApiError> {
    if let Some(me) = state.cache.me(auth.user_id) {
        return Ok(Json(me));
    }
    let ticket = state.cache.ticket();
    let me = load_me(&state, auth.user_id).await?;
    state.cache.put_me(ticket, auth.user_id, me.clone());
    Ok(Json(me))
}

/// Change your display name.
#[utoipa::path(patch, path = "/me", tag = "me", security(("bearer" = [])), request_body = MePatch,
    responses((status = 200, body = MeOut)))]
async fn update_me(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(body): Json<MePatch>,
) -> Result<Json<MeOut>, ApiError> {
    if let Some(name) = body.name {
        let name = Name::parse_field("name", &name)?;
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        db::users::update_name(&mut conn, auth.user_id, name.as_str()).await?;
        state
            .cache
            .forget(crate::cache::Change::User { user: auth.user_id });
    }
    Ok(Json(load_me(&state, auth.user_id).await?))
}

/// Change your password. Every other session is signed out (its refresh cookie and its access tokens stop
/// working); this one stays. Throttled like login, per account and per client address, before the current
/// password is checked.
#[utoipa::path(post, path = "/me/password", tag = "me", security(("bearer" = [])), request_body = PasswordChangeIn,
    responses((status = 204, description = "Changed"),
              (status = 429, description = "Too many attempts for this account or from this client; see `Retry-After`", body = insights_types::ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    Json(body): Json<PasswordChangeIn>,
) -> Result<StatusCode, ApiError> {
    let new = Password::parse_field("new_password", &body.new_password)?;
    // A stolen access token must not become a fast password oracle: counted like login, before hashing.
    limit_ip(&state, "password", ip).await?;
    let bucket = state.redis_key(&["rl", "password", "account", &auth.user_id.to_string()]);
    limit_attempt(&state, &bucket).await?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let user = db::users::get(&mut conn, auth.user_id).await?;
    drop(conn);
    if !state
        .hasher
        .verify(body.current_password, Some(user.password_hash))
        .await?
    {
        return Err(ApiError::field(
            "current_password",
            "incorrect",
            "is not your current password",
        ));
    }
    refund(&state, &bucket).await;
    let hash = state.hasher.hash(new.expose().to_owned()).await?;
    let mut tx = state.db.user_tx(auth.user_id).await?;
    db::users::update_password_hash(&mut tx, auth.user_id, &hash).await?;
    let ended =
        db::refresh_tokens::revoke_user_except(&mut tx, auth.user_id, Some(auth.session_id))
            .await?;
    db::security_events::record(&mut tx, auth.user_id, "password_changed", ip).await?;
    tx.commit().await.map_err(DbError::from)?;
    sessions::ended(&state, &ended).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Your own security log, newest first: logins, failed logins and password changes of your account, with the
/// address they came from. Only you see it.
#[utoipa::path(get, path = "/me/security-events", tag = "me", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Page<SecurityEventOut>)))]
async fn list_security_events(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<SecurityEventOut>>, ApiError> {
    let (after, limit) = q.parse()?;
    let mut tx = state.db.user_tx(auth.user_id).await?;
    let (items, next_cursor) =
        db::security_events::list(&mut tx, auth.user_id, after, limit).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(Page { items, next_cursor }))
}
