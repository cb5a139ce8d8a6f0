//! The run log: runs with filters, one run with its append-only history, decisions (approve, reject, cancel)
//! and the approvals inbox — runs waiting for a decision the caller may make.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, ListQuery, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use chrono::{DateTime, Utc};
use insights_core::automations::approvals;
use insights_core::automations::query::{self, RunFilter};
use insights_core::db::audit::{self, AuditEntry};
use insights_types::api::{DecisionIn, Page, RunOut, RunStatus, RunSummaryOut, RunTrigger};
use insights_types::{AutomationId, AutomationRunId, IncidentId, OrgId, Permission};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_automation_runs))
        .routes(routes!(get_automation_run))
        .routes(routes!(approve_automation_run))
        .routes(routes!(reject_automation_run))
        .routes(routes!(cancel_automation_run))
        .routes(routes!(list_automation_approvals))
}

/// Filters and page of the run log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RunParams {
    /// Runs of this automation.
    automation: Option<AutomationId>,
    /// Runs in this state.
    #[param(inline)]
    status: Option<RunStatus>,
    /// Runs started this way.
    #[param(inline)]
    trigger: Option<RunTrigger>,
    /// Runs about this incident.
    incident: Option<IncidentId>,
    /// Runs created at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Runs per page, 1–200 (default 50).
    limit: Option<u32>,
}

/// The run log, newest first: every run, refusal included, filtered by `automation`, `status`, `trigger`,
/// `incident` and `since`, in pages (`cursor`, `limit`).
#[utoipa::path(get, path = "/orgs/{org_id}/automation-runs", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), RunParams),
    responses((status = 200, body = Page<RunSummaryOut>)))]
async fn list_automation_runs(
    State(state): State<AppState>,
    member: OrgMember,
    Query(p): Query<RunParams>,
) -> Result<Json<Page<RunSummaryOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let (after, limit) = ListQuery {
        cursor: p.cursor,
        limit: p.limit,
    }
    .parse()?;
    let filter = RunFilter {
        automation: p.automation,
        status: p.status,
        trigger: p.trigger,
        incident: p.incident,
        since: p.since,
        decidable_by: None,
    };
    let mut db = state
        .db
        .org_read_tx(member.org_id, Some(member.user_id))
        .await?;
    let (items, next_cursor) = query::runs(&mut db, &filter, after, limit).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// The approvals inbox: runs waiting for approval that the caller may decide (the caller's role is at least
/// the automation's `approve_role`, and the caller did not ask for the run), newest first.
#[utoipa::path(get, path = "/orgs/{org_id}/automation-approvals", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ListQuery),
    responses((status = 200, body = Page<RunSummaryOut>)))]
async fn list_automation_approvals(
    State(state): State<AppState>,
    member: OrgMember,
    Query(p): Query<ListQuery>,
) -> Result<Json<Page<RunSummaryOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let (after, limit) = p.parse()?;
    let filter = RunFilter {
        decidable_by: Some((member.user_id, member.role)),
        ..RunFilter::default()
    };
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let (items, next_cursor) = query::runs(&mut db, &filter, after, limit).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// One run in full: what started it, who asked, its subject, the payload sent (secrets redacted) and its
/// hash, attempts, outcome, the function's error type, log tail and response, whether the result was posted
/// back, its history — and whether the caller may decide or cancel it now.
#[utoipa::path(get, path = "/orgs/{org_id}/automation-runs/{run_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("run_id" = AutomationRunId, Path)),
    responses((status = 200, body = RunOut)))]
async fn get_automation_run(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, AutomationRunId)>,
) -> Result<Json<RunOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(
        query::run(&mut db, id, member.user_id, member.role).await?,
    ))
}

/// Approve a run waiting for approval: it is queued and starts. Needs at least the automation's
/// `approve_role`, and someone other than who asked for it (`403 approval_not_allowed`); `409 not_pending`
/// once decided; `409 kill_switch_on` while the kill switch is on (the run keeps waiting).
#[utoipa::path(post, path = "/orgs/{org_id}/automation-runs/{run_id}/approve", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("run_id" = AutomationRunId, Path)), request_body = DecisionIn,
    responses((status = 200, body = RunOut),
        (status = 409, description = "`not_pending`: already decided; `kill_switch_on`", body = insights_types::ErrorBody)))]
async fn approve_automation_run(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationRunId)>,
    Json(body): Json<DecisionIn>,
) -> Result<Json<RunOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let job = approvals::approve(
        &mut db,
        &state.jobs,
        id,
        member.user_id,
        member.role,
        &body.comment,
    )
    .await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_run_approved", ip)
            .target("automation_run", id)
            .details(serde_json::json!({ "comment": body.comment.trim() })),
    )
    .await?;
    let out = query::run(&mut db, id, member.user_id, member.role).await?;
    db.commit().await?;
    state.jobs.push(job).await;
    Ok(Json(out))
}

/// Reject a run waiting for approval (the comment is its reason). Same rights as approving.
#[utoipa::path(post, path = "/orgs/{org_id}/automation-runs/{run_id}/reject", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("run_id" = AutomationRunId, Path)), request_body = DecisionIn,
    responses((status = 200, body = RunOut),
        (status = 409, description = "`not_pending`: already decided", body = insights_types::ErrorBody)))]
async fn reject_automation_run(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationRunId)>,
    Json(body): Json<DecisionIn>,
) -> Result<Json<RunOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    approvals::reject(&mut db, id, member.user_id, member.role, &body.comment).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_run_rejected", ip)
            .target("automation_run", id)
            .details(serde_json::json!({ "comment": body.comment.trim() })),
    )
    .await?;
    let out = query::run(&mut db, id, member.user_id, member.role).await?;
    db.commit().await?;
    Ok(Json(out))
}

/// Cancel a run that has not started (waiting for approval, or queued): by whoever asked for it, or by someone
/// who manages automations (`403 cancel_not_allowed` otherwise); `409 not_waiting` once it started.
#[utoipa::path(post, path = "/orgs/{org_id}/automation-runs/{run_id}/cancel", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("run_id" = AutomationRunId, Path)),
    responses((status = 200, body = RunOut),
        (status = 409, description = "`not_waiting`: it started or ended", body = insights_types::ErrorBody)))]
async fn cancel_automation_run(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationRunId)>,
) -> Result<Json<RunOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    approvals::cancel(&mut db, id, member.user_id, member.role).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_run_cancelled", ip)
            .target("automation_run", id),
    )
    .await?;
    let out = query::run(&mut db, id, member.user_id, member.role).await?;
    db.commit().await?;
    Ok(Json(out))
}
