//! Account emails through a real SMTP conversation: the verification link sent at sign-up and the password
//! reset link, read out of the received message and used as a person would.

use super::start;
use insights_testing::PASSWORD;
use insights_testing::smtp::SmtpSink;
use insights_types::api::{JobState, MeOut};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn signing_up_emails_a_verification_link_that_verifies_the_address_once() {
    let sink = SmtpSink::start(0).await;
    let mut app = start(sink.port).await;
    let (ada, org) = app.signup("ada@example.com", "Acme").await;
    let me: MeOut = app.get("/api/v1/me", &ada.token).await.json();
    assert!(!me.email_verified);

    let jobs = app.wait_for_jobs(&ada.token, org).await;
    assert_eq!(
        (jobs[0].kind.as_str(), jobs[0].state),
        ("send_account_email", JobState::Succeeded)
    );
    let mail = sink.messages_to("ada@example.com").await;
    assert_eq!(mail.len(), 1);
    let link = mail[0]
        .link_to("verify-email")
        .expect("a verification link");
    assert!(link.starts_with(&app.config.server.public_url.link("verify-email#token=")));
    let token = mail[0].token_for("verify-email").unwrap();

    let r = app
        .post_anonymous("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let me: MeOut = app.get("/api/v1/me", &ada.token).await.json();
    assert!(me.email_verified);
    // Single use.
    let again = app
        .post_anonymous("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.stop_worker().await;
}

#[tokio::test]
async fn forgot_password_emails_a_reset_link_that_sets_the_password_and_ends_every_session() {
    let sink = SmtpSink::start(0).await;
    let mut app = start(sink.port).await;
    let (ada, org) = app.signup("ada@example.com", "Acme").await;
    let other_session = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(other_session.status, StatusCode::OK);

    let r = app
        .post_anonymous(
            "/api/v1/auth/forgot-password",
            json!({ "email": "Ada@Example.com" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    // The verification email of the sign-up, then the reset link.
    let mails = sink.wait_for(2).await;
    let reset = mails
        .iter()
        .find(|m| m.link_to("reset-password").is_some())
        .expect("a reset email");
    assert_eq!(reset.rcpt, vec!["<ada@example.com>".to_owned()]);
    let token = reset.token_for("reset-password").unwrap();

    let new_password = "a brand new passphrase";
    let r = app
        .post_anonymous(
            "/api/v1/auth/reset-password",
            json!({ "token": token, "new_password": new_password }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Every session ended: the sign-up's and the other login's.
    assert_eq!(
        app.refresh(ada.refresh.as_deref().unwrap()).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&other_session.refresh_cookie().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // ... and their access tokens with them.
    let me = app.get("/api/v1/me", &ada.token).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text);
    assert_eq!(me.error_code(), "session_ended");
    let fresh = app.login("ada@example.com", new_password).await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text);
    let fresh_token = fresh.body["access_token"].as_str().unwrap().to_owned();
    // The link works once.
    let again = app
        .post_anonymous(
            "/api/v1/auth/reset-password",
            json!({ "token": token, "new_password": "yet another passphrase" }),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.error_code(), "validation_failed");
    app.wait_for_jobs(&fresh_token, org).await;
    app.stop_worker().await;
}

#[tokio::test]
async fn forgot_password_for_an_unknown_address_answers_the_same_and_sends_nothing() {
    let sink = SmtpSink::start(0).await;
    let mut app = start(sink.port).await;
    let (ada, org) = app.signup("ada@example.com", "Acme").await;
    app.wait_for_jobs(&ada.token, org).await;
    let known = app
        .post_anonymous(
            "/api/v1/auth/forgot-password",
            json!({ "email": "ada@example.com" }),
        )
        .await;
    let unknown = app
        .post_anonymous(
            "/api/v1/auth/forgot-password",
            json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!((unknown.status, &unknown.text), (known.status, &known.text));
    sink.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(sink.messages_to("nobody@example.com").await.is_empty());
    assert_eq!(sink.messages().await.len(), 2);
    app.wait_for_jobs(&ada.token, org).await;
    app.stop_worker().await;
}
