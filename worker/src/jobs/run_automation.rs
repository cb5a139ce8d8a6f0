//! Executes one admitted automation run. Each delivery of the job is at most one attempt of the run:
//!
//! 1. The run is locked and looked at: an ended run is a duplicate delivery; a run found `running` with an
//!    attempt that has no outcome is one whose worker died while acting — it is acted on again only if the
//!    automation is idempotent, else it ends `unknown` (never a second invoke of a function that may have run).
//! 2. The kill switch: while on, a queued run is refused when it comes up (recorded with its reason).
//! 3. The concurrency per target: while the target has `max_concurrent` runs running, the job is delivered
//!    again a little later (it waits without holding a worker slot).
//! 4. The attempt is recorded (`running`, `attempt_started`) and COMMITTED before the action starts.
//! 5. The action: the Lambda function through `insights_aws` (the SDK's own retries off: attempts are exact),
//!    or a note / email / Slack message / webhook through the actions module.
//! 6. The outcome: succeeded, or failed — retried with the automation's backoff as a new delivery of the job
//!    when another attempt may help and cannot do the work twice —, with the circuit breaker's bookkeeping.
//! 7. The result is posted back to the incident when the automation asks for it.

use super::{Outcome, tracked};
use crate::WorkerState;
use crate::automations::actions::{self, ActionCall, ActionError, RunReport};
use apalis::prelude::{BoxDynError, Data};
use insights_automation::template::{Template, TemplateKind};
use insights_core::automations::runs::{self, AttemptResult, Next, RunEvent, RunWork};
use insights_core::db::OrgTx;
use insights_core::jobs::{Job, RunAutomation};
use insights_types::api::{AutomationAction, RunStatus};
use insights_types::{AutomationRunId, AwsConnectionId, OrgId};
use std::time::Duration;

/// How long a run waits before looking again for a free slot on its target.
pub const SLOT_WAIT: Duration = Duration::from_millis(300);

/// The largest response kept on a run (bigger ones are cut, as a string).
const RESPONSE_MAX_BYTES: usize = 64 * 1024;

pub async fn run(job: RunAutomation, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let RunAutomation::V1 {
        org_id,
        job_run_id,
        run_id,
    } = job;
    let state = &*state;
    tracked(state, org_id, job_run_id, RunAutomation::KIND, None, |_| {
        execute(state, org_id, run_id)
    })
    .await
    .map_err(Into::into)
}

/// One attempt of a run (see the module's steps).
pub async fn execute(
    state: &WorkerState,
    org: OrgId,
    run_id: AutomationRunId,
) -> anyhow::Result<Outcome> {
    let mut db = state.db.org_tx(org, None).await?;
    let run = runs::load(&mut db, run_id).await?;
    match run.status {
        RunStatus::Queued => {}
        RunStatus::Running => {
            if let Some(attempt) = run.open_attempt
                && !reconcile(&mut db, &run, attempt).await?
            {
                db.commit().await?;
                return Ok(Outcome::Done);
            }
        }
        _ => return Ok(Outcome::Skipped("the run is not waiting to run")),
    }
    let Some(automation) = run.automation.clone() else {
        let why = "The automation was deleted before the run could start.";
        runs::end(
            &mut db,
            run_id,
            RunStatus::Failed,
            why,
            RunEvent::new("attempt_failed", why),
        )
        .await?;
        db.commit().await?;
        return Ok(Outcome::Done);
    };
    if let Some(reason) = runs::killed(&mut db).await? {
        let why = match reason.trim() {
            "" => "The organization's kill switch is on: the run was not started.".to_owned(),
            r => format!("The organization's kill switch is on ({r}): the run was not started."),
        };
        let e = RunEvent::new("refused", why.clone())
            .detail(serde_json::json!({ "code": "kill_switch" }));
        runs::end(&mut db, run_id, RunStatus::Refused, &why, e).await?;
        db.commit().await?;
        return Ok(Outcome::Done);
    }
    if !runs::slot_free(&mut db, &run.target, automation.max_concurrent).await? {
        drop(db);
        return Ok(Outcome::Again(SLOT_WAIT));
    }
    let payload =
        match payload_text(&mut db, &run, &automation.template, &automation.action).await? {
            Ok(p) => p,
            Err(why) => {
                let e = RunEvent::new("attempt_failed", why.clone());
                runs::end(&mut db, run_id, RunStatus::Failed, &why, e).await?;
                db.commit().await?;
                return Ok(Outcome::Done);
            }
        };
    let attempt = runs::begin(&mut db, run_id).await?;
    // The intent is durable before anything is invoked.
    db.commit().await?;

    let acted = act(state, org, &run, &automation, attempt, &payload).await;

    let mut db = state.db.org_tx(org, None).await?;
    let run = runs::load(&mut db, run_id).await?;
    let outcome = match acted {
        Ok(result) => {
            runs::succeeded(&mut db, &run, attempt, &result).await?;
            db.commit().await?;
            post_back(state, org, run_id).await?;
            Outcome::Done
        }
        Err(failure) => {
            let (result, retry) = *failure;
            let wait = retry.then(|| runs::backoff(automation.backoff_ms, attempt, rand::random()));
            match runs::failed(&mut db, &run, attempt, &result, wait).await? {
                Next::Retry(wait) => {
                    db.commit().await?;
                    Outcome::Again(wait)
                }
                Next::Failed => {
                    db.commit().await?;
                    post_back(state, org, run_id).await?;
                    Outcome::Done
                }
            }
        }
    };
    Ok(outcome)
}

