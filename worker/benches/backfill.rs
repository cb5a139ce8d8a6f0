//! End-to-end backfill throughput (`cargo bench -p insights-worker --bench backfill`): an unthrottled fake
//! PagerDuty on loopback serves a generated history (three log entries per incident); the API connects it and
//! the real worker binary, as its own process, imports everything through the real connector and pipeline into
//! PostgreSQL. Prints incidents/s, requests, and the worker's peak memory for each history size, so that
//! memory can be seen to stay flat as the history grows. Sizes: `BACKFILL_BENCH_SIZES` (default
//! `10000,100000`; e.g. `100000,1000000`). Needs DATABASE_URL and REDIS_URL, like the tests.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_testing::{TestApp, config_from, test_env};
use insights_types::api::{IntegrationOut, JobState};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-1";

/// The peak resident memory of a process, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

async fn run(size: u64) {
    // Spacing so that a year or two of history holds the incidents, as a busy account would.
    let spacing = if size > 200_000 {
        chrono::Duration::seconds(60)
    } else {
        chrono::Duration::minutes(5)
    };
    let pd = FakePagerDuty::start(TOKEN, History::recent(size, spacing)).await;
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
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the worker binary starts");
    let since = chrono::Utc::now() - chrono::Duration::hours(2) - spacing * size as i32;
    let started = Instant::now();
    let r = app
        .post(
            &format!("/api/v1/orgs/{org}/integrations"),
            &owner.token,
            serde_json::json!({ "kind": "pagerduty", "name": "Bench", "credentials": { "api_token": TOKEN },
                                "options": { "since": since } }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
    let i: IntegrationOut = r.json();
    let mut peak = 0.0f64;
    let run = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak = peak.max(peak_rss_mib(worker.id()).unwrap_or(0.0));
        let now: IntegrationOut = app
            .get(
                &format!("/api/v1/orgs/{org}/integrations/{}", i.id),
                &owner.token,
            )
            .await
            .json();
        let run = now.current_run.expect("a sync");
        if !run.state.is_active() {
            break run;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    worker.kill().ok();
    worker.wait().ok();
    assert_eq!(run.state, JobState::Succeeded, "{run:#?}");
    let p = run.progress;
    assert_eq!((p.fetched, p.stored, p.events), (size, size, size * 3));
    println!(
        "  {size:>9} incidents: {secs:>7.1} s, {:>6.0} incidents/s ({:>6.0} rows/s with the timeline), {} requests, \
         worker peak RSS {peak:.0} MiB",
        size as f64 / secs,
        (size * 4) as f64 / secs,
        p.requests,
    );
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let sizes: Vec<u64> = std::env::var("BACKFILL_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("sizes are numbers"))
        .collect();
    println!(
        "End-to-end backfill from an unthrottled fake PagerDuty (3 log entries per incident), worker as its own process:"
    );
    for size in sizes {
        run(size).await;
    }
    println!(
        "At PagerDuty's 960 requests/min, 100,000 incidents with ~7 log entries each need ~1,000 incident pages + \
         ~7,000 log-entry pages: about 8.5 minutes."
    );
}
