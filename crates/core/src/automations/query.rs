//! Reads of the run log: runs with filters (newest first, in pages), one run with its events, the approvals
//! inbox (runs waiting for a decision the caller may make), and each automation's effectiveness.

use super::settings::roles_at_least;
use super::{AutomationError, AutomationResult};
use crate::db::{OrgTx, ReadFrom, cursor};
use chrono::{DateTime, Utc};
use insights_types::api::{
    EffectivenessOut, NamedRef, PostBackStatus, RunEventOut, RunOut, RunStatus, RunSummaryOut,
    RunTrigger,
};
use insights_types::{AutomationId, AutomationRunId, IncidentId, Permission, Role, UserId};
use uuid::Uuid;

pub fn status_str(s: RunStatus) -> &'static str {
    match s {
        RunStatus::PendingApproval => "pending_approval",
        RunStatus::Queued => "queued",
        RunStatus::Running => "running",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::Refused => "refused",
        RunStatus::Rejected => "rejected",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Unknown => "unknown",
    }
}

pub fn status_of(s: &str) -> RunStatus {
    match s {
        "pending_approval" => RunStatus::PendingApproval,
        "queued" => RunStatus::Queued,
        "running" => RunStatus::Running,
        "succeeded" => RunStatus::Succeeded,
        "failed" => RunStatus::Failed,
        "refused" => RunStatus::Refused,
        "rejected" => RunStatus::Rejected,
        "cancelled" => RunStatus::Cancelled,
        _ => RunStatus::Unknown,
    }
}

pub fn trigger_str(t: RunTrigger) -> &'static str {
    match t {
        RunTrigger::Manual => "manual",
        RunTrigger::Test => "test",
        RunTrigger::Schedule => "schedule",
        RunTrigger::Rule => "rule",
    }
}

fn trigger_of(s: &str) -> RunTrigger {
    match s {
        "test" => RunTrigger::Test,
        "schedule" => RunTrigger::Schedule,
        "rule" => RunTrigger::Rule,
        _ => RunTrigger::Manual,
    }
}

fn posted_back_of(s: &str) -> PostBackStatus {
    match s {
        "pending" => PostBackStatus::Pending,
        "posted" => PostBackStatus::Posted,
        "failed" => PostBackStatus::Failed,
        _ => PostBackStatus::NotRequested,
    }
}

fn named(id: Option<Uuid>, name: Option<String>) -> Option<NamedRef> {
    Some(NamedRef {
        id: id?,
        name: name.unwrap_or_default(),
    })
}

/// The filters of the run log.
#[derive(Debug, Default, Clone)]
pub struct RunFilter {
    pub automation: Option<AutomationId>,
    pub status: Option<RunStatus>,
    pub trigger: Option<RunTrigger>,
    pub incident: Option<IncidentId>,
    pub since: Option<DateTime<Utc>>,
    /// Only runs waiting for approval that a caller of this role may decide, and that `user` did not ask for.
    pub decidable_by: Option<(UserId, Role)>,
}

