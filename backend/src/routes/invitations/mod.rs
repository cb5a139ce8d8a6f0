//! Invitations: admins invite people by email with a role; the secret token appears only in the `accept_url`
//! of the creation answer (and in the email, when SMTP is configured), in its fragment (`/join#token=…`), is
//! stored hashed, works once, and only for an account with the invited address (verified, when SMTP is
//! configured). Invitations to owner or admin expire after 24 hours, others after 7 days (settings); an
//! organization creates at most `INSIGHTS_INVITATIONS_PER_DAY` per 24 hours.

use crate::error::ApiError;
use crate::http::{AuthUser, ClientIp, Json, OrgMember, Path};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use insights_core::crypto::columns::INVITATION_TOKEN;
use insights_core::crypto::{random_token, token_hash};
use insights_core::db::audit::AuditEntry;
use insights_core::db::invitations::{InvitationRow, NewInvitation};
use insights_core::db::{self, DbError};
use insights_core::invitations;
use insights_core::jobs::{Pending, SendInvitationEmail};
use insights_types::api::{
    DeliveryOut, InvitationIn, InvitationOut, InvitationPreviewOut, InvitationTokenIn, MeOut, Page,
};
use insights_types::domain::Email;
use insights_types::{InvitationId, JobRunId, OrgId, Permission, Role};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_invitation, list_invitations))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
        .routes(routes!(lookup_invitation))
}

async fn invitation_out(
    db: &mut db::OrgTx,
    row: InvitationRow,
    accept_url: Option<String>,
) -> Result<InvitationOut, ApiError> {
    let delivery = match row.delivery_job_id {
        Some(job) => {
            let j = db::job_runs::get(db, JobRunId(job)).await?;
            Some(DeliveryOut {
                job_id: j.id,
                state: j.state,
                attempts: j.attempts,
                last_error: j.last_error,
            })
        }
        None => None,
    };
    Ok(InvitationOut {
        id: InvitationId(row.id),
        role: row.role(),
        invited_by: row.inviter(),
        email: row.email,
        expires_at: row.expires_at,
        created_at: row.created_at,
        accept_url,
        delivery,
    })
}

/// Invite someone by email. A new invitation to the same email replaces a pending one.
#[utoipa::path(post, path = "/orgs/{org_id}/invitations", tag = "invitations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = InvitationIn,
    responses((status = 201, description = "Created; `accept_url` holds the token and is shown only now", body = InvitationOut),
              (status = 409, description = "Already a member", body = insights_types::ErrorBody),
              (status = 429, description = "The organization's invitations per day are used up (`quota_exceeded`); see `Retry-After`", body = insights_types::ErrorBody)))]
async fn create_invitation(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<InvitationIn>,
) -> Result<(StatusCode, Json<InvitationOut>), ApiError> {
    member.require(Permission::InviteMembers)?;
    if body.role == Role::Owner {
        member.require(Permission::ManageOwners)?;
    }
    let email = Email::parse(&body.email)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let quota = state.config.limits.invitations_per_day;
    let (created, renews_in) = db::invitations::created_last_day(&mut db).await?;
    if created >= i64::from(quota) {
        return Err(ApiError::Quota {
            quota: "invitations_per_day",
            message: format!(
                "This organization has sent its {quota} invitations for the last 24 hours \
                 (INSIGHTS_INVITATIONS_PER_DAY). Try again in {} minutes.",
                renews_in.div_ceil(60)
            ),
            limit: u64::from(quota),
            retry_after_secs: Some(renews_in),
        });
    }
    if db::members::list(&mut db)
        .await?
        .iter()
        .any(|m| m.user.email == email.as_str())
    {
        return Err(ApiError::conflict(
            "already_member",
            "This person is already a member of the organization.",
        ));
    }
    let token = random_token();
    let id = InvitationId::new();
    let delivery_job = match state.config.smtp {
        Some(_) => Some(
            state
                .jobs
                .record::<SendInvitationEmail>(&mut db, id)
                .await?,
        ),
        None => None,
    };
    let row = db::invitations::create(
        &mut db,
        NewInvitation {
            id,
            email: email.as_str(),
            role: body.role,
            token_hash: &token_hash(&token),
            token_ciphertext: delivery_job.as_ref().map(|_| {
                state
                    .secrets
                    .seal(&INVITATION_TOKEN.row(id), token.as_bytes())
            }),
            invited_by: member.user_id,
            expires_at: Utc::now() + invitations::ttl(body.role, &state.config.auth),
            delivery_job_id: delivery_job.as_ref().map(Pending::job_run_id),
        },
    )
    .await?;
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "invitation_created", ip)
            .target("invitation", id)
            .details(serde_json::json!({ "email": email.as_str(), "role": body.role })),
    )
    .await?;
    let accept_url = invitations::accept_link(&state.config.server.public_url, &token);
    let out = invitation_out(&mut db, row, Some(accept_url)).await?;
    db.commit().await?;
    if let Some(job) = delivery_job {
        state.jobs.push(job).await;
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// Pending invitations (not accepted, revoked or expired), newest first.
#[utoipa::path(get, path = "/orgs/{org_id}/invitations", tag = "invitations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = Page<InvitationOut>)))]
async fn list_invitations(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<InvitationOut>>, ApiError> {
    member.require(Permission::InviteMembers)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let mut items = Vec::new();
    for row in db::invitations::list_pending(&mut db).await? {
        items.push(invitation_out(&mut db, row, None).await?);
    }
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Revoke a pending invitation; its link stops working.
#[utoipa::path(delete, path = "/orgs/{org_id}/invitations/{invitation_id}", tag = "invitations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("invitation_id" = InvitationId, Path)), responses((status = 204, description = "Revoked")))]
async fn revoke_invitation(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, InvitationId)>,
) -> Result<StatusCode, ApiError> {
    member.require(Permission::InviteMembers)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = db::invitations::get(&mut db, id).await?;
    db::invitations::revoke(&mut db, id).await?;
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "invitation_revoked", ip)
            .target("invitation", id)
            .details(serde_json::json!({ "email": row.email })),
    )
    .await?;
    db.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization of a valid token, or 404.
async fn org_of(state: &AppState, token: &str) -> Result<(OrgId, Vec<u8>), ApiError> {
    let hash = token_hash(token.trim());
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let org = db::invitations::org_of_token(&mut conn, &hash)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((org, hash))
}

/// Accept an invitation as the signed-in user, whose email must be the invited one and, when SMTP is
/// configured, verified (403 `email_unverified` until then).
#[utoipa::path(post, path = "/invitations/accept", tag = "invitations", security(("bearer" = [])),
    request_body = InvitationTokenIn, responses((status = 200, description = "Joined; your memberships", body = MeOut),
                                                (status = 403, description = "Verify your email address first (`email_unverified`)", body = insights_types::ErrorBody),
                                                (status = 404, description = "No invitation has this token", body = insights_types::ErrorBody)))]
