//! The connector against a fake Opsgenie on wiremock: a small stateful account that filters by the search
//! query, sorts, pages by offset under the cap and by cursor through timelines, and refuses requests without
//! the key — plus failures injected in front of it.

mod backfill;
mod changes;
mod notes;
mod retries;
mod skipped;
mod verify;

use super::*;
use crate::client::HttpPolicy;
use crate::test_support::requests_to;
use chrono::{SecondsFormat, TimeZone};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "test-key";

fn connector(base: &str, options: OpsgenieOptions) -> Opsgenie {
    connector_with_key(base, KEY, options)
}

fn connector_with_key(base: &str, key: &str, options: OpsgenieOptions) -> Opsgenie {
    Opsgenie::new(
        SourceHttp::new("Opsgenie", HttpPolicy::for_tests()),
        Url::parse(base).unwrap(),
        SecretString::from(key),
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

fn param(r: &Request, key: &str) -> Option<String> {
    r.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn ids(items: &[NormalizedIncident]) -> Vec<String> {
    items.iter().map(|i| i.external_id.clone()).collect()
}
