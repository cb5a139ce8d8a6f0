//! The incremental sync: alerts changed in the range, each window in a single page.

use super::*;
use insights_types::api::IncidentStatus;

#[tokio::test]
async fn changes_pick_up_an_old_alert_closed_recently() {
    let now = Utc::now();
    let mut old = alert(0, now - Duration::days(700));
    old["status"] = json!("closed");
    old["updatedAt"] = json!(ts(now - Duration::minutes(10)));
    old["report"] = json!({"ackTime": 60_000});
    let mut untouched = alert(1, now - Duration::days(600));
    untouched["updatedAt"] = json!(ts(now - Duration::days(599)));
    let mut account = Account::new();
    account.alerts = vec![old, untouched];
    let server = account.serve().await;
    let c = connector(&server.uri(), OpsgenieOptions::default());
    let w = walk(&c, c.changes(now - Duration::hours(1), now)).await;

    assert_eq!(ids(&w.incidents), vec!["alert-00000"]);
    let i = &w.incidents[0];
    assert_eq!(i.status, IncidentStatus::Resolved);
    let closed = DateTime::from_timestamp_millis((now - Duration::minutes(10)).timestamp_millis());
    assert_eq!(
        i.resolved_at, closed,
        "no close time in the report: the last update"
    );
    assert_eq!(
        i.triggered_at.date_naive(),
        (now - Duration::days(700)).date_naive()
    );
    let lists = requests_to(&server, "/v2/alerts").await;
    assert_eq!(param(&lists[0], "sort").as_deref(), Some("updatedAt"));
    let q = param(&lists[0], "query").unwrap();
    let from =
        (now - Duration::hours(1) - Duration::minutes(CHANGES_OVERLAP_MINUTES)).timestamp_millis();
    assert!(
        q.starts_with(&format!("updatedAt >= {from} AND updatedAt < ")),
        "{q}"
    );
    let incidents = requests_to(&server, "/v1/incidents/").await;
    assert!(
        param(&incidents[0], "query")
            .unwrap()
            .starts_with("updatedAt >= ")
    );
}

#[tokio::test]
async fn changes_read_every_window_in_a_single_page() {
    let now = Utc::now();
    let mut account = Account::new();
    account.alerts = (0..250)
        .map(|n| {
            let mut a = alert(n, now - Duration::days(30));
            a["updatedAt"] = json!(ts(now - Duration::seconds(3000 - n as i64 * 10)));
            a
        })
        .collect();
    let server = account.serve().await;
    let c = connector(&server.uri(), OpsgenieOptions::default());
    let w = walk(&c, c.changes(now - Duration::hours(1), now)).await;
    let got = ids(&w.incidents);
    assert_eq!(got.len(), 250);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 250);
    let lists = requests_to(&server, "/v2/alerts").await;
    assert!(
        lists
            .iter()
            .all(|r| param(r, "offset").as_deref() == Some("0")),
        "no offset paging over updatedAt"
    );
}

#[tokio::test]
async fn changes_stop_with_an_error_when_the_search_ignores_updated_at() {
    let now = Utc::now();
    let mut account = Account::new();
    account.ignores_updated_at = true;
    account.alerts = vec![alert(0, now - Duration::days(300))];
    let server = account.serve().await;
    let c = connector(&server.uri(), OpsgenieOptions::default());
    let cursor = c.changes(now - Duration::hours(1), now);
    let e = c.step(&cursor).await.unwrap_err();
    assert!(matches!(e, SourceError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains("updatedAt filter"), "{e}");
}
