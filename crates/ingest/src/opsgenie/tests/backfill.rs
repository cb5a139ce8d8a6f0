//! The history: every alert and timeline entry once over windows and pages, within the offset cap; the
//! user's query; a walk resumed from its saved cursor; and the progress across both phases.

use super::*;
use crate::event_kind;

/// Half a year of alerts (500, one every ~7 hours), a few with long timelines, and three incidents.
fn busy_account() -> Account {
    let mut a = Account::new();
    for n in 0..500 {
        let created = day(0) + Duration::minutes(n as i64 * 431);
        let id = format!("alert-{n:05}");
        a.alerts.push(alert(n, created));
        let entries = match n {
            0 => 130,
            1 => 100,
            _ => 2,
        };
        let logs = (0..entries)
            .map(|k| {
                log(
                    k,
                    created + Duration::seconds(k as i64),
                    if k == 0 {
                        "Alert created via Datadog"
                    } else {
                        "Alert acknowledged via web"
                    },
                )
            })
            .collect();
        a.logs.insert(id.clone(), logs);
        a.notes.insert(
            id,
            vec![json!({"note": "looking", "owner": "grace", "createdAt": ts(created + Duration::minutes(2)),
                        "offset": format!("{}_000001", created.timestamp_millis())})],
        );
    }
    a.incidents = Some(
        (0..3)
            .map(|n| {
                json!({"id": format!("incident-{n}"), "tinyId": n.to_string(), "message": format!("Incident {n}"),
                       "status": "resolved", "createdAt": ts(day(10 + n * 30)), "updatedAt": ts(day(11 + n * 30)),
                       "priority": "P1", "ownerTeam": "t1", "tags": []})
            })
            .collect(),
    );
    a
}

#[tokio::test]
async fn a_backfill_reads_every_alert_and_timeline_entry_once_over_several_windows_and_pages() {
    let account = busy_account();
    let expected_events: usize = account
        .logs
        .values()
        .chain(account.notes.values())
        .map(Vec::len)
        .sum();
    let server = account.serve().await;
    let c = connector(&server.uri(), since(day(0)));
    let w = walk(&c, c.backfill(day(181))).await;

    let alerts: Vec<String> = ids(&w.incidents)
        .into_iter()
        .filter(|i| i.starts_with("alert-"))
        .collect();
    assert_eq!(alerts.len(), 500);
    assert_eq!(
        alerts.iter().collect::<HashSet<_>>().len(),
        500,
        "each alert once"
    );
    let mut sorted = alerts.clone();
    sorted.sort();
    assert_eq!(alerts, sorted, "oldest first");
    assert_eq!(
        ids(&w.incidents)
            .into_iter()
            .filter(|i| i.starts_with("incident-"))
            .collect::<Vec<_>>(),
        vec!["incident-0", "incident-1", "incident-2"]
    );
    assert!(w.skipped.is_empty(), "{:?}", w.skipped);

    assert_eq!(w.events.len(), expected_events);
    let unique: HashSet<_> = w
        .events
        .iter()
        .map(|(a, e)| (a.clone(), e.external_id.clone()))
        .collect();
    assert_eq!(unique.len(), expected_events, "each entry once");
    let first: Vec<&NormalizedEvent> = w
        .events
        .iter()
        .filter(|(a, _)| a == "alert-00000")
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        first.len(),
        131,
        "130 log entries over two pages, and a note"
    );
    assert_eq!(first[0].kind, event_kind::TRIGGER);
    assert_eq!(first.iter().filter(|e| e.kind == "note").count(), 1);

    let a0 = &w.incidents[0];
    assert_eq!(
        a0.team.as_ref().unwrap().name,
        "Platform",
        "team names come from /v2/teams"
    );
    assert_eq!(
        requests_to(&server, "/v2/teams").await.len(),
        1,
        "teams are read once"
    );

    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs.iter()
            .all(|r| r.headers["authorization"] == "GenieKey test-key")
    );
    let lists = requests_to(&server, "/v2/alerts").await;
    assert!(
        lists.len() > 6,
        "several windows, some of two pages: {}",
        lists.len()
    );
    for r in &lists {
        assert_eq!(param(r, "sort").as_deref(), Some("createdAt"));
        assert_eq!(param(r, "order").as_deref(), Some("asc"));
        assert_eq!(param(r, "limit").as_deref(), Some("100"));
        assert!(
            param(r, "query").unwrap().starts_with("createdAt >= "),
            "{:?}",
            param(r, "query")
        );
    }
    assert!(
        lists
            .iter()
            .any(|r| param(r, "offset").as_deref() == Some("100")),
        "a second page"
    );
    let logs0 = requests_to(&server, "/v2/alerts/alert-00000/logs").await;
    assert_eq!(
        logs0.len(),
        2,
        "two pages, the second after the first's last offset"
    );
    assert_eq!(param(&logs0[0], "identifierType").as_deref(), Some("id"));
    assert_eq!(param(&logs0[0], "order").as_deref(), Some("asc"));
    assert_eq!(param(&logs0[0], "offset"), None);
    assert!(param(&logs0[1], "offset").unwrap().ends_with("_000099"));
    assert_eq!(
        requests_to(&server, "/v2/alerts/alert-00001/logs")
            .await
            .len(),
        2,
        "a full page is followed by one more request, which is empty"
    );
    let incidents = requests_to(&server, "/v1/incidents/").await;
    assert!(!incidents.is_empty());
    assert!(
        incidents
            .iter()
            .all(|r| param(r, "sort").as_deref() == Some("createdAt"))
    );

    assert!(
        w.progress
            .windows(2)
            .all(|p| p[0].fraction <= p[1].fraction),
        "{:?}",
        w.progress
    );
    assert_eq!(w.progress[0].phase, "alerts");
    assert_eq!(w.progress.last().unwrap().phase, "incidents");
}

