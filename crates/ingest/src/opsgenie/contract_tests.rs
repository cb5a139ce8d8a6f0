//! Contract tests against Prism serving Opsgenie's published description (`crates/ingest/specs/
//! opsgenie.swagger.json`): the connector's real requests must pass Prism's validation (an invalid one gets
//! 400/422 with an `sl-violations` header, which the connector reports as a refused request and fails the
//! test), and Prism's schema-shaped answers (`"id": "string"`, `"count": -2147483648`, `paging.next:
//! "string"`) must be read without a crash. Prism's answers are static: single steps, never whole walks.

use super::*;
use crate::client::HttpPolicy;
use chrono::TimeZone;
use std::time::Duration as StdDuration;

fn prism() -> Url {
    let url = std::env::var("INSIGHTS_TEST_PRISM_OPSGENIE").unwrap_or_else(|_| {
        panic!(
            "INSIGHTS_TEST_PRISM_OPSGENIE is not set: run the tests with scripts/test, which starts Prism on \
             Opsgenie's description"
        )
    });
    Url::parse(&url).expect("INSIGHTS_TEST_PRISM_OPSGENIE is a URL")
}

fn connector(options: OpsgenieOptions) -> Opsgenie {
    let policy = HttpPolicy {
        max_attempts: 2,
        backoff: StdDuration::from_millis(10),
        max_backoff: StdDuration::from_millis(50),
        timeout: StdDuration::from_secs(10),
        ..HttpPolicy::default()
    };
    Opsgenie::new(
        SourceHttp::new("Opsgenie", policy),
        prism(),
        SecretString::from("contract-test-key"),
        options,
    )
}

fn until() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

#[tokio::test]
async fn prism_refuses_an_invalid_request_so_these_tests_can_fail() {
    let mut url = prism();
    url.set_path("/v2/alerts");
    let resp = reqwest::Client::new()
        .get(url)
        .query(&[("limit", "500")])
        .header("Authorization", "GenieKey contract-test-key")
        .send()
        .await
        .expect("Prism answers");
    assert!(
        matches!(resp.status().as_u16(), 400 | 422),
        "{}",
        resp.status()
    );
    assert!(resp.headers().contains_key("sl-violations"));
}

#[tokio::test]
async fn verify_passes_prism_validation() {
    connector(OpsgenieOptions::default())
        .verify()
        .await
        .expect("Prism accepts verify's request");
}

#[tokio::test]
async fn a_step_of_alerts_passes_validation_and_reads_placeholder_alerts_and_timelines() {
    let c = connector(OpsgenieOptions {
        since: Some(until() - Duration::days(1)),
        query: Some("priority:(P1 OR P2)".into()),
    });
    let step = c
        .step(&c.backfill(until()))
        .await
        .expect("Prism accepts the count, list, logs and notes requests");
    assert_eq!(step.incidents.len(), 1, "{:?}", step.skipped);
    let a = &step.incidents[0];
    assert_eq!(a.external_id, "string");
    assert_eq!(a.number, None, "tinyId \"string\" is no number");
    assert_eq!(a.acknowledged_at, None, "a negative ackTime is ignored");
    let kinds: Vec<&str> = step
        .events
        .iter()
        .map(|(_, e)| e.external_id.as_str())
        .collect();
    assert_eq!(kinds, vec!["log:string", "note:string"]);
    assert!(step.skipped.is_empty(), "{:?}", step.skipped);
    let next = step.next.expect("the incidents phase follows");
    assert_eq!(next.phase, Phase::Incidents);
}

#[tokio::test]
async fn a_step_of_incidents_passes_validation_and_reads_placeholder_incidents() {
    let c = connector(OpsgenieOptions {
        since: Some(until() - Duration::days(1)),
        query: None,
    });
    let mut cursor = c.backfill(until());
    cursor.window.from = cursor.window.end;
    let cursor = settle(cursor).expect("an incidents phase");
    let step = c
        .step(&cursor)
        .await
        .expect("Prism accepts the incidents (trailing slash) and teams requests");
    assert!(
        step.skipped.is_empty(),
        "the Incident API is described: {:?}",
        step.skipped
    );
    assert_eq!(step.incidents.len(), 1);
    let i = &step.incidents[0];
    assert_eq!(i.external_id, "string");
    assert_eq!(
        i.team.as_ref().map(|t| t.name.as_str()),
        Some("string"),
        "ownerTeam named through /v2/teams"
    );
}

#[tokio::test]
async fn a_step_of_changes_passes_validation() {
    let c = connector(OpsgenieOptions::default());
    // Prism's placeholder alert was updated at 2019-08-24T14:15:22Z: a range around it.
    let since = Utc.with_ymd_and_hms(2019, 8, 24, 0, 0, 0).unwrap();
    let step = c
        .step(&c.changes(since, since + Duration::days(1)))
        .await
        .expect("Prism accepts the updatedAt count and list requests");
    assert_eq!(step.incidents.len(), 1, "{:?}", step.skipped);
}

/// Opsgenie's description declares no `consumes` for its POST operations, so Prism refuses every body with a
/// 415 violation whatever it holds. The connector's note is recorded (wiremock), replayed to Prism, and must
/// break nothing else: the path, the `identifierType` parameter and the key header are checked.
#[tokio::test]
async fn add_note_to_an_alert_passes_prisms_request_validation_but_the_undeclared_body_type() {
    use wiremock::matchers::method;
    let recorder = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(202).set_body_json(
            serde_json::json!({"result": "Request will be processed", "took": 0.1, "requestId": "r"}),
        ))
        .mount(&recorder)
        .await;
    let og = Opsgenie::new(
        SourceHttp::new("Opsgenie", HttpPolicy::default()),
        Url::parse(&recorder.uri()).unwrap(),
        SecretString::from("contract-test-key"),
        OpsgenieOptions::default(),
    );
    og.add_note(
        "70413a06-38d6-4c85-92b8-5ebc900d42e2",
        false,
        "Restarted the pods: ok",
    )
    .await
    .unwrap();
    let sent = recorder.received_requests().await.unwrap().remove(0);
    let mut url = prism();
    url.set_path(sent.url.path());
    url.set_query(sent.url.query());
    let mut replay = reqwest::Client::new().post(url).body(sent.body.clone());
    for (name, value) in &sent.headers {
        if name != "host" && name != "content-length" {
            replay = replay.header(name.as_str(), value.as_bytes());
        }
    }
    let resp = replay.send().await.expect("Prism answers");
    let violations: Vec<serde_json::Value> = resp
        .headers()
        .get("sl-violations")
        .map(|v| serde_json::from_slice(v.as_bytes()).expect("violations are JSON"))
        .unwrap_or_default();
    let others: Vec<_> = violations.iter().filter(|v| v["code"] != 415).collect();
    assert!(others.is_empty(), "{others:?}");
    assert_eq!(
        sent.url.path(),
        "/v2/alerts/70413a06-38d6-4c85-92b8-5ebc900d42e2/notes"
    );
}
