//! Invocations and verification against the fake Lambda and STS (`insights_testing::fake_lambda`), which
//! speaks the real wire format: function errors, throttles, time limits, refusals — what moto cannot do.

use insights_aws::{
    AwsClients, AwsEndpoints, ClientContext, Connection, ConnectionAuth, Invocation, InvokeError,
    InvokeRequest, verify,
};
use insights_testing::fake_lambda::{Behaviour, FakeLambda};
use serde_json::json;
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/incident-insights-automations";

fn clients(fake: &FakeLambda) -> AwsClients {
    AwsClients::with_endpoints(
        AwsEndpoints {
            sts: Some(fake.url()),
            lambda: Some(fake.url()),
            static_credentials: Some(("AKIDPRODUCT".into(), "product-secret".into())),
        },
        Duration::from_secs(900),
        Some("arn:aws:iam::999999999999:role/insights".into()),
    )
}

fn role(external_id: &str) -> Connection {
    Connection {
        region: "eu-west-1".into(),
        auth: ConnectionAuth::Role {
            role_arn: ROLE.into(),
            external_id: external_id.into(),
        },
    }
}

fn request(function: &str, invocation: Invocation, timeout: Duration) -> InvokeRequest {
    InvokeRequest {
        function: function.into(),
        payload: json!({"incident": {"title": "DB \"down\""}})
            .to_string()
            .into_bytes(),
        invocation,
        timeout,
        client_context: Some(ClientContext {
            run_id: "0193a0b0-run".into(),
            attempt: 2,
        }),
        session_id: "0193a0b0-run".into(),
    }
}

#[tokio::test]
async fn a_sync_invocation_returns_the_result_the_log_tail_and_the_version() {
    let fake = FakeLambda::start().await;
    fake.trust(ROLE, "ext-1");
    fake.function("restart", Behaviour::Echo);
    let clients = clients(&fake);
    let out = clients
        .invoke(
            &role("ext-1"),
            &request("restart", Invocation::Sync, Duration::from_secs(5)),
        )
        .await
        .expect("success");
    assert_eq!(out.status, 200);
    let payload = out.payload_json().unwrap();
    assert_eq!(
        payload["echo"],
        json!({"incident": {"title": "DB \"down\""}})
    );
    assert_eq!(
        payload["client_context"],
        json!({"run_id": "0193a0b0-run", "attempt": "2"})
    );
    assert!(
        out.log_tail
            .as_deref()
            .unwrap()
            .contains("restart received"),
        "{:?}",
        out.log_tail
    );
    assert_eq!(out.executed_version.as_deref(), Some("$LATEST"));

    let received = fake.invocations("restart");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].invocation_type, "RequestResponse");
    assert_eq!(received[0].log_type.as_deref(), Some("Tail"));
    assert_eq!(
        received[0].payload,
        request("restart", Invocation::Sync, Duration::ZERO).payload
    );
    assert_eq!(
        received[0].client_context,
        Some(json!({"custom": {"run_id": "0193a0b0-run", "attempt": "2"}}))
    );
    // Signed with the assumed role's session, named after the run.
    assert_eq!(received[0].security_token.as_deref(), Some("fake-token-1"));
    let calls = fake.assume_role_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].external_id.as_deref(), Some("ext-1"));
    assert_eq!(calls[0].session_name, "incident-insights-0193a0b0-run");
    assert_eq!(calls[0].duration_seconds, Some(900));
}

#[tokio::test]
async fn an_async_invocation_is_accepted_with_202_and_no_result() {
    let fake = FakeLambda::start().await;
    fake.function("notify", Behaviour::Echo);
    let out = clients(&fake)
        .invoke(
            &role("ext"),
            &request("notify", Invocation::Async, Duration::from_secs(5)),
        )
        .await
        .expect("accepted");
    assert_eq!(out.status, 202);
    assert!(out.payload.is_empty());
    assert_eq!(out.log_tail, None);
    let received = fake.invocations("notify");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].invocation_type, "Event");
}

#[tokio::test]
async fn function_errors_are_classified_with_their_type_message_and_log() {
    let fake = FakeLambda::start().await;
    fake.function(
        "handled",
        Behaviour::handled("ValueError", "no such host: db-9"),
    );
    fake.function(
        "crash",
        Behaviour::unhandled("Runtime.ExitError", "exit status 1"),
    );
    let clients = clients(&fake);
    let err = clients
        .invoke(
            &role("ext"),
            &request("handled", Invocation::Sync, Duration::from_secs(5)),
        )
        .await
        .unwrap_err();
    match &err {
        InvokeError::Function {
            kind,
            error_type,
            message,
            log_tail,
            ..
        } => {
            assert_eq!(kind, "Handled");
            assert_eq!(error_type.as_deref(), Some("ValueError"));
            assert_eq!(message.as_deref(), Some("no such host: db-9"));
            assert!(
                log_tail
                    .as_deref()
                    .unwrap()
                    .contains("ValueError: no such host")
            );
        }
        other => panic!("expected a function error, got {other:?}"),
    }
    assert_eq!(err.kind(), "function_error");
    assert_eq!(err.function_error().as_deref(), Some("Handled: ValueError"));
    assert!(err.may_have_run());

    let err = clients
        .invoke(
            &role("ext"),
            &request("crash", Invocation::Sync, Duration::from_secs(5)),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.function_error().as_deref(),
        Some("Unhandled: Runtime.ExitError")
    );
    // One request each: the SDK retried nothing.
    assert_eq!(fake.count("handled"), 1);
    assert_eq!(fake.count("crash"), 1);
}

