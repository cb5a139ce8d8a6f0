//! A PagerDuty REST API on loopback that speaks the documented wire protocol — for the worker's end-to-end
//! tests, the browser tests and the backfill benchmark, where the connector's real client code talks to it.
//!
//! It serves `GET /incidents`, `GET /log_entries` and `POST /webhook_subscriptions` as PagerDuty does: the `Token token=` header, `since`/
//! `until`, `offset`/`limit` (at most 100) with `more` and `total`, `statuses[]`, `service_ids[]`,
//! `team_ids[]`, `include[]=incidents`, and PagerDuty's refusals (400 for `offset + limit > 10,000` and for an
//! incidents range over 180 days, 401 for a wrong token). Its history is generated from the index (the
//! `n`-th incident and its three log entries are computed, not stored), so a million incidents cost no
//! memory; "live" incidents triggered, acknowledged and resolved by a test come after the history.
//!
//! More accounts (API keys with histories of their own: [`FakePagerDuty::add_account`]) serve several
//! organizations from one fake, as `INSIGHTS_PAGERDUTY_API_URL` names one; every page answered is logged
//! ([`FakePagerDuty::fetches`]), so a test can count how often each page was read.

// Handlers answer `Err(response)` early, as axum handlers do.
#![allow(clippy::result_large_err)]

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const MAX_OFFSET: u64 = 10_000;
const SERVICES: [&str; 12] = [
    "checkout-api",
    "payments-gateway",
    "search",
    "auth",
    "inventory",
    "notifications",
    "web-frontend",
    "mobile-api",
    "data-pipeline",
    "postgres-main",
    "kafka",
    "edge-proxy",
];
const TEAMS: [&str; 3] = ["Payments", "Growth", "Platform"];
const PROBLEMS: [&str; 4] = [
    "High latency on {} (p99 > 2s)",
    "{} 5xx error rate above 5%",
    "Pod CrashLoopBackOff: {}",
    "Disk usage above 90% on {}",
];

/// The generated part of the history: `count` resolved incidents, one every `spacing` from `start`, each
/// acknowledged a third of a spacing after it was triggered and resolved two thirds after.
#[derive(Clone, Copy, Debug)]
pub struct History {
    pub start: DateTime<Utc>,
    pub count: u64,
    pub spacing: Duration,
}

impl History {
    /// `count` incidents ending an hour before now.
    #[must_use]
    pub fn recent(count: u64, spacing: Duration) -> Self {
        let end = Utc::now() - Duration::hours(1);
        Self {
            start: end - spacing * i32::try_from(count).unwrap_or(i32::MAX),
            count,
            spacing,
        }
    }

    fn end(&self) -> DateTime<Utc> {
        self.start + self.spacing * i32::try_from(self.count).unwrap_or(i32::MAX)
    }

    fn entry_step(&self) -> Duration {
        self.spacing / 3
    }
}

struct Live {
    incident: Value,
}

/// One page answered: which account asked, for what (the path and the query string as sent), and when.
#[derive(Clone, Debug)]
pub struct Fetch {
    pub token: String,
    /// `/incidents?since=…&offset=…` — equal for two reads of the same page.
    pub page: String,
    pub at: std::time::Instant,
}

struct FakeState {
    token: String,
    history: History,
    /// More accounts: (API key, history). Their listings hold their history only (no live incidents).
    accounts: Vec<(String, History)>,
    /// Every page answered (incident and log-entry listings), in order.
    fetches: Vec<Fetch>,
    live: Vec<Live>,
    /// Log entries of live incidents, oldest first (each embeds its incident's id).
    live_entries: Vec<Value>,
    requests: u64,
    delay: std::time::Duration,
    /// Every n-th request answers 429 with `ratelimit-reset`.
    throttle_every: Option<u64>,
    /// Every request answers 503 (an outage).
    down: bool,
    /// The key may only read (creating a webhook subscription is refused).
    read_only: bool,
    /// Webhook subscriptions created: (url, signing secret).
    subscriptions: Vec<(String, String)>,
    /// Notes added: (incident id, the `From` email, content).
    notes: Vec<(String, String, String)>,
}

