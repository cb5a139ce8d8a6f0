//! The connector against a fake Opsgenie on wiremock: a small stateful account that filters by the search
//! query, sorts, pages by offset under the cap and by cursor through timelines, and refuses requests without
//! the key — plus failures injected in front of it.

use super::*;
use crate::client::HttpPolicy;
use crate::event_kind;
use chrono::{SecondsFormat, TimeZone};
use insights_types::api::IncidentStatus;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::{Duration as StdDuration, Instant};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "test-key";

fn policy() -> HttpPolicy {
    HttpPolicy::for_tests()
}

fn connector(base: &str, options: OpsgenieOptions) -> Opsgenie {
    Opsgenie::new(
        SourceHttp::new("Opsgenie", policy()),
        Url::parse(base).unwrap(),
        SecretString::from(KEY),
        options,
    )
}

fn day(d: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap() + Duration::days(d)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn since(t: DateTime<Utc>) -> OpsgenieOptions {
    OpsgenieOptions {
        since: Some(t),
        query: None,
    }
}

/// An alert as `/v2/alerts` lists it.
fn alert(n: usize, created: DateTime<Utc>) -> Value {
    json!({
        "id": format!("alert-{n:05}"), "tinyId": (n + 1).to_string(), "alias": format!("alias-{n}"),
        "message": format!("Alert {n}"), "status": if n.is_multiple_of(3) { "closed" } else { "open" },
        "acknowledged": n.is_multiple_of(2), "isSeen": true, "tags": ["prod"], "snoozed": false, "count": 1,
        "createdAt": ts(created), "updatedAt": ts(created + Duration::minutes(30)),
        "lastOccurredAt": ts(created), "source": "Datadog", "owner": "ada@example.com", "priority": "P2",
        "responders": [{"type": "team", "id": "t1"}],
        "integration": {"id": "int-1", "name": "Datadog", "type": "Datadog"},
        "report": {"ackTime": 60_000, "closeTime": 600_000, "acknowledgedBy": "ada", "closedBy": "ada"}
    })
}

fn log(n: usize, at: DateTime<Utc>, text: &str) -> Value {
    json!({"log": text, "type": "system", "owner": "ada@example.com", "createdAt": ts(at),
           "offset": format!("{}_{n:06}", at.timestamp_millis())})
}

/// The account behind the fake API.
#[derive(Default)]
struct Account {
    alerts: Vec<Value>,
    /// `None`: no Incident API on this plan (403).
    incidents: Option<Vec<Value>>,
    logs: HashMap<String, Vec<Value>>,
    notes: HashMap<String, Vec<Value>>,
    teams: Vec<Value>,
    /// `offset + limit` may not exceed this.
    cap: u32,
    /// Search that does not know `updatedAt` (ignores it).
    ignores_updated_at: bool,
    /// An alert whose log answers 500.
    broken_log: Option<String>,
}

impl Account {
    fn new() -> Self {
        Self {
            incidents: Some(Vec::new()),
            teams: vec![json!({"id": "t1", "name": "Platform"})],
            cap: OFFSET_CAP,
            ..Self::default()
        }
    }

    async fn serve(self) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Fake(Arc::new(self)))
            .mount(&server)
            .await;
        server
    }

    fn matches(&self, item: &Value, query: &str) -> bool {
        query.split(" AND ").all(|term| {
            let term = term.trim();
            let bound = |sep: &str| {
                let (field, n) = term.split_once(sep)?;
                let at = normalize::time(item, field.trim())?.timestamp_millis();
                Some((field.trim().to_owned(), at, n.trim().parse::<i64>().ok()?))
            };
            if let Some((field, at, n)) = bound(" >= ") {
                (field == "updatedAt" && self.ignores_updated_at) || at >= n
            } else if let Some((field, at, n)) = bound(" < ") {
                (field == "updatedAt" && self.ignores_updated_at) || at < n
            } else if let Some(tag) = term
                .strip_prefix("(tags:")
                .and_then(|t| t.strip_suffix(')'))
            {
                normalize::tags(item).iter().any(|t| t == tag)
            } else {
                true
            }
        })
    }

    fn list(
        &self,
        items: &[Value],
        req: &Request,
        q: &HashMap<String, String>,
    ) -> ResponseTemplate {
        let query = q.get("query").map(String::as_str).unwrap_or_default();
        let offset: u32 = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
        let limit: u32 = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(20);
        if limit > 100 || offset + limit > self.cap {
            return ResponseTemplate::new(422).set_body_json(json!({
                "message": "Request body is not processable.",
                "errors": {"offset": format!("offset + limit must be at most {}", self.cap)}
            }));
        }
        let sort = q.get("sort").cloned().unwrap_or_else(|| "createdAt".into());
        let mut hits: Vec<&Value> = items.iter().filter(|i| self.matches(i, query)).collect();
        hits.sort_by_key(|i| {
            (
                normalize::time(i, &sort),
                normalize::text(i, "id").map(str::to_owned),
            )
        });
        let page: Vec<&Value> = hits
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .copied()
            .collect();
        let mut paging = json!({"first": req.url.to_string()});
        if (offset + limit) < hits.len() as u32 {
            let mut next = req.url.clone();
            let pairs: Vec<(String, String)> = q
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if k == "offset" {
                            (offset + limit).to_string()
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect();
            next.query_pairs_mut().clear().extend_pairs(pairs);
            paging["next"] = json!(next.to_string());
        }
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": page, "paging": paging, "took": 0.01, "requestId": "r"}))
    }

    fn entries(
        &self,
        items: Option<&Vec<Value>>,
        req: &Request,
        q: &HashMap<String, String>,
    ) -> ResponseTemplate {
        let items = items.cloned().unwrap_or_default();
        let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(20);
        let after = q.get("offset");
        let page: Vec<Value> = items
            .into_iter()
            .filter(|e| {
                after.is_none_or(|a| normalize::text(e, "offset").unwrap_or_default() > a.as_str())
            })
            .take(limit)
            .collect();
        let mut body = json!({"data": page, "took": 0.01, "requestId": "r"});
        // Like Opsgenie: a link to the next page whenever this one had entries, even if it was the last.
        if let Some(last) = page.last().and_then(|e| normalize::text(e, "offset")) {
            let mut next = req.url.clone();
            next.query_pairs_mut().clear().extend_pairs([
                ("offset", last),
                ("direction", "next"),
                ("limit", &limit.to_string()),
            ]);
            body["paging"] = json!({"next": next.to_string()});
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

struct Fake(Arc<Account>);

impl Respond for Fake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let a = &self.0;
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if auth != Some(format!("GenieKey {KEY}").as_str()) {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"message": "Key format is not valid!"}));
        }
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let segments: Vec<&str> = req.url.path().trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["v2", "alerts"] => a.list(&a.alerts, req, &q),
            ["v2", "alerts", "count"] => {
                let query = q.get("query").map(String::as_str).unwrap_or_default();
                let n = a.alerts.iter().filter(|i| a.matches(i, query)).count();
                ResponseTemplate::new(200)
                    .set_body_json(json!({"data": {"count": n}, "took": 0.01, "requestId": "r"}))
            }
            ["v2", "alerts", id, "logs"] if a.broken_log.as_deref() == Some(*id) => {
                ResponseTemplate::new(500).set_body_json(json!({"message": "Internal error"}))
            }
            ["v2", "alerts", id, "logs"] => a.entries(a.logs.get(*id), req, &q),
            ["v2", "alerts", id, "notes"] => a.entries(a.notes.get(*id), req, &q),
            ["v1", "incidents", ""] => match &a.incidents {
                Some(items) => a.list(items, req, &q),
                None => ResponseTemplate::new(403).set_body_json(
                    json!({"message": "You are not allowed to use the Incident API."}),
                ),
            },
            ["v2", "teams"] => ResponseTemplate::new(200)
                .set_body_json(json!({"data": a.teams, "took": 0.01, "requestId": "r"})),
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "No such path"})),
        }
    }
}

