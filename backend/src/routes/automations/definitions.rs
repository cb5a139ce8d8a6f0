//! Automations: list, create, read, replace (`base_version` guards against overwriting someone's edit),
//! delete; the preview of the exact payload a run would send; a run by hand (or a test invoke from the
//! editor); and each automation's effectiveness.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use insights_core::automations::admission::{self, AdmitError, RunRequest};
use insights_core::automations::{definitions as automations, query};
use insights_core::db::OrgTx;
use insights_core::db::audit::{self, AuditEntry};
use insights_types::api::{
    AutomationIn, AutomationOut, EffectivenessReportOut, Page, PreviewIn, PreviewOut, RunIn,
    RunOut, RunTrigger,
};
use insights_types::{AutomationId, FieldError, OrgId, Permission};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_automations, create_automation))
        .routes(routes!(
            get_automation,
            replace_automation,
            delete_automation
        ))
        .routes(routes!(preview_automation))
        .routes(routes!(run_automation))
        .routes(routes!(automation_effectiveness))
}

/// An automation as the caller sees it, with its last run.
async fn out(
    state: &AppState,
    db: &mut OrgTx,
    member: &OrgMember,
    row: &automations::AutomationRow,
) -> Result<AutomationOut, ApiError> {
    let last = query::last_runs(db, &[row.id]).await?.into_iter().next();
    Ok(row.out(&state.secrets, member.role, last))
}

/// The organization's automations by name, each with its last run and whether the caller may run it and
/// approve its runs (never their secrets: `has_slack_url`, `has_webhook_url`, `has_signing_secret`).
#[utoipa::path(get, path = "/orgs/{org_id}/automations", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Page<AutomationOut>)))]
async fn list_automations(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<AutomationOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let rows = automations::list(&mut db).await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    let mut last = query::last_runs(&mut db, &ids).await?;
    let items = rows
        .iter()
        .map(|r| {
            let run = last
                .iter()
                .position(|l| l.automation.id == r.id)
                .map(|i| last.swap_remove(i));
            r.out(&state.secrets, member.role, run)
        })
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Create an automation: one action (`lambda`: a function on a connection's allow-list, invoked `sync` or
/// `async`; `note`, `email`, `slack`, `webhook`), its template (payloads must render to JSON; a template that
/// does not compile is a 422 naming the line), retries, approval, who may run and approve it, and its limits.
/// Secrets are write-only; a webhook given no signing secret gets one, answered once in
/// `new_signing_secret`.
#[utoipa::path(post, path = "/orgs/{org_id}/automations", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = AutomationIn,
    responses((status = 201, body = AutomationOut)))]
async fn create_automation(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<AutomationIn>,
) -> Result<(StatusCode, Json<AutomationOut>), ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let (id, generated) = automations::create(
        &mut db,
        &state.secrets,
        &state.config.automations.outbound_allowed,
        member.user_id,
        &body,
    )
    .await?;
    let row = automations::get(&mut db, id, false).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_created", ip)
            .target("automation", id)
            .details(serde_json::json!({ "name": row.name, "action": row.action, "version": row.version })),
    )
    .await?;
    let mut out = out(&state, &mut db, &member, &row).await?;
    out.new_signing_secret = generated;
    db.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// One automation.
#[utoipa::path(get, path = "/orgs/{org_id}/automations/{automation_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("automation_id" = AutomationId, Path)),
    responses((status = 200, body = AutomationOut)))]
async fn get_automation(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, AutomationId)>,
) -> Result<Json<AutomationOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = automations::get(&mut db, id, false).await?;
    Ok(Json(out(&state, &mut db, &member, &row).await?))
}

/// Replace an automation (the whole body, as for `POST`): its version goes up. With `base_version`, a save
/// on top of a newer version answers 409 `version_conflict`. Secrets omitted are kept.
#[utoipa::path(put, path = "/orgs/{org_id}/automations/{automation_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("automation_id" = AutomationId, Path)), request_body = AutomationIn,
    responses((status = 200, body = AutomationOut),
        (status = 409, description = "`version_conflict`: the automation has a newer version than `base_version`", body = insights_types::ErrorBody)))]
async fn replace_automation(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationId)>,
    Json(body): Json<AutomationIn>,
) -> Result<Json<AutomationOut>, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let (version, generated) = automations::replace(
        &mut db,
        &state.secrets,
        &state.config.automations.outbound_allowed,
        member.user_id,
        id,
        &body,
    )
    .await?;
    let row = automations::get(&mut db, id, false).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_updated", ip)
            .target("automation", id)
            .details(
                serde_json::json!({ "name": row.name, "action": row.action, "version": version }),
            ),
    )
    .await?;
    let mut out = out(&state, &mut db, &member, &row).await?;
    out.new_signing_secret = generated;
    db.commit().await?;
    Ok(Json(out))
}

