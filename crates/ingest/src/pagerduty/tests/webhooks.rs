//! Webhooks: signatures (with the documented vector and rotations), what each event means, and creating the
//! subscription in PagerDuty.

use super::super::webhook;
use super::*;

const VECTOR_BODY: &[u8] = br#"{"event":{"id":"01","event_type":"incident.triggered"}}"#;
const VECTOR_SIGNATURE: &str =
    "v1=d9abe80e0718007c5125b8351856a0bfbd0bf00ad3405afe836ed4d5786d96c7";

#[test]
fn the_documented_signature_vector_verifies() {
    assert!(webhook::verify_signature(
        b"test-secret",
        VECTOR_BODY,
        VECTOR_SIGNATURE
    ));
}

#[test]
fn any_matching_v1_signature_verifies_while_a_secret_is_rotated() {
    let old = "v1=0000000000000000000000000000000000000000000000000000000000000000";
    assert!(webhook::verify_signature(
        b"test-secret",
        VECTOR_BODY,
        &format!("{old},{VECTOR_SIGNATURE}")
    ));
    assert!(webhook::verify_signature(
        b"test-secret",
        VECTOR_BODY,
        &format!("{VECTOR_SIGNATURE}, {old}")
    ));
    assert!(webhook::verify_signature(
        b"test-secret",
        VECTOR_BODY,
        &format!("v0=abc, {VECTOR_SIGNATURE}")
    ));
}

#[test]
fn a_wrong_secret_or_a_tampered_body_does_not_verify() {
    assert!(!webhook::verify_signature(
        b"other-secret",
        VECTOR_BODY,
        VECTOR_SIGNATURE
    ));
    let tampered = br#"{"event":{"id":"02","event_type":"incident.triggered"}}"#;
    assert!(!webhook::verify_signature(
        b"test-secret",
        tampered,
        VECTOR_SIGNATURE
    ));
    let trailing_space = br#"{"event":{"id":"01","event_type":"incident.triggered"}} "#;
    assert!(!webhook::verify_signature(
        b"test-secret",
        trailing_space,
        VECTOR_SIGNATURE
    ));
    assert!(!webhook::verify_signature(
        b"",
        VECTOR_BODY,
        VECTOR_SIGNATURE
    ));
}

#[test]
fn garbage_signature_headers_do_not_verify() {
    let hex = VECTOR_SIGNATURE.trim_start_matches("v1=");
    for header in [
        "",
        "garbage",
        "v1=",
        "v1=zz",
        ",,,",
        &hex[..hex.len() - 2],
        &format!("v1={}", &hex[..hex.len() - 2]),
        &format!("v1={hex}00"),
        &format!("v2={hex}"),
        &format!("v1 {hex}"),
        "v1=d9abe80e0718007c5125b8351856a0bfbd0bf00ad3405afe836ed4d5786d96c8",
    ] {
        assert!(
            !webhook::verify_signature(b"test-secret", VECTOR_BODY, header),
            "{header:?}"
        );
    }
}

fn delivery(event_type: &str, status: &str) -> Vec<u8> {
    json!({"event": {
        "id": "01EVENT", "event_type": event_type, "resource_type": "incident",
        "occurred_at": "2024-06-01T12:05:00.123Z",
        "agent": {"id": "PU1", "type": "user_reference", "summary": "Ada"}, "client": null,
        "data": {
            "id": "PWH1", "type": "incident", "self": "https://api.pagerduty.com/incidents/PWH1",
            "html_url": "https://acme.pagerduty.com/incidents/PWH1", "number": 77, "status": status,
            "incident_key": "k", "created_at": "2024-06-01T12:00:00Z", "title": "Checkout is down",
            "service": {"id": "PSVC1", "type": "service_reference", "summary": "Checkout"},
            "assignees": [{"id": "PU1", "type": "user_reference", "summary": "Ada"}],
            "escalation_policy": {"id": "PEP", "type": "escalation_policy_reference", "summary": "Default"},
            "teams": [{"id": "PT1", "type": "team_reference", "summary": "Payments"}],
            "priority": {"id": "PP", "type": "priority_reference", "summary": "P1"},
            "urgency": "high", "conference_bridge": null, "resolve_reason": null,
        },
    }})
    .to_string()
    .into_bytes()
}

#[test]
fn an_incident_triggered_webhook_is_a_partial_version_of_the_incident() {
    let u = webhook::parse(&delivery("incident.triggered", "triggered")).unwrap();
    assert_eq!(u.event_type, "incident.triggered");
    let i = u.incident.unwrap();
    let occurred = t("2024-06-01T12:05:00.123Z");
    assert_eq!(
        (i.external_id.as_str(), i.number, i.title.as_str()),
        ("PWH1", Some(77), "Checkout is down")
    );
    assert_eq!(i.status, IncidentStatus::Triggered);
    assert_eq!(i.triggered_at, t("2024-06-01T12:00:00Z"));
    assert_eq!(i.source_updated_at, occurred);
    assert_eq!((i.acknowledged_at, i.resolved_at), (None, None));
    assert_eq!(i.service.map(|s| s.name), Some("Checkout".into()));
    assert_eq!(i.team.map(|s| s.external_id), Some("PT1".into()));
    assert_eq!(i.assignees, ["Ada"]);
    assert_eq!(i.priority.as_deref(), Some("P1"));
    assert_eq!(i.urgency, Some(Urgency::High));
    assert_eq!(
        i.source_url.as_deref(),
        Some("https://acme.pagerduty.com/incidents/PWH1")
    );
    assert!(i.timeline.is_empty() && i.tags.is_empty());
}

