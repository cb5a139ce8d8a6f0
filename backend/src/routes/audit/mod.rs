//! The audit log of an organization (admins and owners).

use crate::error::ApiError;
use crate::http::{Json, ListQuery, OrgMember, Query};
use crate::state::AppState;
use axum::extract::State;
use insights_core::db;
use insights_types::api::{AuditEventOut, Page};
use insights_types::{OrgId, Permission};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only events with this action, e.g. `login`.
    action: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Logins, invitations, role changes and other security-relevant actions, newest first.
#[utoipa::path(get, path = "/orgs/{org_id}/audit-log", tag = "audit", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), AuditQuery), responses((status = 200, body = Page<AuditEventOut>)))]
async fn list_audit_events(
    State(state): State<AppState>,
    member: OrgMember,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Page<AuditEventOut>>, ApiError> {
    member.require(Permission::ViewAuditLog)?;
    let (after, limit) = ListQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .parse()?;
    if q.action.as_ref().is_some_and(|a| a.len() > 64) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "`action` is at most 64 characters.",
        ));
    }
    let mut db = state
        .db
        .org_read_tx(member.org_id, Some(member.user_id))
        .await?;
    let (items, next_cursor) = db::audit::list(&mut db, after, q.action.as_deref(), limit).await?;
    Ok(Json(Page { items, next_cursor }))
}
