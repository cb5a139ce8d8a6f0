//! Integrations through the API: connecting checks the credential against the source (a fake PagerDuty that
//! speaks its wire protocol; wiremock for Opsgenie), stores it encrypted and queues the backfill; settings,
//! sync now, cancel, disconnect; and the webhook receiver's authentication and deduplication.

use hmac::{Hmac, Mac};
use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_testing::{Session, TestApp};
use insights_types::OrgId;
use insights_types::api::{
    AuditEventOut, IntegrationOut, IntegrationStatus, JobRunOut, JobState, Page, SyncMode,
    SyncRunOut,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PD_TOKEN: &str = "u+pd-test-token-123";
const OG_KEY: &str = "og-key-0123456789";

struct Env {
    app: TestApp,
    pagerduty: FakePagerDuty,
    _opsgenie: MockServer,
}

async fn env() -> Env {
    let pagerduty =
        FakePagerDuty::start(PD_TOKEN, History::recent(10, chrono::Duration::hours(1))).await;
    // An empty Opsgenie account: the key check, and what an import reads.
    let opsgenie = MockServer::start().await;
    for (at, data) in [
        ("/v2/alerts", json!([])),
        ("/v2/alerts/count", json!({ "count": 0 })),
        ("/v1/incidents/", json!([])),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .and(header(
                "authorization",
                format!("GenieKey {OG_KEY}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({ "data": data, "paging": {}, "took": 0.01, "requestId": "r" }),
            ))
            .mount(&opsgenie)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({ "message": "Key format is not valid!", "took": 0.0, "requestId": "r" }),
        ))
        .mount(&opsgenie)
        .await;
    let og_url = opsgenie.uri();
    let app = TestApp::spawn(&[
        ("INSIGHTS_PAGERDUTY_API_URL", &pagerduty.url),
        ("INSIGHTS_OPSGENIE_API_URL", &og_url),
        ("INSIGHTS_SOURCE_MAX_ATTEMPTS", "2"),
        ("INSIGHTS_SOURCE_BACKOFF_MS", "10"),
        ("INSIGHTS_SOURCE_TIMEOUT_SECS", "2"),
    ])
    .await;
    Env {
        app,
        pagerduty,
        _opsgenie: opsgenie,
    }
}

fn pagerduty_body(token: &str) -> Value {
    json!({
        "kind": "pagerduty", "name": "PagerDuty (prod)",
        "credentials": { "api_token": token },
        "options": { "since": "2024-01-01T00:00:00Z", "service_ids": ["PSVC01"] },
    })
}

async fn connect(app: &TestApp, s: &Session, org: OrgId, body: Value) -> IntegrationOut {
    let r = app
        .post(&format!("/api/v1/orgs/{org}/integrations"), &s.token, body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

async fn jobs(app: &TestApp, s: &Session, org: OrgId) -> Vec<JobRunOut> {
    app.jobs(&s.token, org).await
}

/// Runs what the test queued (the imports, the webhook deliveries, a deletion): starts the worker and waits
/// for every job of `org` to end; none may fail.
async fn run_queued(e: &mut Env, s: &Session, org: OrgId) {
    e.app.start_worker().await;
    for job in e.app.wait_for_jobs(&s.token, org).await {
        assert_ne!(job.state, JobState::Failed, "{job:?}");
    }
}

#[tokio::test]
async fn connecting_pagerduty_checks_the_token_stores_it_encrypted_and_queues_the_backfill() {
    let mut e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let r = e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/integrations"),
            &s.token,
            pagerduty_body(PD_TOKEN),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.text.contains(PD_TOKEN), "the token never comes back");
    let i: IntegrationOut = r.json();
    assert_eq!(e.pagerduty.requests(), 1, "one call checks the token");
    assert_eq!(i.name, "PagerDuty (prod)");
    assert_eq!(i.status, IntegrationStatus::Backfilling);
    let run = i.current_run.clone().expect("the backfill");
    assert_eq!(
        (run.mode, run.state),
        (SyncMode::Backfill, JobState::Queued)
    );
    assert!(
        i.webhook
            .url
            .ends_with(&format!("/hooks/pagerduty/{}", i.id))
    );
    assert!(!i.webhook.secret_set && i.webhook.secret.is_none());
    assert_eq!(i.sync_interval_minutes, 15);

    // Stored sealed: the bytes do not hold the token, the key opens them.
    use secrecy::ExposeSecret;
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(e.app.config.database.url.expose_secret())
        .await
        .unwrap();
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT credentials FROM integrations WHERE id = $1")
        .bind(i.id.0)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(
        !sealed
            .windows(PD_TOKEN.len())
            .any(|w| w == PD_TOKEN.as_bytes())
    );
    let opened = insights_core::sync::open_credential(&e.app.state.secrets, i.id, &sealed).unwrap();
    assert_eq!(opened.expose_secret(), PD_TOKEN);

    // The job, the audit entry, and the list (readable by every member).
    let jobs = jobs(&e.app, &s, org).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].kind.as_str(), jobs[0].id),
        ("sync_integration", run.id)
    );
    let audit: Page<AuditEventOut> = e
        .app
        .get(&format!("/api/v1/orgs/{org}/audit-log"), &s.token)
        .await
        .json();
    assert_eq!(audit.items[0].action, "integration_created");
    let list: Page<IntegrationOut> = e
        .app
        .get(&format!("/api/v1/orgs/{org}/integrations"), &s.token)
        .await
        .json();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].id, i.id);

    // And the backfill runs.
    e.app.start_worker().await;
    let done = e.app.wait_for_job(&s.token, org, run.id).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
}

