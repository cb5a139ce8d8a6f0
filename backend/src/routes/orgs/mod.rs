//! Organizations: create another one, read and rename it.

use crate::error::ApiError;
use crate::http::{AuthUser, ClientIp, Json, OrgMember};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::audit::AuditEntry;
use insights_core::db::{self, orgs::OrgRow};
use insights_types::api::{OrgDetailOut, OrgIn, OrgPatch};
use insights_types::domain::Name;
use insights_types::{OrgId, Permission, Role};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_org))
        .routes(routes!(get_org, update_org))
}

fn detail(org: OrgRow, role: Role) -> OrgDetailOut {
    OrgDetailOut {
        id: OrgId(org.id),
        name: org.name,
        slug: org.slug,
        created_at: org.created_at,
        role,
    }
}

/// Create another organization; you become its owner. One person may own at most
/// `INSIGHTS_ORGS_PER_USER` organizations.
#[utoipa::path(post, path = "/orgs", tag = "organizations", security(("bearer" = [])), request_body = OrgIn,
    responses((status = 201, body = OrgDetailOut),
        (status = 409, description = "You own as many organizations as one person may (`quota_exceeded`)", body = insights_types::ErrorBody)))]
async fn create_org(
    State(state): State<AppState>,
    auth: AuthUser,
    ClientIp(ip): ClientIp,
    Json(body): Json<OrgIn>,
) -> Result<(StatusCode, Json<OrgDetailOut>), ApiError> {
    let name = Name::parse_field("name", &body.name)?;
    let mut db = state.db.org_tx(OrgId::new(), Some(auth.user_id)).await?;
    let limit = state.config.limits.orgs_per_user;
    if db::orgs::owned_by(&mut db, auth.user_id).await? >= i64::from(limit) {
        return Err(ApiError::Quota {
            quota: "orgs_per_user",
            message: format!(
                "You own {limit} organizations, as many as one person may. Delete one or ask an operator to raise INSIGHTS_ORGS_PER_USER."
            ),
            limit: u64::from(limit),
            retry_after_secs: None,
        });
    }
    let org =
        insights_core::orgs::create_with_owner(&mut db, auth.user_id, name.as_str(), ip).await?;
    db.commit().await?;
    state.cache.forget(crate::cache::Change::Member {
        org: OrgId(org.id),
        user: auth.user_id,
    });
    Ok((StatusCode::CREATED, Json(detail(org, Role::Owner))))
}

/// An organization you belong to.
#[utoipa::path(get, path = "/orgs/{org_id}", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = OrgDetailOut)))]
async fn get_org(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<OrgDetailOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let org = db::orgs::get(&mut db).await?;
    Ok(Json(detail(org, member.role)))
}

/// Rename the organization (admins and owners). The slug stays.
#[utoipa::path(patch, path = "/orgs/{org_id}", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = OrgPatch, responses((status = 200, body = OrgDetailOut)))]
async fn update_org(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<OrgPatch>,
) -> Result<Json<OrgDetailOut>, ApiError> {
    member.require(Permission::UpdateOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let org = match body.name {
        Some(name) => {
            let name = Name::parse_field("name", &name)?;
            let before = db::orgs::get(&mut db).await?;
            let org = db::orgs::update_name(&mut db, name.as_str()).await?;
            db::audit::record(
                &mut db,
                AuditEntry::new(Some(member.user_id), "organization_renamed", ip)
                    .target("organization", org.id)
                    .details(serde_json::json!({ "from": before.name, "to": org.name })),
            )
            .await?;
            org
        }
        None => db::orgs::get(&mut db).await?,
    };
    db.commit().await?;
    state
        .cache
        .forget(crate::cache::Change::Org { org: member.org_id });
    Ok(Json(detail(org, member.role)))
}
