//! Automation runs end to end on the worker side (issue 13): the store's change outbox, the dispatcher and its
//! rules, admission's exact limits under a storm, the `run_automation` job against a fake Lambda speaking the
//! real wire format (sync and async invokes, function errors, throttles retried, time limits), the circuit
//! breaker opening and closing, the kill switch, a worker killed mid-invoke, and schedules firing once.
//!
//! The worker's loops are driven by hand here (`drain`, `fire_due`, the job's `run`), so every step is
//! deterministic; the latency bench runs the same path with a live worker.

use apalis::prelude::Data;
use chrono::Utc;
use insights_core::automations::admission::{self, RunRequest};
use insights_core::automations::runs;
use insights_core::db::incidents;
use insights_core::jobs::RunAutomation;
use insights_ingest::NormalizedIncident;
use insights_testing::TestApp;
use insights_testing::fake_lambda::{Behaviour, FakeLambda};
use insights_types::api::{IncidentSource, IncidentStatus, RunStatus, RunSubjectIn, RunTrigger};
use insights_types::{
    AutomationId, AutomationRuleId, AutomationRunId, IncidentId, JobRunId, OrgId,
};
use insights_worker::WorkerState;
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const ROLE: &str = "arn:aws:iam::123456789012:role/insights-automations";
const EXTERNAL_ID: &str = "ext-0123456789abcdef";

/// An app (no background worker: the test drives the worker's steps), a worker state whose AWS clients talk
/// to the fake, and an organization with an owner.
struct Setup {
    app: TestApp,
    state: WorkerState,
    fake: FakeLambda,
    org: OrgId,
    connection: Uuid,
    dispatcher: HashMap<OrgId, insights_worker::automations::OrgRules>,
}

async fn setup() -> Setup {
    let app = TestApp::spawn(&[]).await;
    let (_owner, org) = app.signup("owner@example.com", "Acme").await;
    let fake = FakeLambda::start().await;
    fake.trust(ROLE, EXTERNAL_ID);
    let mut state = insights_worker::Worker::build(app.config.clone())
        .await
        .expect("worker builds")
        .state()
        .clone();
    state.aws = Arc::new(insights_aws::AwsClients::with_endpoints(
        insights_aws::AwsEndpoints {
            sts: Some(fake.url()),
            lambda: Some(fake.url()),
            static_credentials: Some(("AKIDPRODUCT".into(), "product-secret".into())),
        },
        Duration::from_secs(900),
        None,
    ));
    let connection = Uuid::now_v7();
    exec(
        &app,
        org,
        "INSERT INTO aws_connections (id, org_id, name, mode, region, role_arn, external_id, functions, status)
         VALUES ($2, $1, 'prod', 'role', 'eu-west-1', $3, $4,
                 ARRAY['echo', 'slow', 'broken', 'busy', 'flaky'], 'verified')",
        vec![json!(connection), json!(ROLE), json!(EXTERNAL_ID)],
    )
    .await;
    Setup {
        app,
        state,
        fake,
        org,
        connection,
        dispatcher: HashMap::new(),
    }
}

/// Runs a statement in the organization (binding uuids, strings, numbers and booleans from JSON).
async fn exec(app: &TestApp, org: OrgId, sql: &'static str, args: Vec<Value>) {
    let mut tx = app.state.db.org_tx(org, None).await.unwrap();
    let mut q = sqlx::query(sql).bind(org.0);
    for a in args {
        q = match a {
            Value::String(s) => match Uuid::parse_str(&s) {
                Ok(u) => q.bind(u),
                Err(_) => q.bind(s),
            },
            Value::Number(n) if n.is_i64() => q.bind(n.as_i64().map(|n| n as i32)),
            Value::Bool(b) => q.bind(b),
            Value::Null => q.bind(None::<i32>),
            other => q.bind(other),
        };
    }
    q.execute(tx.conn()).await.unwrap();
    tx.commit().await.unwrap();
}

