//! Query budgets and quotas: a statement past the statement timeout answers 503 and a request past the request
//! timeout 504, both with the error body and never hanging; and the quotas on organizations per owner,
//! sample-data loads per day and export size, each a setting with a clear error body beyond it.

use insights_testing::TestApp;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};
use std::time::Duration;

/// A connection as the owner of the tables that holds `incidents` locked until it is dropped: every
/// statement that reads incidents waits for it, as a slow query's callers would.
async fn lock_incidents(app: &TestApp) -> PgConnection {
    let mut c = PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    c.execute("BEGIN").await.unwrap();
    c.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    c
}

/// `GET` of `path`, failing the test if no answer comes within 20 s (the old code waited forever).
async fn get_within_budget(
    app: &TestApp,
    path: &str,
    token: &str,
) -> insights_testing::TestResponse {
    tokio::time::timeout(Duration::from_secs(20), app.get(path, token))
        .await
        .unwrap_or_else(|_| panic!("GET {path} hung"))
}

#[tokio::test]
async fn a_statement_past_the_statement_timeout_answers_503_with_the_error_body() {
    let app = TestApp::spawn(&[("INSIGHTS_STATEMENT_TIMEOUT_MS", "300")]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let lock = lock_incidents(&app).await;
    let r = get_within_budget(&app, &format!("/api/v1/orgs/{org}/incidents"), &s.token).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.error_code(), "database_timeout");
    drop(lock);
    // The pool is fine afterwards: the next request is answered.
    let r = app
        .get(&format!("/api/v1/orgs/{org}/incidents"), &s.token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_request_past_the_request_timeout_answers_504_with_the_error_body() {
    let app = TestApp::spawn(&[
        ("INSIGHTS_STATEMENT_TIMEOUT_MS", "30000"),
        ("INSIGHTS_REQUEST_TIMEOUT_MS", "300"),
    ])
    .await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let lock = lock_incidents(&app).await;
    let r = get_within_budget(&app, &format!("/api/v1/orgs/{org}/incidents"), &s.token).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{}", r.text);
    assert_eq!(r.error_code(), "request_timeout");
    assert!(r.headers.contains_key("x-request-id"));
    drop(lock);
}

#[tokio::test]
async fn one_person_owns_no_more_organizations_than_the_quota() {
    let app = TestApp::spawn(&[("INSIGHTS_ORGS_PER_USER", "2")]).await;
    let (s, _) = app.signup("o@example.com", "Acme").await;
    let r = app
        .post("/api/v1/orgs", &s.token, json!({ "name": "Second" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Created at once, in parallel: the quota still holds.
    let third = (0..4).map(|n| {
        app.post(
            "/api/v1/orgs",
            &s.token,
            json!({ "name": format!("Third {n}") }),
        )
    });
    for r in futures::future::join_all(third).await {
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        assert_eq!(r.error_code(), "quota_exceeded");
        assert_eq!(r.body["error"]["details"]["quota"], "orgs_per_user");
        assert_eq!(r.body["error"]["details"]["limit"], 2);
    }
    // Someone else still may.
    let (other, _) = app.signup("p@example.com", "Other").await;
    let r = app
        .post("/api/v1/orgs", &other.token, json!({ "name": "Second" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn sample_data_loads_beyond_the_daily_quota_answer_429_with_retry_after() {
    let app = TestApp::spawn(&[("INSIGHTS_SAMPLE_DATA_LOADS_PER_DAY", "1")]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    app.load_sample_data(&s.token, org).await;
    let r = app
        .post(
            &format!("/api/v1/orgs/{org}/sample-data"),
            &s.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.error_code(), "quota_exceeded");
    assert_eq!(
        r.body["error"]["details"]["quota"],
        "sample_data_loads_per_day"
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 3600 && retry <= 24 * 3600, "{retry}");
    // Another organization has its own quota.
    let (other, other_org) = app.signup("p@example.com", "Other").await;
    app.load_sample_data(&other.token, other_org).await;
    app.allow_pending_jobs();
}

#[tokio::test]
async fn an_export_over_the_row_quota_is_refused_whole_and_a_narrower_one_is_served() {
    let app = TestApp::spawn(&[("INSIGHTS_EXPORT_MAX_ROWS", "5")]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    insights_testing::seed_incidents(&app, org, 8, chrono::Duration::hours(1)).await;
    let (app, token) = (&app, &s.token);
    let export = |query: &str| {
        let path = format!("/api/v1/orgs/{org}/incidents/export?format=csv{query}");
        async move { app.get(&path, token).await }
    };
    let r = export("").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.error_code(), "quota_exceeded");
    assert_eq!(r.body["error"]["details"]["quota"], "export_max_rows");
    assert_eq!(r.body["error"]["details"]["limit"], 5);
    // Narrowed to the last five hours and a half: five incidents, served whole.
    let since = (chrono::Utc::now() - chrono::Duration::minutes(330)).to_rfc3339();
    let r = export(&format!("&since={}", urlencoding(&since))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.text.lines().count(), 1 + 5, "{}", r.text);
}

fn urlencoding(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
