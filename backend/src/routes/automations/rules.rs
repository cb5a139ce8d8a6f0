//! Automation rules: conditions on an incident change that start an automation, with a cap on runs per hour
//! (blast radius); and the dry run — what a rule would have done on the last incidents. A change takes effect
//! without a restart (the worker reloads the organization's rules).

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::automations::rules;
use insights_core::db::audit::{self, AuditEntry};
use insights_types::api::{AutomationRuleIn, AutomationRuleOut, DryRunIn, DryRunOut, Page};
use insights_types::{AutomationRuleId, OrgId, Permission};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_automation_rules, create_automation_rule))
        .routes(routes!(
            get_automation_rule,
            replace_automation_rule,
            delete_automation_rule
        ))
        .routes(routes!(dry_run_automation_rule))
}

/// The organization's rules by name, each with the runs it started in the last hour.
#[utoipa::path(get, path = "/orgs/{org_id}/automation-rules", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Page<AutomationRuleOut>)))]
async fn list_automation_rules(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<AutomationRuleOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let items = rules::list(&mut db, None)
        .await?
        .iter()
        .map(rules::RuleRow::out)
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Create a rule: the automation it starts, its conditions (transitions, sources, services, teams, urgencies,
/// priorities, patterns, tags, a title regular expression: every one given must hold), the parameters the
/// template sees, and its cap on runs per hour. Takes effect within a second, without a restart.
#[utoipa::path(post, path = "/orgs/{org_id}/automation-rules", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = AutomationRuleIn,
    responses((status = 201, body = AutomationRuleOut)))]
async fn create_automation_rule(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<AutomationRuleIn>,
) -> Result<(StatusCode, Json<AutomationRuleOut>), ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let id = rules::create(&mut db, member.user_id, &body).await?;
    let row = rules::get(&mut db, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_rule_created", ip)
            .target("automation_rule", id)
            .details(serde_json::json!({ "name": row.name, "automation": row.automation_id })),
    )
    .await?;
    db.commit().await?;
    Ok((StatusCode::CREATED, Json(row.out())))
}

/// One rule.
#[utoipa::path(get, path = "/orgs/{org_id}/automation-rules/{rule_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("rule_id" = AutomationRuleId, Path)),
    responses((status = 200, body = AutomationRuleOut)))]
async fn get_automation_rule(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, AutomationRuleId)>,
) -> Result<Json<AutomationRuleOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(rules::get(&mut db, id).await?.out()))
}

/// Replace a rule (the whole body, as for `POST`).
#[utoipa::path(put, path = "/orgs/{org_id}/automation-rules/{rule_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("rule_id" = AutomationRuleId, Path)), request_body = AutomationRuleIn,
    responses((status = 200, body = AutomationRuleOut)))]
async fn replace_automation_rule(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationRuleId)>,
    Json(body): Json<AutomationRuleIn>,
) -> Result<Json<AutomationRuleOut>, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    rules::replace(&mut db, id, &body).await?;
    let row = rules::get(&mut db, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_rule_updated", ip)
            .target("automation_rule", id)
            .details(serde_json::json!({ "name": row.name, "automation": row.automation_id, "enabled": row.enabled })),
    )
    .await?;
    db.commit().await?;
    Ok(Json(row.out()))
}

/// Delete a rule (its runs stay in the log).
#[utoipa::path(delete, path = "/orgs/{org_id}/automation-rules/{rule_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("rule_id" = AutomationRuleId, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_automation_rule(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AutomationRuleId)>,
) -> Result<StatusCode, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = rules::delete(&mut db, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "automation_rule_deleted", ip)
            .target("automation_rule", id)
            .details(serde_json::json!({ "name": row.name })),
    )
    .await?;
    db.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Try a rule (saved or not) on the last `last` incidents (1–1000, default 100), each taken as just
/// triggered: whether it matches and why (each condition's verdict), the payload it would have sent, and what
/// would have happened once the rule's cap and the automation's limits applied, simulated over the incidents
/// in time order. Nothing runs and nothing is stored.
#[utoipa::path(post, path = "/orgs/{org_id}/automation-rules/dry-run", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = DryRunIn,
    responses((status = 200, body = DryRunOut)))]
async fn dry_run_automation_rule(
    State(state): State<AppState>,
    member: OrgMember,
    Json(body): Json<DryRunIn>,
) -> Result<Json<DryRunOut>, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(rules::dry_run(&mut db, &body).await?))
}