/// The settings of a test automation (a Lambda function of the connection).
#[derive(Clone)]
struct Auto {
    function: &'static str,
    invocation: &'static str,
    timeout_secs: i32,
    max_attempts: i32,
    idempotent: bool,
    max_runs_per_hour: Option<i32>,
    cooldown_secs: Option<i32>,
    max_concurrent: Option<i32>,
    breaker_threshold: i32,
    breaker_cooldown_secs: i32,
}

impl Default for Auto {
    fn default() -> Self {
        Auto {
            function: "echo",
            invocation: "sync",
            timeout_secs: 5,
            max_attempts: 3,
            idempotent: false,
            max_runs_per_hour: None,
            cooldown_secs: None,
            max_concurrent: None,
            breaker_threshold: 5,
            breaker_cooldown_secs: 300,
        }
    }
}

async fn automation(s: &Setup, name: &str, a: Auto) -> AutomationId {
    let id = Uuid::now_v7();
    exec(
        &s.app,
        s.org,
        "INSERT INTO automations (id, org_id, name, action, connection_id, function_name, invocation, template,
                                  timeout_secs, max_attempts, backoff_ms, idempotent, max_runs_per_hour,
                                  cooldown_secs, max_concurrent, breaker_threshold, breaker_cooldown_secs)
         VALUES ($2, $1, $3, 'lambda', $4, $5, $6,
                 '{\"incident\": {{ incident.title if incident else none }}, \"run\": {{ run.id }}}',
                 $7, $8, 10, $9, $10, $11, $12, $13, $14)",
        vec![
            json!(id),
            json!(name),
            json!(s.connection),
            json!(a.function),
            json!(a.invocation),
            json!(a.timeout_secs),
            json!(a.max_attempts),
            json!(a.idempotent),
            json!(a.max_runs_per_hour),
            json!(a.cooldown_secs),
            json!(a.max_concurrent),
            json!(a.breaker_threshold),
            json!(a.breaker_cooldown_secs),
        ],
    )
    .await;
    AutomationId(id)
}

async fn rule(
    s: &Setup,
    automation: AutomationId,
    conditions: Value,
    cap: i32,
) -> AutomationRuleId {
    let id = Uuid::now_v7();
    exec(
        &s.app,
        s.org,
        "INSERT INTO automation_rules (id, org_id, automation_id, name, conditions, max_runs_per_hour)
         VALUES ($2, $1, $3, 'on checkout', $4, $5)",
        vec![json!(id), json!(automation.0), conditions, json!(cap)],
    )
    .await;
    AutomationRuleId(id)
}

/// An incident version from a webhook, changed `age` ago at the source.
fn incident(
    n: usize,
    title: &str,
    status: IncidentStatus,
    age: chrono::Duration,
) -> NormalizedIncident {
    let at = Utc::now() - age;
    NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: format!("P{n:05}"),
        number: Some(n as i64),
        title: title.to_owned(),
        description: None,
        service: None,
        team: None,
        urgency: None,
        priority: None,
        status,
        triggered_at: at,
        acknowledged_at: None,
        resolved_at: None,
        assignees: vec![],
        tags: vec![],
        source_url: None,
        source_updated_at: at,
        raw: json!({}),
        timeline: vec![],
    }
}

