//! The client address behind proxies: what the audit log records and what the rate limiter counts.

use insights_testing::{PASSWORD, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A login through two proxies: the client forged a first entry, the edge proxy appended the client's
/// address, and the ingress (the socket peer's own entry on a second header line) the edge's.
fn login_via_proxies(app: &TestApp, forged: &str, client: &str) -> reqwest::RequestBuilder {
    app.raw(Method::POST, "/api/v1/auth/login")
        .header("x-forwarded-for", format!("{forged}, {client}"))
        .header("x-forwarded-for", "10.2.0.1")
        .json(&json!({ "email": "owner@example.com", "password": PASSWORD }))
}

#[tokio::test]
async fn the_audit_and_security_logs_record_the_address_the_outermost_trusted_proxy_saw() {
    let app = TestApp::spawn(&[("INSIGHTS_TRUSTED_PROXY_HOPS", "2")]).await;
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    let r = app
        .send(login_via_proxies(&app, "6.6.6.6", "198.51.100.4"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    // A login is recorded in the user's own security log ...
    let events = app.get("/api/v1/me/security-events", &token).await;
    let login = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "login")
        .unwrap_or_else(|| panic!("no login in {}", events.text));
    assert_eq!(login["ip"], "198.51.100.4", "{login}");
    // ... and an action in the organization in its audit log, each with the address the proxies saw.
    let r = app
        .send(
            app.raw(Method::PATCH, &format!("/api/v1/orgs/{org}"))
                .bearer_auth(&token)
                .header("x-forwarded-for", "6.6.6.7, 198.51.100.9")
                .header("x-forwarded-for", "10.2.0.1")
                .json(&json!({ "name": "Acme Corp" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let log = app
        .get(&format!("/api/v1/orgs/{org}/audit-log"), &token)
        .await;
    let renamed = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "organization_renamed")
        .unwrap_or_else(|| panic!("no rename in {}", log.text));
    assert_eq!(renamed["ip"], "198.51.100.9", "{renamed}");
}

#[tokio::test]
async fn trusted_networks_are_skipped_and_forged_entries_do_not_split_the_rate_limit() {
    let app = TestApp::spawn(&[
        ("INSIGHTS_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_IP", "2"),
    ])
    .await;
    app.signup("owner@example.com", "Acme").await;
    // Each attempt forges a new first entry: the client is still 198.51.100.4, with one budget.
    for forged in ["6.6.6.1", "6.6.6.2"] {
        let r = app
            .send(login_via_proxies(&app, forged, "198.51.100.4"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = app
        .send(login_via_proxies(&app, "6.6.6.3", "198.51.100.4"))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    // Another client behind the same proxies has a budget of its own.
    let r = app
        .send(login_via_proxies(&app, "6.6.6.3", "198.51.100.5"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
