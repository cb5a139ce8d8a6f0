//! Disconnecting an integration, keeping its incidents or deleting them in the background.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::audit::AuditEntry;
use insights_core::db::{self, integrations};
use insights_core::jobs::DeleteIntegration;
use insights_types::api::JobRunOut;
use insights_types::{IntegrationId, OrgId, Permission};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeleteQuery {
    /// `keep` the imported incidents (they stay, no longer linked to an integration) or `delete` them.
    #[param(inline)]
    data: DataChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum DataChoice {
    Keep,
    Delete,
}

/// Disconnect: syncs and webhooks stop at once, and a job (202 with it) goes through the incidents the
/// integration imported in batches — `?data=keep` unlinks them (they stay, no longer updated), `?data=delete`
/// deletes them — then removes the integration. A large history never holds the request.
#[utoipa::path(delete, path = "/orgs/{org_id}/integrations/{integration_id}", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path), DeleteQuery),
    responses((status = 202, description = "Being removed, its incidents kept or deleted", body = JobRunOut),
              (status = 409, description = "Already being deleted", body = insights_types::ErrorBody)))]
pub(super) async fn delete_integration(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
    Query(q): Query<DeleteQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    if row.deleting_at.is_some() {
        return Err(ApiError::conflict(
            "already_deleting",
            "This integration is already being deleted.",
        ));
    }
    if let Some(run) = integrations::active_run(&mut db, id).await? {
        db::job_runs::request_cancel(&mut db, run).await?;
    }
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "integration_deleted", ip)
            .target("integration", id)
            .details(serde_json::json!({ "kind": row.kind, "name": row.name, "data": q.data })),
    )
    .await?;
    integrations::mark_deleting(&mut db, id, q.data == DataChoice::Keep).await?;
    let job = state.jobs.record::<DeleteIntegration>(&mut db, id).await?;
    let out = db::job_runs::get(&mut db, job.job_run_id()).await?;
    db.commit().await?;
    state.jobs.push(job).await;
    Ok((StatusCode::ACCEPTED, Json(out)).into_response())
}
