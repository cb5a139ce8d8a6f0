//! Admission of a run: the one place a run is created, whatever started it (a person, a test invoke from the
//! editor, a schedule, a rule). See [`admit`].
//!
//! Exactness under a storm: the automation's row is locked (`FOR UPDATE`) before anything is counted, so the
//! admissions of one automation — and of its rules, which belong to it — are serialized across API servers and
//! workers; the counts are read in SQL after the lock, inside the transaction that inserts the run. Two
//! admissions can therefore never both see "one run left under the limit".

use super::runs::{self, RunEvent};
use crate::db::{DbError, DbResult, OrgTx, ReadFrom};
use crate::jobs::{JobQueue, NotifyApprovers, Pending, RunAutomation};
use chrono::{DateTime, Utc};
use insights_automation::admission::{Breaker, Decision, Limits, RefusalCode, Usage, decide};
use insights_automation::context::RunCtx;
use insights_automation::template::{Template, TemplateKind};
use insights_types::api::{RunStatus, RunSubjectIn, RunTrigger};
use insights_types::{
    AutomationId, AutomationRuleId, AutomationRunId, AutomationScheduleId, UserId,
};

/// What asks for a run.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    /// Records the run's job (pushed by the caller once its transaction committed).
    pub queue: &'a JobQueue,
    pub automation_id: AutomationId,
    pub trigger: RunTrigger,
    /// Who asked (manual and test runs).
    pub actor_id: Option<UserId>,
    pub rule_id: Option<AutomationRuleId>,
    pub schedule_id: Option<AutomationScheduleId>,
    /// What the run is about, the targets and the user parameters (a rule's or schedule's own parameters
    /// are used when none are given).
    pub subject: RunSubjectIn,
}

/// The run that was recorded: refused (with its reason), waiting for approval, or queued with its job.
#[derive(Debug)]
pub struct Admitted {
    pub run_id: AutomationRunId,
    pub status: RunStatus,
    /// Why it was refused, in a sentence.
    pub reason: Option<String>,
    /// The refusal's code (`kill_switch`, `disabled`, `breaker_open`, `rate_limit`, `cooldown`, `rule_cap`,
    /// `template`), when refused.
    pub refusal: Option<&'static str>,
    /// The run's job when it was queued: push it once the transaction committed.
    pub job: Option<Pending<RunAutomation>>,
    /// When it waits for approval, the job that tells its approvers: push it once the transaction committed.
    pub notify: Option<Pending<NotifyApprovers>>,
}