/// Delete an automation with its rules and schedules. Its runs stay in the log; those still waiting for
/// approval or queued are cancelled.
#[utoipa::path(delete, path = "/orgs/{org_id}/automations/{automation_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("automation_id" = AutomationId, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_automation(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationId)>,
) -> Result<StatusCode, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = automations::delete(&mut db, member.user_id, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_deleted", ip)
            .target("automation", id)
            .details(serde_json::json!({ "name": row.name })),
    )
    .await?;
    db.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The exact payload (or message) a run would send for this subject — an incident, a pattern, a runbook step,
/// targets and parameters — with its SHA-256, or the template's error with its line; and the variables the
/// template sees (secrets redacted). `template` previews an unsaved template instead of the stored one.
/// Nothing runs.
#[utoipa::path(post, path = "/orgs/{org_id}/automations/{automation_id}/preview", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("automation_id" = AutomationId, Path)), request_body = PreviewIn,
    responses((status = 200, body = PreviewOut)))]
async fn preview_automation(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, AutomationId)>,
    Json(body): Json<PreviewIn>,
) -> Result<Json<PreviewOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = automations::get(&mut db, id, false).await?;
    Ok(Json(
        automations::preview(&mut db, &row, body.template.as_deref(), &body.subject).await?,
    ))
}

/// Run an automation by hand (needs the automation's `run_role`), about an incident, a pattern or a runbook
/// step, with targets and parameters; `test: true` is a test invoke from the editor (never posted back).
/// Answers 202 with the run as recorded: `queued`, `pending_approval` when it needs an approver, or
/// `refused` with its reason when the kill switch, the circuit breaker or a limit stops it — a refusal is
/// recorded too.
#[utoipa::path(post, path = "/orgs/{org_id}/automations/{automation_id}/runs", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("automation_id" = AutomationId, Path)), request_body = RunIn,
    responses((status = 202, body = RunOut)))]
async fn run_automation(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationId)>,
    Json(body): Json<RunIn>,
) -> Result<(StatusCode, Json<RunOut>), ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = automations::get(&mut db, id, false).await?;
    if !row.may_run(member.role) {
        return Err(ApiError::Refused {
            code: "run_not_allowed",
            message: format!(
                "\"{}\" may be run by its {}s and above: your role is {}.",
                row.name, row.run_role, member.role
            ),
        });
    }
    let trigger = if body.test {
        RunTrigger::Test
    } else {
        RunTrigger::Manual
    };
    let admitted = admission::admit(
        &mut db,
        RunRequest {
            queue: &state.jobs,
            automation_id: id,
            trigger,
            actor_id: Some(member.user_id),
            rule_id: None,
            schedule_id: None,
            subject: body.subject,
        },
    )
    .await
    .map_err(|e| match e {
        AdmitError::NotFound => ApiError::NotFound,
        AdmitError::Invalid(message) => FieldError::new("", "invalid_subject", message).into(),
        AdmitError::Db(e) => e.into(),
    })?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_run_requested", ip)
            .target("automation_run", admitted.run_id)
            .details(serde_json::json!({
                "automation": id, "name": row.name, "trigger": trigger,
                "status": admitted.status, "reason": admitted.reason,
            })),
    )
    .await?;
    let out = query::run(&mut db, admitted.run_id, member.user_id, member.role).await?;
    db.commit().await?;
    admitted.push_jobs(&state.jobs).await;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// The window of the effectiveness report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EffectivenessParams {
    /// Runs created in the last this many days, 1–365 (default 30).
    days: Option<i64>,
    /// A run counts as followed by a resolution when its incident was resolved within this many minutes after
    /// it finished, 1–10,080 (default 60).
    resolved_within_minutes: Option<i32>,
}

/// Each automation's effectiveness over the window: runs, successes, failures, refusals, success rate, runs on
/// incidents resolved within `resolved_within_minutes` after the run finished, runs whose incident's pattern
/// recurred within 24 hours, and the median duration. Most runs first.
#[utoipa::path(get, path = "/orgs/{org_id}/automations/effectiveness", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), EffectivenessParams),
    responses((status = 200, body = EffectivenessReportOut)))]
async fn automation_effectiveness(
    State(state): State<AppState>,
    member: OrgMember,
    Query(p): Query<EffectivenessParams>,
) -> Result<Json<EffectivenessReportOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let days = p.days.unwrap_or(30);
    let within = p.resolved_within_minutes.unwrap_or(60);
    if !(1..=365).contains(&days) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "`days` must be between 1 and 365.",
        ));
    }
    if !(1..=10_080).contains(&within) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "`resolved_within_minutes` must be between 1 and 10080.",
        ));
    }
    let since = Utc::now() - chrono::Duration::days(days);
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(EffectivenessReportOut {
        since,
        resolved_within_minutes: within,
        automations: query::effectiveness(&mut db, since, within).await?,
    }))
}
