//! Reading integrations: the list, one with its current sync, and its past syncs.

use super::integration_out;
use crate::error::ApiError;
use crate::http::{Json, ListQuery, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use insights_core::db::integrations;
use insights_types::api::{IntegrationOut, Page, SyncRunOut};
use insights_types::{IntegrationId, OrgId, Permission};

/// Every integration of the organization, with its current sync.
#[utoipa::path(get, path = "/orgs/{org_id}/integrations", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = Page<IntegrationOut>)))]
pub(super) async fn list_integrations(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<IntegrationOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let rows = integrations::list(&mut db).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(integration_out(&state, &mut db, row, None).await?);
    }
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// One integration: settings, status, the running (or last) sync with its progress, and webhook setup.
#[utoipa::path(get, path = "/orgs/{org_id}/integrations/{integration_id}", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)), responses((status = 200, body = IntegrationOut)))]
pub(super) async fn get_integration(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
) -> Result<Json<IntegrationOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    Ok(Json(integration_out(&state, &mut db, &row, None).await?))
}

/// The integration's syncs, newest first.
#[utoipa::path(get, path = "/orgs/{org_id}/integrations/{integration_id}/runs", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path), ListQuery),
    responses((status = 200, body = Page<SyncRunOut>)))]
pub(super) async fn list_sync_runs(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<SyncRunOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let (after, limit) = q.parse()?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    integrations::get(&mut db, id).await?;
    let (items, next_cursor) = integrations::runs(&mut db, id, after, limit).await?;
    Ok(Json(Page { items, next_cursor }))
}
