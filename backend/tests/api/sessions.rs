//! Issue 9: device cookies, throttled password changes, sessions across tabs (refresh grace window), session
//! checks on access tokens, and where login events are recorded.

use crate::auth::refresh;
use insights_testing::{PASSWORD, TestApp, TestResponse};
use insights_types::api::{AuditEventOut, Page, SecurityEventOut, TokenOut};
use reqwest::{Method, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::json;
use sqlx::Connection;
use std::time::Duration;

async fn login_with(
    app: &TestApp,
    email: &str,
    password: &str,
    device: Option<&str>,
) -> TestResponse {
    let mut req = app
        .raw(Method::POST, "/api/v1/auth/login")
        .json(&json!({ "email": email, "password": password }));
    if let Some(device) = device {
        req = req.header(header::COOKIE, format!("insights_device={device}"));
    }
    app.send(req).await
}

/// The actions of the user's security log, once it holds `action` (a failed login's entry is written after
/// the answer).
async fn security_log_once_it_has(app: &TestApp, token: &str, action: &str) -> Vec<String> {
    for _ in 0..100 {
        let page: Page<SecurityEventOut> =
            app.get("/api/v1/me/security-events", token).await.json();
        let actions: Vec<String> = page.items.into_iter().map(|e| e.action).collect();
        if actions.iter().any(|a| a == action) {
            return actions;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{action} was never recorded");
}

/// The device cookie an answer sets.
fn device_cookie(r: &TestResponse) -> String {
    let set = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("insights_device="))
        .unwrap_or_else(|| panic!("no device cookie: {:?}", r.headers));
    for part in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/auth/login",
    ] {
        assert!(set.contains(part), "{set}");
    }
    set["insights_device=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_browser_with_a_device_cookie_logs_in_while_failures_from_elsewhere_lock_the_account() {
    let app = TestApp::spawn(&[("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", "3")]).await;
    app.signup("owner@example.com", "Acme").await;
    app.signup("other@example.com", "Other").await;
    let ok = login_with(&app, "owner@example.com", PASSWORD, None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let device = device_cookie(&ok);
    let others_device = device_cookie(&login_with(&app, "other@example.com", PASSWORD, None).await);

    // An attacker elsewhere exhausts the account's limit.
    for _ in 0..3 {
        let r = login_with(&app, "owner@example.com", "guess guess guess", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let locked = login_with(&app, "owner@example.com", PASSWORD, None).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text
    );
    // Another account's device cookie, or a forged one, is "elsewhere" too.
    for forged in [others_device.as_str(), "abc.0123", &format!("{device}0")] {
        let r = login_with(&app, "owner@example.com", PASSWORD, Some(forged)).await;
        assert_eq!(
            r.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{forged}: {}",
            r.text
        );
    }
    // The owner's known browser is not locked out.
    let owner = login_with(&app, "owner@example.com", PASSWORD, Some(&device)).await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text);
    assert_ne!(device_cookie(&owner), device, "a new nonce on every login");
}

#[tokio::test]
async fn a_device_cookie_that_keeps_failing_is_locked_itself() {
    let app = TestApp::spawn(&[("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", "2")]).await;
    app.signup("owner@example.com", "Acme").await;
    let device = device_cookie(&login_with(&app, "owner@example.com", PASSWORD, None).await);
    for _ in 0..2 {
        let r = login_with(
            &app,
            "owner@example.com",
            "guess guess guess",
            Some(&device),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = login_with(&app, "owner@example.com", PASSWORD, Some(&device)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // Its failures were its own: the account's bucket is untouched.
    let r = login_with(&app, "owner@example.com", PASSWORD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn changing_the_password_is_rate_limited_like_login_before_hashing() {
    let app = TestApp::spawn(&[("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", "3")]).await;
    let (s, _) = app.signup("p@example.com", "Acme").await;
    let change = |current: &'static str| {
        let app = &app;
        let token = s.token.clone();
        async move {
            app.post(
                "/api/v1/me/password",
                &token,
                json!({ "current_password": current, "new_password": "a brand new password" }),
            )
            .await
        }
    };
    let answers = futures::future::join_all((0..8).map(|_| change("nope nope nope"))).await;
    let count = |status| answers.iter().filter(|r| r.status == status).count();
    assert_eq!(count(StatusCode::UNPROCESSABLE_ENTITY), 3, "{answers:?}");
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 5, "{answers:?}");
    // Locked for the window, even with the right password.
    assert_eq!(change(PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_access_token_stops_working_at_logout() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("l@example.com", "Acme").await;
    // Cached as live first, so the logout must overrule the cache.
    assert_eq!(app.get("/api/v1/me", &s.token).await.status, StatusCode::OK);
    let out = app
        .send(app.raw(Method::POST, "/api/v1/auth/logout").header(
            header::COOKIE,
            format!("insights_refresh={}", s.refresh.as_ref().unwrap()),
        ))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = app.get("/api/v1/me", &s.token).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text);
    assert_eq!(me.error_code(), "session_ended");
}

#[tokio::test]
async fn two_tabs_refreshing_with_the_same_cookie_at_once_both_get_the_same_successor() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("tabs@example.com", "Acme").await;
    let cookie = s.refresh.unwrap();
    let (a, b) = tokio::join!(refresh(&app, &cookie), refresh(&app, &cookie));
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    let next = a.refresh_cookie().unwrap();
    assert_eq!(b.refresh_cookie().unwrap(), next);
    assert_ne!(next, cookie);
    for r in [&a, &b] {
        let t: TokenOut = r.json();
        assert_eq!(
            app.get("/api/v1/me", &t.access_token).await.status,
            StatusCode::OK
        );
    }
    // The session goes on with the successor.
    let third = refresh(&app, &next).await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.text);
}

#[tokio::test]
async fn reusing_the_previous_token_after_the_grace_window_revokes_the_session() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("late@example.com", "Acme").await;
    let first = s.refresh.unwrap();
    let r = refresh(&app, &first).await;
    let second = r.refresh_cookie().unwrap();
    let access: TokenOut = r.json();
    // The first token was used longer ago than the window (30 s by default).
    sqlx::query("UPDATE refresh_tokens SET used_at = used_at - interval '31 seconds' WHERE used_at IS NOT NULL")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let reuse = refresh(&app, &first).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED, "{}", reuse.text);
    assert_eq!(reuse.error_code(), "refresh_token_reused");
    assert_eq!(
        refresh(&app, &second).await.status,
        StatusCode::UNAUTHORIZED
    );
    let me = app.get("/api/v1/me", &access.access_token).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text);
}

#[tokio::test]
async fn reusing_an_older_token_within_the_grace_window_revokes_the_session() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("old@example.com", "Acme").await;
    let first = s.refresh.unwrap();
    let second = refresh(&app, &first).await.refresh_cookie().unwrap();
    let third = refresh(&app, &second).await.refresh_cookie().unwrap();
    // `first` is not the immediately previous token any more: its successor has been used.
    let reuse = refresh(&app, &first).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED, "{}", reuse.text);
    assert_eq!(reuse.error_code(), "refresh_token_reused");
    assert_eq!(refresh(&app, &third).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_failed_login_answers_without_waiting_for_its_log_entry() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("slow@example.com", "Acme").await;
    // Nothing can be written to the logs while this transaction holds them.
    let mut owner = sqlx::PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    let mut lock = owner.begin().await.unwrap();
    sqlx::query("LOCK TABLE audit_events, user_security_events IN EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        login_with(&app, "slow@example.com", "guess guess guess", None),
    )
    .await
    .expect("a failed login must not wait for its log entry");
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    lock.rollback().await.unwrap();
    // Written once the log is free again.
    security_log_once_it_has(&app, &s.token, "login_failed").await;
}

#[tokio::test]
async fn logins_go_to_the_users_own_security_log_not_to_their_organizations_audit_logs() {
    let app = TestApp::spawn(&[]).await;
    let (s, org_a) = app.signup("two@example.com", "Org A").await;
    let org_b = app
        .post("/api/v1/orgs", &s.token, json!({ "name": "Org B" }))
        .await;
    assert_eq!(org_b.status, StatusCode::CREATED, "{}", org_b.text);
    let org_b = org_b.body["id"].as_str().unwrap().to_owned();
    let (someone_else, _) = app.signup("else@example.com", "Elsewhere").await;

    assert_eq!(
        login_with(&app, "two@example.com", "guess guess guess", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let ok = login_with(&app, "two@example.com", PASSWORD, None).await;
    assert_eq!(ok.status, StatusCode::OK);
    let token = ok.body["access_token"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/api/v1/me/password",
            &token,
            json!({ "current_password": PASSWORD, "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);

    for org in [org_a.to_string(), org_b] {
        let log: Page<AuditEventOut> = app
            .get(&format!("/api/v1/orgs/{org}/audit-log"), &token)
            .await
            .json();
        let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
        for personal in ["login", "login_failed", "password_changed"] {
            assert!(!actions.contains(&personal), "{org}: {actions:?}");
        }
    }
    let mine = security_log_once_it_has(&app, &token, "login_failed").await;
    for action in ["login", "login_failed", "password_changed"] {
        assert!(mine.iter().any(|a| a == action), "{mine:?}");
    }
    let page: Page<SecurityEventOut> = app.get("/api/v1/me/security-events", &token).await.json();
    assert_eq!(page.items[0].ip.as_deref(), Some("127.0.0.1"));
    // Nobody else sees them.
    let theirs: Page<SecurityEventOut> = app
        .get("/api/v1/me/security-events", &someone_else.token)
        .await
        .json();
    assert!(theirs.items.is_empty(), "{:?}", theirs.items);
}

#[tokio::test]
async fn an_unreachable_session_cache_falls_back_to_postgresql_within_its_budget() {
    let redis = insights_testing::services::OwnRedis::start();
    let app = TestApp::spawn(&[("REDIS_URL", &redis.url)]).await;
    let (session, _) = app.signup("cacheless@example.com", "Cacheless").await;
    // Redis goes away: the session check asks PostgreSQL instead of waiting for Redis's client to give up (it
    // used to hold every authenticated request until the request timeout answered 504).
    drop(redis);
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let me = app
            .request(Method::GET, "/api/v1/me", Some(&session.token), None)
            .await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