/// A run found `running` with attempt `attempt` open: its worker died while acting. Returns whether to act
/// again (idempotent), after recording the decision; otherwise the run ended `unknown`.
async fn reconcile(db: &mut OrgTx, run: &RunWork, attempt: i32) -> anyhow::Result<bool> {
    let idempotent = run.automation.as_ref().is_some_and(|a| a.idempotent);
    if idempotent {
        runs::event(
            db,
            run.id,
            RunEvent::new(
                "reconciled",
                format!(
                    "Attempt {attempt} was interrupted (its worker stopped) and its outcome is unknown; the \
                     automation is idempotent, so it runs again."
                ),
            )
            .attempt(attempt),
        )
        .await?;
        return Ok(true);
    }
    let why = format!(
        "Attempt {attempt} was interrupted (its worker stopped) and its outcome is unknown; the automation is not \
         idempotent, so it was not run again. Check the function's own logs."
    );
    runs::end(
        db,
        run.id,
        RunStatus::Unknown,
        &why,
        RunEvent::new("reconciled", why.clone()).attempt(attempt),
    )
    .await?;
    Ok(false)
}

/// The exact text to send: the recorded payload when it is whole (its hash matches), else — the recorded one
/// had secrets redacted — rendered again, and sent only if it is still the same (same hash). `Err`: why it
/// cannot be sent, in a sentence.
async fn payload_text(
    db: &mut OrgTx,
    run: &RunWork,
    template: &str,
    action: &str,
) -> anyhow::Result<Result<String, String>> {
    let (Some(stored), Some(hash)) = (&run.payload, &run.payload_hash) else {
        return Ok(Err("The run has no payload.".into()));
    };
    let recorded = match stored {
        serde_json::Value::String(s) if !is_json_action(action) => s.clone(),
        v => serde_json::to_string(v)?,
    };
    if insights_automation::payload::hash(recorded.as_bytes()) == *hash {
        return Ok(Ok(recorded));
    }
    let kind = if is_json_action(action) {
        TemplateKind::Json
    } else {
        TemplateKind::Text
    };
    let ctx = insights_core::automations::context::load(db, &run.subject, run_ctx(run)).await?;
    let again = Template::compile(template, kind)
        .and_then(|t| t.render(&ctx))
        .map(|text| insights_core::automations::admission::wire_text(kind, &text));
    Ok(match again {
        Ok(text) if insights_automation::payload::hash(text.as_bytes()) == *hash => Ok(text),
        _ => Err(
            "The payload recorded for this run had secrets redacted, and rendering it again gives a different \
             payload (the template or the incident changed since it was admitted): it was not sent."
                .into(),
        ),
    })
}

fn is_json_action(action: &str) -> bool {
    matches!(action, "lambda" | "webhook")
}

/// What the template sees of the run, as at its admission.
fn run_ctx(run: &RunWork) -> insights_automation::context::RunCtx {
    insights_automation::context::RunCtx {
        id: run.id,
        automation_id: run.automation_id,
        automation_name: run.automation_name.clone(),
        trigger: insights_core::automations::admission::parse_trigger(&run.trigger),
        rule_id: run.rule_id,
        schedule_id: run.schedule_id,
        requested_by: run.requested_by.clone(),
        requested_at: run.created_at,
        timeout_secs: run.automation.as_ref().map_or(30, |a| a.timeout_secs),
    }
}

