//! Members of an organization: list, change a role, remove (or leave). The last owner can neither leave nor
//! be demoted; only owners may touch the owner role.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::audit::AuditEntry;
use insights_core::db::{self, OrgTx};
use insights_types::api::{MemberOut, MemberPatch, Page};
use insights_types::{OrgId, Permission, Role, UserId};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(update_member, remove_member))
}

/// Everyone in the organization with their role, in order of joining.
#[utoipa::path(get, path = "/orgs/{org_id}/members", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = Page<MemberOut>)))]
async fn list_members(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<MemberOut>>, ApiError> {
    member.require(Permission::ListMembers)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let items = db::members::list(&mut db).await?;
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Fails with 409 if the change would leave the organization without an owner.
async fn ensure_not_last_owner(db: &mut OrgTx, target: &MemberOut) -> Result<(), ApiError> {
    if target.role == Role::Owner && db::members::lock_owner_count(db).await? <= 1 {
        return Err(ApiError::conflict(
            "last_owner",
            "An organization needs at least one owner: make someone else an owner first.",
        ));
    }
    Ok(())
}

/// Change a member's role.
#[utoipa::path(patch, path = "/orgs/{org_id}/members/{user_id}", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("user_id" = UserId, Path)), request_body = MemberPatch,
    responses((status = 200, body = MemberOut)))]
async fn update_member(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, user_id)): Path<(OrgId, UserId)>,
    Json(body): Json<MemberPatch>,
) -> Result<Json<MemberOut>, ApiError> {
    member.require(Permission::ManageMembers)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let target = db::members::get(&mut db, user_id).await?;
    if target.role == Role::Owner || body.role == Role::Owner {
        member.require(Permission::ManageOwners)?;
    }
    if target.role == body.role {
        return Ok(Json(target));
    }
    ensure_not_last_owner(&mut db, &target).await?;
    db::members::set_role(&mut db, user_id, body.role).await?;
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "member_role_changed", ip)
            .target("user", user_id)
            .details(serde_json::json!({ "email": target.user.email, "from": target.role, "to": body.role })),
    )
    .await?;
    let updated = db::members::get(&mut db, user_id).await?;
    db.commit().await?;
    state.cache.forget(crate::cache::Change::Member {
        org: member.org_id,
        user: user_id,
    });
    Ok(Json(updated))
}

/// Remove a member, or leave the organization by removing yourself.
#[utoipa::path(delete, path = "/orgs/{org_id}/members/{user_id}", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("user_id" = UserId, Path)), responses((status = 204, description = "Removed")))]
async fn remove_member(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, user_id)): Path<(OrgId, UserId)>,
) -> Result<StatusCode, ApiError> {
    let leaving = user_id == member.user_id;
    member.require(if leaving {
        Permission::LeaveOrganization
    } else {
        Permission::ManageMembers
    })?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let target = db::members::get(&mut db, user_id).await?;
    if target.role == Role::Owner && !leaving {
        member.require(Permission::ManageOwners)?;
    }
    ensure_not_last_owner(&mut db, &target).await?;
    db::members::remove(&mut db, user_id).await?;
    db::audit::record(
        &mut db,
        AuditEntry::new(
            Some(member.user_id),
            if leaving {
                "member_left"
            } else {
                "member_removed"
            },
            ip,
        )
        .target("user", user_id)
        .details(serde_json::json!({ "email": target.user.email, "role": target.role })),
    )
    .await?;
    db.commit().await?;
    state.cache.forget(crate::cache::Change::Member {
        org: member.org_id,
        user: user_id,
    });
    Ok(StatusCode::NO_CONTENT)
}
