//! The connector against a fake PagerDuty (wiremock) that pages, filters and enforces the API's caps the way
//! PagerDuty documents them, plus the mapping and the webhooks on their own.

use super::normalize;
use super::webhook;
use super::*;
use crate::client::HttpPolicy;
use crate::connector;
use crate::{NormalizedEvent, event_kind};
use insights_types::api::{IncidentStatus, Urgency};
use serde_json::json;
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "test-token";

fn policy() -> HttpPolicy {
    HttpPolicy::for_tests()
}

fn connector_at(base: &str, options: PagerDutyOptions) -> PagerDuty {
    PagerDuty::new(
        SourceHttp::new("PagerDuty", policy()),
        Url::parse(base).unwrap(),
        SecretString::from(TOKEN),
        options,
    )
}

fn connector(server: &MockServer, options: PagerDutyOptions) -> PagerDuty {
    connector_at(&server.uri(), options)
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn reference(kind: &str, id: &str) -> Value {
    json!({"id": id, "type": format!("{kind}_reference"), "summary": format!("{kind} {id}")})
}

fn incident_json(id: &str, at: DateTime<Utc>, service: &str, team: &str, status: &str) -> Value {
    json!({
        "id": id, "type": "incident", "summary": format!("[#1] Incident {id}"),
        "incident_number": 1, "title": format!("Incident {id}"), "status": status, "urgency": "high",
        "created_at": ts(at), "updated_at": ts(at + Duration::hours(1)),
        "html_url": format!("https://acme.pagerduty.com/incidents/{id}"),
        "service": reference("service", service), "teams": [reference("team", team)],
        "assignments": [], "acknowledgements": [],
    })
}

/// A log entry as stored by the fake: `incident` is the full incident, rendered as a reference unless the
/// request asks `include[]=incidents`.
fn log_entry_json(id: &str, kind: &str, at: DateTime<Utc>, incident: &Value) -> Value {
    let mut e = json!({
        "id": id, "type": format!("{kind}_log_entry"), "summary": format!("{kind} of {}", incident["id"]),
        "created_at": ts(at), "agent": reference("user", "PUSER1"), "channel": {"type": "web_trigger"},
        "incident": incident, "teams": incident["teams"],
    });
    if kind == "annotate" {
        e["channel"] = json!({"type": "note", "summary": format!("note on {}", incident["id"].as_str().unwrap())});
    }
    e
}

/// What the fake lists, and how.
#[derive(Clone, Copy, PartialEq)]
enum Listing {
    Incidents,
    LogEntries,
}

/// A stateful fake of `GET /incidents` or `GET /log_entries`: checks the headers, rejects what PagerDuty
/// rejects (400 on `offset + limit > 10,000`, `limit > 100`, a range over 180 days), filters by time range and
/// the array parameters, pages by offset, and reports `total` when asked.
#[derive(Clone)]
struct Fake {
    listing: Listing,
    items: Arc<Vec<(DateTime<Utc>, Value)>>,
}

impl Fake {
    fn new(listing: Listing, mut items: Vec<Value>) -> Self {
        let mut items: Vec<(DateTime<Utc>, Value)> = items
            .drain(..)
            .map(|v| (t(v["created_at"].as_str().unwrap()), v))
            .collect();
        items.sort_by_key(|(at, _)| *at);
        Self {
            listing,
            items: Arc::new(items),
        }
    }

    async fn mount(self, server: &MockServer) {
        let p = match self.listing {
            Listing::Incidents => "/incidents",
            Listing::LogEntries => "/log_entries",
        };
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(self)
            .mount(server)
            .await;
    }
}

fn bad_request(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(
        json!({"error": {"message": "Invalid Input Provided", "code": 2001, "errors": [message]}}),
    )
}

fn params(req: &Request) -> Vec<(String, String)> {
    req.url.query_pairs().into_owned().collect()
}

fn param(req: &Request, key: &str) -> Option<String> {
    params(req)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn all(req: &Request, key: &str) -> Vec<String> {
    params(req)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl Respond for Fake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if header(req, "authorization").as_deref() != Some("Token token=test-token") {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"message": "Unauthorized", "code": 2006}}));
        }
        if header(req, "accept").as_deref() != Some(ACCEPT)
            || header(req, "content-type").as_deref() != Some("application/json")
        {
            return bad_request("missing headers");
        }
        let since = param(req, "since").map(|s| t(&s));
        let until = param(req, "until").map(|s| t(&s));
        let (Some(since), Some(until)) = (since, until) else {
            return bad_request("since and until are required by this fake");
        };
        if until - since > Duration::days(180) {
            return bad_request("The range between since and until may not exceed 6 months.");
        }
        let offset: usize = param(req, "offset").map_or(0, |o| o.parse().unwrap());
        let limit: usize = param(req, "limit").map_or(25, |l| l.parse().unwrap());
        if limit > 100 {
            return bad_request("Limit must be at most 100.");
        }
        if offset + limit > 10_000 {
            return bad_request("Offset must be less than 10000.");
        }
        let services = all(req, "service_ids[]");
        let teams = all(req, "team_ids[]");
        let statuses = all(req, "statuses[]");
        let expand = all(req, "include[]").contains(&"incidents".to_owned());
        let from = self.items.partition_point(|(at, _)| *at < since);
        let to = self.items.partition_point(|(at, _)| *at < until);
        let selected: Vec<&Value> = self.items[from..to.max(from)]
            .iter()
            .map(|(_, v)| v)
            .filter(|v| {
                if services.is_empty() && teams.is_empty() && statuses.is_empty() {
                    return true;
                }
                let incident = match self.listing {
                    Listing::Incidents => *v,
                    Listing::LogEntries => &v["incident"],
                };
                let of = |k: &str| incident[k]["id"].as_str().unwrap_or_default().to_owned();
                let team_ids: Vec<String> = v["teams"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["id"].as_str().unwrap().to_owned())
                    .collect();
                (services.is_empty()
                    || self.listing == Listing::LogEntries
                    || services.contains(&of("service")))
                    && (teams.is_empty() || team_ids.iter().any(|t| teams.contains(t)))
                    && (statuses.is_empty()
                        || self.listing == Listing::LogEntries
                        || statuses.contains(&incident["status"].as_str().unwrap().to_owned()))
            })
            .collect();
        let page: Vec<Value> = selected
            .iter()
            .skip(offset)
            .take(limit)
            .map(|v| {
                let mut v = (*v).clone();
                if self.listing == Listing::LogEntries && !expand {
                    let id = v["incident"]["id"].as_str().unwrap().to_owned();
                    v["incident"] = reference("incident", &id);
                }
                v
            })
            .collect();
        let key = match self.listing {
            Listing::Incidents => "incidents",
            Listing::LogEntries => "log_entries",
        };
        let total = (param(req, "total").as_deref() == Some("true")).then_some(selected.len());
        ResponseTemplate::new(200).set_body_json(json!({
            key: page, "limit": limit, "offset": offset, "more": offset + limit < selected.len(), "total": total,
        }))
    }
}