/// A failed attempt: what happened, and whether another attempt may help and cannot do the work twice.
type Failure = Box<(AttemptResult, bool)>;

/// Performs the action once. `Err` carries what happened and whether another attempt may help and cannot do
/// the work twice.
async fn act(
    state: &WorkerState,
    org: OrgId,
    run: &RunWork,
    automation: &runs::RunAutomationSettings,
    attempt: i32,
    payload: &str,
) -> Result<AttemptResult, Failure> {
    let timeout = Duration::from_secs(u64::try_from(automation.timeout_secs).unwrap_or(30));
    if automation.action == "lambda" {
        return invoke_lambda(state, org, run, automation, attempt, payload, timeout).await;
    }
    let Some(action) = parse_action(&automation.action) else {
        let r = AttemptResult {
            message: format!("Unknown action {:?}.", automation.action),
            ..AttemptResult::default()
        };
        return Err(Box::new((r, false)));
    };
    let call = match action_call(state, org, run, automation, action, payload, timeout).await {
        Ok(c) => c,
        Err(message) => {
            return Err(Box::new((
                AttemptResult {
                    message,
                    ..AttemptResult::default()
                },
                false,
            )));
        }
    };
    match actions::perform(state, call).await {
        Ok(done) => Ok(AttemptResult {
            response: done.response.map(|r| cap_response(&r)),
            log_tail: None,
            function_error: None,
            message: done.summary,
            detail: serde_json::json!({ "status": done.status }),
        }),
        Err(e) => {
            let retry = e.is_retryable();
            let message = match &e {
                ActionError::Retryable(m) | ActionError::Permanent(m) => m.clone(),
            };
            Err(Box::new((
                AttemptResult {
                    message,
                    ..AttemptResult::default()
                },
                retry,
            )))
        }
    }
}

