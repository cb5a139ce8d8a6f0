//! The organization's analytics settings: time zone, business hours, night window, holidays and the noise
//! threshold. Every member reads them (the dashboard says what "off-hours" means); admins change them, which
//! starts a tracked recomputation when rollups depend on what changed.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember};
use crate::state::AppState;
use axum::extract::State;
use insights_core::analytics;
use insights_core::db::{self, audit::AuditEntry};
use insights_types::api::{AnalyticsSettings, AnalyticsSettingsOut};
use insights_types::{OrgId, Permission};

/// The organization's analytics settings (the defaults until an admin changes them), and the recomputation a
/// change started while it runs.
#[utoipa::path(get, path = "/orgs/{org_id}/analytics/settings", tag = "analytics", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = AnalyticsSettingsOut)))]
pub async fn get_settings(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<AnalyticsSettingsOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(analytics::settings(&mut db).await?))
}

/// Replace the analytics settings (admins and owners). When the change affects what the rollups hold, a
/// recomputation job starts (its id is in `recompute_job_id`; follow it at `GET …/jobs/{job_id}`); until it
/// ends, numbers may mix the old and new settings. An invalid field is a 422 naming it.
#[utoipa::path(put, path = "/orgs/{org_id}/analytics/settings", tag = "analytics", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = AnalyticsSettings,
    responses((status = 200, body = AnalyticsSettingsOut)))]
pub async fn update_settings(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<AnalyticsSettings>,
) -> Result<Json<AnalyticsSettingsOut>, ApiError> {
    member.require(Permission::UpdateOrganization)?;
    let mut tx = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let before = analytics::settings(&mut tx).await?.settings;
    let (out, job) = analytics::update_settings(&mut tx, &state.jobs, &body).await?;
    if before != out.settings {
        let mut entry = AuditEntry::new(Some(member.user_id), "analytics_settings_changed", ip)
            .details(serde_json::json!({ "from": before, "to": out.settings }));
        if let Some(job) = &job {
            entry = entry.target("job", job.job_run_id());
        }
        db::audit::record(&mut tx, entry).await?;
    }
    tx.commit().await?;
    if let Some(job) = job {
        state.jobs.push(job).await;
    }
    Ok(Json(out))
}
