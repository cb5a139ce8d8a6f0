//! Verifying an AWS connection end to end: the API asks for it, the worker assumes the role with the
//! connection's external id at a fake STS that enforces the trust policy (moto does not), looks up each
//! allow-listed function at a fake Lambda, and records each check — in a sentence a person can act on — on the
//! connection.

use insights_aws::AwsEndpoints;
use insights_testing::fake_lambda::{Behaviour, FakeLambda};
use insights_testing::{Session, TestApp};
use insights_types::OrgId;
use insights_types::api::{AwsConnectionOut, AwsConnectionStatus, JobState};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ROLE: &str = "arn:aws:iam::123456789012:role/incident-insights";

fn url(org: OrgId, rest: &str) -> String {
    format!("/api/v1/orgs/{org}/{rest}")
}

async fn app(fake: &FakeLambda) -> TestApp {
    TestApp::spawn(&[])
        .await
        .with_worker_aws(AwsEndpoints {
            sts: Some(fake.url()),
            lambda: Some(fake.url()),
            static_credentials: Some(("AKIDPRODUCT".into(), "product-secret".into())),
        })
        .await
}

async fn create(app: &TestApp, owner: &Session, org: OrgId, body: Value) -> AwsConnectionOut {
    let r = app
        .post(&url(org, "aws-connections"), &owner.token, body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

/// Asks for a verification, waits for the job, and returns the connection.
async fn verify(
    app: &TestApp,
    owner: &Session,
    org: OrgId,
    id: impl std::fmt::Display,
) -> AwsConnectionOut {
    let r = app
        .post(
            &url(org, &format!("aws-connections/{id}/verify")),
            &owner.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let jobs = app.wait_for_jobs(&owner.token, org).await;
    let job = jobs
        .iter()
        .find(|j| j.kind == "verify_aws_connection")
        .expect("a verification job");
    // A failed check is a result: the job itself succeeds.
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    let r = app
        .get(&url(org, &format!("aws-connections/{id}")), &owner.token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()
}

#[tokio::test]
async fn a_role_connection_is_verified_function_by_function() {
    let fake = FakeLambda::start().await;
    fake.function("restart-db", Behaviour::Echo);
    fake.function("invoke-only", Behaviour::Echo);
    fake.deny_lookup("invoke-only");
    let app = app(&fake).await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let conn = create(
        &app,
        &owner,
        org,
        json!({"name": "Production", "mode": "role", "region": "eu-west-1", "role_arn": ROLE,
               "functions": ["restart-db", "missing-fn", "invoke-only"]}),
    )
    .await;
    fake.trust(ROLE, &conn.external_id);

    let out = verify(&app, &owner, org, conn.id).await;
    assert_eq!(out.status, AwsConnectionStatus::Failed, "{out:?}");
    let checks: Vec<(&str, bool)> = out
        .checks
        .iter()
        .map(|c| (c.check.as_str(), c.ok))
        .collect();
    assert_eq!(
        checks,
        [
            ("assume_role", true),
            ("function:restart-db", true),
            ("function:missing-fn", false),
            ("function:invoke-only", false)
        ]
    );
    assert!(
        out.checks[2]
            .message
            .contains("does not exist in region eu-west-1"),
        "{:?}",
        out.checks[2]
    );
    assert!(
        out.checks[3]
            .message
            .contains("lacks lambda:GetFunction on invoke-only"),
        "{:?}",
        out.checks[3]
    );
    assert_eq!(out.verified_at, None);
    let calls = fake.assume_role_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].external_id.as_deref(),
        Some(conn.external_id.as_str())
    );
    assert!(
        calls[0].session_name.starts_with("incident-insights-"),
        "{:?}",
        calls[0]
    );

    // The organization fixes its allow-list: verified.
    let r = app
        .patch(
            &url(org, &format!("aws-connections/{}", conn.id)),
            &owner.token,
            json!({"functions": ["restart-db"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out = verify(&app, &owner, org, conn.id).await;
    assert_eq!(out.status, AwsConnectionStatus::Verified, "{out:?}");
    assert_eq!(out.checks.len(), 2);
    assert!(out.verified_at.is_some());
    // Each verification asks STS again (never a cached session).
    assert_eq!(fake.assume_role_calls().len(), 2);
}

#[tokio::test]
async fn a_role_that_does_not_trust_the_external_id_fails_with_a_sentence() {
    let fake = FakeLambda::start().await;
    fake.function("restart-db", Behaviour::Echo);
    fake.trust(ROLE, "an-external-id-of-another-tenant");
    let app = app(&fake).await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let conn = create(
        &app,
        &owner,
        org,
        json!({"name": "Production", "mode": "role", "region": "eu-west-1", "role_arn": ROLE,
               "functions": ["restart-db"]}),
    )
    .await;
    let out = verify(&app, &owner, org, conn.id).await;
    assert_eq!(out.status, AwsConnectionStatus::Failed);
    assert_eq!(
        out.checks.len(),
        1,
        "functions are not looked up without credentials: {:?}",
        out.checks
    );
    assert_eq!(out.checks[0].check, "assume_role");
    assert!(!out.checks[0].ok);
    let message = &out.checks[0].message;
    assert!(
        message.contains("does not trust") && message.contains(&conn.external_id),
        "{message}"
    );
    assert!(message.contains("trust policy"), "{message}");
    assert_eq!(fake.count("restart-db"), 0);
}

#[tokio::test]
async fn a_key_pair_connection_is_verified_with_its_keys() {
    let fake = FakeLambda::start().await;
    fake.function("restart-db", Behaviour::Echo);
    let app = app(&fake).await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let conn = create(
        &app,
        &owner,
        org,
        json!({"name": "Self-hosted", "mode": "keys", "region": "us-east-1",
               "keys": {"access_key_id": "AKIAORGKEY00009876", "secret_access_key": "org-secret-value"},
               "functions": ["restart-db"]}),
    )
    .await;
    let out = verify(&app, &owner, org, conn.id).await;
    assert_eq!(out.status, AwsConnectionStatus::Verified, "{out:?}");
    assert_eq!(out.checks[0].check, "credentials");
    assert!(
        out.checks[0].message.contains("…9876"),
        "{:?}",
        out.checks[0]
    );
    assert!(
        !serde_json::to_string(&out)
            .unwrap()
            .contains("org-secret-value")
    );
    assert!(
        fake.assume_role_calls().is_empty(),
        "keys are used as they are"
    );
}
