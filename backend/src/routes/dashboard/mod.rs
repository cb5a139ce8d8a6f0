//! Each person's dashboard layout in an organization: which widgets, in which order and size. Anyone who sees
//! the organization arranges their own; nobody sees another's.

use crate::error::ApiError;
use crate::http::{Json, OrgMember};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::dashboard_layouts;
use insights_types::api::{DashboardLayout, DashboardLayoutOut};
use insights_types::{FieldError, OrgId, Permission};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_layout, put_layout, delete_layout))
}

/// Your dashboard: the layout you saved, or the default one (`customized: false`).
#[utoipa::path(get, path = "/orgs/{org_id}/dashboard/layout", tag = "dashboard", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = DashboardLayoutOut)))]
async fn get_layout(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<DashboardLayoutOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(
        match dashboard_layouts::get(&mut db, member.user_id).await? {
            Some((layout, updated_at)) => DashboardLayoutOut {
                layout,
                customized: true,
                updated_at: Some(updated_at),
            },
            None => DashboardLayoutOut {
                layout: DashboardLayout::default_layout(),
                customized: false,
                updated_at: None,
            },
        },
    ))
}

/// Save your dashboard layout (at most 24 widgets; a 422 names the first invalid field).
#[utoipa::path(put, path = "/orgs/{org_id}/dashboard/layout", tag = "dashboard", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = DashboardLayout,
    responses((status = 200, body = DashboardLayoutOut)))]
async fn put_layout(
    State(state): State<AppState>,
    member: OrgMember,
    Json(layout): Json<DashboardLayout>,
) -> Result<Json<DashboardLayoutOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    if let Some((field, message)) = layout.problem() {
        return Err(FieldError::new(&field, "invalid", message).into());
    }
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let updated_at = dashboard_layouts::put(&mut db, member.user_id, &layout).await?;
    db.commit().await?;
    Ok(Json(DashboardLayoutOut {
        layout,
        customized: true,
        updated_at: Some(updated_at),
    }))
}

/// Reset your dashboard to the default layout.
#[utoipa::path(delete, path = "/orgs/{org_id}/dashboard/layout", tag = "dashboard", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 204, description = "Reset: the default layout is shown again")))]
async fn delete_layout(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<StatusCode, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    dashboard_layouts::delete(&mut db, member.user_id).await?;
    db.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
