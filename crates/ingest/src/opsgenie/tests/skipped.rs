//! What cannot be read (an alert without an id, a timeline, the Incident API of a plan without it) is
//! skipped or left out, and said in a sentence; the rest is kept.

use super::*;

#[tokio::test]
async fn an_alert_without_an_id_is_skipped_with_a_sentence_and_the_rest_of_its_page_kept() {
    let mut account = Account::new();
    account.alerts = (0..5)
        .map(|n| alert(n, day(1) + Duration::hours(n as i64)))
        .collect();
    account.alerts[2].as_object_mut().unwrap().remove("id");
    let server = account.serve().await;
    let c = connector(&server.uri(), since(day(0)));
    let w = walk(&c, c.backfill(day(5))).await;
    assert_eq!(
        ids(&w.incidents),
        vec!["alert-00000", "alert-00001", "alert-00003", "alert-00004"]
    );
    assert_eq!(w.skipped.len(), 1, "{:?}", w.skipped);
    assert!(
        w.skipped[0].contains("without an id") && w.skipped[0].contains("#3"),
        "{}",
        w.skipped[0]
    );
}

#[tokio::test]
async fn an_alert_whose_timeline_cannot_be_read_is_kept_and_the_gap_said() {
    let mut account = Account::new();
    account.alerts = (0..3)
        .map(|n| alert(n, day(1) + Duration::hours(n as i64)))
        .collect();
    for n in 0..3 {
        let id = format!("alert-{n:05}");
        account
            .logs
            .insert(id, vec![log(0, day(1), "Alert created")]);
    }
    account.broken_log = Some("alert-00001".into());
    let server = account.serve().await;
    let c = connector(&server.uri(), since(day(0)));
    let w = walk(&c, c.backfill(day(5))).await;
    assert_eq!(
        ids(&w.incidents),
        vec!["alert-00000", "alert-00001", "alert-00002"]
    );
    assert!(w.events.iter().all(|(a, _)| a != "alert-00001"));
    assert_eq!(w.events.len(), 2);
    assert_eq!(w.skipped.len(), 1, "{:?}", w.skipped);
    assert!(
        w.skipped[0].contains("alert-00001") && w.skipped[0].contains("timeline"),
        "{}",
        w.skipped[0]
    );
    assert_eq!(
        requests_to(&server, "/v2/alerts/alert-00001/logs")
            .await
            .len(),
        3,
        "retried up to the policy's attempts"
    );
}

#[tokio::test]
async fn a_plan_without_the_incident_api_skips_incidents_with_a_sentence() {
    let mut account = Account::new();
    account.alerts = vec![alert(0, day(1))];
    account.incidents = None;
    let server = account.serve().await;
    let c = connector(&server.uri(), since(day(0)));
    let w = walk(&c, c.backfill(day(90))).await;
    assert_eq!(ids(&w.incidents), vec!["alert-00000"]);
    assert_eq!(w.skipped.len(), 1, "{:?}", w.skipped);
    assert!(
        w.skipped[0].contains("Incident API") && w.skipped[0].contains("403"),
        "{}",
        w.skipped[0]
    );
    assert_eq!(
        requests_to(&server, "/v1/incidents/").await.len(),
        1,
        "asked once"
    );
    // Incremental syncs skip the phase quietly: the backfill said it once.
    let w = walk(&c, c.changes(day(1), day(2))).await;
    assert!(w.skipped.is_empty(), "{:?}", w.skipped);
    assert_eq!(requests_to(&server, "/v1/incidents/").await.len(), 2);
}
