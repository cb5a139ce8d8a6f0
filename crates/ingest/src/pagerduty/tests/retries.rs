//! Transient failures (rate limits, server errors, timeouts, malformed or cut-off bodies) are retried; a
//! failure that stays leaves the cursor where it was.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

/// A server whose first answer to `/incidents` is `first`, and a page of one incident afterwards.
async fn failing_once(first: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_one_incident(&server).await;
    server
}

/// The account's one incident, behind whatever `server` answers first.
async fn mount_one_incident(server: &MockServer) {
    Fake::new(
        Listing::Incidents,
        vec![incident_json(
            "PONE",
            t("2024-02-01T00:00:00Z"),
            "PSVC1",
            "PTEAM1",
            "resolved",
        )],
    )
    .mount(server)
    .await;
}

/// A connector importing January and February 2024 from the API at `base`, and its first cursor.
fn two_months(base: &str) -> (PagerDuty, Cursor) {
    let pd = connector_at(
        base,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let cursor = pd.backfill(t("2024-03-01T00:00:00Z"));
    (pd, cursor)
}

async fn first_step(server: &MockServer) -> Result<Step<Cursor>, SourceError> {
    let (pd, cursor) = two_months(&server.uri());
    pd.step(&cursor).await
}

fn rate_limited() -> ResponseTemplate {
    ResponseTemplate::new(429)
        .set_body_json(json!({"error": {"message": "Rate Limit Exceeded", "code": 2020}}))
}

#[tokio::test]
async fn a_rate_limit_with_ratelimit_reset_is_waited_out_then_the_page_is_read() {
    let server = failing_once(rate_limited().insert_header("ratelimit-reset", "0.4")).await;
    let started = tokio::time::Instant::now();
    let step = first_step(&server).await.unwrap();
    assert!(
        started.elapsed() >= StdDuration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(step.incidents.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_rate_limit_without_headers_backs_off_then_the_page_is_read() {
    let server = failing_once(ResponseTemplate::new(429)).await;
    let step = first_step(&server).await.unwrap();
    assert_eq!(step.incidents.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_server_error_is_retried_then_the_page_is_read() {
    let server =
        failing_once(ResponseTemplate::new(503).set_body_string("upstream unavailable")).await;
    let step = first_step(&server).await.unwrap();
    assert_eq!(step.incidents.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_timeout_is_retried_then_the_page_is_read() {
    let late = ResponseTemplate::new(200)
        .set_body_json(json!({"incidents": [], "more": false}))
        .set_delay(StdDuration::from_millis(1_500));
    let server = failing_once(late).await;
    let step = first_step(&server).await.unwrap();
    assert_eq!(step.incidents.len(), 1, "the late empty page was not used");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_malformed_body_is_retried_then_the_page_is_read() {
    let server = failing_once(
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"incidents":[{"id":"PONE","#, "application/json"),
    )
    .await;
    let step = first_step(&server).await.unwrap();
    assert_eq!(step.incidents.len(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_body_that_stays_malformed_fails_as_malformed_and_the_same_cursor_reads_the_page_later() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"unexpected": true})))
        .mount(&server)
        .await;
    let (pd, cursor) = two_months(&server.uri());
    let saved = cursor.clone();
    match pd.step(&cursor).await {
        Err(e @ SourceError::Malformed { .. }) => assert!(e.is_transient()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "max_attempts"
    );
    assert_eq!(cursor, saved);

    server.reset().await;
    mount_one_incident(&server).await;
    let step = pd.step(&cursor).await.unwrap();
    assert_eq!(step.incidents[0].external_id, "PONE", "nothing was lost");
}

/// A plain TCP server answering each connection with the next of `answers` (the last one repeats).
async fn raw_server(answers: Vec<String>) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let answer = answers[n.min(answers.len() - 1)].clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (base, served)
}

fn http_answer(body: &str, claimed_length: usize) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {claimed_length}\r\nConnection: close\r\n\r\n{body}"
    )
}

#[tokio::test]
async fn a_body_cut_off_in_transit_is_retried_then_the_page_is_read() {
    let whole = json!({"incidents": [incident_json("PONE", t("2024-02-01T00:00:00Z"), "PSVC1", "PTEAM1", "resolved")], "more": false}).to_string();
    let cut = &whole[..whole.len() / 2];
    let (base, served) = raw_server(vec![
        http_answer(cut, whole.len()),
        http_answer(&whole, whole.len()),
    ])
    .await;
    let (pd, cursor) = two_months(&base);
    let step = pd.step(&cursor).await.unwrap();
    assert_eq!(step.incidents[0].external_id, "PONE");
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_always_cut_off_fails_as_malformed_without_advancing() {
    let (base, served) = raw_server(vec![http_answer(r#"{"incidents":[{"id""#, 4_000)]).await;
    let (pd, cursor) = two_months(&base);
    let result = pd.step(&cursor).await;
    assert!(
        matches!(result, Err(SourceError::Malformed { .. })),
        "{result:?}"
    );
    assert_eq!(served.load(Ordering::SeqCst), 3);
}