#[tokio::test]
async fn a_refused_credential_is_a_422_that_says_why_and_nothing_is_stored() {
    let e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let r = e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/integrations"),
            &s.token,
            pagerduty_body("wrong-token-123"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let field = &r.body["error"]["details"]["fields"][0];
    assert_eq!(field["field"], "credentials.api_token");
    assert!(
        field["message"]
            .as_str()
            .unwrap()
            .contains("API token is not valid"),
        "{field}"
    );
    // Opsgenie's refusal names the key and hints at the region.
    let r = e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/integrations"),
            &s.token,
            json!({ "kind": "opsgenie", "name": "OG", "credentials": { "api_key": "bad-key-0000" }, "region": "us" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.body["error"]["details"]["fields"][0]["field"],
        "credentials.api_key"
    );
    let list: Page<IntegrationOut> = e
        .app
        .get(&format!("/api/v1/orgs/{org}/integrations"), &s.token)
        .await
        .json();
    assert!(list.items.is_empty());
    assert!(jobs(&e.app, &s, org).await.is_empty());
}

#[tokio::test]
async fn an_unreachable_source_is_a_502_and_nothing_is_stored() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{closed}");
    let app = TestApp::spawn(&[
        ("INSIGHTS_PAGERDUTY_API_URL", &url),
        ("INSIGHTS_SOURCE_MAX_ATTEMPTS", "2"),
        ("INSIGHTS_SOURCE_BACKOFF_MS", "10"),
    ])
    .await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let r = app
        .post(
            &format!("/api/v1/orgs/{org}/integrations"),
            &s.token,
            pagerduty_body(PD_TOKEN),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.text);
    assert_eq!(r.error_code(), "source_unavailable");
    assert!(jobs(&app, &s, org).await.is_empty());
}

#[tokio::test]
async fn invalid_settings_are_field_errors_naming_each_field() {
    let e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let cases = [
        (
            json!({ "kind": "opsgenie", "name": "OG", "credentials": { "api_key": OG_KEY } }),
            vec!["region"],
        ),
        (
            json!({ "kind": "servicenow", "name": "x", "credentials": {} }),
            vec!["kind"],
        ),
        (
            json!({ "kind": "pagerduty", "name": " ", "credentials": { "api_token": "short" },
                    "options": { "since": "2999-01-01T00:00:00Z", "service_ids": ["ok1", "not ok!"] },
                    "sync_interval_minutes": 0 }),
            vec![
                "options.since",
                "options.service_ids[1]",
                "name",
                "credentials.api_token",
                "sync_interval_minutes",
            ],
        ),
        (
            json!({ "kind": "pagerduty", "name": "x", "credentials": { "api_token": PD_TOKEN, "extra": 1 } }),
            vec!["credentials.extra"],
        ),
        (
            json!({ "kind": "opsgenie", "name": "x", "credentials": { "api_key": OG_KEY }, "region": "apac" }),
            vec!["region"],
        ),
    ];
    for (body, fields) in cases {
        let r = e
            .app
            .post(
                &format!("/api/v1/orgs/{org}/integrations"),
                &s.token,
                body.clone(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        let got: Vec<&str> = r.body["error"]["details"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(got, fields, "{body}");
    }
    assert_eq!(
        e.pagerduty.requests(),
        0,
        "invalid input is never sent to the source"
    );
}

#[tokio::test]
async fn opsgenie_shows_its_webhook_secret_once_and_a_rotated_secret_replaces_it() {
    let mut e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let i = connect(
        &e.app,
        &s,
        org,
        json!({ "kind": "opsgenie", "name": "Opsgenie EU", "credentials": { "api_key": OG_KEY }, "region": "eu",
                "options": { "query": "priority:(P1 OR P2)" } }),
    )
    .await;
    let first = i.webhook.secret.clone().expect("shown on creation");
    assert_eq!(
        i.webhook.header.as_deref(),
        Some("X-Insights-Webhook-Secret")
    );
    assert!(i.webhook.secret_set);
    let again: IntegrationOut = e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/integrations/{}", i.id),
            &s.token,
        )
        .await
        .json();
    assert!(again.webhook.secret.is_none(), "never shown again");

    let hook = format!("/hooks/opsgenie/{}", i.id);
    let deliver = |secret: String| {
        let req = e
            .app
            .raw(Method::POST, &hook)
            .header("x-insights-webhook-secret", secret)
            .header("content-type", "application/json")
            .body(r#"{"action":"Create","alert":{"alertId":"a1","message":"Disk full","createdAt":1700000000000}}"#);
        e.app.send(req)
    };
    assert_eq!(deliver(first.clone()).await.status, StatusCode::ACCEPTED);
    let r = e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/integrations/{}/webhook-secret", i.id),
            &s.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rotated: IntegrationOut = r.json();
    let second = rotated.webhook.secret.expect("shown when rotated");
    assert_ne!(first, second);
    let r = deliver(first).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "bad_signature");
    // The same body again is a redelivery (no X-Webhook-Id: the digest of the body decides).
    assert_eq!(deliver(second).await.status, StatusCode::OK);
    run_queued(&mut e, &s, org).await;
}

#[tokio::test]
async fn settings_change_and_a_new_credential_is_checked_before_it_replaces_the_old() {
    let mut e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let i = connect(&e.app, &s, org, pagerduty_body(PD_TOKEN)).await;
    let url = format!("/api/v1/orgs/{org}/integrations/{}", i.id);
    let r = e
        .app
        .patch(
            &url,
            &s.token,
            json!({ "name": "PD", "sync_interval_minutes": 60, "webhook_secret": "pd-signing-secret",
                    "options": { "team_ids": ["PTEAM1"] } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let i2: IntegrationOut = r.json();
    assert_eq!((i2.name.as_str(), i2.sync_interval_minutes), ("PD", 60));
    assert!(i2.webhook.secret_set);
    assert_eq!(
        serde_json::to_value(&i2.options).unwrap(),
        json!({ "team_ids": ["PTEAM1"] })
    );
    // A refused token changes nothing.
    let r = e
        .app
        .patch(
            &url,
            &s.token,
            json!({ "credentials": { "api_token": "revoked-token-1" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.body["error"]["details"]["fields"][0]["field"],
        "credentials.api_token"
    );
    // Fields of the other kind are refused.
    for body in [
        json!({ "region": "eu" }),
        json!({ "credentials": { "api_key": OG_KEY } }),
        json!({ "options": { "query": "x" } }),
        json!({ "sync_interval_minutes": 5000 }),
    ] {
        let r = e.app.patch(&url, &s.token, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
    }
    // Pausing stops the schedule.
    let paused: IntegrationOut = e
        .app
        .patch(&url, &s.token, json!({ "paused": true }))
        .await
        .json();
    assert_eq!(paused.status, IntegrationStatus::Paused);
    assert!(paused.next_sync_at.is_none());
    let resumed: IntegrationOut = e
        .app
        .patch(&url, &s.token, json!({ "paused": false }))
        .await
        .json();
    assert_ne!(resumed.status, IntegrationStatus::Paused);
    assert!(resumed.next_sync_at.is_some());
    run_queued(&mut e, &s, org).await;
}

#[tokio::test]
async fn sync_now_never_doubles_a_sync_and_cancel_stops_a_queued_one() {
    let mut e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let i = connect(&e.app, &s, org, pagerduty_body(PD_TOKEN)).await;
    let base = format!("/api/v1/orgs/{org}/integrations/{}", i.id);
    let backfill = i.current_run.unwrap();
    let r = e
        .app
        .post(&format!("{base}/sync"), &s.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let same: SyncRunOut = r.json();
    assert_eq!(
        same.id, backfill.id,
        "the queued backfill, not a second sync"
    );

    let r = e
        .app
        .post(&format!("{base}/cancel"), &s.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let cancelled: SyncRunOut = r.json();
    assert_eq!(
        (cancelled.id, cancelled.state),
        (backfill.id, JobState::Cancelled)
    );
    let r = e
        .app
        .post(&format!("{base}/cancel"), &s.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "not_running");

    // Never synced: "sync now" imports the history again.
    let r = e
        .app
        .post(&format!("{base}/sync"), &s.token, json!({}))
        .await;
    let next: SyncRunOut = r.json();
    assert_ne!(next.id, backfill.id);
    assert_eq!(
        (next.mode, next.state),
        (SyncMode::Backfill, JobState::Queued)
    );
    let runs: Page<SyncRunOut> = e.app.get(&format!("{base}/runs"), &s.token).await.json();
    assert_eq!(
        runs.items.iter().map(|r| r.state).collect::<Vec<_>>(),
        vec![JobState::Queued, JobState::Cancelled]
    );
    let r = e
        .app
        .post(&format!("{base}/sync?mode=everything"), &s.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The new backfill runs.
    run_queued(&mut e, &s, org).await;
    let runs: Page<SyncRunOut> = e.app.get(&format!("{base}/runs"), &s.token).await.json();
    assert_eq!(
        runs.items.iter().map(|r| r.state).collect::<Vec<_>>(),
        vec![JobState::Succeeded, JobState::Cancelled]
    );
}

#[tokio::test]
async fn disconnecting_keeps_the_imported_incidents_or_deletes_them_in_the_background() {
    let mut e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let keep = connect(&e.app, &s, org, pagerduty_body(PD_TOKEN)).await;
    let purge = connect(&e.app, &s, org, pagerduty_body(PD_TOKEN)).await;
    let r = e
        .app
        .delete(
            &format!("/api/v1/orgs/{org}/integrations/{}", keep.id),
            &s.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the choice is required");
    let r = e
        .app
        .delete(
            &format!("/api/v1/orgs/{org}/integrations/{}?data=keep", keep.id),
            &s.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let job: JobRunOut = r.json();
    assert_eq!(job.kind, "delete_integration");
    let i: IntegrationOut = e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/integrations/{}", keep.id),
            &s.token,
        )
        .await
        .json();
    assert_eq!(i.status, IntegrationStatus::Deleting, "stopped at once");
    let r = e
        .app
        .delete(
            &format!("/api/v1/orgs/{org}/integrations/{}?data=delete", purge.id),
            &s.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let job: JobRunOut = r.json();
    assert_eq!(job.kind, "delete_integration");
    let i: IntegrationOut = e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/integrations/{}", purge.id),
            &s.token,
        )
        .await
        .json();
    assert_eq!(i.status, IntegrationStatus::Deleting);
    assert_eq!(
        i.current_run.unwrap().state,
        JobState::Cancelled,
        "its queued backfill was cancelled"
    );
    let r = e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/integrations/{}/sync", purge.id),
            &s.token,
            json!({}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "no syncs while it is being deleted"
    );
    // In the background: both deletions run, and the integrations are gone.
    run_queued(&mut e, &s, org).await;
    for id in [keep.id, purge.id] {
        let r = e
            .app
            .get(&format!("/api/v1/orgs/{org}/integrations/{id}"), &s.token)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Found by the fuzz step (scripts/fuzz): PostgreSQL's jsonb stores no NUL character, and such a delivery was a
/// 500 that the source would retry.
#[tokio::test]
async fn a_webhook_holding_a_nul_character_is_refused_with_400_and_stores_nothing() {
    let e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let i = connect(
        &e.app,
        &s,
        org,
        json!({ "kind": "opsgenie", "name": "Opsgenie", "credentials": { "api_key": OG_KEY }, "region": "eu" }),
    )
    .await;
    let req = e
        .app
        .raw(Method::POST, &format!("/hooks/opsgenie/{}", i.id))
        .header("x-insights-webhook-secret", i.webhook.secret.unwrap())
        .header("content-type", "application/json")
        .body(r#"{"action":"Create","alert":{"alertId":"a1","message":"Disk\u0000full"}}"#);
    let r = e.app.send(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_code(), "malformed_json");
    // The import the connection queued is not what this test is about.
    e.app.allow_pending_jobs();
}

#[tokio::test]
async fn pagerduty_webhooks_are_verified_deduplicated_and_queued() {
    let mut e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let i = connect(&e.app, &s, org, pagerduty_body(PD_TOKEN)).await;
    let hook = format!("/hooks/pagerduty/{}", i.id);
    let body = br#"{"event":{"id":"01","event_type":"incident.triggered","resource_type":"incident","occurred_at":"2026-11-01T10:00:00Z","data":{"id":"PX1","type":"incident","title":"Disk full","status":"triggered","number":7}}}"#;
    let post = |sig: Option<String>, id: &str, body: &'static [u8], to: &str| {
        let mut req = e
            .app
            .raw(Method::POST, to)
            .header("content-type", "application/json")
            .header("x-webhook-id", id)
            .body(body);
        if let Some(sig) = sig {
            req = req.header("x-pagerduty-signature", sig);
        }
        e.app.send(req)
    };
    // No signing secret pasted yet: refused with a reason.
    let r = post(Some(sign("whatever", body)), "d1", body, &hook).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "webhook_secret_missing");
    e.app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/{}", i.id),
            &s.token,
            json!({ "webhook_secret": "pd-signing-secret" }),
        )
        .await;
    // A rotation: two signatures, the second one ours.
    let both = format!("v1=deadbeef,{}", sign("pd-signing-secret", body));
    let r = post(Some(both.clone()), "d1", body, &hook).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["status"], "accepted");
    let r = post(Some(both), "d1", body, &hook).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    for (sig, want) in [
        (Some(sign("another-secret", body)), StatusCode::UNAUTHORIZED),
        (None, StatusCode::UNAUTHORIZED),
        (Some("v1=zz".to_owned()), StatusCode::UNAUTHORIZED),
    ] {
        assert_eq!(post(sig, "d2", body, &hook).await.status, want);
    }
    let garbage: &'static [u8] = b"not json";
    let r = post(
        Some(sign("pd-signing-secret", garbage)),
        "d3",
        garbage,
        &hook,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let unknown = format!("/hooks/pagerduty/{}", uuid::Uuid::new_v4());
    assert_eq!(
        post(None, "d4", body, &unknown).await.status,
        StatusCode::NOT_FOUND
    );
    let wrong_kind = format!("/hooks/opsgenie/{}", i.id);
    assert_eq!(
        post(None, "d5", body, &wrong_kind).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(None, "d6", body, &format!("/hooks/jira/{}", i.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = e.app.request(Method::GET, &hook, None, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    // Exactly one delivery became a job.
    let webhook_jobs: Vec<_> = jobs(&e.app, &s, org)
        .await
        .into_iter()
        .filter(|j| j.kind == "process_webhook")
        .collect();
    assert_eq!(webhook_jobs.len(), 1);
    run_queued(&mut e, &s, org).await;
}

#[tokio::test]
async fn the_pagerduty_webhook_can_be_created_in_pagerduty_in_one_step_with_a_key_that_may_write() {
    let mut e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let i = connect(&e.app, &s, org, pagerduty_body(PD_TOKEN)).await;
    let path = format!(
        "/api/v1/orgs/{org}/integrations/{}/webhook-subscription",
        i.id
    );
    // A read-only key: PagerDuty refuses, and the answer says what to do instead.
    e.pagerduty.set_read_only(true);
    let r = e.app.post(&path, &s.token, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let field = &r.body["error"]["details"]["fields"][0];
    assert_eq!(field["field"], "webhook");
    assert!(
        field["message"]
            .as_str()
            .unwrap()
            .contains("paste its signing secret"),
        "{field}"
    );
    // A key that may write: the subscription points at this integration's URL, and its secret is kept.
    e.pagerduty.set_read_only(false);
    let r = e.app.post(&path, &s.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out: IntegrationOut = r.json();
    assert!(out.webhook.secret_set);
    assert!(
        !r.text.contains("fake-signing-secret"),
        "the secret is never shown"
    );
    let subs = e.pagerduty.subscriptions();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].0, out.webhook.url);
    // PagerDuty's deliveries, signed with that secret, are accepted.
    let body = br#"{"event":{"id":"w1","event_type":"incident.triggered","resource_type":"incident","occurred_at":"2026-11-01T10:00:00Z","data":{"id":"PX9","type":"incident","title":"Disk full","status":"triggered"}}}"#;
    let r = e
        .app
        .send(
            e.app
                .raw(Method::POST, &format!("/hooks/pagerduty/{}", i.id))
                .header("content-type", "application/json")
                .header("x-pagerduty-signature", sign(&subs[0].1, body))
                .body(&body[..]),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    // Opsgenie has no such call.
    let og = connect(
        &e.app,
        &s,
        org,
        json!({ "kind": "opsgenie", "name": "OG", "credentials": { "api_key": OG_KEY }, "region": "us" }),
    )
    .await;
    let r = e
        .app
        .post(
            &format!(
                "/api/v1/orgs/{org}/integrations/{}/webhook-subscription",
                og.id
            ),
            &s.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "added_in_opsgenie");
    run_queued(&mut e, &s, org).await;
}

#[tokio::test]
async fn webhook_deliveries_beyond_the_integrations_limit_per_minute_answer_429_with_retry_after() {
    let pagerduty =
        FakePagerDuty::start(PD_TOKEN, History::recent(0, chrono::Duration::hours(1))).await;
    let app = TestApp::spawn(&[
        ("INSIGHTS_PAGERDUTY_API_URL", &pagerduty.url),
        ("INSIGHTS_WEBHOOK_DELIVERIES_PER_MINUTE", "3"),
    ])
    .await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let (storm, calm) = (
        connect(&app, &s, org, pagerduty_body(PD_TOKEN)).await,
        connect(&app, &s, org, pagerduty_body(PD_TOKEN)).await,
    );
    for i in [&storm, &calm] {
        app.patch(
            &format!("/api/v1/orgs/{org}/integrations/{}", i.id),
            &s.token,
            json!({ "webhook_secret": "pd-signing-secret" }),
        )
        .await;
    }
    let deliver = |to: insights_types::IntegrationId, n: u32| {
        let body = format!(
            r#"{{"event":{{"id":"e{n}","event_type":"incident.triggered","resource_type":"incident","occurred_at":"2026-11-01T10:00:00Z","data":{{"id":"P{n}","type":"incident","title":"Disk full","status":"triggered","number":{n}}}}}}}"#
        );
        let req = app
            .raw(Method::POST, &format!("/hooks/pagerduty/{to}"))
            .header("content-type", "application/json")
            .header(
                "x-pagerduty-signature",
                sign("pd-signing-secret", body.as_bytes()),
            )
            .body(body);
        app.send(req)
    };
    for n in 0..3 {
        assert_eq!(deliver(storm.id, n).await.status, StatusCode::ACCEPTED);
    }
    let r = deliver(storm.id, 3).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.error_code(), "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Unsigned deliveries do not use up the budget: they are refused before counting.
    let forged = app
        .raw(Method::POST, &format!("/hooks/pagerduty/{}", calm.id))
        .header("content-type", "application/json")
        .header("x-pagerduty-signature", "v1=00")
        .body("{}");
    for _ in 0..5 {
        assert_eq!(
            app.send(forged.try_clone().unwrap()).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // The other integration has its own budget.
    assert_eq!(deliver(calm.id, 10).await.status, StatusCode::ACCEPTED);
    app.allow_pending_jobs();
}

#[tokio::test]
async fn listing_integrations_reads_a_kept_count_instead_of_counting_incidents() {
    let mut e = env().await;
    let (s, org) = e.app.signup("o@example.com", "Acme").await;
    let i = connect(&e.app, &s, org, pagerduty_body(PD_TOKEN)).await;
    run_queued(&mut e, &s, org).await;
    use secrecy::ExposeSecret;
    use sqlx::{Connection, Executor};
    let mut c = sqlx::PgConnection::connect(e.app.config.database.url.expose_secret())
        .await
        .unwrap();
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM incidents WHERE integration_id = $1")
            .bind(i.id.0)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert!(stored > 0);
    // While incidents cannot be read at all, the list still answers at once, with the count.
    c.execute("BEGIN; LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let list = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        e.app
            .get(&format!("/api/v1/orgs/{org}/integrations"), &s.token),
    )
    .await
    .expect("the list waited for the incidents table");
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let page: Page<IntegrationOut> = list.json();
    assert_eq!(page.items[0].incidents, stored);
    c.execute("ROLLBACK").await.unwrap();
    // The count follows deletes (and moves) in the same transaction.
    sqlx::query("DELETE FROM incidents WHERE id = (SELECT id FROM incidents WHERE integration_id = $1 LIMIT 1)")
        .bind(i.id.0)
        .execute(&mut c)
        .await
        .unwrap();
    let page: Page<IntegrationOut> = e
        .app
        .get(&format!("/api/v1/orgs/{org}/integrations"), &s.token)
        .await
        .json();
    assert_eq!(page.items[0].incidents, stored - 1);
}
