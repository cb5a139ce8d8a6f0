//! Transient failures (rate limits, server errors, timeouts, malformed or cut-off bodies) are retried; a
//! failure that stays leaves the cursor where it was.

use super::*;
use std::time::{Duration as StdDuration, Instant};

/// A server that answers the first `n` requests to `p` with `template`, and the fake account after.
async fn failing_first(
    n: u64,
    p: &str,
    template: ResponseTemplate,
    account: Account,
) -> MockServer {
    let server = account.serve().await;
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(template)
        .up_to_n_times(n)
        .with_priority(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_rate_limit_waits_as_long_as_opsgenie_says_then_succeeds() {
    let server = failing_first(
        1,
        "/v2/alerts",
        ResponseTemplate::new(429).insert_header("X-RateLimit-Period-In-Sec", "1"),
        Account::new(),
    )
    .await;
    let c = connector(&server.uri(), OpsgenieOptions::default());
    let started = Instant::now();
    c.verify().await.unwrap();
    assert!(
        started.elapsed() >= StdDuration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(c.requests(), 2);
}

#[tokio::test]
async fn a_rate_limit_without_headers_backs_off_and_succeeds() {
    let server = failing_first(2, "/v2/alerts", ResponseTemplate::new(429), Account::new()).await;
    let c = connector(&server.uri(), OpsgenieOptions::default());
    c.verify().await.unwrap();
    assert_eq!(c.requests(), 3);
}

#[tokio::test]
async fn a_server_error_is_retried_and_then_succeeds() {
    let server = failing_first(
        2,
        "/v2/alerts",
        ResponseTemplate::new(503).set_body_string("upstream unavailable"),
        Account::new(),
    )
    .await;
    let c = connector(&server.uri(), OpsgenieOptions::default());
    c.verify().await.unwrap();
    assert_eq!(c.requests(), 3);
}

#[tokio::test]
async fn a_timeout_is_retried_and_then_succeeds() {
    let mut account = Account::new();
    account.alerts = vec![alert(0, day(1))];
    let server = failing_first(
        1,
        "/v2/alerts/count",
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": {"count": 1}}))
            .set_delay(StdDuration::from_secs(3)),
        account,
    )
    .await;
    let c = connector(&server.uri(), since(day(0)));
    let step = c.step(&c.backfill(day(5))).await.unwrap();
    assert_eq!(ids(&step.incidents), vec!["alert-00000"]);
    assert_eq!(requests_to(&server, "/v2/alerts/count").await.len(), 2);
}

#[tokio::test]
async fn a_truncated_page_is_retried_then_malformed_and_the_cursor_reads_it_again_later() {
    let mut account = Account::new();
    account.alerts = (0..3)
        .map(|n| alert(n, day(1) + Duration::hours(n as i64)))
        .collect();
    let server = failing_first(
        3,
        "/v2/alerts",
        ResponseTemplate::new(200).set_body_raw(
            r#"{"data":[{"id":"alert-00000","message":"Al"#,
            "application/json",
        ),
        account,
    )
    .await;
    let c = connector(&server.uri(), since(day(0)));
    let cursor = c.backfill(day(5));
    let e = c.step(&cursor).await.unwrap_err();
    assert!(matches!(e, SourceError::Malformed { .. }), "{e:?}");
    assert_eq!(
        requests_to(&server, "/v2/alerts").await.len(),
        3,
        "retried up to the policy's attempts"
    );
    // The failed step returned no cursor: the saved one reads the same page again.
    let step = c.step(&cursor).await.unwrap();
    assert_eq!(
        ids(&step.incidents),
        vec!["alert-00000", "alert-00001", "alert-00002"]
    );
}

#[tokio::test]
async fn a_malformed_body_is_retried_then_reported_as_malformed() {
    let server = failing_first(
        3,
        "/v2/alerts/count",
        ResponseTemplate::new(200)
            .set_body_raw("<html><body>Bad gateway</body></html>", "text/html"),
        Account::new(),
    )
    .await;
    let c = connector(&server.uri(), since(day(0)));
    let cursor = c.backfill(day(5));
    let e = c.step(&cursor).await.unwrap_err();
    assert!(matches!(e, SourceError::Malformed { .. }), "{e:?}");
    assert!(e.is_transient());
    assert!(
        c.step(&cursor).await.is_ok(),
        "the same cursor works once the answer is right"
    );
}

#[test]
fn a_body_cut_off_in_transit_is_retried_then_malformed() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { break };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"data\":[{\"id\":",
            );
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = connector(&format!("http://{addr}"), OpsgenieOptions::default());
    let e = rt.block_on(c.verify()).unwrap_err();
    assert!(matches!(e, SourceError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains("cut off"), "{e}");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 3);
}