async fn accept_invitation(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    Json(body): Json<InvitationTokenIn>,
) -> Result<Json<MeOut>, ApiError> {
    let (org_id, hash) = org_of(&state, &body.token).await?;
    let mut db = state.db.org_tx(org_id, Some(auth.user_id)).await?;
    let user = db::users::get(db.conn(), auth.user_id).await?;
    let inv = db::invitations::find_by_token_for_update(&mut db, &hash).await?;
    let email = Email::parse(&user.email)?;
    let role = invitations::usable_by(&inv, &email)?;
    if !user.email_verified(state.config.smtp.is_some()) {
        return Err(ApiError::Refused {
            code: "email_unverified",
            message:
                "Verify your email address first: open the link we sent you (or ask for a new one \
                      from your profile), then accept the invitation."
                    .into(),
        });
    }
    if db::members::role_of(&mut db, auth.user_id).await?.is_some() {
        return Err(ApiError::conflict(
            "already_member",
            "You are already a member of this organization.",
        ));
    }
    db::members::add(&mut db, auth.user_id, role).await?;
    db::invitations::mark_accepted(&mut db, InvitationId(inv.id), auth.user_id).await?;
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(auth.user_id), "invitation_accepted", ip)
            .target("invitation", inv.id)
            .details(serde_json::json!({ "email": user.email, "role": role })),
    )
    .await?;
    db.commit().await?;
    state.cache.forget(crate::cache::Change::Member {
        org: org_id,
        user: auth.user_id,
    });
    Ok(Json(super::me::load_me(&state, auth.user_id).await?))
}

/// What an invitation link leads to (organization, email, role), for anyone holding the token. Used invitations,
/// revoked ones and expired ones answer 409 with a code saying which.
#[utoipa::path(post, path = "/invitations/lookup", tag = "invitations", request_body = InvitationTokenIn,
    responses((status = 200, body = InvitationPreviewOut),
              (status = 404, description = "No invitation has this token", body = insights_types::ErrorBody)))]
async fn lookup_invitation(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<InvitationTokenIn>,
) -> Result<Json<InvitationPreviewOut>, ApiError> {
    crate::routes::auth::limit_ip(&state, "invitation_lookup", ip).await?;
    let (org_id, hash) = org_of(&state, &body.token).await?;
    let mut db = state.db.org_tx(org_id, None).await?;
    let inv = db::invitations::find_by_token_for_update(&mut db, &hash).await?;
    let email = Email::parse(&inv.email)?;
    let role = invitations::usable_by(&inv, &email)?;
    let org = db::orgs::get(&mut db).await?;
    Ok(Json(InvitationPreviewOut {
        organization: org.out(),
        email: inv.email,
        role,
        expires_at: inv.expires_at,
    }))
}
