//! Adding a note to an incident: the request PagerDuty documents, and refusals explained.

use super::*;
use wiremock::matchers::{body_json, header};

#[tokio::test]
async fn a_note_is_posted_with_the_author_in_the_from_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/incidents/PT4KHLK/notes"))
        .and(header(
            "authorization",
            format!("Token token={TOKEN}").as_str(),
        ))
        .and(header("from", "oncall@example.com"))
        .and(body_json(
            json!({"note": {"content": "Restarted the pods: ok"}}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "note": {"id": "PWL7QXS", "content": "Restarted the pods: ok",
                     "created_at": "2024-03-06T15:28:51Z"}})))
        .expect(1)
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let id = pd
        .add_note(
            "PT4KHLK",
            Some("oncall@example.com"),
            "Restarted the pods: ok",
        )
        .await
        .unwrap();
    assert_eq!(id, "PWL7QXS");
}

#[tokio::test]
async fn a_read_only_key_is_told_it_cannot_write_notes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/incidents/P1/notes"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": {"message": "Access Denied", "code": 2010}})))
        .expect(1)
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let err = pd
        .add_note("P1", Some("oncall@example.com"), "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::Forbidden { status: 403, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(
        text.contains("read-only") && text.contains("full-access"),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_author_email_is_named_when_pagerduty_refuses_the_note() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/incidents/P1/notes"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "Invalid Input Provided", "code": 2001,
                      "errors": ["You must specify a user's email address in the \"From\" header to perform this action."]}})))
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let err = pd.add_note("P1", None, "x").await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("note author email"), "{text}");
    let requests = requests_to(&server, "/incidents/P1/notes").await;
    assert_eq!(requests.len(), 1, "a refused note is not retried");
    assert!(requests[0].headers.get("from").is_none());
}

#[tokio::test]
async fn a_deleted_incident_is_named() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/incidents/PGONE/notes"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"message": "Not Found", "code": 2100}})))
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let err = pd.add_note("PGONE", None, "x").await.unwrap_err();
    assert!(err.to_string().contains("PGONE"), "{err}");
}

#[tokio::test]
async fn a_server_error_is_retried_and_then_reported_as_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/incidents/P1/notes"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let err = pd.add_note("P1", None, "x").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(
        requests_to(&server, "/incidents/P1/notes").await.len(),
        HttpPolicy::for_tests().max_attempts as usize
    );
}