impl Admitted {
    /// Pushes the jobs the admission recorded (once its transaction committed).
    pub async fn push_jobs(self, queue: &JobQueue) {
        if let Some(job) = self.job {
            queue.push(job).await;
        }
        if let Some(notify) = self.notify {
            queue.push(notify).await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// The automation does not exist in this organization.
    #[error("automation not found")]
    NotFound,
    /// The subject names something that does not exist or is malformed (no run is recorded).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AdmitError {
    fn from(e: sqlx::Error) -> Self {
        AdmitError::Db(e.into())
    }
}

/// The automation as admission needs it (its row is locked while the run is admitted).
#[derive(Debug)]
pub(crate) struct Locked {
    pub name: String,
    pub action: String,
    pub function_name: Option<String>,
    pub template: String,
    pub timeout_secs: i32,
    pub needs_approval: bool,
    pub enabled: bool,
    pub max_runs_per_hour: Option<i32>,
    pub cooldown_secs: Option<i32>,
    pub breaker_threshold: i32,
    pub breaker_cooldown_secs: i32,
    pub breaker_failures: i32,
    pub breaker_opened_at: Option<DateTime<Utc>>,
    pub post_result: bool,
}

/// Locks an automation's row for the rest of the transaction (serializes its admissions and its breaker's
/// bookkeeping).
pub(crate) async fn lock(db: &mut OrgTx, id: AutomationId) -> DbResult<Locked> {
    org_query_as!(
        db,
        Locked,
        "SELECT name, action, function_name, template, timeout_secs, needs_approval, enabled, max_runs_per_hour, cooldown_secs,
                breaker_threshold, breaker_cooldown_secs, breaker_failures, breaker_opened_at, post_result
           FROM automations WHERE org_id = $1 AND id = $2 FOR UPDATE",
        id as AutomationId,
    )
    .fetch_one(db.conn())
    .await
    .read_from("automations")
}

/// Admits one run of an automation in the caller's transaction: locks the automation (admissions of one
/// automation are serialized, so counts are exact), renders the payload, applies the kill switch, the
/// circuit breaker and the limits, and records the run and its events — refused, pending approval, or queued
/// with its job. Nothing is partial: the caller commits, then pushes `Admitted::job`.
pub async fn admit(db: &mut OrgTx, req: RunRequest<'_>) -> Result<Admitted, AdmitError> {
    let automation = match lock(db, req.automation_id).await {
        Ok(a) => a,
        Err(DbError::NotFound) => return Err(AdmitError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let mut subject = req.subject.clone();
    if let Some(p) = &subject.params {
        if !p.is_object() {
            return Err(AdmitError::Invalid("params must be a JSON object".into()));
        }
        if serde_json::to_vec(p).map_or(0, |b| b.len()) > 16 * 1024 {
            return Err(AdmitError::Invalid("params must be at most 16 KiB".into()));
        }
    }
    // The rule's cap, and the rule's or schedule's parameters when the request brings none.
    let mut rule_cap = None;
    if let Some(rule) = req.rule_id {
        let r = org_query!(
            db,
            "SELECT max_runs_per_hour, params FROM automation_rules
              WHERE org_id = $1 AND id = $2 AND automation_id = $3",
            rule as AutomationRuleId,
            req.automation_id as AutomationId,
        )
        .fetch_optional(db.conn())
        .await?
        .ok_or_else(|| AdmitError::Invalid("the rule does not start this automation".into()))?;
        rule_cap = Some(r.max_runs_per_hour);
        subject.params.get_or_insert(r.params);
    }
    if let Some(schedule) = req.schedule_id {
        let params = org_query_scalar!(
            db,
            "SELECT params FROM automation_schedules WHERE org_id = $1 AND id = $2 AND automation_id = $3",
            schedule as AutomationScheduleId,
            req.automation_id as AutomationId,
        )
        .fetch_optional(db.conn())
        .await?
        .ok_or_else(|| AdmitError::Invalid("the schedule does not start this automation".into()))?;
        subject.params.get_or_insert(params);
    }
    let params = subject
        .params
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));

    // What limits see, counted after the lock.
    let usage = org_query!(
        db,
        r#"SELECT
             (SELECT count(*) FROM automation_runs r WHERE r.org_id = $1 AND r.automation_id = $2
                 AND r.created_at > now() - interval '1 hour'
                 AND r.status NOT IN ('refused', 'rejected', 'cancelled')) AS "runs_last_hour!",
             (SELECT max(r.created_at) FROM automation_runs r WHERE r.org_id = $1 AND r.automation_id = $2
                 AND $3::uuid IS NOT NULL AND r.incident_id = $3
                 AND r.status NOT IN ('refused', 'rejected', 'cancelled')) AS last_for_incident,
             (SELECT count(*) FROM automation_runs r WHERE r.org_id = $1 AND $4::uuid IS NOT NULL
                 AND r.rule_id = $4 AND r.created_at > now() - interval '1 hour'
                 AND r.status NOT IN ('refused', 'rejected', 'cancelled')) AS "rule_runs_last_hour!",
             (SELECT s.killed FROM automation_settings s WHERE s.org_id = $1) AS killed,
             (SELECT s.killed_reason FROM automation_settings s WHERE s.org_id = $1) AS killed_reason,
             now() AS "now!""#,
        req.automation_id as AutomationId,
        subject.incident_id.map(|i| i.0),
        req.rule_id.map(|r| r.0),
    )
    .fetch_one(db.conn())
    .await?;
    let now = usage.now;

    let limits = Limits {
        enabled: automation.enabled,
        max_runs_per_hour: automation.max_runs_per_hour,
        cooldown_secs: automation.cooldown_secs,
        breaker_threshold: automation.breaker_threshold,
        breaker_cooldown_secs: automation.breaker_cooldown_secs,
        rule_cap,
    };
    let counted = Usage {
        killed: usage.killed.unwrap_or(false),
        runs_last_hour: usage.runs_last_hour,
        last_run_for_incident: usage.last_for_incident,
        rule_runs_last_hour: usage.rule_runs_last_hour,
        breaker: Breaker {
            failures: automation.breaker_failures,
            opened_at: automation.breaker_opened_at,
        },
    };
    let decision = decide(&limits, &counted, now);
    let (refused, trial) = match decision {
        Decision::Admit { trial } => (None, trial),
        Decision::Refuse(r) => {
            let mut why = r.message;
            if r.code == RefusalCode::KillSwitch
                && let Some(reason) = usage
                    .killed_reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
            {
                why = format!("{why} Reason given: {reason}");
            }
            (Some((r.code.as_str(), why)), false)
        }
    };

    // The payload, rendered from the subject (also for a refused run: the log shows what would have gone).
    let run_id = AutomationRunId::new();
    let kind = match automation.action.as_str() {
        "lambda" | "webhook" => TemplateKind::Json,
        _ => TemplateKind::Text,
    };
    let run_ctx = RunCtx {
        id: run_id,
        automation_id: req.automation_id,
        automation_name: automation.name.clone(),
        trigger: req.trigger,
        rule_id: req.rule_id,
        schedule_id: req.schedule_id,
        requested_by: requested_by(db, req.actor_id).await?,
        requested_at: now,
        timeout_secs: automation.timeout_secs,
    };
    let context = match super::context::load(db, &subject, run_ctx).await {
        Ok(c) => c,
        Err(DbError::NotFound) => {
            return Err(AdmitError::Invalid(
                "the incident, pattern or runbook step of this run does not exist".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let rendered = Template::compile(&automation.template, kind).and_then(|t| t.render(&context));
    let (payload, payload_hash, template_error) = match &rendered {
        Ok(text) => {
            let wire = wire_text(kind, text);
            let stored = match kind {
                TemplateKind::Json => serde_json::from_str(&wire)
                    .unwrap_or_else(|_| serde_json::Value::String(wire.clone())),
                TemplateKind::Text => serde_json::Value::String(wire.clone()),
            };
            (
                Some(insights_automation::payload::redact(&stored)),
                Some(insights_automation::payload::hash(wire.as_bytes())),
                None,
            )
        }
        Err(e) => (None, None, Some(e)),
    };

    let (status, refusal): (RunStatus, Option<(&'static str, String)>) =
        match (refused, template_error) {
            (Some(r), _) => (RunStatus::Refused, Some(r)),
            (None, Some(e)) => (
                RunStatus::Refused,
                Some((
                    "template",
                    match e.line {
                        Some(line) => {
                            format!("The payload template failed on line {line}: {}", e.message)
                        }
                        None => format!("The payload template failed: {}", e.message),
                    },
                )),
            ),
            (None, None) if automation.needs_approval => (RunStatus::PendingApproval, None),
            (None, None) => (RunStatus::Queued, None),
        };
    let target = target_of(&automation, &subject);
    let posted_back = if automation.post_result
        && subject.incident_id.is_some()
        && req.trigger != RunTrigger::Test
    {
        "pending"
    } else {
        "not_requested"
    };
    org_execute!(
        db,
        "INSERT INTO automation_runs (id, org_id, automation_id, automation_name, action, trigger, rule_id,
                                      schedule_id, actor_id, incident_id, pattern_id, runbook_id, runbook_version,
                                      step_index, params, payload, payload_hash, target, status, reason,
                                      posted_back, created_at, finished_at)
         VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                 $22::timestamptz, CASE WHEN $19 = 'refused' THEN $22::timestamptz END)",
        run_id as AutomationRunId,
        req.automation_id as AutomationId,
        automation.name,
        automation.action,
        trigger_str(req.trigger),
        req.rule_id.map(|r| r.0),
        req.schedule_id.map(|s| s.0),
        req.actor_id.map(|u| u.0),
        subject.incident_id.map(|i| i.0),
        subject.pattern_id.map(|p| p.0),
        subject.runbook_id.map(|r| r.0),
        subject.runbook_version,
        subject.step_index,
        params,
        payload,
        payload_hash,
        target,
        runs::status_str(status),
        refusal.as_ref().map(|(_, why)| why.as_str()),
        posted_back,
        now,
    )?;
    runs::event(
        db,
        run_id,
        RunEvent::new("requested", requested_message(req.trigger))
            .actor(req.actor_id)
            .detail(serde_json::json!({ "targets": subject.targets })),
    )
    .await?;
    if trial && status != RunStatus::Refused {
        // A half-open breaker lets this one trial through and stays shut for another cool-down meanwhile.
        let b = Breaker {
            failures: automation.breaker_failures,
            opened_at: automation.breaker_opened_at,
        }
        .trial_admitted(now);
        org_execute!(
            db,
            "UPDATE automations SET breaker_opened_at = $3 WHERE org_id = $1 AND id = $2",
            req.automation_id as AutomationId,
            b.opened_at,
        )?;
    }
    let job = match status {
        RunStatus::Refused => {
            let (code, why) = refusal.as_ref().expect("a refusal has its reason");
            runs::event(
                db,
                run_id,
                RunEvent::new("refused", why.clone()).detail(serde_json::json!({ "code": code })),
            )
            .await?;
            None
        }
        RunStatus::Queued => Some(runs::queue(db, req.queue, run_id).await?),
        _ => None,
    };
    let notify = match status {
        RunStatus::PendingApproval => Some(req.queue.record::<NotifyApprovers>(db, run_id).await?),
        _ => None,
    };
    Ok(Admitted {
        run_id,
        status,
        reason: refusal.as_ref().map(|(_, why)| why.clone()),
        refusal: refusal.map(|(code, _)| code),
        job,
        notify,
    })
}

/// The name of who asked, for the template.
async fn requested_by(db: &mut OrgTx, actor: Option<UserId>) -> DbResult<Option<String>> {
    let Some(actor) = actor else { return Ok(None) };
    Ok(sqlx::query_scalar!(
        "SELECT coalesce(nullif(name, ''), email) AS \"name!\" FROM users WHERE id = $1",
        actor.0
    )
    .fetch_optional(db.conn())
    .await?)
}

fn requested_message(trigger: RunTrigger) -> &'static str {
    match trigger {
        RunTrigger::Manual => "Run by hand.",
        RunTrigger::Test => "Test invoke from the editor.",
        RunTrigger::Schedule => "Started by its schedule.",
        RunTrigger::Rule => "Started by a rule on an incident change.",
    }
}

/// The concurrency key of a run: the function (or the action), and the targets of a remote command.
fn target_of(automation: &Locked, subject: &RunSubjectIn) -> String {
    let base = automation
        .function_name
        .clone()
        .unwrap_or_else(|| automation.action.clone());
    match &subject.targets {
        Some(t) if !t.is_null() => format!("{base} {t}"),
        _ => base,
    }
}

/// The exact text a rendered template sends: a JSON payload compacted (so that the run's stored payload,
/// when nothing in it was redacted, serializes back to the very bytes that were hashed and are sent), a
/// message as rendered.
#[must_use]
pub fn wire_text(kind: TemplateKind, rendered: &str) -> String {
    match kind {
        TemplateKind::Json => serde_json::from_str::<serde_json::Value>(rendered)
            .map_or_else(|_| rendered.to_owned(), |v| v.to_string()),
        TemplateKind::Text => rendered.to_owned(),
    }
}

/// The trigger stored as `s` (`manual` for a spelling no trigger has).
#[must_use]
pub fn parse_trigger(s: &str) -> RunTrigger {
    match s {
        "test" => RunTrigger::Test,
        "schedule" => RunTrigger::Schedule,
        "rule" => RunTrigger::Rule,
        _ => RunTrigger::Manual,
    }
}

/// `automation_runs.trigger`.
#[must_use]
pub fn trigger_str(t: RunTrigger) -> &'static str {
    match t {
        RunTrigger::Manual => "manual",
        RunTrigger::Test => "test",
        RunTrigger::Schedule => "schedule",
        RunTrigger::Rule => "rule",
    }
}
