//! The life of an admitted run: queuing it (at admission, or once approved: [`enqueue`]), and — on the worker
//! side — claiming an attempt ([`begin`]: the kill switch, the concurrency per target, and the
//! `attempt_started` event committed before anything is invoked), recording its outcome ([`finish`]: retry
//! with the automation's backoff, the circuit breaker's bookkeeping) and reconciling a run whose worker died
//! while invoking.
//!
//! A run's status moves `queued → running → succeeded | failed` (back to `queued` between attempts), or ends
//! `refused` (kill switch), `cancelled`, or `unknown` (an attempt started, its worker died, and the function
//! is not idempotent: invoking it again could do the work twice). Every step adds an event to the run's
//! append-only history in the same transaction.

use crate::db::{DbError, DbResult, OrgTx, ReadFrom};
use crate::jobs::{JobQueue, Pending, RunAutomation};
use chrono::{DateTime, Utc};
use insights_types::api::{RunStatus, RunSubjectIn};
use insights_types::{
    AutomationId, AutomationRuleId, AutomationRunId, AutomationScheduleId, IncidentId, JobRunId,
    PatternId, RunbookId, UserId,
};
use std::time::Duration;
use uuid::Uuid;

/// `automation_runs.status`.
#[must_use]
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

/// The status stored as `s`.
#[must_use]
pub fn parse_status(s: &str) -> Option<RunStatus> {
    use RunStatus::*;
    [
        PendingApproval,
        Queued,
        Running,
        Succeeded,
        Failed,
        Refused,
        Rejected,
        Cancelled,
        Unknown,
    ]
    .into_iter()
    .find(|x| status_str(*x) == s)
}

/// One entry of a run's history.
#[derive(Clone, Debug)]
pub struct RunEvent {
    pub kind: &'static str,
    pub message: String,
    pub actor: Option<UserId>,
    pub attempt: Option<i32>,
    pub detail: serde_json::Value,
}

impl RunEvent {
    #[must_use]
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        RunEvent {
            kind,
            message: message.into(),
            actor: None,
            attempt: None,
            detail: serde_json::json!({}),
        }
    }

    #[must_use]
    pub fn actor(mut self, actor: Option<UserId>) -> Self {
        self.actor = actor;
        self
    }

    #[must_use]
    pub fn attempt(mut self, attempt: i32) -> Self {
        self.attempt = Some(attempt);
        self
    }

    #[must_use]
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Appends an event to a run's history, in the caller's transaction.
pub async fn event(db: &mut OrgTx, run: AutomationRunId, e: RunEvent) -> DbResult<()> {
    org_execute!(
        db,
        "INSERT INTO automation_run_events (id, org_id, run_id, kind, actor_id, attempt, message, detail)
         VALUES ($2, $1, $3, $4, $5, $6, $7, $8)",
        Uuid::now_v7(),
        run as AutomationRunId,
        e.kind,
        e.actor.map(|u| u.0),
        e.attempt,
        e.message.chars().take(2000).collect::<String>(),
        e.detail,
    )
}

/// Records the job of a run that is `queued` (its `job_run_id` and `queued` event), in the caller's
/// transaction.
pub(crate) async fn queue(
    db: &mut OrgTx,
    queue: &JobQueue,
    run: AutomationRunId,
) -> DbResult<Pending<RunAutomation>> {
    let pending = queue.record::<RunAutomation>(db, run).await?;
    org_execute!(
        db,
        "UPDATE automation_runs SET job_run_id = $3, updated_at = now() WHERE org_id = $1 AND id = $2",
        run as AutomationRunId,
        pending.job_run_id() as JobRunId,
    )?;
    event(db, run, RunEvent::new("queued", "Queued to run.")).await?;
    Ok(pending)
}

/// Queues a run that was approved (`pending_approval` → `queued`, with its `queued` event and its job), in
/// the caller's transaction; push the job once it committed. `NotFound` when the run is not pending approval.
pub async fn enqueue(
    db: &mut OrgTx,
    queue: &JobQueue,
    run_id: AutomationRunId,
) -> DbResult<Pending<RunAutomation>> {
    let changed = org_rows_changed!(
        db,
        "UPDATE automation_runs SET status = 'queued', updated_at = now()
          WHERE org_id = $1 AND id = $2 AND status = 'pending_approval'",
        run_id as AutomationRunId,
    )?;
    if changed == 0 {
        return Err(DbError::NotFound);
    }
    self::queue(db, queue, run_id).await
}

// ---------------------------------------------------------------------------------------------------------
// Worker side

