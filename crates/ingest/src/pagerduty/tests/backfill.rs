//! The history: every incident and then every timeline entry once, over pages and windows within PagerDuty's
//! caps; and a walk resumed from its saved cursor.

use super::*;
use crate::connector;
use std::collections::{BTreeSet, HashSet};

/// A year and two months of history: 250 incidents on the wanted services and team in the wanted states,
/// 60 that the filters exclude, and two or three log entries per incident.
fn history() -> (Vec<Value>, Vec<Value>, HashSet<String>) {
    let start = t("2024-01-01T00:00:00Z");
    let mut incidents = Vec::new();
    let mut entries = Vec::new();
    let mut wanted = HashSet::new();
    for n in 0..310 {
        let at = start + Duration::minutes(n * 1_900); // every 1.3 days: ~136 per 180-day window
        let id = format!("PINC{n:04}");
        let (service, team, status) = match n % 31 {
            0..=24 => (
                ["PSVC1", "PSVC2"][n as usize % 2],
                "PTEAM1",
                ["resolved", "acknowledged"][n as usize % 2],
            ),
            25 | 26 => ("PSVC3", "PTEAM1", "resolved"),
            27 | 28 => ("PSVC1", "PTEAM2", "resolved"),
            _ => ("PSVC1", "PTEAM1", "triggered"),
        };
        let incident = incident_json(&id, at, service, team, status);
        if n % 31 <= 24 {
            wanted.insert(id.clone());
        }
        entries.push(log_entry_json(
            &format!("R{n:04}T"),
            "trigger",
            at,
            &incident,
        ));
        entries.push(log_entry_json(
            &format!("R{n:04}A"),
            "acknowledge",
            at + Duration::minutes(3),
            &incident,
        ));
        if n % 3 == 0 {
            entries.push(log_entry_json(
                &format!("R{n:04}N"),
                "annotate",
                at + Duration::minutes(9),
                &incident,
            ));
        }
        incidents.push(incident);
    }
    (incidents, entries, wanted)
}

fn filtered_options() -> PagerDutyOptions {
    PagerDutyOptions {
        since: Some(t("2024-01-01T00:00:00Z")),
        service_ids: vec!["PSVC1".into(), "PSVC2".into()],
        team_ids: vec!["PTEAM1".into()],
        statuses: vec![IncidentStatus::Resolved, IncidentStatus::Acknowledged],
        note_author_email: None,
    }
}

async fn history_server() -> (MockServer, Vec<Value>, HashSet<String>) {
    let (incidents, entries, wanted) = history();
    let server = MockServer::start().await;
    Fake::new(Listing::Incidents, incidents)
        .mount(&server)
        .await;
    Fake::new(Listing::LogEntries, entries.clone())
        .mount(&server)
        .await;
    (server, entries, wanted)
}

#[tokio::test]
async fn a_backfill_reads_every_incident_then_every_timeline_entry_once_over_pages_and_windows() {
    let (server, entries, wanted) = history_server().await;
    let pd = connector(&server, filtered_options());
    let until = t("2025-03-01T00:00:00Z");
    let out = walk(&pd, pd.backfill(until)).await;

    let got = once(out.incidents.iter().map(|i| i.external_id.as_str()));
    let wanted_ids: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
    assert_eq!(got, wanted_ids, "exactly the incidents the filters allow");
    let got_events = once(out.events.iter().map(|(_, e)| e.external_id.as_str()));
    let team_entries: BTreeSet<&str> = entries
        .iter()
        .filter(|e| e["teams"][0]["id"] == "PTEAM1")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(got_events, team_entries);
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    let note = out
        .events
        .iter()
        .find(|(_, e)| e.external_id == "R0003N")
        .unwrap();
    assert_eq!(note.0, "PINC0003");
    assert_eq!(note.1.kind, event_kind::NOTE);
    assert_eq!(note.1.message.as_deref(), Some("note on PINC0003"));

    let incident_requests = requests_to(&server, "/incidents").await;
    let log_requests = requests_to(&server, "/log_entries").await;
    assert_within_caps(&incident_requests);
    assert_within_caps(&log_requests);
    let windows: BTreeSet<(String, String)> = incident_requests
        .iter()
        .map(|r| (param(r, "since").unwrap(), param(r, "until").unwrap()))
        .collect();
    assert_eq!(
        windows.into_iter().collect::<Vec<_>>(),
        vec![
            ("2024-01-01T00:00:00Z".into(), "2024-06-29T00:00:00Z".into()),
            ("2024-06-29T00:00:00Z".into(), "2024-12-26T00:00:00Z".into()),
            ("2024-12-26T00:00:00Z".into(), "2025-03-01T00:00:00Z".into()),
        ]
    );
    assert!(
        incident_requests.len() >= 5,
        "several pages in a window: {}",
        incident_requests.len()
    );
    assert_eq!(
        out.steps,
        incident_requests.len() + log_requests.len(),
        "one API page per step"
    );
    for r in &incident_requests {
        assert_eq!(param(r, "sort_by").as_deref(), Some("created_at:asc"));
        assert_eq!(param(r, "time_zone").as_deref(), Some("UTC"));
        assert_eq!(param(r, "limit").as_deref(), Some("100"));
        assert_eq!(all(r, "service_ids[]"), ["PSVC1", "PSVC2"]);
        assert_eq!(all(r, "team_ids[]"), ["PTEAM1"]);
        assert_eq!(all(r, "statuses[]"), ["resolved", "acknowledged"]);
        let first = param(r, "offset").as_deref() == Some("0");
        assert_eq!(
            param(r, "total").as_deref() == Some("true"),
            first,
            "{}",
            r.url
        );
    }
    for r in &log_requests {
        assert_eq!(param(r, "is_overview").as_deref(), Some("false"));
        assert_eq!(all(r, "team_ids[]"), ["PTEAM1"]);
        assert!(
            all(r, "include[]").is_empty(),
            "a backfill needs no included incidents"
        );
    }

    let phases: Vec<&str> = out.progress.iter().map(|p| p.phase).collect();
    let switch = phases.iter().position(|p| *p == "timeline").unwrap();
    assert!(phases[..switch].iter().all(|p| *p == "incidents"));
    assert!(phases[switch..].iter().all(|p| *p == "timeline"));
    assert!(
        out.progress
            .windows(2)
            .all(|w| w[0].fraction <= w[1].fraction)
    );
    assert!(out.progress[..switch].iter().all(|p| p.fraction <= 0.5));
    assert!(
        out.progress[switch..]
            .iter()
            .all(|p| p.fraction >= 0.5 && p.fraction < 1.0)
    );
}

