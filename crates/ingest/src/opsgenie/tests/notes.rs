//! Adding a note: to an alert, or to an incident of the Incident API, as the item was imported.

use super::*;
use wiremock::matchers::{body_json, header, query_param};

#[tokio::test]
async fn an_alert_gets_an_alert_note_and_an_incident_an_incident_note() {
    let server = MockServer::start().await;
    let accepted = ResponseTemplate::new(202).set_body_json(
        json!({"result": "Request will be processed", "took": 0.1, "requestId": "r1"}),
    );
    Mock::given(method("POST"))
        .and(path("/v2/alerts/a-1/notes"))
        .and(query_param("identifierType", "id"))
        .and(header("authorization", format!("GenieKey {KEY}").as_str()))
        .and(body_json(
            json!({"note": "on alert", "user": "Incident Insights",
                              "source": "Incident Insights"}),
        ))
        .respond_with(accepted.clone())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/incidents/i-1/notes"))
        .and(query_param("identifierType", "id"))
        .and(header("authorization", format!("GenieKey {KEY}").as_str()))
        .and(body_json(json!({"note": "on incident"})))
        .respond_with(accepted)
        .expect(1)
        .mount(&server)
        .await;
    let og = connector(&server.uri(), OpsgenieOptions::default());
    og.add_note("a-1", false, "on alert").await.unwrap();
    og.add_note("i-1", true, "on incident").await.unwrap();
}

#[tokio::test]
async fn a_key_that_may_only_read_is_told_so() {
    for status in [401, 403] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/alerts/a-1/notes"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "message": "Key has no access to the requested resource", "took": 0.0})))
            .mount(&server)
            .await;
        let og = connector(&server.uri(), OpsgenieOptions::default());
        let err = og.add_note("a-1", false, "x").await.unwrap_err();
        assert!(!err.is_transient());
        let text = err.to_string();
        assert!(
            text.contains("may only read") && text.contains("Create and Update"),
            "{status}: {text}"
        );
    }
}