/// Stores incident versions through the store every source uses.
async fn store(s: &Setup, batch: &[NormalizedIncident]) {
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    incidents::apply_partial(&mut tx, None, batch)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn pending_changes(s: &Setup) -> i64 {
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM automation_changes WHERE org_id = $1")
        .bind(s.org.0)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    n
}

/// A run's row, as (status, reason, attempts, function_error).
#[derive(Debug, Clone)]
struct RunRow {
    id: Uuid,
    status: String,
    reason: Option<String>,
    attempts: i32,
    function_error: Option<String>,
    response: Option<Value>,
    job: Option<Uuid>,
}

async fn runs_of(s: &Setup, automation: AutomationId) -> Vec<RunRow> {
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let rows = sqlx::query(
        "SELECT id, status, reason, attempts, function_error, response, job_run_id FROM automation_runs
          WHERE org_id = $1 AND automation_id = $2 ORDER BY created_at, id",
    )
    .bind(s.org.0)
    .bind(automation.0)
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    rows.into_iter()
        .map(|r| RunRow {
            id: r.get("id"),
            status: r.get("status"),
            reason: r.get("reason"),
            attempts: r.get("attempts"),
            function_error: r.get("function_error"),
            response: r.get("response"),
            job: r.get("job_run_id"),
        })
        .collect()
}

async fn events_of(s: &Setup, run: Uuid) -> Vec<(String, Option<i32>, Value)> {
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let rows = sqlx::query(
        "SELECT kind, attempt, detail FROM automation_run_events WHERE org_id = $1 AND run_id = $2 ORDER BY at, id",
    )
    .bind(s.org.0)
    .bind(run)
    .fetch_all(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    rows.into_iter()
        .map(|r| (r.get("kind"), r.get("attempt"), r.get("detail")))
        .collect()
}

/// Asks for a run by hand, as the API does.
async fn run_by_hand(
    s: &Setup,
    automation: AutomationId,
    incident: Option<IncidentId>,
) -> admission::Admitted {
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let admitted = admission::admit(
        &mut tx,
        RunRequest {
            queue: &s.state.queue,
            automation_id: automation,
            trigger: RunTrigger::Manual,
            actor_id: None,
            rule_id: None,
            schedule_id: None,
            subject: RunSubjectIn {
                incident_id: incident,
                ..RunSubjectIn::default()
            },
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    admitted
}

/// Delivers a run's job to the handler until the run has ended (deliveries the job asks again for — a retry
/// after its backoff, a wait for a slot — are made at once here); returns how many deliveries it took.
async fn run_to_end(s: &Setup, run: Uuid) -> usize {
    let mut deliveries = 0;
    loop {
        let row = run_row(s, run).await;
        if !matches!(row.status.as_str(), "queued" | "running") {
            return deliveries;
        }
        assert!(deliveries < 50, "the run never ended: {row:?}");
        deliver(s, run, JobRunId(row.job.expect("a queued run has its job"))).await;
        deliveries += 1;
    }
}

async fn deliver(s: &Setup, run: Uuid, job: JobRunId) {
    let payload = RunAutomation::V1 {
        org_id: s.org,
        job_run_id: job,
        run_id: AutomationRunId(run),
    };
    insights_worker::jobs::run_automation::run(payload, Data::new(s.state.clone()))
        .await
        .unwrap();
}

async fn run_row(s: &Setup, run: Uuid) -> RunRow {
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let r = sqlx::query(
        "SELECT id, status, reason, attempts, function_error, response, job_run_id FROM automation_runs
          WHERE org_id = $1 AND id = $2",
    )
    .bind(s.org.0)
    .bind(run)
    .fetch_one(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    RunRow {
        id: r.get("id"),
        status: r.get("status"),
        reason: r.get("reason"),
        attempts: r.get("attempts"),
        function_error: r.get("function_error"),
        response: r.get("response"),
        job: r.get("job_run_id"),
    }
}

async fn drain(s: &mut Setup) -> usize {
    insights_worker::automations::drain(&s.state, &mut s.dispatcher)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sync_invoke_records_the_result_and_the_exact_payload() {
    let mut s = setup().await;
    s.fake.function("echo", Behaviour::Echo);
    let a = automation(&s, "echo", Auto::default()).await;
    rule(&s, a, json!({ "title_regex": "checkout" }), 10).await;
    store(
        &s,
        &[incident(
            1,
            "Checkout \"latency\" high",
            IncidentStatus::Triggered,
            chrono::Duration::seconds(5),
        )],
    )
    .await;
    assert_eq!(pending_changes(&s).await, 1);
    assert_eq!(drain(&mut s).await, 1);
    assert_eq!(
        pending_changes(&s).await,
        0,
        "the change is deleted with the admission"
    );
    let runs = runs_of(&s, a).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "queued");
    run_to_end(&s, runs[0].id).await;
    let run = run_row(&s, runs[0].id).await;
    assert_eq!(run.status, "succeeded", "{run:?}");
    assert_eq!(run.attempts, 1);
    let calls = s.fake.invocations("echo");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].invocation_type, "RequestResponse");
    // The title (with its quotes) arrived JSON-escaped, and the payload sent is the one hashed.
    assert_eq!(calls[0].json()["incident"], "Checkout \"latency\" high");
    let hash: String = {
        let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
        sqlx::query_scalar("SELECT payload_hash FROM automation_runs WHERE id = $1")
            .bind(run.id)
            .fetch_one(tx.conn())
            .await
            .unwrap()
    };
    assert_eq!(hash, insights_automation::payload::hash(&calls[0].payload));
    // The client context names the run and the attempt.
    let cc = calls[0].client_context.clone().expect("a client context");
    assert!(cc.to_string().contains(&run.id.to_string()), "{cc}");
    assert_eq!(
        run.response.unwrap()["echo"]["incident"],
        "Checkout \"latency\" high"
    );
    let kinds: Vec<String> = events_of(&s, run.id)
        .await
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        kinds,
        [
            "requested",
            "queued",
            "attempt_started",
            "attempt_succeeded"
        ]
    );
}

#[tokio::test]
async fn an_async_invoke_succeeds_once_lambda_accepted_it() {
    let s = setup().await;
    s.fake.function("echo", Behaviour::Echo);
    let a = automation(
        &s,
        "async",
        Auto {
            invocation: "async",
            ..Auto::default()
        },
    )
    .await;
    let admitted = run_by_hand(&s, a, None).await;
    assert_eq!(admitted.status, RunStatus::Queued);
    run_to_end(&s, admitted.run_id.0).await;
    assert_eq!(run_row(&s, admitted.run_id.0).await.status, "succeeded");
    let calls = s.fake.invocations("echo");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].invocation_type, "Event");
}