#[tokio::test]
async fn a_window_over_the_offset_cap_is_split_and_no_request_passes_the_cap() {
    // 25,000 incidents in 20 days of March, inside 14 months of otherwise quiet history.
    let start = t("2024-03-01T00:00:00Z");
    let incidents: Vec<Value> = (0..25_000)
        .map(|n| {
            incident_json(
                &format!("P{n:05}"),
                start + Duration::seconds(n * 69),
                "PSVC1",
                "PTEAM1",
                "resolved",
            )
        })
        .collect();
    let server = MockServer::start().await;
    Fake::new(Listing::Incidents, incidents)
        .mount(&server)
        .await;
    Fake::new(Listing::LogEntries, vec![]).mount(&server).await;
    let pd = connector(
        &server,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let out = walk(&pd, pd.backfill(t("2025-03-01T00:00:00Z"))).await;

    assert_eq!(
        once(out.incidents.iter().map(|i| i.external_id.as_str())).len(),
        25_000
    );
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    let requests = requests_to(&server, "/incidents").await;
    assert_within_caps(&requests);
    let first = &requests[0];
    assert_eq!(param(first, "total").as_deref(), Some("true"));
    assert_eq!(
        param(&requests[1], "since"),
        param(first, "since"),
        "the window is read again from its start"
    );
    let span = |r: &Request| t(&param(r, "until").unwrap()) - t(&param(r, "since").unwrap());
    assert!(span(&requests[1]) < span(first), "the window was halved");
    assert!(
        requests.iter().any(|r| span(r) < Duration::days(10)),
        "the dense days are read in small windows"
    );
    let deepest = requests
        .iter()
        .map(|r| param(r, "offset").unwrap().parse::<u32>().unwrap())
        .max()
        .unwrap();
    assert!(
        deepest > 1_000,
        "windows are paged deeply, not split needlessly: {deepest}"
    );
}

#[tokio::test]
async fn a_second_too_dense_to_split_is_read_up_to_the_cap_and_reported() {
    let at = t("2024-05-05T05:05:05Z");
    let incidents: Vec<Value> = (0..10_050)
        .map(|n| incident_json(&format!("P{n:05}"), at, "PSVC1", "PTEAM1", "resolved"))
        .collect();
    let server = MockServer::start().await;
    Fake::new(Listing::Incidents, incidents)
        .mount(&server)
        .await;
    Fake::new(Listing::LogEntries, vec![]).mount(&server).await;
    let pd = connector(
        &server,
        PagerDutyOptions {
            since: Some(at),
            ..PagerDutyOptions::default()
        },
    );
    let out = walk(&pd, pd.backfill(at + Duration::days(1))).await;

    assert_eq!(
        once(out.incidents.iter().map(|i| i.external_id.as_str())).len(),
        10_000
    );
    assert_eq!(out.skipped.len(), 1, "{:?}", out.skipped);
    assert!(
        out.skipped[0].starts_with("10050 incidents fall between 2024-05-05T05:05:05Z and"),
        "{}",
        out.skipped[0]
    );
    assert_within_caps(&requests_to(&server, "/incidents").await);
}

#[tokio::test]
async fn an_empty_range_ends_without_a_request() {
    let server = MockServer::start().await;
    let pd = connector(
        &server,
        PagerDutyOptions {
            since: Some(t("2025-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let step = pd
        .step(&pd.backfill(t("2024-01-01T00:00:00Z")))
        .await
        .unwrap();
    assert!(step.next.is_none());
    assert_eq!(pd.requests(), 0);
}

#[test]
fn a_backfill_starts_with_all_history_when_no_start_is_set() {
    let pd = connector_at("http://127.0.0.1:9", PagerDutyOptions::default());
    let c = pd.backfill(t("2025-01-01T00:00:00Z"));
    assert_eq!(c.phase, Phase::Incidents);
    assert_eq!(c.walk.start, t("2009-01-01T00:00:00Z"));
    assert_eq!(c.walk.to - c.walk.from, Duration::days(180));
}

#[test]
fn progress_spans_both_phases_of_a_backfill_and_the_whole_of_a_sync() {
    let pd = connector_at("http://127.0.0.1:9", PagerDutyOptions::default());
    let (a, b) = (t("2024-01-01T00:00:00Z"), t("2024-12-31T00:00:00Z"));
    let mut c = pd.backfill(b);
    c.walk = Windowed::new(a, b, Duration::days(180));
    assert_eq!(
        PagerDuty::progress(&c),
        Progress {
            phase: "incidents",
            fraction: 0.0
        }
    );
    c.walk.advance(0, false, 100, 10_000);
    let p = PagerDuty::progress(&c);
    assert!(p.fraction > 0.2 && p.fraction < 0.3, "{p:?}");
    c.phase = Phase::Timeline;
    let p = PagerDuty::progress(&c);
    assert_eq!(p.phase, "timeline");
    assert!(p.fraction > 0.7 && p.fraction < 0.8, "{p:?}");
    let mut s = pd.changes(a, b);
    assert_eq!(
        PagerDuty::progress(&s),
        Progress {
            phase: "changes",
            fraction: 0.0
        }
    );
    s.walk.advance(0, false, 100, 10_000);
    let p = PagerDuty::progress(&s);
    assert!(p.fraction > 0.45 && p.fraction < 0.55, "{p:?}");
}

#[tokio::test]
async fn a_cursor_saved_as_json_resumes_exactly_where_the_walk_stopped() {
    let (server, _, _) = history_server().await;
    let until = t("2025-03-01T00:00:00Z");
    let uninterrupted = {
        let pd = connector(&server, filtered_options());
        walk(&pd, pd.backfill(until)).await
    };
    let straight: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.to_string())
        .collect();
    server.reset().await;
    let (incidents, entries, _) = history();
    Fake::new(Listing::Incidents, incidents)
        .mount(&server)
        .await;
    Fake::new(Listing::LogEntries, entries).mount(&server).await;

    // Every step by a new connector (a restarted worker), from the cursor as the sync engine stores it.
    let mut saved = serde_json::to_string(&connector::Cursor::Pagerduty(
        connector(&server, filtered_options()).backfill(until),
    ))
    .unwrap();
    let mut resumed = Walked::default();
    let mut mid_window = false;
    loop {
        let connector::Cursor::Pagerduty(cursor) = serde_json::from_str(&saved).unwrap() else {
            panic!("{saved}")
        };
        mid_window |= cursor.walk.offset > 0;
        let step = connector(&server, filtered_options())
            .step(&cursor)
            .await
            .unwrap();
        resumed.incidents.extend(step.incidents);
        resumed.events.extend(step.events);
        match step.next {
            Some(next) => {
                let json =
                    serde_json::to_string(&connector::Cursor::Pagerduty(next.clone())).unwrap();
                assert_eq!(
                    serde_json::from_str::<connector::Cursor>(&json).unwrap(),
                    connector::Cursor::Pagerduty(next)
                );
                saved = json;
            }
            None => break,
        }
    }
    assert!(mid_window, "some cursors stop inside a window");
    assert!(
        saved.contains(r#""source":"pagerduty""#) && saved.contains(r#""phase":"timeline""#),
        "{saved}"
    );
    let again: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.to_string())
        .collect();
    assert_eq!(again, straight, "the same pages in the same order");
    assert_eq!(
        again.iter().collect::<HashSet<_>>().len(),
        again.len(),
        "no page read twice"
    );
    let ids = |w: &Walked| {
        w.incidents
            .iter()
            .map(|i| i.external_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&resumed), ids(&uninterrupted));
    assert_eq!(resumed.events.len(), uninterrupted.events.len());
}

fn assert_within_caps(requests: &[Request]) {
    for r in requests {
        let offset: u32 = param(r, "offset").unwrap().parse().unwrap();
        let limit: u32 = param(r, "limit").unwrap().parse().unwrap();
        assert!(offset + limit <= 10_000, "{}", r.url);
        let span = t(&param(r, "until").unwrap()) - t(&param(r, "since").unwrap());
        assert!(
            span <= Duration::days(180) && span > Duration::zero(),
            "{}",
            r.url
        );
    }
}

fn once<'a>(ids: impl Iterator<Item = &'a str>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for id in ids {
        assert!(seen.insert(id), "{id} arrived twice");
    }
    seen
}
