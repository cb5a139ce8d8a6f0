//! Monitoring: the webhook, integration and backlog metrics on the internal `/metrics`, and errors reported to
//! a Sentry (the fake of `insights_testing`) by the `insights-api` binary — once per failed request, with its
//! request id, and without a secret of the request.

use hmac::{Hmac, Mac};
use insights_core::db;
use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_testing::fake_sentry::FakeSentry;
use insights_testing::{TestApp, config_from, test_env};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The value of the sample `name{labels}` in a Prometheus text exposition (0 when absent), whatever the order
/// of its labels.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    want.sort();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
            let mut got: Vec<String> = rest
                .trim_end_matches('}')
                .split(',')
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            got.sort();
            (n == name && got == want).then(|| value.parse().ok())?
        })
        .unwrap_or(0.0)
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn webhook_deliveries_are_counted_by_source_outcome_and_reason() {
    let pd = FakePagerDuty::start("pd-token", History::recent(0, chrono::Duration::hours(1))).await;
    let app = TestApp::spawn(&[
        ("INSIGHTS_PAGERDUTY_API_URL", &pd.url),
        ("INSIGHTS_WEBHOOK_DELIVERIES_PER_MINUTE", "2"),
    ])
    .await;
    app.allow_pending_jobs();
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let i = app
        .connect_pagerduty(&s, org, "PD", "pd-token", json!({}))
        .await;
    let r = app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/{}", i.id),
            &s.token,
            json!({ "webhook_secret": "pd-signing-secret" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let hook = format!("/hooks/pagerduty/{}", i.id);
    let body: &'static [u8] =
        br#"{"event":{"id":"01","event_type":"incident.triggered","data":{"id":"PX1"}}}"#;
    let post = |to: String, sig: Option<String>, body: &'static [u8]| {
        let mut req = app
            .raw(Method::POST, &to)
            .header("content-type", "application/json")
            .body(body);
        if let Some(sig) = sig {
            req = req.header("x-pagerduty-signature", sig);
        }
        app.send(req)
    };
    let count = |text: &str, source: &str, outcome: &str, reason: Option<&str>| {
        let mut labels = vec![("source", source), ("outcome", outcome)];
        labels.extend(reason.map(|r| ("reason", r)));
        sample(text, "webhook_deliveries_total", &labels)
    };
    let cases: [(&str, &str, Option<&str>); 5] = [
        ("pagerduty", "accepted", None),
        ("pagerduty", "rejected", Some("signature")),
        ("pagerduty", "rejected", Some("unknown_integration")),
        ("pagerduty", "rejected", Some("invalid")),
        ("pagerduty", "rejected", Some("rate_limited")),
    ];
    let before = app.metrics().await.text;

    let good = Some(sign("pd-signing-secret", body));
    assert_eq!(
        post(hook.clone(), good.clone(), body).await.status,
        StatusCode::ACCEPTED
    );
    let forged = Some(sign("another-secret", body));
    assert_eq!(
        post(hook.clone(), forged, body).await.status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = format!("/hooks/pagerduty/{}", uuid::Uuid::new_v4());
    assert_eq!(
        post(unknown, good.clone(), body).await.status,
        StatusCode::NOT_FOUND
    );
    let garbage: &'static [u8] = b"not json";
    let r = post(
        hook.clone(),
        Some(sign("pd-signing-secret", garbage)),
        garbage,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The limit is two authenticated deliveries a minute: the accepted one and the garbage one.
    let r = post(hook.clone(), good, body).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // A source that does not exist names no series of its own.
    let r = post(format!("/hooks/jira/{}", i.id), None, body).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let after = app.metrics().await.text;
    // Other tests of this process count deliveries too: each of ours moved its counter by at least one.
    for (source, outcome, reason) in cases {
        let moved =
            count(&after, source, outcome, reason) - count(&before, source, outcome, reason);
        assert!(
            moved >= 1.0,
            "{source} {outcome} {reason:?} moved by {moved}:\n{after}"
        );
    }
    assert!(
        count(&after, "unknown", "rejected", Some("unknown_integration")) >= 1.0,
        "{after}"
    );
    assert!(!after.contains("source=\"jira\""), "{after}");
}

#[tokio::test]
async fn integrations_by_health_and_the_due_job_backlog_are_counted_across_tenants() {
    let pd = FakePagerDuty::start("pd-token", History::recent(0, chrono::Duration::hours(1))).await;
    let app = TestApp::spawn(&[("INSIGHTS_PAGERDUTY_API_URL", &pd.url)]).await;
    app.allow_pending_jobs();
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let (s2, org2) = app.signup("p@example.com", "Beta").await;
    let a = app
        .connect_pagerduty(&s, org, "PD", "pd-token", json!({}))
        .await;
    app.connect_pagerduty(&s2, org2, "PD", "pd-token", json!({}))
        .await;
    // No worker runs: the two backfills and the sample data wait, due now.
    app.load_sample_data(&s.token, org).await;
    let pool = sqlx::PgPool::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let backlog = db::job_runs::backlog(&mut conn).await.unwrap();
    let waiting = |kind: &str| backlog.iter().find(|b| b.kind == kind).map(|b| b.waiting);
    assert_eq!(waiting("sync_integration"), Some(2), "{backlog:?}");
    assert_eq!(waiting("generate_sample_data"), Some(1), "{backlog:?}");
    // A job deferred to later is not due: not in the backlog.
    sqlx::query("UPDATE job_runs SET run_after = now() + interval '1 hour' WHERE kind = 'generate_sample_data'")
        .execute(&pool)
        .await
        .unwrap();
    // The oldest due job has waited as long as its row says.
    sqlx::query(
        "UPDATE job_runs SET updated_at = now() - interval '90 seconds' WHERE subject_id = $1",
    )
    .bind(a.id.0)
    .execute(&pool)
    .await
    .unwrap();
    let backlog = db::job_runs::backlog(&mut conn).await.unwrap();
    assert!(
        backlog.iter().all(|b| b.kind != "generate_sample_data"),
        "{backlog:?}"
    );
    let sync = backlog
        .iter()
        .find(|b| b.kind == "sync_integration")
        .unwrap();
    assert!((90.0..120.0).contains(&sync.oldest_seconds), "{sync:?}");

    let health = |rows: &[(String, String, i64)], h: &str| {
        rows.iter()
            .find(|(k, hh, _)| k == "pagerduty" && hh == h)
            .map_or(0, |r| r.2)
    };
    let rows = db::integrations::health_counts(&mut conn).await.unwrap();
    assert_eq!(
        (health(&rows, "healthy"), health(&rows, "failing")),
        (2, 0),
        "{rows:?}"
    );
    // A's backfill fails: A is failing until a sync succeeds.
    sqlx::query("UPDATE job_runs SET state = 'failed', last_error = 'boom', finished_at = now() WHERE subject_id = $1")
        .bind(a.id.0)
        .execute(&pool)
        .await
        .unwrap();
    let rows = db::integrations::health_counts(&mut conn).await.unwrap();
    assert_eq!(
        (health(&rows, "healthy"), health(&rows, "failing")),
        (1, 1),
        "{rows:?}"
    );
    drop(conn);
    pool.close().await;

    // The scrape exposes every series, also those at 0.
    let text = app.metrics().await.text;
    for line in [
        r#"integrations{source="pagerduty",health="failing"}"#,
        r#"integrations{source="opsgenie",health="paused"}"#,
        r#"job_backlog{kind="sync_integration"}"#,
        r#"job_backlog_oldest_seconds{kind="sync_integration"}"#,
        r#"job_backlog{kind="run_automation"}"#,
    ] {
        assert!(text.contains(line), "no {line} in:\n{text}");
    }
}

#[tokio::test]
async fn a_failed_request_is_reported_to_sentry_once_with_its_request_id_and_no_secret() {
    let sentry = FakeSentry::start().await;
    let vars = test_env(&[]).await;
    let app = TestApp::spawn_with(config_from(&vars)).await;
    let (s, org) = app.signup("ada@example.com", "Acme").await;
    // A real failure: the table the incident list reads is gone.
    let pool = sqlx::PgPool::connect(&vars["DATABASE_URL"]).await.unwrap();
    sqlx::query("ALTER TABLE incidents RENAME TO incidents_gone")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_insights-api"))
        .env_clear()
        .envs(&vars)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("INSIGHTS_BIND", format!("127.0.0.1:{port}"))
        .env("SENTRY_DSN", sentry.dsn())
        .env("SENTRY_ENVIRONMENT", "test")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "the API did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cookie = "insights_refresh=refresh-cookie-secret-value";
    let r = client
        .get(format!(
            "{base}/api/v1/orgs/{org}/incidents?q=query-secret-value"
        ))
        .bearer_auth(&s.token)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    // Stopped: the events not sent yet are flushed on the way out.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the API did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let events = sentry.events();
    assert_eq!(events.len(), 1, "{:#?}", sentry.envelopes());
    let event = &events[0];
    // The protocol leaves out the default level, `error`.
    assert_eq!(event["level"].as_str().unwrap_or("error"), "error");
    assert_eq!(event["message"], "request failed");
    assert_eq!(event["environment"], "test");
    assert_eq!(event["tags"]["request_id"], request_id.as_str());
    assert_eq!(event["tags"]["route"], "/api/v1/orgs/{org_id}/incidents");
    assert_eq!(event["tags"]["org_id"], org.to_string().as_str());
    assert_eq!(event["tags"]["user_id"], s.user_id.to_string().as_str());
    let sent = sentry.envelopes().concat();
    assert!(sent.contains("incidents"), "the cause is there: {sent}");
    for secret in [
        s.token.as_str(),
        "refresh-cookie-secret-value",
        "query-secret-value",
        vars["INSIGHTS_JWT_SECRET"].as_str(),
        vars["INSIGHTS_SECRET_KEY"].as_str(),
    ] {
        assert!(
            !sent.contains(secret),
            "{secret} was sent to Sentry: {sent}"
        );
    }
}