#[tokio::test]
async fn a_function_error_fails_a_non_idempotent_run_without_invoking_again() {
    let s = setup().await;
    s.fake.function(
        "broken",
        Behaviour::handled("DiskFull", "no space left on /var"),
    );
    let a = automation(
        &s,
        "broken",
        Auto {
            function: "broken",
            ..Auto::default()
        },
    )
    .await;
    let admitted = run_by_hand(&s, a, None).await;
    run_to_end(&s, admitted.run_id.0).await;
    let run = run_row(&s, admitted.run_id.0).await;
    assert_eq!(run.status, "failed");
    assert_eq!(run.attempts, 1);
    assert!(
        run.function_error
            .as_deref()
            .unwrap_or_default()
            .contains("Handled"),
        "{run:?}"
    );
    assert!(
        run.reason
            .as_deref()
            .unwrap_or_default()
            .contains("no space left"),
        "{run:?}"
    );
    assert_eq!(s.fake.count("broken"), 1);

    // Idempotent: the same error is retried up to the automation's attempts.
    let b = automation(
        &s,
        "broken-idempotent",
        Auto {
            function: "broken",
            idempotent: true,
            ..Auto::default()
        },
    )
    .await;
    let admitted = run_by_hand(&s, b, None).await;
    run_to_end(&s, admitted.run_id.0).await;
    let run = run_row(&s, admitted.run_id.0).await;
    assert_eq!((run.status.as_str(), run.attempts), ("failed", 3));
    assert_eq!(s.fake.count("broken"), 1 + 3);
}

#[tokio::test]
async fn a_throttled_invoke_is_retried_with_backoff_and_succeeds() {
    let s = setup().await;
    s.fake.function("busy", Behaviour::throttle(2));
    let a = automation(
        &s,
        "busy",
        Auto {
            function: "busy",
            ..Auto::default()
        },
    )
    .await;
    let admitted = run_by_hand(&s, a, None).await;
    let deliveries = run_to_end(&s, admitted.run_id.0).await;
    let run = run_row(&s, admitted.run_id.0).await;
    assert_eq!((run.status.as_str(), run.attempts), ("succeeded", 3));
    assert_eq!(deliveries, 3, "each attempt is one delivery of the job");
    let calls = s.fake.invocations("busy");
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        [429, 429, 200]
    );
    let events = events_of(&s, run.id).await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.0 == "attempt_failed")
        .map(|e| e.1)
        .collect();
    assert_eq!(failed, [Some(1), Some(2)]);
    // The job was delivered again without spending its own attempts.
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM job_runs WHERE id = $1")
            .bind(run.job.unwrap())
            .fetch_one(tx.conn())
            .await
            .unwrap();
    assert_eq!((state.as_str(), attempts), ("succeeded", 1));
}