/// Everything a walk read.
#[derive(Debug, Default)]
struct Walk {
    incidents: Vec<NormalizedIncident>,
    events: Vec<(String, NormalizedEvent)>,
    skipped: Vec<String>,
    progress: Vec<Progress>,
    steps: usize,
}

/// Steps from `cursor` to the end, saving and reloading the cursor as JSON between steps.
async fn walk(c: &Opsgenie, cursor: Cursor) -> Walk {
    let mut out = Walk::default();
    let mut at = Some(cursor);
    while let Some(cursor) = at {
        assert!(out.steps < 5_000, "the walk does not end");
        out.progress.push(Opsgenie::progress(&cursor));
        let step = c.step(&cursor).await.expect("a step");
        out.steps += 1;
        out.incidents.extend(step.incidents);
        out.events.extend(step.events);
        out.skipped.extend(step.skipped);
        at = step.next.map(|n| {
            let json = serde_json::to_string(&n).unwrap();
            serde_json::from_str(&json).unwrap()
        });
    }
    out
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

fn param(r: &Request, key: &str) -> Option<String> {
    r.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn ids(items: &[NormalizedIncident]) -> Vec<String> {
    items.iter().map(|i| i.external_id.clone()).collect()
}

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
async fn verify_accepts_a_key_that_reads_alerts_with_one_small_request() {
    let server = Account::new().serve().await;
    let c = connector(&server.uri(), OpsgenieOptions::default());
    c.verify().await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url.path(), "/v2/alerts");
    assert_eq!(param(&reqs[0], "limit").as_deref(), Some("1"));
    assert_eq!(reqs[0].headers["authorization"], "GenieKey test-key");
}

#[tokio::test]
async fn verify_explains_a_refused_key_and_points_at_the_other_region() {
    let server = Account::new().serve().await;
    let c = Opsgenie::new(
        SourceHttp::new("Opsgenie", policy()),
        Url::parse(&server.uri()).unwrap(),
        SecretString::from("wrong"),
        OpsgenieOptions::default(),
    );
    let e = c.verify().await.unwrap_err();
    assert!(matches!(e, SourceError::Unauthorized { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("the API key is not valid — or it belongs to the other region (EU accounts use api.eu.opsgenie.com: choose region eu)"),
        "{text}"
    );
    assert!(text.contains("Key format is not valid!"), "{text}");
    assert_eq!(c.requests(), 1, "a refused key is not retried");
}

#[tokio::test]
async fn verify_explains_a_key_without_read_access() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/alerts"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
        .mount(&server)
        .await;
    let e = connector(&server.uri(), OpsgenieOptions::default())
        .verify()
        .await
        .unwrap_err();
    assert!(
        matches!(e, SourceError::Forbidden { status: 403, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().contains(
            "this key cannot read alerts (create a key under Settings → API key management with Read access)"
        ),
        "{e}"
    );
}

#[test]
fn a_refused_key_on_the_eu_host_points_at_the_us_region() {
    let c = connector("https://api.eu.opsgenie.com", OpsgenieOptions::default());
    let e = c.explain(SourceError::Unauthorized {
        source_name: "Opsgenie",
        detail: "no details".into(),
    });
    assert!(
        e.to_string()
            .contains("US accounts use api.opsgenie.com: choose region us"),
        "{e}"
    );
    assert!(!e.to_string().contains("said"), "{e}");
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
