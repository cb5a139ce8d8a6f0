//! Email ownership and recovery through the API: verification gates invitations into other organizations,
//! forgot-password answers the same for every address, reset links work once and end every session. (The
//! emails themselves are sent by the worker: see the worker's tests and the browser tests.)

use insights_core::accounts::{self, Purpose};
use insights_testing::{PASSWORD, TestApp, token_of};
use insights_types::Role;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

const SMTP: &[(&str, &str)] = &[
    // Nothing is sent in these tests (no worker runs): the API only records the email jobs.
    ("INSIGHTS_SMTP_URL", "smtp://127.0.0.1:9"),
    ("INSIGHTS_SMTP_FROM", "insights@example.com"),
];

async fn email_verified(app: &TestApp, token: &str) -> Value {
    let me: Value = app.get("/api/v1/me", token).await.json();
    me["email_verified"].clone()
}

/// A link of `purpose` for `user`, as the email job would send it.
async fn link_token(app: &TestApp, user: insights_types::UserId, purpose: Purpose) -> String {
    let mut conn = app.state.db.pool().acquire().await.unwrap();
    accounts::issue(&mut conn, user, purpose, Duration::from_secs(600), None)
        .await
        .unwrap()
        .1
}

/// The token of a reset link for `email`, as `insights-api reset-link` prints it.
async fn reset_token(app: &TestApp, email: &str) -> String {
    let link = accounts::reset_link(
        &app.state.db,
        &app.config.server.public_url,
        email,
        app.config.auth.password_reset_ttl,
    )
    .await
    .unwrap();
    link.split_once("/reset-password#token=")
        .unwrap()
        .1
        .to_owned()
}