#[tokio::test]
async fn a_timeout_fails_a_non_idempotent_run_once() {
    let s = setup().await;
    s.fake
        .function("slow", Behaviour::delay(Duration::from_secs(3)));
    let a = automation(
        &s,
        "slow",
        Auto {
            function: "slow",
            timeout_secs: 1,
            ..Auto::default()
        },
    )
    .await;
    let admitted = run_by_hand(&s, a, None).await;
    let started = std::time::Instant::now();
    run_to_end(&s, admitted.run_id.0).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the time limit cut the call"
    );
    let run = run_row(&s, admitted.run_id.0).await;
    assert_eq!(
        (run.status.as_str(), run.attempts),
        ("failed", 1),
        "{run:?}"
    );
    assert_eq!(s.fake.count("slow"), 1);
}

#[tokio::test]
async fn the_circuit_breaker_opens_after_failures_and_a_successful_trial_closes_it() {
    let s = setup().await;
    s.fake
        .function("flaky", Behaviour::unhandled("Crash", "segfault"));
    let a = automation(
        &s,
        "flaky",
        Auto {
            function: "flaky",
            max_attempts: 1,
            breaker_threshold: 2,
            breaker_cooldown_secs: 1,
            ..Auto::default()
        },
    )
    .await;
    for _ in 0..2 {
        let admitted = run_by_hand(&s, a, None).await;
        run_to_end(&s, admitted.run_id.0).await;
    }
    // Open: refused at once, with its reason, and nothing invoked.
    let refused = run_by_hand(&s, a, None).await;
    assert_eq!(refused.status, RunStatus::Refused);
    assert_eq!(refused.refusal, Some("breaker_open"));
    assert_eq!(s.fake.count("flaky"), 2);
    // After the cool-down one trial goes through (and a second ask meanwhile is refused); it succeeds: closed.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.fake.function("flaky", Behaviour::Echo);
    let trial = run_by_hand(&s, a, None).await;
    assert_eq!(trial.status, RunStatus::Queued);
    assert_eq!(run_by_hand(&s, a, None).await.refusal, Some("breaker_open"));
    run_to_end(&s, trial.run_id.0).await;
    assert_eq!(run_row(&s, trial.run_id.0).await.status, "succeeded");
    let after = run_by_hand(&s, a, None).await;
    assert_eq!(after.status, RunStatus::Queued, "the breaker closed");
    run_to_end(&s, after.run_id.0).await;
}

#[tokio::test]
async fn the_kill_switch_refuses_new_runs_and_queued_runs_when_they_come_up() {
    let s = setup().await;
    s.fake.function("echo", Behaviour::Echo);
    let a = automation(&s, "echo", Auto::default()).await;
    let queued = run_by_hand(&s, a, None).await;
    assert_eq!(queued.status, RunStatus::Queued);
    exec(
        &s.app,
        s.org,
        "INSERT INTO automation_settings (org_id, killed, killed_reason, killed_at) VALUES ($1, true, 'incident review', now())",
        vec![],
    )
    .await;
    let refused = run_by_hand(&s, a, None).await;
    assert_eq!(refused.status, RunStatus::Refused);
    assert_eq!(refused.refusal, Some("kill_switch"));
    assert!(refused.reason.unwrap().contains("incident review"));
    run_to_end(&s, queued.run_id.0).await;
    let run = run_row(&s, queued.run_id.0).await;
    assert_eq!(run.status, "refused");
    assert_eq!(
        s.fake.count("echo"),
        0,
        "nothing was invoked while the switch was on"
    );
    let refusal = events_of(&s, run.id)
        .await
        .into_iter()
        .find(|e| e.0 == "refused")
        .unwrap();
    assert_eq!(refusal.2["code"], "kill_switch");
}