#[tokio::test]
async fn the_users_query_narrows_the_alerts_but_not_the_incidents() {
    let mut account = Account::new();
    account.alerts = vec![alert(0, day(1)), alert(1, day(2))];
    account.alerts[1]["tags"] = json!(["staging"]);
    let server = account.serve().await;
    let c = connector(
        &server.uri(),
        OpsgenieOptions {
            since: Some(day(0)),
            query: Some("tags:prod".into()),
        },
    );
    let w = walk(&c, c.backfill(day(5))).await;
    assert_eq!(ids(&w.incidents), vec!["alert-00000"]);
    let lists = requests_to(&server, "/v2/alerts").await;
    assert!(
        param(&lists[0], "query")
            .unwrap()
            .ends_with(" AND (tags:prod)")
    );
    let incidents = requests_to(&server, "/v1/incidents/").await;
    assert!(!param(&incidents[0], "query").unwrap().contains("tags"));
}

#[tokio::test]
async fn windows_over_the_offset_cap_are_split_so_no_request_passes_it() {
    let mut account = Account::new();
    account.cap = 300;
    account.alerts = (0..1000)
        .map(|n| alert(n, day(3) + Duration::seconds(n as i64 * 150)))
        .collect();
    let server = account.serve().await;
    let c = connector(&server.uri(), since(day(0))).with_offset_cap(300);
    let w = walk(&c, c.backfill(day(60))).await;

    let got = ids(&w.incidents);
    assert_eq!(got.len(), 1000);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 1000);
    let lists = requests_to(&server, "/v2/alerts").await;
    for r in &lists {
        let offset: u32 = param(r, "offset").unwrap().parse().unwrap();
        assert!(offset + 100 <= 300, "offset {offset} passes the cap");
    }
    assert!(
        requests_to(&server, "/v2/alerts/count").await.len() > 3,
        "windows were sized and split"
    );
}

#[tokio::test]
async fn a_second_holding_more_alerts_than_the_cap_is_read_as_far_as_it_goes_and_said() {
    let mut account = Account::new();
    account.cap = 300;
    account.alerts = (0..450).map(|n| alert(n, day(3))).collect();
    let server = account.serve().await;
    let c = connector(&server.uri(), since(day(0))).with_offset_cap(300);
    let w = walk(&c, c.backfill(day(10))).await;
    assert_eq!(w.incidents.len(), 300);
    assert!(
        w.skipped
            .iter()
            .any(|s| s.contains("450 alerts were created within one second")),
        "{:?}",
        w.skipped
    );
}

#[tokio::test]
async fn the_cursor_round_trips_through_json_and_a_resumed_walk_continues_exactly() {
    let server = busy_account().serve().await;
    let c = connector(&server.uri(), since(day(0)));
    let whole = walk(&c, c.backfill(day(181))).await;

    let mut cursor = c.backfill(day(181));
    let mut first_part = Vec::new();
    for _ in 0..4 {
        let step = c.step(&cursor).await.unwrap();
        first_part.extend(step.incidents);
        cursor = step.next.unwrap();
    }
    let saved = serde_json::to_value(&cursor).unwrap();
    let restored: Cursor = serde_json::from_value(saved.clone()).unwrap();
    assert_eq!(restored, cursor);
    assert_eq!(serde_json::to_value(&restored).unwrap(), saved);

    // A new process: a new connector, the saved cursor.
    let resumed = connector(&server.uri(), since(day(0)));
    let rest = walk(&resumed, restored).await;
    let mut joined = ids(&first_part);
    joined.extend(ids(&rest.incidents));
    assert_eq!(joined, ids(&whole.incidents));
}

#[test]
fn progress_covers_alerts_then_incidents() {
    let c = connector("https://api.opsgenie.com", since(day(0)));
    let start = c.backfill(day(100));
    assert_eq!(
        Opsgenie::progress(&start),
        Progress {
            phase: "alerts",
            fraction: 0.0
        }
    );
    let mut half = start.clone();
    half.window.from = day(50);
    half.window.to = day(80);
    assert!((Opsgenie::progress(&half).fraction - 0.45).abs() < 1e-9);
    let incidents = settle(Cursor {
        window: Windowed::new(day(100), day(100), Duration::days(1)),
        ..start.clone()
    });
    assert_eq!(incidents, None, "an empty range ends at once");
    let mut at = start;
    at.window.from = at.window.end;
    let at = settle(at).unwrap();
    assert_eq!(
        Opsgenie::progress(&at),
        Progress {
            phase: "incidents",
            fraction: ALERTS_SHARE
        }
    );
}
