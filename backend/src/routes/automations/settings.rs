//! The kill switch: while on, no new run starts (each refusal is recorded) and queued runs are not invoked;
//! runs waiting for approval or queued stay, and go on once it is off.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember};
use crate::state::AppState;
use axum::extract::State;
use insights_core::automations::settings;
use insights_core::db::OrgTx;
use insights_core::db::audit::{self, AuditEntry};
use insights_types::api::{AutomationSettingsIn, AutomationSettingsOut};
use insights_types::{OrgId, Permission};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_automation_settings, put_automation_settings))
}

async fn current(db: &mut OrgTx, member: &OrgMember) -> Result<AutomationSettingsOut, ApiError> {
    let k = settings::get(db).await?;
    Ok(AutomationSettingsOut {
        killed: k.killed,
        reason: k.reason,
        killed_by: k.killed_by,
        killed_at: k.killed_at,
        pending_approvals: settings::pending_for(db, member.user_id, member.role).await?,
    })
}

/// The kill switch (who turned it on, when, why) and how many runs wait for the caller's approval (for the
/// badge in the navigation).
#[utoipa::path(get, path = "/orgs/{org_id}/automation-settings", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = AutomationSettingsOut)))]
async fn get_automation_settings(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<AutomationSettingsOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(current(&mut db, &member).await?))
}

/// Turn the kill switch on (with a reason shown to everyone) or off. On, it stops new runs at once: manual,
/// scheduled and rule runs are refused and recorded; queued runs are not invoked.
#[utoipa::path(put, path = "/orgs/{org_id}/automation-settings", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = AutomationSettingsIn,
    responses((status = 200, body = AutomationSettingsOut)))]
async fn put_automation_settings(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<AutomationSettingsIn>,
) -> Result<Json<AutomationSettingsOut>, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let changed = settings::put(&mut db, member.user_id, &body).await?;
    audit::record(
        &mut db,
        AuditEntry::new(
            Some(member.user_id),
            if body.killed {
                "automations_kill_switch_on"
            } else {
                "automations_kill_switch_off"
            },
            ip,
        )
        .details(serde_json::json!({ "reason": body.reason.trim(), "changed": changed })),
    )
    .await?;
    let out = current(&mut db, &member).await?;
    db.commit().await?;
    Ok(Json(out))
}