/// The running fake; stops when dropped.
pub struct FakePagerDuty {
    /// Its base URL, for `INSIGHTS_PAGERDUTY_API_URL`.
    pub url: String,
    state: Arc<Mutex<FakeState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakePagerDuty {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The id of the `n`-th generated incident (PagerDuty ids are short upper-case strings).
#[must_use]
pub fn incident_id(n: u64) -> String {
    format!("Q{n:07}")
}

fn reference(kind: &str, id: &str, summary: &str) -> Value {
    json!({ "id": id, "type": format!("{kind}_reference"), "summary": summary })
}

fn generated_incident(h: &History, n: u64) -> Value {
    let created = h.start + h.spacing * n as i32;
    let step = h.entry_step();
    let s = (n % SERVICES.len() as u64) as usize;
    let service = SERVICES[s];
    let team = TEAMS[s % TEAMS.len()];
    let title = PROBLEMS[(n / 7 % PROBLEMS.len() as u64) as usize].replace("{}", service);
    let id = incident_id(n);
    json!({
        "id": id, "type": "incident", "summary": format!("[#{}] {title}", n + 1),
        "incident_number": n + 1, "title": title,
        "html_url": format!("https://acme.pagerduty.com/incidents/{id}"),
        "created_at": iso(created), "updated_at": iso(created + step * 2),
        "status": "resolved", "urgency": if n.is_multiple_of(4) { "low" } else { "high" },
        "service": reference("service", &format!("PSVC{s:02}"), service),
        "teams": [reference("team", &format!("PTEAM{}", s % TEAMS.len()), team)],
        "priority": if n.is_multiple_of(3) { json!({ "id": "PPRI1", "summary": "P1" }) } else { Value::Null },
        "assignments": [], "acknowledgements": [],
        "last_status_change_at": iso(created + step * 2), "resolved_at": iso(created + step * 2),
    })
}

fn generated_entry(h: &History, e: u64, include_incident: bool) -> Value {
    let n = e / 3;
    let at = h.start + h.entry_step() * e as i32;
    let (kind, summary) = [
        ("trigger_log_entry", "Triggered"),
        ("acknowledge_log_entry", "Acknowledged"),
        ("resolve_log_entry", "Resolved"),
    ][(e % 3) as usize];
    let incident = if include_incident {
        generated_incident(h, n)
    } else {
        reference("incident", &incident_id(n), "")
    };
    json!({
        "id": format!("L{e:08}"), "type": kind, "summary": summary,
        "created_at": iso(at), "agent": reference("user", "PUSER1", "Ada Lovelace"),
        "channel": { "type": "api" }, "incident": incident,
    })
}

/// `[from, to)` as indexes of an arithmetic sequence `start + k·step`, `k < count`.
fn index_range(
    start: DateTime<Utc>,
    step: Duration,
    count: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> std::ops::Range<u64> {
    let step_ms = step.num_milliseconds().max(1);
    let first = |t: DateTime<Utc>| -> u64 {
        let d = (t - start).num_milliseconds();
        if d <= 0 {
            0
        } else {
            ((d + step_ms - 1) / step_ms).min(count as i64) as u64
        }
    };
    let (a, b) = (first(from), first(to));
    a..b.max(a)
}

fn error(status: StatusCode, message: &str, code: u32) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "message": message, "code": code, "errors": [message] } })),
    )
        .into_response()
}

/// Query pairs, with repeated keys kept (`statuses[]=a&statuses[]=b`).
fn pairs(q: &[(String, String)], key: &str) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

fn one(q: &[(String, String)], key: &str) -> Option<String> {
    pairs(q, key).into_iter().next()
}