/// A run as its job sees it, with its automation's settings (`None` fields when the automation was deleted).
#[derive(Clone, Debug)]
pub struct RunWork {
    pub id: AutomationRunId,
    pub automation_id: AutomationId,
    pub automation_name: String,
    pub status: RunStatus,
    pub trigger: String,
    pub attempts: i32,
    pub target: String,
    pub payload: Option<serde_json::Value>,
    pub payload_hash: Option<String>,
    pub params: serde_json::Value,
    pub subject: RunSubjectIn,
    pub posted_back: String,
    pub started_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub rule_id: Option<AutomationRuleId>,
    pub schedule_id: Option<AutomationScheduleId>,
    /// The name of who asked (manual and test runs).
    pub requested_by: Option<String>,
    pub reason: Option<String>,
    pub duration_ms: Option<i64>,
    pub function_error: Option<String>,
    pub response: Option<serde_json::Value>,
    pub log_tail: Option<String>,
    /// The automation (gone when it was deleted since).
    pub automation: Option<RunAutomationSettings>,
    /// Whether the last `attempt_started` has no outcome after it (its worker died while acting).
    pub open_attempt: Option<i32>,
}

/// What a run's job needs of its automation.
#[derive(Clone, Debug)]
pub struct RunAutomationSettings {
    pub action: String,
    pub connection_id: Option<Uuid>,
    pub function_name: Option<String>,
    pub invocation: String,
    pub template: String,
    pub settings: serde_json::Value,
    pub secrets: Option<Vec<u8>>,
    pub timeout_secs: i32,
    pub max_attempts: i32,
    pub backoff_ms: i32,
    pub idempotent: bool,
    pub max_concurrent: Option<i32>,
    pub post_result: bool,
}

/// Loads a run and locks it for the rest of the transaction.
pub async fn load(db: &mut OrgTx, id: AutomationRunId) -> DbResult<RunWork> {
    let r = org_query!(
        db,
        r#"SELECT r.automation_id, r.automation_name, r.status, r.trigger, r.attempts, r.target, r.payload,
                  r.payload_hash, r.params, r.incident_id, r.pattern_id, r.runbook_id, r.runbook_version,
                  r.step_index, r.posted_back, r.started_at, r.created_at, r.rule_id, r.schedule_id, r.reason,
                  r.duration_ms, r.function_error, r.response, r.log_tail,
                  (SELECT coalesce(nullif(u.name, ''), u.email) FROM users u WHERE u.id = r.actor_id) AS requested_by,
                  (SELECT e.detail -> 'targets' FROM automation_run_events e
                    WHERE e.org_id = $1 AND e.run_id = r.id AND e.kind = 'requested' LIMIT 1) AS targets,
                  (SELECT s.attempt FROM automation_run_events s
                    WHERE s.org_id = $1 AND s.run_id = r.id AND s.kind = 'attempt_started'
                      AND NOT EXISTS (SELECT 1 FROM automation_run_events o
                                       WHERE o.org_id = $1 AND o.run_id = r.id AND o.attempt = s.attempt
                                         AND o.kind IN ('attempt_succeeded', 'attempt_failed', 'reconciled'))
                    ORDER BY s.at DESC LIMIT 1) AS open_attempt
             FROM automation_runs r WHERE r.org_id = $1 AND r.id = $2 FOR UPDATE OF r"#,
        id as AutomationRunId,
    )
    .fetch_one(db.conn())
    .await
    .read_from("automation_runs")?;
    let status = parse_status(&r.status).ok_or_else(|| DbError::Unreadable {
        table: "automation_runs",
        column: "status".into(),
        error: format!("unknown status {:?}", r.status).into(),
    })?;
    let a = org_query!(
        db,
        "SELECT action, connection_id, function_name, invocation, template, settings, secrets, timeout_secs,
                max_attempts, backoff_ms, idempotent, max_concurrent, post_result
           FROM automations WHERE org_id = $1 AND id = $2",
        r.automation_id,
    )
    .fetch_optional(db.conn())
    .await?
    .map(|a| RunAutomationSettings {
        action: a.action,
        connection_id: a.connection_id,
        function_name: a.function_name,
        invocation: a.invocation,
        template: a.template,
        settings: a.settings,
        secrets: a.secrets,
        timeout_secs: a.timeout_secs,
        max_attempts: a.max_attempts,
        backoff_ms: a.backoff_ms,
        idempotent: a.idempotent,
        max_concurrent: a.max_concurrent,
        post_result: a.post_result,
    });
    Ok(RunWork {
        id,
        automation_id: AutomationId(r.automation_id),
        automation_name: r.automation_name,
        status,
        trigger: r.trigger,
        attempts: r.attempts,
        target: r.target,
        payload: r.payload,
        payload_hash: r.payload_hash,
        subject: RunSubjectIn {
            incident_id: r.incident_id.map(IncidentId),
            pattern_id: r.pattern_id.map(PatternId),
            runbook_id: r.runbook_id.map(RunbookId),
            runbook_version: r.runbook_version,
            step_index: r.step_index,
            targets: r.targets.filter(|t| !t.is_null()),
            params: Some(r.params.clone()),
        },
        params: r.params,
        posted_back: r.posted_back,
        started_at: r.started_at,
        created_at: r.created_at,
        rule_id: r.rule_id.map(AutomationRuleId),
        schedule_id: r.schedule_id.map(AutomationScheduleId),
        requested_by: r.requested_by,
        reason: r.reason,
        duration_ms: r.duration_ms,
        function_error: r.function_error,
        response: r.response,
        log_tail: r.log_tail,
        automation: a,
        open_attempt: r.open_attempt,
    })
}

