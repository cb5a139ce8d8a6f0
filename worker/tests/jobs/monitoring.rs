//! Monitoring of the `insights-worker` process: its own `/metrics` on `INSIGHTS_METRICS_ADDR` (attempts by kind
//! and outcome, their durations), and a job that fails for good reported to a Sentry (the fake of
//! `insights_testing`) with its kind, job and organization.

use insights_testing::fake_sentry::FakeSentry;
use insights_testing::processes::free_port;
use insights_testing::{TestApp, config_from, test_env};
use insights_types::api::JobState;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_job_that_fails_for_good_is_counted_on_the_worker_metrics_and_reported_to_sentry_with_its_kind()
 {
    let sentry = FakeSentry::start().await;
    // Nothing listens on the SMTP port: the verification email of a sign-up fails, and with one attempt it
    // fails for good.
    let smtp = format!("smtp://127.0.0.1:{}", free_port());
    let vars = test_env(&[
        ("INSIGHTS_SMTP_URL", smtp.as_str()),
        ("INSIGHTS_SMTP_FROM", "insights@example.com"),
        ("INSIGHTS_JOB_MAX_ATTEMPTS", "1"),
    ])
    .await;
    let app = TestApp::spawn_with(config_from(&vars)).await;
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut worker = Command::new(env!("CARGO_BIN_EXE_insights-worker"))
        .env_clear()
        .envs(&vars)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("INSIGHTS_METRICS_ADDR", &metrics)
        .env("SENTRY_DSN", sentry.dsn())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let jobs = app.wait_for_jobs(&owner.token, org).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(
        (job.kind.as_str(), job.state),
        ("send_account_email", JobState::Failed)
    );

    // The worker's own listener (this test's worker process ran only this job).
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"job_attempts_total{kind="send_account_email",outcome="failed"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"job_attempt_duration_seconds_count{kind="send_account_email"} 1"#),
        "{text}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(40);
    while worker.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the worker did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let events = sentry.events();
    assert_eq!(events.len(), 1, "{:#?}", sentry.envelopes());
    let tags = &events[0]["tags"];
    assert_eq!(tags["kind"], "send_account_email", "{tags}");
    assert_eq!(tags["job_id"], job.id.to_string().as_str(), "{tags}");
    assert_eq!(tags["org_id"], org.to_string().as_str(), "{tags}");
    let sent = sentry.envelopes().concat();
    for secret in [
        vars["INSIGHTS_SECRET_KEY"].as_str(),
        vars["INSIGHTS_JWT_SECRET"].as_str(),
    ] {
        assert!(!sent.contains(secret), "{secret} was sent to Sentry");
    }
}
