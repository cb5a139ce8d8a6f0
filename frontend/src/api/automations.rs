//! Automations: AWS connections (create, verify, the role's templates), automations (CRUD, payload preview,
//! runs by hand and test invokes, effectiveness), the rules and schedules that start them, the run log with
//! its approvals, and the kill switch. Filters are passed as query pairs already encoded (see
//! [`super::runbooks::pair`]). Answers whose body pages do not read (a verification's 202, a decision) are
//! taken as JSON and the page reads the resource again.

use super::{ApiResult, NO_BODY, call, get};
use crate::session::Session;
use insights_types::api::{
    AutomationIn, AutomationOut, AutomationRuleIn, AutomationRuleOut, AutomationScheduleIn,
    AutomationScheduleOut, AutomationSettingsIn, AutomationSettingsOut, AwsConnectionIn,
    AwsConnectionOut, AwsConnectionPatch, AwsTemplatesOut, DecisionIn, DryRunIn, DryRunOut,
    EffectivenessReportOut, Page, PreviewIn, PreviewOut, RunIn, RunOut, RunSummaryOut,
};
use insights_types::{
    AutomationId, AutomationRuleId, AutomationRunId, AutomationScheduleId, AwsConnectionId, OrgId,
};

/// `path?{params}` (just `path` without any).
fn with_query(path: String, params: &[String]) -> String {
    if params.is_empty() {
        path
    } else {
        format!("{path}?{}", params.join("&"))
    }
}

/// `/api/v1/orgs/{org}/{rest}`.
fn at(org: OrgId, rest: &str) -> String {
    format!("/api/v1/orgs/{org}/{rest}")
}

// AWS connections -----------------------------------------------------------------------------------------

