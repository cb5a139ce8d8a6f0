//! The connector against a fake PagerDuty (wiremock) that pages, filters and enforces the API's caps the way
//! PagerDuty documents them, plus the mapping and the webhooks on their own.

mod backfill;
mod changes;
mod mapping;
mod notes;
mod retries;
mod skipped;
mod verify;
mod webhooks;

use super::*;
use crate::client::HttpPolicy;
use crate::test_support::requests_to;
use crate::{NormalizedEvent, event_kind};
use insights_types::api::{IncidentStatus, Urgency};
use serde_json::json;
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "test-token";

fn connector_at(base: &str, options: PagerDutyOptions) -> PagerDuty {
    PagerDuty::new(
        SourceHttp::new("PagerDuty", HttpPolicy::for_tests()),
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
