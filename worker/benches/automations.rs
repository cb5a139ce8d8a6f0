//! Webhook arrival → Lambda invoke latency of a rule-triggered automation (`cargo bench -p insights-worker
//! --bench automations`), end to end: a PagerDuty webhook is posted to the real API, the real worker binary
//! (its own process) applies it (`process_webhook`), the store writes the incident change, the dispatcher
//! evaluates the organization's rules and admits a run, and `run_automation` invokes the function at a fake
//! Lambda speaking the real wire format (STS AssumeRole first, cached afterwards). The latency of each webhook is
//! from the moment its POST is sent to the moment the fake received the invoke. Prints p50/p95/max over
//! `AUTOMATIONS_BENCH_WEBHOOKS` webhooks (default 200), sent `AUTOMATIONS_BENCH_GAP_MS` apart (default 250: a
//! sustained 4 incidents per second into one organization), and where the time goes (stored, admitted,
//! started). Target: p95 < 1 s. Needs DATABASE_URL and REDIS_URL, like the tests.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use insights_testing::fake_lambda::{Behaviour, FakeLambda};
use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_testing::{TestApp, config_from, test_env};
use insights_types::api::{IntegrationOut, JobState};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-1";
const SECRET: &str = "pd-signing-secret";

/// (incident external id, stored at, run admitted at, attempt started at).
type Stages = Vec<(
    String,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
)>;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number"))
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let webhooks = env_usize("AUTOMATIONS_BENCH_WEBHOOKS", 200);
    let gap = Duration::from_millis(env_usize("AUTOMATIONS_BENCH_GAP_MS", 250) as u64);
    let pd = FakePagerDuty::start(TOKEN, History::recent(5, chrono::Duration::days(1))).await;
    let lambda = FakeLambda::start().await;
    lambda.function("remediate", Behaviour::Echo);
    let vars = test_env(&[
        ("INSIGHTS_PAGERDUTY_API_URL", &pd.url),
        ("INSIGHTS_LOG_FORMAT", "json"),
    ])
    .await;
    let app = TestApp::spawn_with(config_from(&vars)).await;
    let (owner, org) = app.signup("bench@example.com", "Bench").await;
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_insights-worker"))
        .env_clear()
        .envs(&vars)
        // The product's own AWS identity and endpoints (STS and Lambda: the fake).
        .env("AWS_ENDPOINT_URL", lambda.url())
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_REGION", "eu-west-1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the worker binary starts");

    // PagerDuty connected (its short history imported: old, it fires nothing) with a webhook secret.
    let r = app
        .post(
            &format!("/api/v1/orgs/{org}/integrations"),
            &owner.token,
            json!({ "kind": "pagerduty", "name": "Bench", "credentials": { "api_token": TOKEN },
                    "options": { "since": chrono::Utc::now() - chrono::Duration::days(30) } }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
    let integration: IntegrationOut = r.json();
    let job = integration.current_run.clone().expect("a backfill").id;
    let done = app.wait_for_job(&owner.token, org, job).await;
    assert_eq!(done.state, JobState::Succeeded);
    app.patch(
        &format!("/api/v1/orgs/{org}/integrations/{}", integration.id),
        &owner.token,
        json!({ "webhook_secret": SECRET }),
    )
    .await;

    // The connection, the automation and its rule (straight into the tables, as the API stores them).
    {
        use sqlx::Connection;
        let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
        let (conn, auto) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        sqlx::query(
            "INSERT INTO aws_connections (id, org_id, name, mode, region, role_arn, external_id, functions, status)
             VALUES ($1, $2, 'prod', 'role', 'eu-west-1', 'arn:aws:iam::123456789012:role/insights', 'ext-bench',
                     ARRAY['remediate'], 'verified')",
        )
        .bind(conn)
        .bind(org.0)
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO automations (id, org_id, name, action, connection_id, function_name, template)
             VALUES ($1, $2, 'remediate', 'lambda', $3, 'remediate', '{\"incident\": {{ incident.external_id }}}')",
        )
        .bind(auto)
        .bind(org.0)
        .bind(conn)
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO automation_rules (id, org_id, automation_id, name, conditions, max_runs_per_hour)
             VALUES ($1, $2, $3, 'checkout', '{\"title_regex\": \"checkout\"}', 10000)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(org.0)
        .bind(auto)
        .execute(&mut c)
        .await
        .unwrap();
    }

    let post = |body: String| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let sig = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        app.raw(
            reqwest::Method::POST,
            &format!("/hooks/pagerduty/{}", integration.id),
        )
        .header("content-type", "application/json")
        .header("x-pagerduty-signature", sig)
        .body(body)
    };
    // A warm-up webhook (the first AssumeRole, connections opening), not measured.
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut sent_at: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
    for n in 0..=webhooks {
        let id = pd.trigger(&format!("Checkout errors on cart-{n}"), n);
        let body = json!({ "event": { "id": format!("ev-{n}"), "event_type": "incident.triggered",
                                      "resource_type": "incident", "occurred_at": chrono::Utc::now().to_rfc3339(),
                                      "data": pd.incident(&id) } })
        .to_string();
        let at = Instant::now();
        let r = app.send(post(body)).await;
        assert_eq!(r.status, reqwest::StatusCode::ACCEPTED, "{}", r.text);
        if n == 0 {
            let deadline = Instant::now() + Duration::from_secs(60);
            while lambda.count("remediate") == 0 {
                assert!(
                    Instant::now() < deadline,
                    "the warm-up webhook never reached the function"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        } else {
            sent_at.insert(id.clone(), chrono::Utc::now());
            sent.insert(id, at);
            tokio::time::sleep(gap).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while lambda.count("remediate") < webhooks + 1 {
        assert!(
            Instant::now() < deadline,
            "only {} of {} invokes arrived",
            lambda.count("remediate") - 1,
            webhooks
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latencies: Vec<Duration> = lambda
        .invocations("remediate")
        .iter()
        .filter_map(|c| {
            let id = c.json()["incident"].as_str()?.to_owned();
            Some(c.at.saturating_duration_since(*sent.get(&id)?))
        })
        .collect();
    latencies.sort();
    // Where the time goes: POST → incident stored (process_webhook) → run admitted (dispatcher) → attempt
    // started (run_automation).
    let stages: Stages = {
        use sqlx::Connection;
        let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
        sqlx::query_as(
            "SELECT i.external_id, i.created_at, r.created_at, r.started_at FROM automation_runs r
               JOIN incidents i ON i.id = r.incident_id WHERE r.org_id = $1 AND r.started_at IS NOT NULL",
        )
        .bind(org.0)
        .fetch_all(&mut c)
        .await
        .unwrap()
    };
    let mut stored = Vec::new();
    let mut admitted = Vec::new();
    let mut started = Vec::new();
    for (id, stored_at, admitted_at, started_at) in stages {
        let Some(sent) = sent_at.get(&id) else {
            continue;
        };
        let d = |a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>| {
            (b - a).to_std().unwrap_or_default()
        };
        stored.push(d(*sent, stored_at));
        admitted.push(d(stored_at, admitted_at));
        started.push(d(admitted_at, started_at));
    }
    for v in [&mut stored, &mut admitted, &mut started] {
        v.sort();
    }
    let _ = worker.kill();
    let _ = worker.wait();
    assert_eq!(latencies.len(), webhooks, "one invoke per webhook");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "automations: webhook arrival → Lambda invoke over {webhooks} webhooks {} ms apart: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms (target p95 < 1000 ms)",
        gap.as_millis(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        ms(*latencies.last().unwrap()),
    );
    for (name, v) in [
        ("POST → incident stored", &stored),
        ("stored → run admitted", &admitted),
        ("admitted → attempt started", &started),
    ] {
        if !v.is_empty() {
            println!(
                "  {name}: p50 {:.0} ms, p95 {:.0} ms",
                ms(percentile(v, 0.50)),
                ms(percentile(v, 0.95))
            );
        }
    }
    app.allow_pending_jobs();
}