impl FakePagerDuty {
    /// Starts on a free loopback port, accepting `token`.
    pub async fn start(token: &str, history: History) -> FakePagerDuty {
        let state = Arc::new(Mutex::new(FakeState {
            token: token.to_owned(),
            history,
            accounts: Vec::new(),
            fetches: Vec::new(),
            live: Vec::new(),
            live_entries: Vec::new(),
            requests: 0,
            delay: std::time::Duration::ZERO,
            throttle_every: None,
            down: false,
            read_only: false,
            subscriptions: Vec::new(),
            notes: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/incidents", get(list_incidents))
            .route("/log_entries", get(list_log_entries))
            .route(
                "/webhook_subscriptions",
                axum::routing::post(create_subscription),
            )
            .route("/incidents/{id}/notes", axum::routing::post(create_note))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let stop = crate::serve_until_stopped(listener, app);
        FakePagerDuty {
            url,
            state,
            stop: Some(stop),
        }
    }

    /// Stops answering (as if PagerDuty were unreachable).
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// Requests answered so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.with(|s| s.requests)
    }

    /// Another account, reached with the API key `token`, whose listings serve `history` (and no live
    /// incidents): for another organization's integration.
    pub fn add_account(&self, token: &str, history: History) {
        self.with(|s| s.accounts.push((token.to_owned(), history)));
    }

    /// Every incident or log-entry page answered so far, in order.
    #[must_use]
    pub fn fetches(&self) -> Vec<Fetch> {
        self.with(|s| s.fetches.clone())
    }

    /// Accepts another token from now on (as if the key in use had been revoked).
    pub fn set_token(&self, token: &str) {
        self.with(|s| s.token = token.to_owned());
    }

    /// Delays every answer (to catch a sync in the middle).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.with(|s| s.delay = delay);
    }

    /// Makes the key read-only (`true`): creating a webhook subscription is refused with 403.
    pub fn set_read_only(&self, read_only: bool) {
        self.with(|s| s.read_only = read_only);
    }

    /// The webhook subscriptions created so far: (delivery URL, signing secret).
    #[must_use]
    pub fn subscriptions(&self) -> Vec<(String, String)> {
        self.with(|s| s.subscriptions.clone())
    }

    /// The notes added so far: (incident id, the `From` email, content).
    #[must_use]
    pub fn notes(&self) -> Vec<(String, String, String)> {
        self.with(|s| s.notes.clone())
    }

    /// Starts (`true`) or ends an outage: every request answers 503 meanwhile.
    pub fn set_down(&self, down: bool) {
        self.with(|s| s.down = down);
    }

    /// Makes every `n`-th request a 429 with `ratelimit-reset: 0.05` (PagerDuty's rate limit).
    pub fn throttle_every(&self, n: Option<u64>) {
        self.with(|s| s.throttle_every = n);
    }

    /// Triggers a new incident now on service `s` (an index into the dozen services); returns its id.
    pub fn trigger(&self, title: &str, s: usize) -> String {
        self.with(|st| {
            let n = st.live.len();
            let id = format!("LIVE{n:04}");
            let now = Utc::now();
            let incident = triggered_incident(&id, n, title, s);
            st.live.push(Live { incident });
            st.live_entries.push(json!({
                "id": format!("LE{:06}", st.live_entries.len()), "type": "trigger_log_entry", "summary": "Triggered",
                "created_at": iso(now), "channel": { "type": "api" }, "incident": { "id": id },
            }));
            id
        })
    }

    /// Moves a live incident to `status` (`acknowledged` or `resolved`) now, with its log entry.
    pub fn change(&self, id: &str, status: &str) {
        self.with(|st| {
            let now = Utc::now();
            let live = st
                .live
                .iter_mut()
                .find(|l| l.incident["id"] == id)
                .expect("a live incident");
            let i = &mut live.incident;
            i["status"] = json!(status);
            i["updated_at"] = json!(iso(now));
            i["last_status_change_at"] = json!(iso(now));
            let kind = match status {
                "acknowledged" => {
                    i["acknowledgements"] = json!([{ "at": iso(now), "acknowledger": reference("user", "PUSER1", "Ada Lovelace") }]);
                    "acknowledge_log_entry"
                }
                "resolved" => {
                    i["resolved_at"] = json!(iso(now));
                    i["acknowledgements"] = json!([]);
                    "resolve_log_entry"
                }
                other => panic!("unsupported status {other}"),
            };
            let n = st.live_entries.len();
            st.live_entries.push(json!({
                "id": format!("LE{n:06}"), "type": kind, "summary": kind, "created_at": iso(now),
                "agent": reference("user", "PUSER1", "Ada Lovelace"), "channel": { "type": "website" },
                "incident": { "id": id },
            }));
        });
    }

    /// A live incident as the API would show it now (for webhook payloads).
    #[must_use]
    pub fn incident(&self, id: &str) -> Value {
        self.with(|st| {
            st.live
                .iter()
                .find(|l| l.incident["id"] == id)
                .map(|l| l.incident.clone())
                .expect("a live incident")
        })
    }
}

/// A PagerDuty incident `id` (number `900,000 + n`) triggered now on service `s`, as the API shows it: what
/// [`FakePagerDuty::trigger`] adds to the history, and a webhook payload for an incident no listing serves.
#[must_use]
pub fn triggered_incident(id: &str, n: usize, title: &str, s: usize) -> Value {
    let now = Utc::now();
    let service = SERVICES[s % SERVICES.len()];
    json!({
        "id": id, "type": "incident", "summary": title, "incident_number": 900_000 + n, "title": title,
        "html_url": format!("https://acme.pagerduty.com/incidents/{id}"),
        "created_at": iso(now), "updated_at": iso(now), "status": "triggered", "urgency": "high",
        "service": reference("service", &format!("PSVC{:02}", s % SERVICES.len()), service),
        "teams": [reference("team", &format!("PTEAM{}", s % TEAMS.len()), TEAMS[s % TEAMS.len()])],
        "assignments": [{ "at": iso(now), "assignee": reference("user", "PUSER1", "Ada Lovelace") }],
        "acknowledgements": [], "last_status_change_at": iso(now),
    })
}

type Shared = Arc<Mutex<FakeState>>;

/// The account a request is for: its key, its history, and whether it is the first one (the only one with
/// live incidents).
struct Account {
    token: String,
    history: History,
    primary: bool,
}

/// Common checks of every request: the token, the required headers, throttling and delay. `Err` is the
/// answer to send instead.
async fn admit(state: &Shared, headers: &HeaderMap) -> Result<Account, Response> {
    let (delay, account, throttled, down) = {
        let mut s = state.lock().expect("fake state");
        s.requests += 1;
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let token = auth.strip_prefix("Token token=").unwrap_or_default();
        let account = if token == s.token {
            Some(Account {
                token: token.to_owned(),
                history: s.history,
                primary: true,
            })
        } else {
            s.accounts
                .iter()
                .find(|(t, _)| t == token)
                .map(|(t, h)| Account {
                    token: t.clone(),
                    history: *h,
                    primary: false,
                })
        };
        let throttled = s
            .throttle_every
            .is_some_and(|n| s.requests.is_multiple_of(n));
        (s.delay, account, throttled, s.down)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if down {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            0,
        ));
    }
    let Some(account) = account else {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "Authentication failed",
            2006,
        ));
    };
    if throttled {
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Rate Limit Exceeded", 2020);
        r.headers_mut()
            .insert("ratelimit-reset", "0.05".parse().expect("header"));
        return Err(r);
    }
    Ok(account)
}