/// One run as the log lists it.
#[derive(Debug, Clone)]
struct SummaryRow {
    id: Uuid,
    automation_id: Uuid,
    automation_name: String,
    action: String,
    trigger: String,
    rule_id: Option<Uuid>,
    rule_name: Option<String>,
    actor_id: Option<Uuid>,
    actor_name: Option<String>,
    incident_id: Option<Uuid>,
    incident_title: Option<String>,
    status: String,
    reason: Option<String>,
    attempts: i32,
    duration_ms: Option<i64>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl SummaryRow {
    fn out(self) -> RunSummaryOut {
        RunSummaryOut {
            id: AutomationRunId(self.id),
            automation: NamedRef {
                id: self.automation_id,
                name: self.automation_name,
            },
            action: super::automations::action_of(&self.action),
            trigger: trigger_of(&self.trigger),
            rule: named(self.rule_id, self.rule_name),
            actor: named(self.actor_id, self.actor_name),
            incident: named(self.incident_id, self.incident_title),
            status: status_of(&self.status),
            reason: self.reason,
            attempts: self.attempts,
            duration_ms: self.duration_ms,
            created_at: self.created_at,
            finished_at: self.finished_at,
        }
    }
}

/// Runs newest first, filtered, in pages after `after`.
pub async fn runs(
    db: &mut OrgTx,
    filter: &RunFilter,
    after: Option<cursor::Position>,
    limit: i64,
) -> AutomationResult<(Vec<RunSummaryOut>, Option<String>)> {
    let (decider, roles) = match filter.decidable_by {
        Some((user, role)) => (Some(user.0), Some(roles_at_least(role))),
        None => (None, None),
    };
    let rows = org_query_as!(
        db,
        SummaryRow,
        r#"SELECT r.id, r.automation_id, r.automation_name, r.action, r.trigger, r.rule_id,
                  ru.name AS "rule_name?", r.actor_id, u.name AS "actor_name?", r.incident_id,
                  i.title AS "incident_title?", r.status, r.reason, r.attempts, r.duration_ms, r.created_at,
                  r.finished_at
             FROM automation_runs r
             LEFT JOIN automation_rules ru ON ru.org_id = r.org_id AND ru.id = r.rule_id
             LEFT JOIN users u ON u.id = r.actor_id
             LEFT JOIN incidents i ON i.org_id = r.org_id AND i.id = r.incident_id
            WHERE r.org_id = $1
              AND ($2::uuid IS NULL OR r.automation_id = $2)
              AND ($3::text IS NULL OR r.status = $3)
              AND ($4::text IS NULL OR r.trigger = $4)
              AND ($5::uuid IS NULL OR r.incident_id = $5)
              AND ($6::timestamptz IS NULL OR r.created_at >= $6)
              AND ($7::timestamptz IS NULL OR (r.created_at, r.id) < ($7, $8::uuid))
              AND ($9::text[] IS NULL OR (r.status = 'pending_approval'
                   AND r.actor_id IS DISTINCT FROM $10::uuid
                   AND EXISTS (SELECT 1 FROM automations a WHERE a.org_id = r.org_id AND a.id = r.automation_id
                                  AND a.approve_role = ANY($9))))
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT $11"#,
        filter.automation.map(|a| a.0),
        filter.status.map(status_str),
        filter.trigger.map(trigger_str),
        filter.incident.map(|i| i.0),
        filter.since,
        after.map(|a| a.0),
        after.map(|a| a.1),
        roles.as_deref(),
        decider,
        limit + 1,
    )
    .fetch_all(db.conn())
    .await
    .read_from("automation_runs")?;
    let (rows, next) = cursor::page(rows, limit, |r| (r.created_at, r.id));
    Ok((rows.into_iter().map(SummaryRow::out).collect(), next))
}

/// The last run of each of `automations` (for the list of automations).
pub async fn last_runs(
    db: &mut OrgTx,
    automations: &[Uuid],
) -> AutomationResult<Vec<RunSummaryOut>> {
    let rows = org_query_as!(
        db,
        SummaryRow,
        r#"SELECT r.id AS "id!", r.automation_id AS "automation_id!", r.automation_name AS "automation_name!",
                  r.action AS "action!", r.trigger AS "trigger!", r.rule_id, ru.name AS "rule_name?",
                  r.actor_id, u.name AS "actor_name?", r.incident_id, i.title AS "incident_title?",
                  r.status AS "status!", r.reason, r.attempts AS "attempts!", r.duration_ms,
                  r.created_at AS "created_at!", r.finished_at
             FROM unnest($2::uuid[]) AS a(id)
             CROSS JOIN LATERAL (
                 SELECT * FROM automation_runs x WHERE x.org_id = $1 AND x.automation_id = a.id
                  ORDER BY x.created_at DESC, x.id DESC LIMIT 1) r
             LEFT JOIN automation_rules ru ON ru.org_id = r.org_id AND ru.id = r.rule_id
             LEFT JOIN users u ON u.id = r.actor_id
             LEFT JOIN incidents i ON i.org_id = r.org_id AND i.id = r.incident_id"#,
        automations,
    )
    .fetch_all(db.conn())
    .await
    .read_from("automation_runs")?;
    Ok(rows.into_iter().map(SummaryRow::out).collect())
}

/// One run with its events, as `(user, role)` sees it (`may_decide`, `may_cancel`).
pub async fn run(
    db: &mut OrgTx,
    id: AutomationRunId,
    user: UserId,
    role: Role,
) -> AutomationResult<RunOut> {
    let summary = org_query_as!(
        db,
        SummaryRow,
        r#"SELECT r.id, r.automation_id, r.automation_name, r.action, r.trigger, r.rule_id,
                  ru.name AS "rule_name?", r.actor_id, u.name AS "actor_name?", r.incident_id,
                  i.title AS "incident_title?", r.status, r.reason, r.attempts, r.duration_ms, r.created_at,
                  r.finished_at
             FROM automation_runs r
             LEFT JOIN automation_rules ru ON ru.org_id = r.org_id AND ru.id = r.rule_id
             LEFT JOIN users u ON u.id = r.actor_id
             LEFT JOIN incidents i ON i.org_id = r.org_id AND i.id = r.incident_id
            WHERE r.org_id = $1 AND r.id = $2"#,
        id.0,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("automation_runs")?
    .ok_or(AutomationError::NotFound)?;
    let d = org_query!(
        db,
        r#"SELECT r.schedule_id, s.name AS "schedule_name?", r.pattern_id,
                  coalesce(p.name, p.template) AS "pattern_name?", r.runbook_id, b.title AS "runbook_title?",
                  r.runbook_version, r.step_index, r.params, r.payload, r.payload_hash, r.target, r.started_at,
                  r.function_error, r.log_tail, r.response, r.posted_back, a.approve_role AS "approve_role?"
             FROM automation_runs r
             LEFT JOIN automation_schedules s ON s.org_id = r.org_id AND s.id = r.schedule_id
             LEFT JOIN patterns p ON p.org_id = r.org_id AND p.id = r.pattern_id
             LEFT JOIN runbooks b ON b.org_id = r.org_id AND b.id = r.runbook_id
             LEFT JOIN automations a ON a.org_id = r.org_id AND a.id = r.automation_id
            WHERE r.org_id = $1 AND r.id = $2"#,
        id.0,
    )
    .fetch_one(db.conn())
    .await?;
    let events = org_query!(
        db,
        r#"SELECT e.kind, e.actor_id, u.name AS "actor_name?", e.attempt, e.message, e.at
             FROM automation_run_events e LEFT JOIN users u ON u.id = e.actor_id
            WHERE e.org_id = $1 AND e.run_id = $2
            ORDER BY e.at, e.id"#,
        id.0,
    )
    .fetch_all(db.conn())
    .await?
    .into_iter()
    .map(|e| RunEventOut {
        kind: e.kind,
        actor: named(e.actor_id, e.actor_name),
        attempt: e.attempt,
        message: e.message,
        at: e.at,
    })
    .collect();
    let summary = summary.out();
    let requested_by_caller = summary.actor.as_ref().is_some_and(|a| a.id == user.0);
    let may_decide = summary.status == RunStatus::PendingApproval
        && !requested_by_caller
        && d.approve_role
            .as_deref()
            .is_some_and(|r| role <= super::automations::role_of(r));
    let may_cancel = matches!(
        summary.status,
        RunStatus::PendingApproval | RunStatus::Queued
    ) && (requested_by_caller || role.can(Permission::ManageAutomations));
    Ok(RunOut {
        summary,
        schedule: named(d.schedule_id, d.schedule_name),
        pattern: named(d.pattern_id, d.pattern_name),
        runbook: named(d.runbook_id, d.runbook_title),
        runbook_version: d.runbook_version,
        step_index: d.step_index,
        params: d.params,
        payload: d.payload,
        payload_hash: d.payload_hash,
        target: d.target,
        started_at: d.started_at,
        function_error: d.function_error,
        log_tail: d.log_tail,
        response: d.response,
        posted_back: posted_back_of(&d.posted_back),
        events,
        may_decide,
        may_cancel,
    })
}

/// Each automation's effectiveness over runs created since `since` (automations deleted since keep their
/// runs, under the name they had), most runs first.
pub async fn effectiveness(
    db: &mut OrgTx,
    since: DateTime<Utc>,
    resolved_within_minutes: i32,
) -> AutomationResult<Vec<EffectivenessOut>> {
    let rows = org_query!(
        db,
        r#"SELECT r.automation_id, max(r.automation_name) AS "name!",
                  count(*) AS "runs!",
                  count(*) FILTER (WHERE r.status = 'succeeded') AS "succeeded!",
                  count(*) FILTER (WHERE r.status = 'failed') AS "failed!",
                  count(*) FILTER (WHERE r.status = 'refused') AS "refused!",
                  count(*) FILTER (WHERE r.incident_id IS NOT NULL AND r.finished_at IS NOT NULL
                                     AND r.status IN ('succeeded', 'failed')) AS "incidents!",
                  count(*) FILTER (WHERE r.status IN ('succeeded', 'failed') AND i.resolved_at IS NOT NULL
                                     AND i.resolved_at >= r.finished_at
                                     AND i.resolved_at <= r.finished_at + make_interval(mins => $3))
                      AS "resolved_within!",
                  count(*) FILTER (WHERE r.status IN ('succeeded', 'failed') AND i.pattern_id IS NOT NULL
                                     AND EXISTS (
                      SELECT 1 FROM incidents n
                       WHERE n.org_id = r.org_id AND n.pattern_id = i.pattern_id AND n.id <> i.id
                         AND n.triggered_at > r.finished_at
                         AND n.triggered_at <= r.finished_at + interval '24 hours')) AS "recurred!",
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY r.duration_ms)
                      FILTER (WHERE r.duration_ms IS NOT NULL) AS median_duration_ms
             FROM automation_runs r
             LEFT JOIN incidents i ON i.org_id = r.org_id AND i.id = r.incident_id
            WHERE r.org_id = $1 AND r.created_at >= $2
            GROUP BY r.automation_id
            ORDER BY 3 DESC, 2, 1"#,
        since,
        resolved_within_minutes,
    )
    .fetch_all(db.conn())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let finished = r.succeeded + r.failed;
            EffectivenessOut {
                automation: NamedRef {
                    id: r.automation_id,
                    name: r.name,
                },
                runs: r.runs,
                succeeded: r.succeeded,
                failed: r.failed,
                refused: r.refused,
                success_rate: (finished > 0).then(|| r.succeeded as f64 / finished as f64),
                incidents: r.incidents,
                resolved_within: r.resolved_within,
                recurred_within_24h: r.recurred,
                median_duration_ms: r.median_duration_ms.map(|m| m.round() as i64),
            }
        })
        .collect())
}
