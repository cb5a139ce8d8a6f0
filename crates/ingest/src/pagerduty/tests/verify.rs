//! Checking the token: one read, and what a refusal says.

use super::*;

async fn verify_with(status: u16) -> (Result<(), SourceError>, Vec<Request>) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(ResponseTemplate::new(status).set_body_json(
            json!({"incidents": [], "limit": 1, "offset": 0, "more": false, "error": {"message": "x", "code": 2006}}),
        ))
        .mount(&server)
        .await;
    let result = connector(&server, PagerDutyOptions::default())
        .verify()
        .await;
    (result, server.received_requests().await.unwrap())
}

#[tokio::test]
async fn verify_reads_one_incident_with_the_token_and_pagerdutys_headers() {
    let (result, requests) = verify_with(200).await;
    result.unwrap();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.url.path(), "/incidents");
    assert_eq!(param(r, "limit").as_deref(), Some("1"));
    assert_eq!(
        header(r, "authorization").as_deref(),
        Some("Token token=test-token")
    );
    assert_eq!(header(r, "accept").as_deref(), Some(ACCEPT));
    assert_eq!(
        header(r, "content-type").as_deref(),
        Some("application/json")
    );
}

#[tokio::test]
async fn verify_explains_a_token_that_is_not_valid() {
    let (result, requests) = verify_with(401).await;
    assert_eq!(requests.len(), 1, "a refused token is not retried");
    match result {
        Err(SourceError::Unauthorized { detail, .. }) => assert_eq!(
            detail,
            "the API token is not valid (create a REST API key under Integrations → API Access Keys; \
             read-only is enough)"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn verify_explains_a_token_that_cannot_read_incidents() {
    let (result, _) = verify_with(403).await;
    match result {
        Err(SourceError::Forbidden {
            status: 403,
            detail,
            ..
        }) => assert_eq!(
            detail,
            "this token cannot read incidents (use an account REST API key, or a user key with access to \
             the services)"
        ),
        other => panic!("{other:?}"),
    }
}