/// Logs a page answered to `account`.
fn log_fetch(s: &mut FakeState, account: &Account, path: &str, q: &[(String, String)]) {
    let query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    s.fetches.push(Fetch {
        token: account.token.clone(),
        page: format!("{path}?{}", query.join("&")),
        at: std::time::Instant::now(),
    });
}

/// `POST /webhook_subscriptions`: answers with the new subscription and its signing secret (only in this
/// answer, as PagerDuty does).
async fn create_subscription(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = admit(&state, &headers).await {
        return r;
    }
    let mut s = state.lock().expect("fake state");
    if s.read_only {
        return error(StatusCode::FORBIDDEN, "Access Denied", 2010);
    }
    let Some(url) = body
        .pointer("/webhook_subscription/delivery_method/url")
        .and_then(Value::as_str)
    else {
        return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
    };
    let n = s.subscriptions.len();
    let secret = format!("fake-signing-secret-{n}");
    s.subscriptions.push((url.to_owned(), secret.clone()));
    (
        StatusCode::CREATED,
        axum::Json(json!({ "webhook_subscription": {
            "id": format!("PWH{n:04}"), "type": "webhook_subscription",
            "delivery_method": { "id": format!("PDM{n:04}"), "type": "http_delivery_method", "url": url,
                                 "secret": secret, "temporarily_disabled": false },
            "events": body["webhook_subscription"]["events"].clone(),
            "filter": body["webhook_subscription"]["filter"].clone(),
        }})),
    )
        .into_response()
}