/// `GET …/aws-connections` (a small bounded list, in the shape of a page).
pub fn list_connections(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<AwsConnectionOut>>> {
    get(session, at(org, "aws-connections"))
}

/// `POST …/aws-connections`: a new connection, with its generated external id.
pub fn create_connection(
    session: Session,
    org: OrgId,
    body: &AwsConnectionIn,
) -> impl Future<Output = ApiResult<AwsConnectionOut>> {
    call(session, "POST", at(org, "aws-connections"), Some(body))
}

/// `GET …/aws-connections/{id}`: its status and the checks of its last verification.
pub fn get_connection(
    session: Session,
    org: OrgId,
    id: AwsConnectionId,
) -> impl Future<Output = ApiResult<AwsConnectionOut>> {
    get(session, at(org, &format!("aws-connections/{id}")))
}

/// `PATCH …/aws-connections/{id}`: what is given changes (the connection is then unverified).
pub fn patch_connection(
    session: Session,
    org: OrgId,
    id: AwsConnectionId,
    body: &AwsConnectionPatch,
) -> impl Future<Output = ApiResult<AwsConnectionOut>> {
    call(
        session,
        "PATCH",
        at(org, &format!("aws-connections/{id}")),
        Some(body),
    )
}

/// `DELETE …/aws-connections/{id}` (refused while an automation uses it).
pub fn delete_connection(
    session: Session,
    org: OrgId,
    id: AwsConnectionId,
) -> impl Future<Output = ApiResult<serde_json::Value>> {
    call(
        session,
        "DELETE",
        at(org, &format!("aws-connections/{id}")),
        NO_BODY,
    )
}

/// `POST …/aws-connections/{id}/verify` (202): the worker assumes the role and checks each function.
pub fn verify_connection(
    session: Session,
    org: OrgId,
    id: AwsConnectionId,
) -> impl Future<Output = ApiResult<serde_json::Value>> {
    call(
        session,
        "POST",
        at(org, &format!("aws-connections/{id}/verify")),
        NO_BODY,
    )
}

/// `GET …/aws-connections/{id}/templates`: CloudFormation and Terraform creating the role.
pub fn connection_templates(
    session: Session,
    org: OrgId,
    id: AwsConnectionId,
) -> impl Future<Output = ApiResult<AwsTemplatesOut>> {
    get(session, at(org, &format!("aws-connections/{id}/templates")))
}

// Automations ---------------------------------------------------------------------------------------------

/// `GET …/automations` (a bounded list: every automation of the organization).
pub fn list_automations(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<AutomationOut>>> {
    get(session, at(org, "automations"))
}

/// `POST …/automations`.
pub fn create_automation(
    session: Session,
    org: OrgId,
    body: &AutomationIn,
) -> impl Future<Output = ApiResult<AutomationOut>> {
    call(session, "POST", at(org, "automations"), Some(body))
}

/// `GET …/automations/{id}`.
pub fn get_automation(
    session: Session,
    org: OrgId,
    id: AutomationId,
) -> impl Future<Output = ApiResult<AutomationOut>> {
    get(session, at(org, &format!("automations/{id}")))
}

/// `PUT …/automations/{id}` (409 `version_conflict` when `base_version` is not the current one).
pub fn save_automation(
    session: Session,
    org: OrgId,
    id: AutomationId,
    body: &AutomationIn,
) -> impl Future<Output = ApiResult<AutomationOut>> {
    call(
        session,
        "PUT",
        at(org, &format!("automations/{id}")),
        Some(body),
    )
}

/// `DELETE …/automations/{id}`.
pub fn delete_automation(
    session: Session,
    org: OrgId,
    id: AutomationId,
) -> impl Future<Output = ApiResult<serde_json::Value>> {
    call(
        session,
        "DELETE",
        at(org, &format!("automations/{id}")),
        NO_BODY,
    )
}

/// `POST …/automations/{id}/preview`: the exact payload for a subject (an unsaved template may be given).
pub fn preview(
    session: Session,
    org: OrgId,
    id: AutomationId,
    body: &PreviewIn,
) -> impl Future<Output = ApiResult<PreviewOut>> {
    call(
        session,
        "POST",
        at(org, &format!("automations/{id}/preview")),
        Some(body),
    )
}

/// `POST …/automations/{id}/runs` (202): a run by hand or a test invoke; a refusal is a run too.
pub fn run_automation(
    session: Session,
    org: OrgId,
    id: AutomationId,
    body: &RunIn,
) -> impl Future<Output = ApiResult<RunOut>> {
    call(
        session,
        "POST",
        at(org, &format!("automations/{id}/runs")),
        Some(body),
    )
}

/// `GET …/automations/effectiveness?days=&resolved_within_minutes=`.
pub fn effectiveness(
    session: Session,
    org: OrgId,
    days: u32,
    resolved_within_minutes: u32,
) -> impl Future<Output = ApiResult<EffectivenessReportOut>> {
    get(
        session,
        at(
            org,
            &format!(
                "automations/effectiveness?days={days}&resolved_within_minutes={resolved_within_minutes}"
            ),
        ),
    )
}

// Rules ---------------------------------------------------------------------------------------------------

/// `GET …/automation-rules`.
pub fn list_rules(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<AutomationRuleOut>>> {
    get(session, at(org, "automation-rules"))
}

/// `GET …/automation-rules/{id}`.
pub fn get_rule(
    session: Session,
    org: OrgId,
    id: AutomationRuleId,
) -> impl Future<Output = ApiResult<AutomationRuleOut>> {
    get(session, at(org, &format!("automation-rules/{id}")))
}

/// `POST …/automation-rules`.
pub fn create_rule(
    session: Session,
    org: OrgId,
    body: &AutomationRuleIn,
) -> impl Future<Output = ApiResult<AutomationRuleOut>> {
    call(session, "POST", at(org, "automation-rules"), Some(body))
}

/// `PUT …/automation-rules/{id}`.
pub fn save_rule(
    session: Session,
    org: OrgId,
    id: AutomationRuleId,
    body: &AutomationRuleIn,
) -> impl Future<Output = ApiResult<AutomationRuleOut>> {
    call(
        session,
        "PUT",
        at(org, &format!("automation-rules/{id}")),
        Some(body),
    )
}

/// `DELETE …/automation-rules/{id}`.
pub fn delete_rule(
    session: Session,
    org: OrgId,
    id: AutomationRuleId,
) -> impl Future<Output = ApiResult<serde_json::Value>> {
    call(
        session,
        "DELETE",
        at(org, &format!("automation-rules/{id}")),
        NO_BODY,
    )
}

/// `POST …/automation-rules/dry-run`: what a rule would have done on the last incidents. Nothing runs.
pub fn dry_run(
    session: Session,
    org: OrgId,
    body: &DryRunIn,
) -> impl Future<Output = ApiResult<DryRunOut>> {
    call(
        session,
        "POST",
        at(org, "automation-rules/dry-run"),
        Some(body),
    )
}

// Schedules -----------------------------------------------------------------------------------------------

/// `GET …/automation-schedules`.
pub fn list_schedules(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<AutomationScheduleOut>>> {
    get(session, at(org, "automation-schedules"))
}

/// `POST …/automation-schedules`.
pub fn create_schedule(
    session: Session,
    org: OrgId,
    body: &AutomationScheduleIn,
) -> impl Future<Output = ApiResult<AutomationScheduleOut>> {
    call(session, "POST", at(org, "automation-schedules"), Some(body))
}

/// `PUT …/automation-schedules/{id}`.
pub fn save_schedule(
    session: Session,
    org: OrgId,
    id: AutomationScheduleId,
    body: &AutomationScheduleIn,
) -> impl Future<Output = ApiResult<AutomationScheduleOut>> {
    call(
        session,
        "PUT",
        at(org, &format!("automation-schedules/{id}")),
        Some(body),
    )
}

/// `DELETE …/automation-schedules/{id}`.
pub fn delete_schedule(
    session: Session,
    org: OrgId,
    id: AutomationScheduleId,
) -> impl Future<Output = ApiResult<serde_json::Value>> {
    call(
        session,
        "DELETE",
        at(org, &format!("automation-schedules/{id}")),
        NO_BODY,
    )
}

// Runs ----------------------------------------------------------------------------------------------------

/// `GET …/automation-runs?{params}&limit=…&cursor=…`: `params` are the filters (`automation`, `status`,
/// `trigger`, `incident`, `since`).
pub fn list_runs(
    session: Session,
    org: OrgId,
    params: &[String],
    limit: u32,
    cursor: Option<&str>,
) -> impl Future<Output = ApiResult<Page<RunSummaryOut>>> {
    let mut params = params.to_vec();
    params.push(format!("limit={limit}"));
    if let Some(c) = cursor {
        params.push(super::runbooks::pair("cursor", c));
    }
    get(session, with_query(at(org, "automation-runs"), &params))
}

/// `GET …/automation-runs/{id}`: the run with its events, payload, response and log tail.
pub fn get_run(
    session: Session,
    org: OrgId,
    id: AutomationRunId,
) -> impl Future<Output = ApiResult<RunOut>> {
    get(session, at(org, &format!("automation-runs/{id}")))
}

/// `POST …/automation-runs/{id}/{decision}`: `approve`, `reject` (with a comment) or `cancel`.
pub fn decide_run(
    session: Session,
    org: OrgId,
    id: AutomationRunId,
    decision: &'static str,
    body: &DecisionIn,
) -> impl Future<Output = ApiResult<serde_json::Value>> {
    call(
        session,
        "POST",
        at(org, &format!("automation-runs/{id}/{decision}")),
        Some(body),
    )
}

/// `GET …/automation-approvals`: runs waiting for a decision the caller may take.
pub fn list_approvals(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<RunSummaryOut>>> {
    get(session, at(org, "automation-approvals?limit=200"))
}

// Settings ------------------------------------------------------------------------------------------------

/// `GET …/automation-settings`: the kill switch and how many runs wait for the caller's approval.
pub fn get_settings(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<AutomationSettingsOut>> {
    get(session, at(org, "automation-settings"))
}

/// `PUT …/automation-settings`: turns the kill switch on or off.
pub fn put_settings(
    session: Session,
    org: OrgId,
    body: &AutomationSettingsIn,
) -> impl Future<Output = ApiResult<AutomationSettingsOut>> {
    call(session, "PUT", at(org, "automation-settings"), Some(body))
}
