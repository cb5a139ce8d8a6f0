//! Against moto (`INSIGHTS_TEST_MOTO_URL`, started by `scripts/test`): AssumeRole with the external id,
//! GetFunction of existing and missing functions, Invoke sync and async. moto's Docker-free Lambda echoes
//! payloads and never fails: function errors, throttles and time limits are tested against the fake.

use insights_aws::{
    AwsClients, AwsEndpoints, Connection, ConnectionAuth, Invocation, InvokeRequest, verify,
};
use insights_testing::moto;
use serde_json::json;
use std::time::Duration;

fn clients() -> AwsClients {
    let url = moto::url();
    AwsClients::with_endpoints(
        AwsEndpoints {
            sts: Some(url.clone()),
            lambda: Some(url),
            static_credentials: Some(("testing".into(), "testing".into())),
        },
        Duration::from_secs(900),
        None,
    )
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn verify_and_invoke_against_moto() {
    moto::use_simple_lambda().await;
    let role_name = unique("insights");
    let role_arn = moto::create_role(&role_name).await;
    let function = unique("restart");
    moto::create_function("us-east-1", &function, &role_arn).await;
    let clients = clients();
    let conn = Connection {
        region: "us-east-1".into(),
        auth: ConnectionAuth::Role {
            role_arn: role_arn.clone(),
            external_id: "ext-moto".into(),
        },
    };
    let missing = unique("missing");
    let checks = verify(
        &clients,
        &conn,
        &[function.clone(), missing.clone()],
        "verify-moto",
    )
    .await;
    assert_eq!(checks.len(), 3, "{checks:?}");
    assert!(checks[0].ok && checks[1].ok, "{checks:?}");
    assert!(!checks[2].ok);
    assert!(
        checks[2]
            .message
            .contains(&format!("{missing} does not exist in region us-east-1")),
        "{checks:?}"
    );

    let payload = json!({"incident": {"id": "PT4KHLK"}})
        .to_string()
        .into_bytes();
    let request = |invocation| InvokeRequest {
        function: function.clone(),
        payload: payload.clone(),
        invocation,
        timeout: Duration::from_secs(10),
        client_context: None,
        session_id: "run-1".into(),
    };
    let out = clients
        .invoke(&conn, &request(Invocation::Sync))
        .await
        .expect("sync");
    assert_eq!(out.status, 200);
    assert_eq!(
        out.payload_json(),
        Some(json!({"incident": {"id": "PT4KHLK"}}))
    );
    let out = clients
        .invoke(&conn, &request(Invocation::Async))
        .await
        .expect("async");
    assert_eq!(out.status, 202);
}