/// Whether the organization's kill switch is on.
pub async fn killed(db: &mut OrgTx) -> DbResult<Option<String>> {
    Ok(org_query!(
        db,
        "SELECT killed, killed_reason FROM automation_settings WHERE org_id = $1",
    )
    .fetch_optional(db.conn())
    .await?
    .filter(|s| s.killed)
    .map(|s| s.killed_reason))
}

/// Ends a run that has not started an attempt, or whose attempt is over, with a final status and reason.
pub async fn end(
    db: &mut OrgTx,
    run: AutomationRunId,
    status: RunStatus,
    reason: &str,
    e: RunEvent,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE automation_runs SET status = $3, reason = $4, finished_at = now(), updated_at = now(),
                duration_ms = CASE WHEN started_at IS NULL THEN NULL
                                   ELSE (extract(epoch FROM now() - started_at) * 1000)::bigint END,
                posted_back = CASE WHEN posted_back = 'pending' AND $3 IN ('refused', 'cancelled')
                                   THEN 'not_requested' ELSE posted_back END
          WHERE org_id = $1 AND id = $2",
        run as AutomationRunId,
        status_str(status),
        reason,
    )?;
    event(db, run, e).await
}

/// Whether a run may start now under its target's concurrency limit. Starts on one target are serialized (a
/// transaction-scoped advisory lock taken before counting), so concurrent workers never exceed the limit.
pub async fn slot_free(
    db: &mut OrgTx,
    target: &str,
    max_concurrent: Option<i32>,
) -> DbResult<bool> {
    let Some(max) = max_concurrent else {
        return Ok(true);
    };
    let running = org_query_scalar!(
        db,
        r#"SELECT (SELECT count(*) FROM automation_runs r
                    WHERE r.org_id = $1 AND r.target = $2 AND r.status = 'running') AS "running!"
             FROM (SELECT pg_advisory_xact_lock(hashtextextended('automation-target/' || $1::uuid::text || '/' || $2, 0))) l"#,
        target,
    )
    .fetch_one(db.conn())
    .await?;
    Ok(running < i64::from(max))
}

/// Starts attempt `attempts + 1` of a run: `running`, and the `attempt_started` event — committed by the
/// caller BEFORE the action is performed, so a worker dying mid-invoke leaves a trace to reconcile from.
pub async fn begin(db: &mut OrgTx, run: AutomationRunId) -> DbResult<i32> {
    let attempt = org_query_scalar!(
        db,
        "UPDATE automation_runs SET status = 'running', attempts = attempts + 1,
                started_at = coalesce(started_at, now()), updated_at = now()
          WHERE org_id = $1 AND id = $2 RETURNING attempts",
        run as AutomationRunId,
    )
    .fetch_one(db.conn())
    .await?;
    event(
        db,
        run,
        RunEvent::new("attempt_started", format!("Attempt {attempt} started.")).attempt(attempt),
    )
    .await?;
    Ok(attempt)
}

/// What an attempt produced.
#[derive(Clone, Debug, Default)]
pub struct AttemptResult {
    pub response: Option<serde_json::Value>,
    pub log_tail: Option<String>,
    pub function_error: Option<String>,
    /// What happened, in a sentence.
    pub message: String,
    /// Details for the event (status code, executed version …).
    pub detail: serde_json::Value,
}

/// How a failed attempt goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Try again after this wait (the run is `queued` again).
    Retry(Duration),
    /// The run failed.
    Failed,
}

