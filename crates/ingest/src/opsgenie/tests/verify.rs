//! Checking the key: one small read, and what a refusal says (with the region to try).

use super::*;

#[tokio::test]
async fn verify_accepts_a_key_that_reads_alerts_with_one_small_request() {
    let server = Account::new().serve().await;
    let c = connector(&server.uri(), OpsgenieOptions::default());
    c.verify().await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url.path(), "/v2/alerts");
    assert_eq!(param(&reqs[0], "limit").as_deref(), Some("1"));
    assert_eq!(reqs[0].headers["authorization"], "GenieKey test-key");
}

#[tokio::test]
async fn verify_explains_a_refused_key_and_points_at_the_other_region() {
    let server = Account::new().serve().await;
    let c = connector_with_key(&server.uri(), "wrong", OpsgenieOptions::default());
    let e = c.verify().await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("the API key is not valid — or it belongs to the other region (EU accounts use api.eu.opsgenie.com: choose region eu)"),
        "{text}"
    );
    assert!(text.contains("Key format is not valid!"), "{text}");
    assert_eq!(c.requests(), 1, "a refused key is not retried");
}

#[tokio::test]
async fn verify_explains_a_key_without_read_access() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
        .mount(&server)
        .await;
    let e = connector(&server.uri(), OpsgenieOptions::default())
        .verify()
        .await
        .unwrap_err();
    assert!(
        matches!(e, SourceError::Forbidden { status: 403, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().contains(
            "this key cannot read alerts (create a key under Settings → API key management with Read access)"
        ),
        "{e}"
    );
}

#[test]
fn a_refused_key_on_the_eu_host_points_at_the_us_region() {
    let c = connector("https://api.eu.opsgenie.com", OpsgenieOptions::default());
    let e = c.explain(SourceError::Unauthorized {
        source_name: "Opsgenie",
        detail: "no details".into(),
    });
    assert!(
        e.to_string()
            .contains("US accounts use api.opsgenie.com: choose region us"),
        "{e}"
    );
    assert!(!e.to_string().contains("said"), "{e}");
}