#[test]
fn acknowledged_and_resolved_webhooks_carry_the_time_of_the_change() {
    let occurred = t("2024-06-01T12:05:00.123Z");
    let ack = webhook::parse(&delivery("incident.acknowledged", "acknowledged"))
        .unwrap()
        .incident
        .unwrap();
    assert_eq!(ack.status, IncidentStatus::Acknowledged);
    assert_eq!(
        (ack.acknowledged_at, ack.resolved_at),
        (Some(occurred), None)
    );
    let res = webhook::parse(&delivery("incident.resolved", "resolved"))
        .unwrap()
        .incident
        .unwrap();
    assert_eq!(res.status, IncidentStatus::Resolved);
    assert_eq!(
        (res.acknowledged_at, res.resolved_at),
        (None, Some(occurred))
    );
}

#[test]
fn webhooks_about_notes_and_services_change_no_incident() {
    let note = json!({"event": {"id": "02", "event_type": "incident.annotated", "resource_type": "incident",
        "occurred_at": "2024-06-01T12:06:00Z",
        "data": {"incident": {"id": "PWH1", "type": "incident_reference"}, "id": "PN1", "content": "Rolled back",
                 "trimmed": false, "type": "incident_note"}}});
    let u = webhook::parse(note.to_string().as_bytes()).unwrap();
    assert_eq!(u.event_type, "incident.annotated");
    assert!(u.incident.is_none());
    let service = json!({"event": {"id": "03", "event_type": "service.updated", "resource_type": "service",
        "occurred_at": "2024-06-01T12:06:00Z", "data": {"id": "PSVC1", "type": "service", "name": "Checkout"}}});
    let u = webhook::parse(service.to_string().as_bytes()).unwrap();
    assert_eq!(u.event_type, "service.updated");
    assert!(u.incident.is_none());
}

#[test]
fn unreadable_webhooks_are_errors_that_say_why() {
    assert!(
        webhook::parse(b"not json")
            .unwrap_err()
            .starts_with("the webhook body is not JSON")
    );
    assert_eq!(
        webhook::parse(br#"{"messages": []}"#).unwrap_err(),
        r#"the webhook body has no "event" object (is the subscription a v3 webhook?)"#
    );
    assert_eq!(
        webhook::parse(br#"{"event": {"id": "1"}}"#).unwrap_err(),
        "the webhook event has no event_type"
    );
    let no_id = json!({"event": {"event_type": "incident.resolved", "resource_type": "incident",
        "occurred_at": "2024-06-01T12:06:00Z", "data": {"type": "incident", "title": "x", "status": "resolved"}}});
    assert_eq!(
        webhook::parse(no_id.to_string().as_bytes()).unwrap_err(),
        "the incident.resolved event names no incident"
    );
    let bad_time = json!({"event": {"event_type": "incident.resolved", "resource_type": "incident",
        "occurred_at": "soon", "data": {"id": "P1", "type": "incident", "title": "x", "status": "resolved"}}});
    assert!(
        webhook::parse(bad_time.to_string().as_bytes())
            .unwrap_err()
            .contains("occurred_at is not a time")
    );
}

#[tokio::test]
async fn a_webhook_subscription_for_the_account_is_created_and_its_secret_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/webhook_subscriptions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "webhook_subscription": {
            "id": "PWH1", "type": "webhook_subscription",
            "delivery_method": { "id": "PDM1", "type": "http_delivery_method", "url": "https://x/hooks", "secret": "s3cr3t" },
        }})))
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let secret = pd
        .create_webhook_subscription("https://insights.example.com/hooks/pagerduty/01")
        .await
        .unwrap();
    assert_eq!(secret, "s3cr3t");
    let sent = requests_to(&server, "/webhook_subscriptions").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        header(&sent[0], "authorization").as_deref(),
        Some("Token token=test-token")
    );
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    let sub = &body["webhook_subscription"];
    assert_eq!(sub["type"], "webhook_subscription");
    assert_eq!(
        sub["delivery_method"],
        json!({ "type": "http_delivery_method", "url": "https://insights.example.com/hooks/pagerduty/01" })
    );
    assert_eq!(sub["filter"], json!({ "type": "account_reference" }));
    assert_eq!(
        sub["events"].as_array().unwrap().len(),
        WEBHOOK_EVENTS.len()
    );
}

#[tokio::test]
async fn a_read_only_key_cannot_create_a_webhook_subscription_and_is_told_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/webhook_subscriptions"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({ "error": { "message": "Access Denied", "code": 2010 } })),
        )
        .mount(&server)
        .await;
    let err = connector(&server, PagerDutyOptions::default())
        .create_webhook_subscription("https://insights.example.com/hooks/pagerduty/01")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Forbidden { detail, .. } if detail.contains("read-only") && detail.contains("paste its signing secret")),
        "{err:?}"
    );
}