#[tokio::test]
async fn a_throttle_is_its_own_outcome_and_the_sdk_does_not_retry() {
    let fake = FakeLambda::start().await;
    fake.function("busy", Behaviour::throttle(2));
    let clients = clients(&fake);
    let conn = role("ext");
    let req = request("busy", Invocation::Sync, Duration::from_secs(5));
    for n in 1..=2 {
        let err = clients.invoke(&conn, &req).await.unwrap_err();
        assert!(matches!(err, InvokeError::Throttled { .. }), "{err:?}");
        assert!(err.retryable());
        assert!(!err.may_have_run());
        assert_eq!(fake.count("busy"), n, "exactly one request per attempt");
    }
    clients
        .invoke(&conn, &req)
        .await
        .expect("the third attempt passes");
    assert_eq!(fake.count("busy"), 3);
    assert_eq!(
        fake.invocations("busy")
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [429, 429, 200]
    );
    // The assumed role was cached across attempts.
    assert_eq!(fake.assume_role_calls().len(), 1);
}

#[tokio::test]
async fn the_time_limit_is_its_own_outcome() {
    let fake = FakeLambda::start().await;
    fake.function("slow", Behaviour::delay(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    let err = clients(&fake)
        .invoke(
            &role("ext"),
            &request("slow", Invocation::Sync, Duration::from_millis(700)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Timeout { .. }), "{err:?}");
    assert!(err.may_have_run());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up after {:?}",
        started.elapsed()
    );
    assert_eq!(fake.count("slow"), 1);
}

#[tokio::test]
async fn missing_and_denied_functions_are_classified() {
    let fake = FakeLambda::start().await;
    fake.function("secret", Behaviour::Denied);
    let clients = clients(&fake);
    let err = clients
        .invoke(
            &role("ext"),
            &request("nope", Invocation::Sync, Duration::from_secs(5)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, InvokeError::NotFound { region, .. } if region == "eu-west-1"),
        "{err:?}"
    );
    assert!(!err.retryable());
    let err = clients
        .invoke(
            &role("ext"),
            &request("secret", Invocation::Sync, Duration::from_secs(5)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::AccessDenied { .. }), "{err:?}");
    assert!(err.to_string().contains("lambda:InvokeFunction"), "{err}");
}

#[tokio::test]
async fn a_role_that_does_not_trust_the_external_id_is_refused_with_a_sentence() {
    let fake = FakeLambda::start().await;
    fake.trust(ROLE, "right");
    fake.function("restart", Behaviour::Echo);
    let clients = clients(&fake);
    let err = clients
        .invoke(
            &role("wrong"),
            &request("restart", Invocation::Sync, Duration::from_secs(5)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "credentials");
    assert!(!err.retryable());
    assert_eq!(
        fake.count("restart"),
        0,
        "never invoked without credentials"
    );

    let checks = verify(&clients, &role("wrong"), &["restart".into()], "verify-1").await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].check, "assume_role");
    assert!(!checks[0].ok);
    assert!(
        checks[0].message.contains("does not trust"),
        "{}",
        checks[0].message
    );
    assert!(
        checks[0].message.contains("external id"),
        "{}",
        checks[0].message
    );
    assert!(checks[0].message.contains(ROLE), "{}", checks[0].message);
}

#[tokio::test]
async fn verification_explains_each_function() {
    let fake = FakeLambda::start().await;
    fake.trust(ROLE, "ext");
    fake.function("restart", Behaviour::Echo);
    fake.function("invoke-only", Behaviour::Echo);
    fake.deny_lookup("invoke-only");
    let clients = clients(&fake);
    let functions = vec![
        "restart".to_owned(),
        "missing".to_owned(),
        "invoke-only".to_owned(),
    ];
    let checks = verify(&clients, &role("ext"), &functions, "0193-verify").await;
    let names: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(
        names,
        [
            "assume_role",
            "function:restart",
            "function:missing",
            "function:invoke-only"
        ]
    );
    let ok: Vec<bool> = checks.iter().map(|c| c.ok).collect();
    assert_eq!(ok, [true, true, false, false]);
    assert!(
        checks[2]
            .message
            .contains("does not exist in region eu-west-1"),
        "{}",
        checks[2].message
    );
    assert!(
        checks[3]
            .message
            .contains("lacks lambda:GetFunction on invoke-only"),
        "{}",
        checks[3].message
    );
    assert_eq!(
        fake.assume_role_calls()[0].session_name,
        "incident-insights-0193-verify"
    );
}

#[tokio::test]
async fn access_keys_are_used_as_they_are() {
    let fake = FakeLambda::start().await;
    fake.function("restart", Behaviour::Echo);
    let clients = clients(&fake);
    let conn = Connection {
        region: "us-east-1".into(),
        auth: ConnectionAuth::Keys {
            access_key_id: "AKIAORGKEY1234".into(),
            secret_access_key: "org-secret".to_owned().into(),
        },
    };
    let checks = verify(&clients, &conn, &["restart".into()], "v").await;
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert_eq!(checks[0].check, "credentials");
    assert!(checks[0].message.contains("…1234"), "{}", checks[0].message);
    assert!(!format!("{conn:?}").contains("org-secret"));
    clients
        .invoke(
            &conn,
            &request("restart", Invocation::Sync, Duration::from_secs(5)),
        )
        .await
        .expect("invoked with the keys");
    assert_eq!(fake.assume_role_calls().len(), 0);
    assert_eq!(fake.invocations("restart")[0].security_token, None);
}