/// The wait before the attempt after `attempt`: `backoff_ms` doubled per attempt, up to ten minutes, less up
/// to half of it at random (runs failing together do not retry together).
#[must_use]
pub fn backoff(backoff_ms: i32, attempt: i32, jitter: f64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let full = Duration::from_millis(u64::try_from(backoff_ms).unwrap_or(0))
        .saturating_mul(1 << doublings)
        .min(Duration::from_secs(600));
    full.mul_f64(1.0 - 0.5 * jitter.clamp(0.0, 1.0))
}

/// Records a succeeded attempt: the run succeeded, and the circuit breaker closes.
pub async fn succeeded(
    db: &mut OrgTx,
    run: &RunWork,
    attempt: i32,
    result: &AttemptResult,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE automation_runs SET status = 'succeeded', reason = NULL, finished_at = now(), updated_at = now(),
                duration_ms = (extract(epoch FROM now() - coalesce(started_at, now())) * 1000)::bigint,
                response = $3, log_tail = $4, function_error = NULL
          WHERE org_id = $1 AND id = $2",
        run.id as AutomationRunId,
        result.response,
        result.log_tail,
    )?;
    event(
        db,
        run.id,
        RunEvent::new("attempt_succeeded", result.message.clone())
            .attempt(attempt)
            .detail(result.detail.clone()),
    )
    .await?;
    breaker(db, run.automation_id, true).await
}

/// Records a failed attempt: queued again when `retry` (and attempts remain), else the run failed and the
/// circuit breaker counts it.
pub async fn failed(
    db: &mut OrgTx,
    run: &RunWork,
    attempt: i32,
    result: &AttemptResult,
    retry: Option<Duration>,
) -> DbResult<Next> {
    let max = run.automation.as_ref().map_or(1, |a| a.max_attempts);
    let next = match retry {
        Some(wait) if attempt < max => Next::Retry(wait),
        _ => Next::Failed,
    };
    event(
        db,
        run.id,
        RunEvent::new("attempt_failed", result.message.clone())
            .attempt(attempt)
            .detail(result.detail.clone()),
    )
    .await?;
    match next {
        Next::Retry(_) => {
            org_execute!(
                db,
                "UPDATE automation_runs SET status = 'queued', function_error = $3, log_tail = $4, response = $5,
                        reason = $6, updated_at = now()
                  WHERE org_id = $1 AND id = $2",
                run.id as AutomationRunId,
                result.function_error,
                result.log_tail,
                result.response,
                result.message,
            )?;
        }
        Next::Failed => {
            org_execute!(
                db,
                "UPDATE automation_runs SET status = 'failed', reason = $3, finished_at = now(), updated_at = now(),
                        duration_ms = (extract(epoch FROM now() - coalesce(started_at, now())) * 1000)::bigint,
                        function_error = $4, log_tail = $5, response = $6
                  WHERE org_id = $1 AND id = $2",
                run.id as AutomationRunId,
                result.message,
                result.function_error,
                result.log_tail,
                result.response,
            )?;
            breaker(db, run.automation_id, false).await?;
        }
    }
    Ok(next)
}

/// The circuit breaker's bookkeeping after a finished run (as `insights_automation::admission::Breaker::
/// on_outcome`, in one statement): a success closes it (failures back to 0); a failure counts, and opens it
/// once the count reaches the threshold — at once after a failed trial (it was not closed).
async fn breaker(db: &mut OrgTx, automation: AutomationId, ok: bool) -> DbResult<()> {
    if ok {
        org_execute!(
            db,
            "UPDATE automations SET breaker_failures = 0, breaker_opened_at = NULL
              WHERE org_id = $1 AND id = $2 AND (breaker_failures <> 0 OR breaker_opened_at IS NOT NULL)",
            automation as AutomationId,
        )
    } else {
        org_execute!(
            db,
            "UPDATE automations SET breaker_failures = breaker_failures + 1,
                    breaker_opened_at = CASE WHEN breaker_opened_at IS NOT NULL
                                               OR breaker_failures + 1 >= breaker_threshold THEN now() END
              WHERE org_id = $1 AND id = $2",
            automation as AutomationId,
        )
    }
}

/// Records how posting the result back went.
pub async fn posted_back(
    db: &mut OrgTx,
    run: AutomationRunId,
    ok: bool,
    message: &str,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE automation_runs SET posted_back = $3, updated_at = now() WHERE org_id = $1 AND id = $2",
        run as AutomationRunId,
        if ok { "posted" } else { "failed" },
    )?;
    event(
        db,
        run,
        RunEvent::new(
            if ok {
                "posted_back"
            } else {
                "post_back_failed"
            },
            message,
        ),
    )
    .await
}