fn parse_action(s: &str) -> Option<AutomationAction> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// The call of a note / email / Slack / webhook action: its secrets opened, an email's subject rendered.
async fn action_call(
    state: &WorkerState,
    org: OrgId,
    run: &RunWork,
    automation: &runs::RunAutomationSettings,
    action: AutomationAction,
    payload: &str,
    timeout: Duration,
) -> Result<ActionCall, String> {
    let secrets = match &automation.secrets {
        Some(sealed) => {
            insights_core::automations::secrets::open(&state.secrets, run.automation_id, sealed)
                .map_err(|e| format!("The automation's secrets cannot be opened: {e}"))?
        }
        None => actions::ActionSecrets::default(),
    };
    let settings = &automation.settings;
    let recipients = settings["recipients"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let subject = match settings["subject"].as_str() {
        Some(src) if !src.is_empty() => {
            let mut db = state
                .db
                .org_tx(org, None)
                .await
                .map_err(|e| e.to_string())?;
            let ctx =
                insights_core::automations::context::load(&mut db, &run.subject, run_ctx(run))
                    .await
                    .map_err(|e| e.to_string())?;
            Some(
                Template::compile(src, TemplateKind::Text)
                    .and_then(|t| t.render(&ctx))
                    .map_err(|e| format!("The subject template failed: {}", e.message))?,
            )
        }
        _ => None,
    };
    Ok(ActionCall {
        org,
        run_id: run.id,
        action,
        incident_id: run.subject.incident_id,
        body: payload.to_owned(),
        subject,
        recipients,
        secrets,
        timeout,
    })
}

/// Invokes the Lambda function once.
async fn invoke_lambda(
    state: &WorkerState,
    org: OrgId,
    run: &RunWork,
    automation: &runs::RunAutomationSettings,
    attempt: i32,
    payload: &str,
    timeout: Duration,
) -> Result<AttemptResult, Failure> {
    let failed = |message: String| -> Failure {
        Box::new((
            AttemptResult {
                message,
                ..AttemptResult::default()
            },
            false,
        ))
    };
    let (Some(connection_id), Some(function)) =
        (automation.connection_id, &automation.function_name)
    else {
        return Err(failed(
            "The automation has no connection or function.".into(),
        ));
    };
    let loaded = async {
        let mut db = state.db.org_tx(org, None).await?;
        let loaded = insights_core::automations::aws::load(
            &mut db,
            &state.secrets,
            AwsConnectionId(connection_id),
        )
        .await?;
        drop(db);
        anyhow::Ok(loaded)
    }
    .await;
    let (connection, functions) = match loaded {
        Ok(Some(loaded)) => match super::verify_aws_connection::aws_connection(&loaded) {
            Ok(connection) => (connection, loaded.functions),
            Err(check) => {
                return Err(failed(format!(
                    "The AWS connection cannot be used: {}",
                    check.message
                )));
            }
        },
        Ok(None) => return Err(failed("The AWS connection was deleted.".into())),
        Err(e) => return Err(failed(format!("The AWS connection cannot be used: {e:#}"))),
    };
    if !functions.iter().any(|f| f == function) {
        return Err(failed(format!(
            "The function {function} is no longer in the connection's allow-list."
        )));
    }
    let request = insights_aws::InvokeRequest {
        function: function.clone(),
        payload: payload.as_bytes().to_vec(),
        invocation: if automation.invocation == "async" {
            insights_aws::Invocation::Async
        } else {
            insights_aws::Invocation::Sync
        },
        timeout,
        client_context: Some(insights_aws::ClientContext {
            run_id: run.id.to_string(),
            attempt: u32::try_from(attempt).unwrap_or(0),
        }),
        session_id: run.id.to_string(),
    };
    match state.aws.invoke(&connection, &request).await {
        Ok(out) => {
            let response = out
                .payload_json()
                .or_else(|| {
                    (!out.payload.is_empty()).then(|| {
                        serde_json::Value::String(
                            String::from_utf8_lossy(&out.payload).into_owned(),
                        )
                    })
                })
                .map(|r| cap_response(&r));
            Ok(AttemptResult {
                response,
                log_tail: out.log_tail.clone(),
                function_error: None,
                message: format!(
                    "Lambda answered {} in {} ms{}.",
                    out.status,
                    out.duration.as_millis(),
                    out.executed_version
                        .as_deref()
                        .map(|v| format!(" (version {v})"))
                        .unwrap_or_default()
                ),
                detail: serde_json::json!({
                    "status": out.status,
                    "executed_version": out.executed_version,
                    "duration_ms": out.duration.as_millis() as u64,
                }),
            })
        }
        Err(e) => {
            // Tried again only when another attempt may help and cannot do the work twice: the function did
            // not run (throttled, refused), or it is idempotent.
            let retry = e.retryable() && (automation.idempotent || !e.may_have_run());
            let response = match &e {
                insights_aws::InvokeError::Function { payload, .. } => Some(cap_response(
                    &serde_json::from_slice(payload).unwrap_or_else(|_| {
                        serde_json::Value::String(String::from_utf8_lossy(payload).into_owned())
                    }),
                )),
                _ => None,
            };
            Err(Box::new((
                AttemptResult {
                    response,
                    log_tail: e.log_tail().map(str::to_owned),
                    function_error: e.function_error(),
                    message: e.to_string(),
                    detail: serde_json::json!({ "error": e.kind() }),
                },
                retry,
            )))
        }
    }
}

/// A response as stored: secrets redacted, at most 64 KiB (a bigger one is kept as the start of its text).
fn cap_response(v: &serde_json::Value) -> serde_json::Value {
    let v = insights_automation::payload::redact(v);
    let text = v.to_string();
    if text.len() <= RESPONSE_MAX_BYTES {
        return v;
    }
    let mut end = RESPONSE_MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    serde_json::Value::String(format!("{}… (cut at 64 KiB)", &text[..end]))
}

/// Posts a finished run's result to its incident when the automation asks for it (`posted_back` pending).
async fn post_back(state: &WorkerState, org: OrgId, run_id: AutomationRunId) -> anyhow::Result<()> {
    let mut db = state.db.org_tx(org, None).await?;
    let run = runs::load(&mut db, run_id).await?;
    drop(db);
    let Some(incident) = run.subject.incident_id else {
        return Ok(());
    };
    if run.posted_back != "pending" || !run.status.is_final() {
        return Ok(());
    }
    let duration = run.duration_ms.map(chrono::Duration::milliseconds);
    let text = actions::result_note(
        state,
        org,
        &RunReport {
            run_id,
            automation_name: &run.automation_name,
            status: run.status,
            duration,
            reason: run.reason.as_deref(),
            function_error: run.function_error.as_deref(),
            response: run.response.as_ref(),
            log_tail: run.log_tail.as_deref(),
        },
    );
    let posted = actions::post_back(state, org, incident, &text).await;
    let mut db = state.db.org_tx(org, None).await?;
    match posted {
        Ok(done) => runs::posted_back(&mut db, run_id, true, &done.summary).await?,
        Err(e) => runs::posted_back(&mut db, run_id, false, &e.to_string()).await?,
    }
    db.commit().await?;
    Ok(())
}