#[tokio::test]
async fn an_unverified_account_uses_its_own_organization_but_joins_another_only_once_verified() {
    let app = TestApp::spawn(SMTP).await;
    app.allow_pending_jobs();
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let (bob, _) = app.signup("bob@example.com", "Bob's").await;
    assert_eq!(email_verified(&app, &bob.token).await, json!(false));
    // Its own organization works (the owner is unverified too, and invites).
    let inv = app
        .invite(&owner, org, "bob@example.com", Role::Admin)
        .await;
    let accept = async |who: &insights_testing::Session| {
        app.post(
            "/api/v1/invitations/accept",
            &who.token,
            json!({ "token": token_of(&inv) }),
        )
        .await
    };
    let r = accept(&bob).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.error_code(), "email_unverified");

    let token = link_token(&app, bob.user_id, Purpose::VerifyEmail).await;
    let r = app
        .post_anonymous("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(email_verified(&app, &bob.token).await, json!(true));
    assert_eq!(accept(&bob).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_verification_link_works_once_and_not_as_a_reset_link() {
    let app = TestApp::spawn(SMTP).await;
    app.allow_pending_jobs();
    let (ada, _) = app.signup("ada@example.com", "Acme").await;
    let token = link_token(&app, ada.user_id, Purpose::VerifyEmail).await;
    let reset = app
        .post_anonymous(
            "/api/v1/auth/reset-password",
            json!({ "token": token, "new_password": "another long passphrase" }),
        )
        .await;
    assert_eq!(reset.status, StatusCode::UNPROCESSABLE_ENTITY);
    let verify = |t: String| app.post_anonymous("/api/v1/auth/verify-email", json!({ "token": t }));
    assert_eq!(verify(token.clone()).await.status, StatusCode::NO_CONTENT);
    let again = verify(token).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text.contains("\"field\":\"token\""), "{}", again.text);
    assert_eq!(
        verify("not-a-token".into()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn signing_up_through_an_invitation_proves_the_address() {
    let app = TestApp::spawn(SMTP).await;
    app.allow_pending_jobs();
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let inv = app
        .invite(&owner, org, "new@example.com", Role::Member)
        .await;
    let joined = app.join(&inv).await;
    assert_eq!(email_verified(&app, &joined.token).await, json!(true));
    assert_eq!(email_verified(&app, &owner.token).await, json!(false));
}

#[tokio::test]
async fn without_smtp_every_account_counts_as_verified() {
    let app = TestApp::spawn(&[]).await;
    let (ada, _) = app.signup("ada@example.com", "Acme").await;
    assert_eq!(email_verified(&app, &ada.token).await, json!(true));
    let r = app
        .post("/api/v1/me/verification-email", &ada.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "email_not_configured");
}

#[tokio::test]
async fn asking_for_a_new_verification_email_is_rate_limited_and_ends_once_verified() {
    let app = TestApp::spawn(SMTP).await;
    app.allow_pending_jobs();
    let (ada, _) = app.signup("ada@example.com", "Acme").await;
    for _ in 0..3 {
        let r = app
            .post("/api/v1/me/verification-email", &ada.token, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    }
    let r = app
        .post("/api/v1/me/verification-email", &ada.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    let token = link_token(&app, ada.user_id, Purpose::VerifyEmail).await;
    app.post_anonymous("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    let r = app
        .post("/api/v1/me/verification-email", &ada.token, json!({}))
        .await;
    assert_eq!(r.error_code(), "already_verified");
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_known_and_unknown_addresses_and_is_rate_limited() {
    for smtp in [SMTP, &[]] {
        let app = TestApp::spawn(smtp).await;
        app.allow_pending_jobs();
        app.signup("ada@example.com", "Acme").await;
        let ask = |email: &'static str| {
            app.post_anonymous("/api/v1/auth/forgot-password", json!({ "email": email }))
        };
        let known = ask("ada@example.com").await;
        let unknown = ask("nobody@example.com").await;
        assert_eq!(known.status, StatusCode::ACCEPTED, "{}", known.text);
        assert_eq!((unknown.status, &unknown.text), (known.status, &known.text));
        // Per address: the fourth request within the window is refused, for any address alike.
        for email in ["ada@example.com", "nobody@example.com"] {
            for _ in 0..2 {
                assert_eq!(ask(email).await.status, StatusCode::ACCEPTED);
            }
            assert_eq!(ask(email).await.status, StatusCode::TOO_MANY_REQUESTS);
        }
        assert_eq!(
            ask("not an address").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}

#[tokio::test]
async fn forgot_password_is_rate_limited_per_client() {
    let app = TestApp::spawn(&[("INSIGHTS_AUTH_RATE_LIMIT_PER_IP", "3")]).await;
    for i in 0..3 {
        let r = app
            .post_anonymous(
                "/api/v1/auth/forgot-password",
                json!({ "email": format!("n{i}@example.com") }),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
    }
    let r = app
        .post_anonymous(
            "/api/v1/auth/forgot-password",
            json!({ "email": "n9@example.com" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_ends_every_session_and_expires() {
    let app = TestApp::spawn(&[("INSIGHTS_PASSWORD_RESET_TTL_SECS", "2")]).await;
    let (ada, _) = app.signup("ada@example.com", "Acme").await;
    let token = reset_token(&app, "ADA@example.com").await;
    let weak = app
        .post_anonymous(
            "/api/v1/auth/reset-password",
            json!({ "token": token, "new_password": "short" }),
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.text.contains("new_password"), "{}", weak.text);
    let r = app
        .post_anonymous(
            "/api/v1/auth/reset-password",
            json!({ "token": token, "new_password": "the new passphrase" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let refresh = app.refresh(&ada.refresh.unwrap()).await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    let login = |password| app.login("ada@example.com", password);
    assert_eq!(login(PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login("the new passphrase").await.status, StatusCode::OK);

    // A newer link replaces an older one, and a link expires.
    let first = reset_token(&app, "ada@example.com").await;
    let second = reset_token(&app, "ada@example.com").await;
    let use_link = |token: String| {
        app.post_anonymous(
            "/api/v1/auth/reset-password",
            json!({ "token": token, "new_password": "a third passphrase" }),
        )
    };
    assert_eq!(
        use_link(first).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        use_link(second).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