/// `POST /incidents/{id}/notes`: an account key must say who writes (`From`, a user's email); a key that may
/// only read is refused; the incident must exist. Adds the note and its `annotate_log_entry`, as PagerDuty
/// does.
async fn create_note(
    State(state): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if let Err(r) = admit(&state, &headers).await {
        return r;
    }
    let mut s = state.lock().expect("fake state");
    if s.read_only {
        return error(StatusCode::FORBIDDEN, "Access Denied", 2010);
    }
    let from = headers
        .get("from")
        .and_then(|v| v.to_str().ok())
        .filter(|f| f.contains('@'))
        .map(str::to_owned);
    let Some(from) = from else {
        return error(
            StatusCode::BAD_REQUEST,
            "You must specify a user's email address in the \"From\" header to perform this action",
            2001,
        );
    };
    let Some(content) = body
        .pointer("/note/content")
        .and_then(Value::as_str)
        .filter(|c| !c.trim().is_empty())
        .map(str::to_owned)
    else {
        return error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001);
    };
    let generated = id
        .strip_prefix('Q')
        .and_then(|n| n.parse::<u64>().ok())
        .is_some_and(|n| n < s.history.count);
    if !generated && !s.live.iter().any(|l| l.incident["id"] == id.as_str()) {
        return error(StatusCode::NOT_FOUND, "Not Found", 2100);
    }
    let now = Utc::now();
    let n = s.notes.len();
    s.notes.push((id.clone(), from.clone(), content.clone()));
    let entries = s.live_entries.len();
    s.live_entries.push(json!({
        "id": format!("LE{entries:06}"), "type": "annotate_log_entry", "summary": "Note added",
        "created_at": iso(now), "agent": reference("user", "PUSER1", &from), "channel": { "type": "note",
        "summary": content }, "incident": { "id": id },
    }));
    (
        StatusCode::CREATED,
        axum::Json(json!({ "note": {
            "id": format!("PNOTE{n:04}"), "user": reference("user", "PUSER1", &from),
            "channel": { "summary": "The API" }, "content": content, "created_at": iso(now),
        }})),
    )
        .into_response()
}

struct Paging {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    offset: u64,
    limit: u64,
    total: bool,
}

fn paging(q: &[(String, String)], max_span: Option<Duration>) -> Result<Paging, Response> {
    let time = |k: &str| -> Result<Option<DateTime<Utc>>, Response> {
        match one(q, k) {
            None => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(&v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001)),
        }
    };
    let num = |k: &str, default: u64| -> Result<u64, Response> {
        one(q, k).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| error(StatusCode::BAD_REQUEST, "Invalid Input Provided", 2001))
        })
    };
    let until = time("until")?.unwrap_or_else(Utc::now);
    let since = time("since")?.unwrap_or(until - Duration::days(30));
    let (offset, limit) = (num("offset", 0)?, num("limit", 25)?);
    if limit > 100 || offset + limit > MAX_OFFSET {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Offset must be less than 10000.",
            2001,
        ));
    }
    if max_span.is_some_and(|m| until - since > m) || since > until {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "The date range may be at most 6 months.",
            2001,
        ));
    }
    Ok(Paging {
        since,
        until,
        offset,
        limit,
        total: one(q, "total").as_deref() == Some("true"),
    })
}