#[tokio::test]
async fn a_worker_killed_mid_invoke_never_invokes_a_non_idempotent_function_twice() {
    let s = setup().await;
    s.fake.function("echo", Behaviour::Echo);
    for idempotent in [false, true] {
        let a = automation(
            &s,
            &format!("crash-{idempotent}"),
            Auto {
                idempotent,
                ..Auto::default()
            },
        )
        .await;
        let admitted = run_by_hand(&s, a, None).await;
        let run = admitted.run_id;
        // A worker recorded the attempt and died while invoking (whether the call reached Lambda is unknown).
        let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
        runs::begin(&mut tx, run).await.unwrap();
        tx.commit().await.unwrap();
        let before = s.fake.count("echo");
        // The sweeper delivers the job again.
        run_to_end(&s, run.0).await;
        let row = run_row(&s, run.0).await;
        let kinds: Vec<String> = events_of(&s, run.0)
            .await
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert!(kinds.contains(&"reconciled".to_owned()), "{kinds:?}");
        if idempotent {
            assert_eq!(row.status, "succeeded");
            assert_eq!(
                s.fake.count("echo") - before,
                1,
                "invoked again: it is idempotent"
            );
        } else {
            assert_eq!(row.status, "unknown", "{row:?}");
            assert_eq!(s.fake.count("echo"), before, "not invoked again");
            assert!(row.reason.unwrap().contains("not idempotent"));
        }
    }
}

