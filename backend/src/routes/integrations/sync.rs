//! Sync now, and cancel the running sync.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::audit::AuditEntry;
use insights_core::db::{self, integrations};
use insights_core::sync::{self, SyncStart};
use insights_types::api::{JobState, SyncMode, SyncRunOut};
use insights_types::{IntegrationId, OrgId, Permission};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SyncQuery {
    /// `incremental` (default): the changes since the last sync; `backfill`: import the whole history again
    /// (e.g. after changing the options). Nothing is stored twice either way.
    mode: Option<SyncMode>,
}

/// Sync now. Answers 202 with the sync (or with the one already queued or running, which is not doubled).
#[utoipa::path(post, path = "/orgs/{org_id}/integrations/{integration_id}/sync", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path), SyncQuery),
    responses((status = 202, body = SyncRunOut)))]
pub(super) async fn sync_integration(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
    Query(q): Query<SyncQuery>,
) -> Result<(StatusCode, Json<SyncRunOut>), ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    if row.deleting_at.is_some() {
        return Err(ApiError::NotFound);
    }
    let mode = q.mode.unwrap_or(SyncMode::Incremental);
    let started = sync::start(&mut db, &state.jobs, &row, mode).await?;
    if let SyncStart::Started(job, mode) = &started {
        let job = job.job_run_id();
        db::audit::record(
            &mut db,
            AuditEntry::new(Some(member.user_id), "integration_sync_requested", ip)
                .target("integration", id)
                .details(serde_json::json!({ "job": job, "mode": mode })),
        )
        .await?;
    }
    let (run, _) = integrations::current_run(&mut db, id).await?;
    db.commit().await?;
    started.push(&state.jobs).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(run.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("sync run vanished")))?),
    ))
}

/// Cancel the running sync: a queued one stops at once, a running one after its current page (what it
/// stored stays). 409 when nothing is running.
#[utoipa::path(post, path = "/orgs/{org_id}/integrations/{integration_id}/cancel", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)),
    responses((status = 202, body = SyncRunOut), (status = 409, description = "No sync is running", body = insights_types::ErrorBody)))]
pub(super) async fn cancel_sync(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
) -> Result<(StatusCode, Json<SyncRunOut>), ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    integrations::get(&mut db, id).await?;
    let Some(run) = integrations::active_run(&mut db, id).await? else {
        return Err(ApiError::conflict(
            "not_running",
            "No sync of this integration is queued or running.",
        ));
    };
    let state_after = db::job_runs::request_cancel(&mut db, run).await?;
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "integration_sync_cancelled", ip)
            .target("integration", id)
            .details(serde_json::json!({ "job": run, "state": state_after.map(JobState::as_str) })),
    )
    .await?;
    let (current, _) = integrations::current_run(&mut db, id).await?;
    db.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(current.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("sync run vanished")))?),
    ))
}