fn page(key: &str, items: Vec<Value>, p: &Paging, total: u64) -> Response {
    let more = p.offset + (items.len() as u64) < total;
    axum::Json(json!({
        key: items, "offset": p.offset, "limit": p.limit, "more": more,
        "total": if p.total { json!(total) } else { Value::Null },
    }))
    .into_response()
}

fn created_in(v: &Value, p: &Paging) -> bool {
    v["created_at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| t >= p.since && t < p.until)
}

async fn list_incidents(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let account = match admit(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let p = match paging(&q, Some(Duration::days(180))) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (statuses, services, teams) = (
        pairs(&q, "statuses[]"),
        pairs(&q, "service_ids[]"),
        pairs(&q, "team_ids[]"),
    );
    let keep = |i: &Value| {
        (statuses.is_empty() || statuses.iter().any(|s| i["status"] == *s))
            && (services.is_empty() || services.iter().any(|s| i["service"]["id"] == *s))
            && (teams.is_empty() || teams.iter().any(|t| i["teams"][0]["id"] == *t))
    };
    let mut s = state.lock().expect("fake state");
    log_fetch(&mut s, &account, "/incidents", &q);
    let h = account.history;
    let range = index_range(h.start, h.spacing, h.count, p.since, p.until);
    let live: Vec<&Value> = s
        .live
        .iter()
        .filter(|_| account.primary)
        .map(|l| &l.incident)
        .filter(|i| created_in(i, &p) && keep(i))
        .collect();
    let filtered = !(statuses.is_empty() && services.is_empty() && teams.is_empty());
    let (items, total) = if filtered {
        // Small test histories only: walk the window.
        let all: Vec<Value> = range
            .map(|n| generated_incident(&h, n))
            .filter(|i| keep(i))
            .chain(live.into_iter().cloned())
            .collect();
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(p.offset as usize)
            .take(p.limit as usize)
            .collect();
        (items, total)
    } else {
        let generated = range.end - range.start;
        let total = generated + live.len() as u64;
        let items = (p.offset..(p.offset + p.limit).min(total))
            .map(|k| {
                if k < generated {
                    generated_incident(&h, range.start + k)
                } else {
                    live[(k - generated) as usize].clone()
                }
            })
            .collect();
        (items, total)
    };
    page("incidents", items, &p, total)
}

async fn list_log_entries(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let account = match admit(&state, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let p = match paging(&q, None) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let include = pairs(&q, "include[]").iter().any(|v| v == "incidents");
    let mut s = state.lock().expect("fake state");
    log_fetch(&mut s, &account, "/log_entries", &q);
    let s = &*s;
    let h = account.history;
    let range = index_range(
        h.start,
        h.entry_step(),
        h.count * 3,
        p.since,
        p.until.min(h.end()),
    );
    let live: Vec<&Value> = s
        .live_entries
        .iter()
        .filter(|_| account.primary)
        .filter(|e| created_in(e, &p))
        .collect();
    let generated = range.end - range.start;
    let total = generated + live.len() as u64;
    let items = (p.offset..(p.offset + p.limit).min(total))
        .map(|k| {
            if k < generated {
                generated_entry(&h, range.start + k, include)
            } else {
                let mut e = live[(k - generated) as usize].clone();
                let id = e["incident"]["id"].as_str().unwrap_or_default().to_owned();
                e["incident"] = if include {
                    s.live
                        .iter()
                        .find(|l| l.incident["id"] == id)
                        .map_or(Value::Null, |l| l.incident.clone())
                } else {
                    reference("incident", &id, "")
                };
                e
            }
        })
        .collect();
    page("log_entries", items, &p, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges_map_to_index_ranges_half_open() {
        let start = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let step = Duration::minutes(10);
        assert_eq!(index_range(start, step, 100, start, start + step * 3), 0..3);
        assert_eq!(
            index_range(
                start,
                step,
                100,
                start + Duration::minutes(1),
                start + step * 3
            ),
            1..3
        );
        assert_eq!(
            index_range(start, step, 100, start - step, start + step * 1000),
            0..100
        );
        assert_eq!(index_range(start, step, 100, start + step * 5, start), 5..5);
    }
}