#[tokio::test]
async fn a_storm_of_matching_incidents_admits_exactly_what_the_limits_allow() {
    let mut s = setup().await;
    s.fake
        .function("slow", Behaviour::delay(Duration::from_millis(150)));
    let a = automation(
        &s,
        "storm",
        Auto {
            function: "slow",
            max_runs_per_hour: Some(25),
            max_concurrent: Some(2),
            ..Auto::default()
        },
    )
    .await;
    let r = rule(&s, a, json!({ "title_regex": "^checkout" }), 10).await;
    // 200 matching incidents arrive at once (in several batches, as webhooks do), plus some that do not match.
    let batch: Vec<_> = (0..220)
        .map(|n| {
            let title = if n % 11 == 10 {
                "Disk full"
            } else {
                "Checkout errors"
            };
            incident(
                n,
                title,
                IncidentStatus::Triggered,
                chrono::Duration::seconds(2),
            )
        })
        .collect();
    let mut stores = Vec::new();
    for chunk in batch.chunks(20) {
        let chunk = chunk.to_vec();
        let db = s.app.state.db.clone();
        let org = s.org;
        stores.push(tokio::spawn(async move {
            let mut tx = db.org_tx(org, None).await.unwrap();
            incidents::apply_partial(&mut tx, None, &chunk)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for t in stores {
        t.await.unwrap();
    }
    assert_eq!(pending_changes(&s).await, 220);
    // Two dispatchers drain at once.
    let mut other = HashMap::new();
    let state = s.state.clone();
    let second = tokio::spawn(async move {
        insights_worker::automations::drain(&state, &mut other)
            .await
            .unwrap()
    });
    let first = drain(&mut s).await;
    let evaluated = first + second.await.unwrap();
    assert_eq!(evaluated, 220, "every change evaluated once");
    assert_eq!(pending_changes(&s).await, 0, "none left, none lost");
    let runs = runs_of(&s, a).await;
    assert_eq!(runs.len(), 200, "one run recorded per matching change");
    let queued: Vec<_> = runs.iter().filter(|r| r.status == "queued").collect();
    let refused: Vec<_> = runs.iter().filter(|r| r.status == "refused").collect();
    assert_eq!(queued.len(), 10, "exactly the rule's cap");
    assert_eq!(refused.len(), 190);
    for r in &refused {
        let code = events_of(&s, r.id)
            .await
            .into_iter()
            .find(|e| e.0 == "refused")
            .unwrap()
            .2["code"]
            .clone();
        assert_eq!(code, "rule_cap");
    }
    let _ = r;
    // The queued runs all go at once; never more than 2 in flight on the function.
    let mut tasks = Vec::new();
    for run in queued {
        let (state, org, id, job) = (s.state.clone(), s.org, run.id, run.job.unwrap());
        tasks.push(tokio::spawn(async move {
            loop {
                let payload = RunAutomation::V1 {
                    org_id: org,
                    job_run_id: JobRunId(job),
                    run_id: AutomationRunId(id),
                };
                insights_worker::jobs::run_automation::run(payload, Data::new(state.clone()))
                    .await
                    .unwrap();
                let mut tx = state.db.org_tx(org, None).await.unwrap();
                let status: String =
                    sqlx::query_scalar("SELECT status FROM automation_runs WHERE id = $1")
                        .bind(id)
                        .fetch_one(tx.conn())
                        .await
                        .unwrap();
                tx.commit().await.unwrap();
                if status != "queued" {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), "succeeded");
    }
    let calls = s.fake.invocations("slow");
    assert_eq!(calls.len(), 10, "one invoke per admitted run");
    // In flight: from each call's arrival to its answer 150 ms later.
    let mut peak = 0;
    for c in &calls {
        let overlapping = calls
            .iter()
            .filter(|o| o.at <= c.at && c.at < o.at + Duration::from_millis(150))
            .count();
        peak = peak.max(overlapping);
    }
    assert!(peak <= 2, "at most 2 invocations in flight, saw {peak}");
}

#[tokio::test]
async fn history_and_organizations_without_rules_write_no_changes() {
    let s = setup().await;
    // No enabled rule: nothing is written.
    store(
        &s,
        &[incident(
            1,
            "Checkout errors",
            IncidentStatus::Triggered,
            chrono::Duration::seconds(1),
        )],
    )
    .await;
    assert_eq!(pending_changes(&s).await, 0);
    let a = automation(&s, "echo", Auto::default()).await;
    rule(&s, a, json!({}), 10).await;
    // A backfill of old history: nothing either.
    let old: Vec<_> = (10..60)
        .map(|n| {
            incident(
                n,
                "Checkout errors",
                IncidentStatus::Resolved,
                chrono::Duration::days(3),
            )
        })
        .collect();
    store(&s, &old).await;
    assert_eq!(pending_changes(&s).await, 0);
    // A live change: one row, with its transition.
    store(
        &s,
        &[incident(
            1,
            "Checkout errors",
            IncidentStatus::Acknowledged,
            chrono::Duration::seconds(0),
        )],
    )
    .await;
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let transitions: Vec<String> =
        sqlx::query_scalar("SELECT transition FROM automation_changes WHERE org_id = $1")
            .bind(s.org.0)
            .fetch_all(tx.conn())
            .await
            .unwrap();
    assert_eq!(transitions, ["acknowledged"]);
}

#[tokio::test]
async fn a_due_schedule_fires_exactly_once_across_workers() {
    let s = setup().await;
    s.fake.function("echo", Behaviour::Echo);
    let a = automation(&s, "nightly", Auto::default()).await;
    exec(
        &s.app,
        s.org,
        "INSERT INTO automation_schedules (id, org_id, automation_id, name, cron, time_zone, next_run_at)
         VALUES ($2, $1, $3, 'nightly', '0 3 * * *', 'Europe/Paris', now() - interval '1 second')",
        vec![json!(Uuid::now_v7()), json!(a.0)],
    )
    .await;
    let (x, y) = tokio::join!(
        insights_worker::automations::fire_due(&s.state),
        insights_worker::automations::fire_due(&s.state)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    let runs = runs_of(&s, a).await;
    assert_eq!(runs.len(), 1);
    // Advanced to the next 03:00 in Paris.
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let next: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT next_run_at FROM automation_schedules WHERE org_id = $1")
            .bind(s.org.0)
            .fetch_one(tx.conn())
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert!(next > Utc::now());
    let paris = next.with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(paris.format("%H:%M").to_string(), "03:00");
    assert_eq!(
        insights_worker::automations::fire_due(&s.state)
            .await
            .unwrap(),
        0
    );
    run_to_end(&s, runs[0].id).await;
    assert_eq!(s.fake.count("echo"), 1);
}
