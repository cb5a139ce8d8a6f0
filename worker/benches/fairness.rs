//! Fairness between organizations (`cargo bench -p insights-worker --bench fairness`): while organization A
//! backfills a big history from a fake PagerDuty (1,000,000 incidents by default, `FAIRNESS_BENCH_SIZE`) with a
//! burst of ten more backfills queued behind it, organization B asks for incremental syncs; the bench prints how
//! long each waited to start (the job's `started_at - created_at`) and to end. The worker binary runs as its
//! own process with the default concurrency (4 jobs of a kind), once with the default share per organization
//! (`INSIGHTS_JOB_ORG_CONCURRENCY=2`) and once without one, for comparison. A's backfill is not run to its end
//! (only the wait of B matters). Needs DATABASE_URL and REDIS_URL, like the tests.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_testing::{Session, TestApp, config_from, test_env};
use insights_types::api::{IntegrationOut, JobState, SyncRunOut};
use insights_types::{IntegrationId, OrgId};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-1";
/// How long one incremental sync of B may wait before the bench gives up on it.
const GIVE_UP: Duration = Duration::from_secs(60);

async fn current(app: &TestApp, who: &Session, org: OrgId, id: IntegrationId) -> IntegrationOut {
    app.get(&format!("/api/v1/orgs/{org}/integrations/{id}"), &who.token)
        .await
        .json()
}

/// Waits until the current sync of `id` has ended (or `GIVE_UP` passed: `None`).
async fn ended(app: &TestApp, who: &Session, org: OrgId, id: IntegrationId) -> Option<SyncRunOut> {
    let deadline = Instant::now() + GIVE_UP;
    while Instant::now() < deadline {
        if let Some(run) = current(app, who, org, id)
            .await
            .current_run
            .filter(|r| !r.state.is_active())
        {
            return Some(run);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn scenario(size: u64, per_org: &str) {
    let spacing = chrono::Duration::seconds(60);
    let pd = FakePagerDuty::start(TOKEN, History::recent(size, spacing)).await;
    let vars = test_env(&[
        ("INSIGHTS_PAGERDUTY_API_URL", &pd.url),
        ("INSIGHTS_LOG_FORMAT", "json"),
        ("INSIGHTS_JOB_ORG_CONCURRENCY", per_org),
        ("INSIGHTS_DATABASE_MAX_CONNECTIONS", "20"),
    ])
    .await;
    let app = TestApp::spawn_with(config_from(&vars)).await;
    app.allow_pending_jobs(); // A's backfills are cut off at the end
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_insights-worker"))
        .env_clear()
        .envs(&vars)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the worker binary starts");
    let (a_owner, a) = app.signup("a@example.com", "A").await;
    let (b_owner, b) = app.signup("b@example.com", "B").await;
    let b_int = app
        .connect_pagerduty(
            &b_owner,
            b,
            "PD",
            TOKEN,
            serde_json::json!({ "since": chrono::Utc::now() - chrono::Duration::days(1) }),
        )
        .await;
    ended(&app, &b_owner, b, b_int.id)
        .await
        .expect("B's first import ends");

    let since = chrono::Utc::now()
        - chrono::Duration::hours(2)
        - spacing * i32::try_from(size).unwrap_or(i32::MAX);
    let a_int = app
        .connect_pagerduty(
            &a_owner,
            a,
            "PD",
            TOKEN,
            serde_json::json!({ "since": since }),
        )
        .await;
    for n in 0..10 {
        app.connect_pagerduty(
            &a_owner,
            a,
            &format!("PD burst {n}"),
            TOKEN,
            serde_json::json!({ "since": since }),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut waits = Vec::new();
    for _ in 0..5 {
        let asked = Instant::now();
        let r = app
            .post(
                &format!("/api/v1/orgs/{b}/integrations/{}/sync", b_int.id),
                &b_owner.token,
                serde_json::json!({}),
            )
            .await;
        assert_eq!(r.status, reqwest::StatusCode::ACCEPTED, "{}", r.text);
        match ended(&app, &b_owner, b, b_int.id).await {
            Some(run) => {
                assert_eq!(run.state, JobState::Succeeded, "{run:#?}");
                let start = (run.started_at.expect("started") - run.created_at)
                    .to_std()
                    .unwrap_or_default();
                waits.push((start, asked.elapsed()));
            }
            None => {
                println!(
                    "    share {per_org:>4}: B's incremental sync had not ended after {GIVE_UP:?}"
                );
                break;
            }
        }
    }
    let a_now = current(&app, &a_owner, a, a_int.id)
        .await
        .current_run
        .expect("A's backfill");
    worker.kill().ok();
    worker.wait().ok();
    for (start, end) in &waits {
        println!(
            "    share {per_org:>4}: B's incremental sync waited {:>7.1} ms to start, ended after {:>7.1} ms",
            start.as_secs_f64() * 1e3,
            end.as_secs_f64() * 1e3
        );
    }
    println!(
        "    meanwhile A's backfill of {size} incidents stored {} of them ({:?})",
        a_now.progress.stored, a_now.state
    );
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let size: u64 = std::env::var("FAIRNESS_BENCH_SIZE")
        .map_or(Ok(1_000_000), |s| s.trim().parse())
        .expect("FAIRNESS_BENCH_SIZE is a number");
    println!(
        "Organization B's incremental syncs while A backfills {size} incidents with 10 more backfills queued:"
    );
    println!("  with a share per organization (INSIGHTS_JOB_ORG_CONCURRENCY=2, the default):");
    scenario(size, "2").await;
    println!("  without one (INSIGHTS_JOB_ORG_CONCURRENCY=1000):");
    scenario(size, "1000").await;
}