/// Everything a walk returned.
#[derive(Default)]
struct Walked {
    incidents: Vec<NormalizedIncident>,
    events: Vec<(String, NormalizedEvent)>,
    skipped: Vec<String>,
    progress: Vec<Progress>,
    steps: usize,
}

async fn walk(pd: &PagerDuty, mut cursor: Cursor) -> Walked {
    let mut out = Walked::default();
    loop {
        out.progress.push(PagerDuty::progress(&cursor));
        let step = pd.step(&cursor).await.unwrap();
        out.steps += 1;
        assert!(out.steps < 2_000, "the walk does not end");
        out.incidents.extend(step.incidents);
        out.events.extend(step.events);
        out.skipped.extend(step.skipped);
        match step.next {
            Some(next) => cursor = next,
            None => return out,
        }
    }
}

async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
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

// --- verify ---

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

// --- backfill ---

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

// --- the cursor ---

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

// --- transient failures ---

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
    .mount(&server)
    .await;
    server
}

async fn first_step(server: &MockServer) -> Result<Step<Cursor>, SourceError> {
    let pd = connector(
        server,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    pd.step(&pd.backfill(t("2024-03-01T00:00:00Z"))).await
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
    let pd = connector(
        &server,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let cursor = pd.backfill(t("2024-03-01T00:00:00Z"));
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
    .mount(&server)
    .await;
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
    let pd = connector_at(
        &base,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let step = pd
        .step(&pd.backfill(t("2024-03-01T00:00:00Z")))
        .await
        .unwrap();
    assert_eq!(step.incidents[0].external_id, "PONE");
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_always_cut_off_fails_as_malformed_without_advancing() {
    let (base, served) = raw_server(vec![http_answer(r#"{"incidents":[{"id""#, 4_000)]).await;
    let pd = connector_at(
        &base,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let result = pd.step(&pd.backfill(t("2024-03-01T00:00:00Z"))).await;
    assert!(
        matches!(result, Err(SourceError::Malformed { .. })),
        "{result:?}"
    );
    assert_eq!(served.load(Ordering::SeqCst), 3);
}

// --- items that cannot be read ---

#[tokio::test]
async fn items_that_cannot_be_read_are_skipped_with_a_sentence_and_the_rest_of_the_page_is_kept() {
    let server = MockServer::start().await;
    let at = t("2024-02-01T00:00:00Z");
    let mut bad_status = incident_json("PBAD1", at, "PSVC1", "PTEAM1", "resolved");
    bad_status["status"] = json!("exploded");
    let mut no_time = incident_json("PBAD2", at, "PSVC1", "PTEAM1", "resolved");
    no_time.as_object_mut().unwrap().remove("created_at");
    let mut no_id = incident_json("x", at, "PSVC1", "PTEAM1", "resolved");
    no_id.as_object_mut().unwrap().remove("id");
    let mut wrong_type = incident_json("PBAD3", at, "PSVC1", "PTEAM1", "resolved");
    wrong_type["acknowledgements"] = json!("yesterday");
    let page = json!({"incidents": [
        incident_json("PGOOD1", at, "PSVC1", "PTEAM1", "resolved"), no_id, bad_status, no_time, wrong_type,
        incident_json("PGOOD2", at, "PSVC1", "PTEAM1", "resolved"),
    ], "more": true, "total": 300});
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    let pd = connector(
        &server,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let step = pd
        .step(&pd.backfill(t("2024-03-01T00:00:00Z")))
        .await
        .unwrap();

    let ids: Vec<&str> = step
        .incidents
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    assert_eq!(ids, ["PGOOD1", "PGOOD2"]);
    assert_eq!(step.skipped.len(), 4, "{:?}", step.skipped);
    assert!(
        step.skipped[0].starts_with("an incident without an id was skipped ({"),
        "{}",
        step.skipped[0]
    );
    assert_eq!(
        step.skipped[1],
        r#"incident PBAD1 was skipped: its status "exploded" is unknown"#
    );
    assert_eq!(
        step.skipped[2],
        "incident PBAD2 was skipped: it has no creation time"
    );
    assert!(
        step.skipped[3].starts_with("incident PBAD3 was skipped: it cannot be read ("),
        "{}",
        step.skipped[3]
    );
    assert_eq!(
        step.next.unwrap().walk.offset,
        6,
        "the skipped items still count in the offset"
    );
}

#[tokio::test]
async fn log_entries_that_cannot_be_read_are_skipped_and_the_rest_of_the_page_is_kept() {
    let server = MockServer::start().await;
    let at = t("2024-02-01T00:00:00Z");
    let incident = incident_json("PINC", at, "PSVC1", "PTEAM1", "resolved");
    let good = log_entry_json("RGOOD", "resolve", at, &incident);
    let mut no_time = log_entry_json("RBAD1", "resolve", at, &incident);
    no_time.as_object_mut().unwrap().remove("created_at");
    let mut no_incident = log_entry_json("RBAD2", "resolve", at, &incident);
    no_incident.as_object_mut().unwrap().remove("incident");
    Mock::given(method("GET"))
        .and(path("/log_entries"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"log_entries": [no_time, good, no_incident], "more": false})),
        )
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let cursor = Cursor {
        phase: Phase::Timeline,
        walk: Windowed::new(
            t("2024-01-01T00:00:00Z"),
            t("2024-03-01T00:00:00Z"),
            Duration::days(180),
        ),
    };
    let step = pd.step(&cursor).await.unwrap();
    assert_eq!(step.events.len(), 1);
    assert_eq!(step.events[0].0, "PINC");
    assert_eq!(step.events[0].1.kind, event_kind::RESOLVE);
    assert_eq!(
        step.skipped,
        [
            "log entry RBAD1 was skipped: it has no time",
            "log entry RBAD2 was skipped: it names no incident"
        ]
    );
    assert!(
        step.next.is_none(),
        "the last window of the timeline ends the walk"
    );
}

// --- incremental sync ---

#[tokio::test]
async fn changes_read_incidents_and_events_from_log_entries_and_honour_the_filters() {
    let old = t("2023-06-01T00:00:00Z");
    let since = t("2025-01-10T00:00:00Z");
    let incidents = [
        incident_json("PA", old, "PSVC1", "PTEAM1", "resolved"), // old, resolved now: wanted
        incident_json("PB", since, "PSVC1", "PTEAM1", "acknowledged"), // new: wanted
        incident_json("PC", since, "PSVC2", "PTEAM1", "resolved"), // other service
        incident_json("PD", since, "PSVC1", "PTEAM1", "triggered"), // other status
        incident_json("PE", since, "PSVC1", "PTEAM2", "resolved"), // other team
    ];
    let mut entries = Vec::new();
    for (n, i) in incidents.iter().enumerate() {
        let at = since + Duration::minutes(n as i64 * 10);
        entries.push(log_entry_json(&format!("R{n}1"), "acknowledge", at, i));
        entries.push(log_entry_json(
            &format!("R{n}2"),
            "resolve",
            at + Duration::minutes(1),
            i,
        ));
    }
    let server = MockServer::start().await;
    Fake::new(Listing::LogEntries, entries).mount(&server).await;
    let pd = connector(
        &server,
        PagerDutyOptions {
            since: None,
            service_ids: vec!["PSVC1".into()],
            team_ids: vec!["PTEAM1".into()],
            statuses: vec![IncidentStatus::Resolved, IncidentStatus::Acknowledged],
        },
    );
    let out = walk(&pd, pd.changes(since, since + Duration::hours(2))).await;

    let ids: Vec<&str> = out
        .incidents
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    assert_eq!(ids, ["PA", "PB"], "one version of each wanted incident");
    assert_eq!(
        out.incidents[0].triggered_at, old,
        "an old incident changed now is caught"
    );
    assert_eq!(out.incidents[0].status, IncidentStatus::Resolved);
    assert_eq!(
        out.events.len(),
        8,
        "every entry of the team's incidents is an event"
    );
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    assert_eq!(out.progress[0].phase, "changes");
    let requests = requests_to(&server, "/log_entries").await;
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(all(r, "include[]"), ["incidents"]);
    assert_eq!(param(r, "since").as_deref(), Some("2025-01-10T00:00:00Z"));
    assert_eq!(param(r, "until").as_deref(), Some("2025-01-10T02:00:00Z"));
    assert_eq!(param(r, "time_zone").as_deref(), Some("UTC"));
    assert!(
        all(r, "statuses[]").is_empty(),
        "log entries have no status filter"
    );

    let recent_only = connector(
        &server,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let out = walk(
        &recent_only,
        recent_only.changes(since, since + Duration::hours(2)),
    )
    .await;
    let ids: Vec<&str> = out
        .incidents
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["PB", "PC", "PD", "PE"],
        "incidents created before the import's start stay out"
    );
}

#[tokio::test]
async fn changes_keep_the_newest_version_of_an_incident_and_report_incidents_sent_only_as_references()
 {
    let at = t("2025-01-10T00:00:00Z");
    let older = incident_json("PA", at, "PSVC1", "PTEAM1", "acknowledged");
    let mut newer = incident_json("PA", at, "PSVC1", "PTEAM1", "resolved");
    newer["updated_at"] = json!("2025-01-10T05:00:00Z");
    let page = json!({"log_entries": [
        log_entry_json("R1", "acknowledge", at, &older),
        log_entry_json("R2", "resolve", at, &newer),
        log_entry_json("R3", "acknowledge", at, &older),
        {"id": "R4", "type": "notify_log_entry", "created_at": "2025-01-10T00:01:00Z", "summary": "Notified",
         "incident": reference("incident", "PREF")},
    ], "more": false});
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/log_entries"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let step = pd
        .step(&pd.changes(at, at + Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(step.incidents.len(), 1);
    assert_eq!(step.incidents[0].status, IncidentStatus::Resolved);
    assert_eq!(step.events.len(), 4);
    assert_eq!(step.skipped.len(), 1);
    assert!(
        step.skipped[0].starts_with("incident PREF came without its details"),
        "{}",
        step.skipped[0]
    );
}

// --- mapping ---

#[test]
fn an_incident_maps_every_field_the_unified_model_has() {
    let v = json!({
        "id": "PX1", "incident_number": 42, "title": "Disk full", "summary": "[#42] Disk full",
        "description": "Disk full", "body": {"type": "incident_body", "details": "/var is at 100%"},
        "status": "acknowledged", "urgency": "low", "priority": {"id": "PP1", "summary": "P1"},
        "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:30:00Z",
        "last_status_change_at": "2024-05-01T10:20:00Z",
        "service": {"id": "PSVC1", "summary": "Storage"},
        "teams": [{"id": "PT1", "summary": "Platform"}, {"id": "PT2", "summary": "Other"}],
        "acknowledgements": [{"at": "2024-05-01T10:20:00Z"}, {"at": "2024-05-01T10:05:00+02:00"}],
        "assignments": [{"assignee": {"id": "PU1", "summary": "Ada"}}, {"assignee": {"id": "PU2", "summary": "Grace"}},
                        {"assignee": {"id": "PU1", "summary": "Ada"}}],
        "html_url": "https://acme.pagerduty.com/incidents/PX1",
    });
    let i = normalize::incident(&v).unwrap();
    assert_eq!(i.source, insights_types::api::IncidentSource::Pagerduty);
    assert_eq!(i.external_id, "PX1");
    assert_eq!(i.number, Some(42));
    assert_eq!(i.title, "Disk full");
    assert_eq!(i.description.as_deref(), Some("/var is at 100%"));
    assert_eq!(
        i.service
            .as_ref()
            .map(|s| (s.external_id.as_str(), s.name.as_str())),
        Some(("PSVC1", "Storage"))
    );
    assert_eq!(i.team.as_ref().map(|s| s.name.as_str()), Some("Platform"));
    assert_eq!(i.urgency, Some(Urgency::Low));
    assert_eq!(i.priority.as_deref(), Some("P1"));
    assert_eq!(i.status, IncidentStatus::Acknowledged);
    assert_eq!(i.triggered_at, t("2024-05-01T10:00:00Z"));
    assert_eq!(
        i.acknowledged_at,
        Some(t("2024-05-01T08:05:00Z")),
        "the earliest, in UTC"
    );
    assert_eq!(i.resolved_at, None);
    assert_eq!(i.assignees, ["Ada", "Grace"]);
    assert!(i.tags.is_empty() && i.timeline.is_empty());
    assert_eq!(
        i.source_url.as_deref(),
        Some("https://acme.pagerduty.com/incidents/PX1")
    );
    assert_eq!(i.source_updated_at, t("2024-05-01T10:30:00Z"));
    assert_eq!(i.raw, v);
}

#[test]
fn a_resolved_incident_without_resolved_at_uses_its_last_status_change() {
    let v = json!({
        "id": "PX2", "summary": "[#7] Latency", "description": "[#7] Latency", "status": "resolved",
        "created_at": "2024-05-01T10:00:00Z", "last_status_change_at": "2024-05-01T11:00:00Z", "priority": null,
    });
    let i = normalize::incident(&v).unwrap();
    assert_eq!(
        i.title, "[#7] Latency",
        "the summary stands in for a missing title"
    );
    assert_eq!(
        i.description, None,
        "a description equal to the title says nothing"
    );
    assert_eq!(i.resolved_at, Some(t("2024-05-01T11:00:00Z")));
    assert_eq!(i.source_updated_at, t("2024-05-01T11:00:00Z"));
    assert_eq!(
        (i.urgency, i.priority, i.service, i.team, i.acknowledged_at),
        (None, None, None, None, None)
    );
    let bare = json!({"id": "PX3", "title": "t", "status": "triggered", "created_at": "2024-05-01T10:00:00Z"});
    let i = normalize::incident(&bare).unwrap();
    assert_eq!(i.source_updated_at, i.triggered_at);
    assert_eq!(i.resolved_at, None);
}

#[test]
fn log_entry_types_map_to_the_unified_kinds() {
    for (t, kind) in [
        ("trigger_log_entry", event_kind::TRIGGER),
        ("acknowledge_log_entry", event_kind::ACKNOWLEDGE),
        ("unacknowledge_log_entry", event_kind::UNACKNOWLEDGE),
        ("resolve_log_entry", event_kind::RESOLVE),
        ("assign_log_entry", event_kind::ASSIGN),
        ("delegate_log_entry", event_kind::ASSIGN),
        ("escalate_log_entry", event_kind::ESCALATE),
        ("repeat_escalation_path_log_entry", event_kind::ESCALATE),
        ("exhaust_escalation_path_log_entry", event_kind::ESCALATE),
        ("notify_log_entry", event_kind::NOTIFY),
        ("annotate_log_entry", event_kind::NOTE),
        ("snooze_log_entry", event_kind::SNOOZE),
        ("urgency_change_log_entry", event_kind::URGENCY),
        ("priority_change_log_entry", event_kind::PRIORITY),
        ("trigger_log_entry_reference", event_kind::TRIGGER),
        ("reach_ack_limit_log_entry", event_kind::OTHER),
        ("custom_field_value_change_log_entry", event_kind::OTHER),
        ("", event_kind::OTHER),
    ] {
        assert_eq!(normalize::kind_of(t), kind, "{t}");
    }
}

#[test]
fn a_log_entry_maps_to_an_event_of_its_incident_with_the_note_text_for_annotations() {
    let note = json!({
        "id": "RN1", "type": "annotate_log_entry", "created_at": "2024-05-01T10:09:00Z", "summary": "Note added",
        "agent": {"id": "PU1", "type": "user_reference", "summary": "Ada"},
        "channel": {"type": "note", "summary": "Rolled back the deploy"}, "incident": {"id": "PX1"},
    });
    let (incident, e) = normalize::event(&note).unwrap();
    assert_eq!(incident, "PX1");
    assert_eq!(
        (e.external_id.as_str(), e.kind.as_str()),
        ("RN1", event_kind::NOTE)
    );
    assert_eq!(e.at, t("2024-05-01T10:09:00Z"));
    assert_eq!(e.actor.as_deref(), Some("Ada"));
    assert_eq!(e.message.as_deref(), Some("Rolled back the deploy"));
    assert_eq!(e.raw, note);
    let in_note_field = json!({"id": "RN2", "type": "annotate_log_entry", "created_at": "2024-05-01T10:09:00Z",
        "note": "Paged the DBA", "channel": {"type": "note"}, "incident": {"id": "PX1"}});
    assert_eq!(
        normalize::event(&in_note_field)
            .unwrap()
            .1
            .message
            .as_deref(),
        Some("Paged the DBA")
    );
    let ack = json!({"id": "RA", "type": "acknowledge_log_entry", "created_at": "2024-05-01T10:09:00Z",
        "summary": "Acknowledged by Ada", "note": "ignored", "incident": {"id": "PX1"}});
    let (_, e) = normalize::event(&ack).unwrap();
    assert_eq!(e.message.as_deref(), Some("Acknowledged by Ada"));
    assert_eq!(e.actor, None);
}

// --- webhooks ---

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

// --- webhook subscriptions ---

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
