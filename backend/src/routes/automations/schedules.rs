//! Automation schedules: a cron expression (5 fields, or 6 with seconds) read in an IANA time zone —
//! daylight-saving changes followed — that starts an automation; each answer lists its next fire times.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use insights_core::automations::schedules;
use insights_core::db::audit::{self, AuditEntry};
use insights_types::api::{AutomationScheduleIn, AutomationScheduleOut, Page};
use insights_types::{AutomationScheduleId, OrgId, Permission};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            list_automation_schedules,
            create_automation_schedule
        ))
        .routes(routes!(
            get_automation_schedule,
            replace_automation_schedule,
            delete_automation_schedule
        ))
}

/// The organization's schedules by name, each with its next fire times (UTC).
#[utoipa::path(get, path = "/orgs/{org_id}/automation-schedules", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Page<AutomationScheduleOut>)))]
async fn list_automation_schedules(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<AutomationScheduleOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let now = Utc::now();
    let items = schedules::list(&mut db)
        .await?
        .iter()
        .map(|s| s.out(now))
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Create a schedule: the automation, a cron expression, its time zone (default `UTC`) and the parameters
/// the template sees. An expression or time zone that does not parse is a 422 saying why.
#[utoipa::path(post, path = "/orgs/{org_id}/automation-schedules", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = AutomationScheduleIn,
    responses((status = 201, body = AutomationScheduleOut)))]
async fn create_automation_schedule(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<AutomationScheduleIn>,
) -> Result<(StatusCode, Json<AutomationScheduleOut>), ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let id = schedules::create(&mut db, member.user_id, &body).await?;
    let row = schedules::get(&mut db, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_schedule_created", ip)
            .target("automation_schedule", id)
            .details(serde_json::json!({
                "name": row.name, "automation": row.automation_id, "cron": row.cron, "time_zone": row.time_zone,
            })),
    )
    .await?;
    db.commit().await?;
    Ok((StatusCode::CREATED, Json(row.out(Utc::now()))))
}

/// One schedule.
#[utoipa::path(get, path = "/orgs/{org_id}/automation-schedules/{schedule_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("schedule_id" = AutomationScheduleId, Path)),
    responses((status = 200, body = AutomationScheduleOut)))]
async fn get_automation_schedule(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, AutomationScheduleId)>,
) -> Result<Json<AutomationScheduleOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(schedules::get(&mut db, id).await?.out(Utc::now())))
}

/// Replace a schedule (the whole body, as for `POST`); it next fires at its next time after now.
#[utoipa::path(put, path = "/orgs/{org_id}/automation-schedules/{schedule_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("schedule_id" = AutomationScheduleId, Path)), request_body = AutomationScheduleIn,
    responses((status = 200, body = AutomationScheduleOut)))]
async fn replace_automation_schedule(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationScheduleId)>,
    Json(body): Json<AutomationScheduleIn>,
) -> Result<Json<AutomationScheduleOut>, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    schedules::replace(&mut db, id, &body).await?;
    let row = schedules::get(&mut db, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_schedule_updated", ip)
            .target("automation_schedule", id)
            .details(serde_json::json!({
                "name": row.name, "automation": row.automation_id, "cron": row.cron, "time_zone": row.time_zone,
                "enabled": row.enabled,
            })),
    )
    .await?;
    db.commit().await?;
    Ok(Json(row.out(Utc::now())))
}

/// Delete a schedule (its runs stay in the log).
#[utoipa::path(delete, path = "/orgs/{org_id}/automation-schedules/{schedule_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("schedule_id" = AutomationScheduleId, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_automation_schedule(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationScheduleId)>,
) -> Result<StatusCode, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = schedules::delete(&mut db, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_schedule_deleted", ip)
            .target("automation_schedule", id)
            .details(serde_json::json!({ "name": row.name })),
    )
    .await?;
    db.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
