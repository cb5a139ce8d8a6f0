//! PagerDuty connector: reads an account's incidents and their timelines through the REST API v2 and maps
//! them into the unified model ([`normalize`]), one API page per [`Step`]; [`webhook`] reads v3 webhooks.
//!
//! A backfill reads `GET /incidents` over the whole history, then the account-wide `GET /log_entries` over
//! the same range for every incident's timeline (notes included, as `annotate_log_entry`), so no call is made
//! per incident. Both are paged in time windows of at most 180 days under PagerDuty's `offset + limit ≤
//! 10,000` cap ([`Windowed`]). At PagerDuty's 960 requests a minute, a backfill of 100,000 incidents takes
//! about 1,000 incident pages and 7,000 log-entry pages: 8–9 minutes. An incremental sync reads
//! `GET /log_entries?include[]=incidents` over the changed range: each entry is a timeline event and carries
//! the incident's current version, so new incidents and old ones acknowledged or resolved since are caught.

mod normalize;
pub mod webhook;

#[cfg(test)]
mod contract_tests;
#[cfg(test)]
mod tests;

use super::NormalizedIncident;
use super::connector::{Progress, Step};
use super::window::{Fit, Windowed};
use crate::client::{SourceError, SourceHttp};
use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use insights_types::api::PagerDutyOptions;
use normalize::{IncidentsPage, LogEntriesPage};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// Items per page (PagerDuty's maximum).
const LIMIT: u32 = 100;
/// `offset + limit` may not exceed this.
const MAX_OFFSET: u32 = 10_000;
/// The longest `since`–`until` range `GET /incidents` accepts (6 months).
const MAX_SPAN_DAYS: i64 = 180;
/// The vendor type versions the API; Prism (and any strict server) also needs plain JSON listed.
const ACCEPT: &str = "application/vnd.pagerduty+json;version=2, application/json";

/// The incident events a webhook subscription asks for.
pub const WEBHOOK_EVENTS: [&str; 12] = [
    "incident.acknowledged",
    "incident.annotated",
    "incident.delegated",
    "incident.escalated",
    "incident.priority_updated",
    "incident.reassigned",
    "incident.reopened",
    "incident.resolved",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.triggered",
    "incident.unacknowledged",
];

/// What a walk is reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A backfill's first phase: `GET /incidents`.
    Incidents,
    /// A backfill's second phase: `GET /log_entries` over the same range.
    Timeline,
    /// An incremental sync: `GET /log_entries?include[]=incidents`.
    Changes,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Self::Incidents => "incidents",
            Self::Timeline => "timeline",
            Self::Changes => "changes",
        }
    }
}

/// A position in a walk (saved after every step): the phase, and where its time windows stand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub phase: Phase,
    pub walk: Windowed,
}

impl Cursor {
    fn new(phase: Phase, since: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        Self {
            phase,
            walk: Windowed::new(since, until, Duration::days(MAX_SPAN_DAYS)),
        }
    }

    /// The same walk moved past finished phases: a finished incidents phase becomes the timeline phase over
    /// the same range, and a finished timeline or changes walk is the end (`None`).
    fn settled(self) -> Option<Self> {
        if !self.walk.is_done() {
            return Some(self);
        }
        match self.phase {
            Phase::Incidents => {
                Self::new(Phase::Timeline, self.walk.start, self.walk.end).settled()
            }
            Phase::Timeline | Phase::Changes => None,
        }
    }
}

/// A connection to one PagerDuty account, with a REST API key.
#[derive(Clone, Debug)]
pub struct PagerDuty {
    http: SourceHttp,
    base: Url,
    token: SecretString,
    options: PagerDutyOptions,
}

/// One page of a windowed listing, after its window fit under the offset cap.
struct Page {
    items: Vec<Value>,
    more: bool,
    /// Set when part of the window cannot be read.
    note: Option<String>,
}

impl PagerDuty {
    /// A connector for the API at `base` (`https://api.pagerduty.com`, or a proxy or test server).
    #[must_use]
    pub fn new(
        http: SourceHttp,
        base: Url,
        token: SecretString,
        options: PagerDutyOptions,
    ) -> Self {
        Self {
            http,
            base,
            token,
            options,
        }
    }

    /// Checks the token with one cheap read (`GET /incidents?limit=1`); the error says what to do about it.
    pub async fn verify(&self) -> Result<(), SourceError> {
        let query = [("limit", "1".to_owned()), ("time_zone", "UTC".to_owned())];
        match self.get::<IncidentsPage>("incidents", &query).await {
            Ok(_) => Ok(()),
            Err(SourceError::Unauthorized { source_name, .. }) => Err(SourceError::Unauthorized {
                source_name,
                detail:
                    "the API token is not valid (create a REST API key under Integrations → API \
                         Access Keys; read-only is enough)"
                        .into(),
            }),
            Err(SourceError::Forbidden {
                source_name,
                status: 403,
                ..
            }) => Err(SourceError::Forbidden {
                source_name,
                status: 403,
                detail:
                    "this token cannot read incidents (use an account REST API key, or a user key \
                         with access to the services)"
                        .into(),
            }),
            Err(SourceError::Forbidden {
                source_name,
                status,
                detail,
            }) => Err(SourceError::Forbidden {
                source_name,
                status,
                detail: format!(
                    "this PagerDuty account's plan does not allow reading incidents through the REST API \
                     ({detail})"
                ),
            }),
            Err(SourceError::NotFound { source_name, .. }) => Err(SourceError::NotFound {
                source_name,
                detail: format!(
                    "{} does not serve PagerDuty's REST API (check the API address)",
                    self.base
                ),
            }),
            Err(e) => Err(e),
        }
    }

    /// The start of a walk over the whole history, from the options' `since` (default: all of it, from
    /// 2009) up to `until`: first every incident, then every timeline entry.
    #[must_use]
    pub fn backfill(&self, until: DateTime<Utc>) -> Cursor {
        let since = self.options.since.unwrap_or_else(|| {
            Utc.with_ymd_and_hms(2009, 1, 1, 0, 0, 0)
                .single()
                .expect("a valid date")
        });
        Cursor::new(Phase::Incidents, since, until)
    }

    /// The start of a walk over what changed in `[since, until)`.
    #[must_use]
    pub fn changes(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Cursor {
        Cursor::new(Phase::Changes, since, until)
    }

    /// Reads one page at `cursor`. On error nothing was consumed: the same cursor reads the same page again.
    pub async fn step(&self, cursor: &Cursor) -> Result<Step<Cursor>, SourceError> {
        let Some(mut cursor) = cursor.clone().settled() else {
            return Ok(Step::default());
        };
        let mut step = match cursor.phase {
            Phase::Incidents => self.incidents_page(&mut cursor.walk).await?,
            Phase::Timeline => self.log_entries_page(&mut cursor.walk, false).await?,
            Phase::Changes => self.log_entries_page(&mut cursor.walk, true).await?,
        };
        step.next = cursor.settled();
        Ok(step)
    }

    /// Where `cursor` stands: a backfill's incidents are the first half of its walk, its timeline the second.
    #[must_use]
    pub fn progress(cursor: &Cursor) -> Progress {
        let done = cursor.walk.fraction_done();
        let fraction = match cursor.phase {
            Phase::Incidents => done / 2.0,
            Phase::Timeline => 0.5 + done / 2.0,
            Phase::Changes => done,
        };
        Progress {
            phase: cursor.phase.name(),
            fraction,
        }
    }

    /// HTTP requests sent so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    async fn incidents_page(&self, walk: &mut Windowed) -> Result<Step<Cursor>, SourceError> {
        let mut query = vec![("sort_by", "created_at:asc".to_owned())];
        query.extend(repeated("service_ids[]", &self.options.service_ids));
        query.extend(repeated("team_ids[]", &self.options.team_ids));
        query.extend(repeated(
            "statuses[]",
            self.options.statuses.iter().map(|s| s.as_str()),
        ));
        let page = self
            .windowed_page("incidents", walk, &query, |p: IncidentsPage| {
                (p.incidents, p.more, p.total)
            })
            .await?;
        let mut step = Step::default();
        step.skipped.extend(page.note.clone());
        for item in &page.items {
            match normalize::incident(item) {
                Ok(i) => step.incidents.push(i),
                Err(e) => step.skipped.push(e),
            }
        }
        step.skipped.extend(advance(walk, &page, "incidents"));
        Ok(step)
    }

    /// A page of log entries: timeline events, and with `with_incidents` (an incremental sync) the current
    /// version of each incident they belong to.
    async fn log_entries_page(
        &self,
        walk: &mut Windowed,
        with_incidents: bool,
    ) -> Result<Step<Cursor>, SourceError> {
        let mut query = vec![("is_overview", "false".to_owned())];
        if with_incidents {
            query.push(("include[]", "incidents".to_owned()));
        }
        query.extend(repeated("team_ids[]", &self.options.team_ids));
        let page = self
            .windowed_page("log_entries", walk, &query, |p: LogEntriesPage| {
                (p.log_entries, p.more, p.total)
            })
            .await?;
        let mut step = Step::default();
        step.skipped.extend(page.note.clone());
        let mut unexpanded: Vec<&str> = Vec::new();
        for item in &page.items {
            match normalize::event(item) {
                Ok(e) => step.events.push(e),
                Err(e) => step.skipped.push(e),
            }
            if !with_incidents {
                continue;
            }
            let Some(raw) = item.get("incident") else {
                continue;
            };
            if normalize::is_reference(raw) {
                if let Some(id) = raw.get("id").and_then(Value::as_str)
                    && !unexpanded.contains(&id)
                {
                    unexpanded.push(id);
                }
                continue;
            }
            match normalize::incident(raw) {
                Ok(i) if self.wanted(&i) => keep_latest(&mut step.incidents, i),
                Ok(_) => {}
                Err(e) if !step.skipped.contains(&e) => step.skipped.push(e),
                Err(_) => {}
            }
        }
        for id in unexpanded {
            if !step.incidents.iter().any(|i| i.external_id == id) {
                step.skipped.push(format!(
                    "incident {id} came without its details (only a reference), so its current state was not \
                     read; the next full import will read it"
                ));
            }
        }
        step.skipped.extend(advance(walk, &page, "log entries"));
        Ok(step)
    }

    /// Whether an incident read from the change log passes the options' filters (a backfill filters on the
    /// server instead).
    fn wanted(&self, i: &NormalizedIncident) -> bool {
        let o = &self.options;
        let service = o.service_ids.is_empty()
            || i.service
                .as_ref()
                .is_some_and(|s| o.service_ids.contains(&s.external_id));
        let team = o.team_ids.is_empty()
            || i.raw
                .get("teams")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("id").and_then(Value::as_str))
                .any(|t| o.team_ids.iter().any(|w| w == t));
        let status = o.statuses.is_empty() || o.statuses.contains(&i.status);
        let since = o.since.is_none_or(|s| i.triggered_at >= s);
        service && team && status && since
    }

    /// Reads the page at the walk's position. On a window's first page the window's `total` is checked
    /// against the offset cap, and a window that holds too many items is halved and read again until it fits,
    /// so no request ever asks past `offset + limit = 10,000`.
    async fn windowed_page<P: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        walk: &mut Windowed,
        filters: &[(&'static str, String)],
        parts: impl Fn(P) -> (Vec<Value>, Option<bool>, Option<u64>),
    ) -> Result<Page, SourceError> {
        loop {
            let first = walk.at_window_start();
            let mut query = vec![
                ("since", timestamp(walk.from)),
                ("until", timestamp(walk.to)),
                ("limit", LIMIT.to_string()),
                ("offset", walk.offset.to_string()),
                ("time_zone", "UTC".to_owned()),
            ];
            if first {
                query.push(("total", "true".to_owned()));
            }
            query.extend(filters.iter().cloned());
            let (items, more, total) = parts(self.get::<P>(path, &query).await?);
            let mut note = None;
            if first && let Some(total) = total {
                match walk.fit(total, MAX_OFFSET) {
                    Fit::Fits => {}
                    Fit::Split => continue,
                    Fit::TooDense => {
                        note = Some(format!(
                            "{total} {what} fall between {} and {}, more than the {MAX_OFFSET} PagerDuty lets a \
                             listing reach: only the first {MAX_OFFSET} were read",
                            timestamp(walk.from),
                            timestamp(walk.to),
                            what = path.replace('_', " "),
                        ));
                    }
                }
            }
            return Ok(Page {
                items,
                more: more.unwrap_or(false),
                note,
            });
        }
    }

    /// `GET {base}/{path}?{query}` with PagerDuty's headers, through the shared client (retries, rate limits).
    /// Creates a v3 webhook subscription for the whole account that sends every incident event to `url`,
    /// and returns PagerDuty's signing secret (shown by PagerDuty only in this answer). Needs a key with
    /// write access; a read-only key is refused (403).
    pub async fn create_webhook_subscription(&self, url: &str) -> Result<String, SourceError> {
        let body = serde_json::json!({ "webhook_subscription": {
            "type": "webhook_subscription",
            "delivery_method": { "type": "http_delivery_method", "url": url },
            "description": "Incident Insights: incident changes within seconds",
            "events": WEBHOOK_EVENTS,
            "filter": { "type": "account_reference" },
        }});
        let auth = format!("Token token={}", self.token.expose_secret());
        let created: Value = self
            .http
            .json(|client| {
                client
                    .post(self.url("webhook_subscriptions"))
                    .header(reqwest::header::AUTHORIZATION, &auth)
                    .header(reqwest::header::ACCEPT, ACCEPT)
                    .json(&body)
            })
            .await
            .map_err(|e| match e {
                SourceError::Forbidden {
                    source_name,
                    status,
                    ..
                } => SourceError::Forbidden {
                    source_name,
                    status,
                    detail: "this key cannot create webhook subscriptions (it is read-only): create the \
                             webhook in PagerDuty and paste its signing secret instead"
                        .into(),
                },
                other => other,
            })?;
        created
            .pointer("/webhook_subscription/delivery_method/secret")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| SourceError::Malformed {
                source_name: self.http.name(),
                detail: "the new webhook subscription came without its signing secret".into(),
            })
    }

    /// Who notes are written as (the options' `note_author_email`), if set.
    #[must_use]
    pub fn note_author(&self) -> Option<&str> {
        self.options.note_author_email.as_deref()
    }

    /// Adds a note to incident `incident` (`POST /incidents/{id}/notes`) and returns the note's id. PagerDuty
    /// records who wrote it from the `From` header: an account key needs the email of a user of the account
    /// there (a user's own key does not); `from` is the integration's "note author email". Needs a key with
    /// write access: a read-only key is told so.
    pub async fn add_note(
        &self,
        incident: &str,
        from: Option<&str>,
        content: &str,
    ) -> Result<String, SourceError> {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["incidents", incident, "notes"]);
        }
        let body = serde_json::json!({ "note": { "content": content } });
        let auth = format!("Token token={}", self.token.expose_secret());
        let created: Value = self
            .http
            .json(|client| {
                let req = client
                    .post(url.clone())
                    .header(reqwest::header::AUTHORIZATION, &auth)
                    .header(reqwest::header::ACCEPT, ACCEPT)
                    .json(&body);
                match from {
                    Some(email) => req.header(reqwest::header::FROM, email),
                    None => req,
                }
            })
            .await
            .map_err(|e| note_error(e, incident, from))?;
        Ok(created
            .pointer("/note/id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, SourceError> {
        let url = self.url(path);
        let auth = format!("Token token={}", self.token.expose_secret());
        self.http
            .json(|client| {
                client
                    .get(url.clone())
                    .query(query)
                    .header(reqwest::header::AUTHORIZATION, &auth)
                    .header(reqwest::header::ACCEPT, ACCEPT)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
            })
            .await
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(path);
        }
        url
    }
}

/// `add_note`'s errors, in words that say what to do.
fn note_error(e: SourceError, incident: &str, from: Option<&str>) -> SourceError {
    match e {
        SourceError::Unauthorized { source_name, .. } => SourceError::Unauthorized {
            source_name,
            detail: "the integration's API key is not valid any more or may only read: adding notes needs a \
                     full-access REST API key (Integrations → API Access Keys, without “read-only”); put it in \
                     the integration's settings"
                .into(),
        },
        SourceError::Forbidden {
            source_name,
            status,
            ..
        } => SourceError::Forbidden {
            source_name,
            status,
            detail: "the integration's API key is read-only: adding notes needs a full-access REST API key \
                     (Integrations → API Access Keys, without “read-only”); put it in the integration's \
                     settings"
                .into(),
        },
        SourceError::NotFound { source_name, .. } => SourceError::NotFound {
            source_name,
            detail: format!("incident {incident} does not exist any more (or the key cannot see it)"),
        },
        SourceError::Rejected {
            source_name,
            status,
            detail,
        } => SourceError::Rejected {
            source_name,
            status,
            detail: match from {
                None => format!(
                    "{detail} — an account API key needs the email of a PagerDuty user to write notes as: set \
                     “note author email” in the integration's settings"
                ),
                Some(email) => format!(
                    "{detail} — check that the note author email {email} (the integration's settings) is the \
                     email of a user of this PagerDuty account"
                ),
            },
        },
        other => other,
    }
}

/// Moves the walk past a page; says so when PagerDuty had more than the offset cap lets us read and the
/// window's size was not known beforehand (otherwise the window would have been split).
fn advance(walk: &mut Windowed, page: &Page, what: &str) -> Option<String> {
    let count = u32::try_from(page.items.len()).unwrap_or(u32::MAX);
    let next = walk.offset.saturating_add(count);
    let capped =
        page.more && count > 0 && next.saturating_add(LIMIT) > MAX_OFFSET && walk.total.is_none();
    let note = capped.then(|| {
        format!(
            "PagerDuty has more {what} between {} and {} than the {MAX_OFFSET} a listing may reach: only the \
             first {next} were read",
            timestamp(walk.from),
            timestamp(walk.to),
        )
    });
    walk.advance(count, page.more, LIMIT, MAX_OFFSET);
    note
}

/// An array parameter the way PagerDuty reads it: the key repeated (`statuses[]=a&statuses[]=b`).
fn repeated<I>(key: &'static str, values: I) -> impl Iterator<Item = (&'static str, String)>
where
    I: IntoIterator,
    I::Item: ToString,
{
    values.into_iter().map(move |v| (key, v.to_string()))
}

/// An ISO 8601 time in UTC, with fractions of a second only when a halved window has them.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Adds an incident read from the change log, keeping one version of each (the newest) per page.
fn keep_latest(incidents: &mut Vec<NormalizedIncident>, i: NormalizedIncident) {
    match incidents
        .iter_mut()
        .find(|x| x.external_id == i.external_id)
    {
        Some(x) if x.source_updated_at < i.source_updated_at => *x = i,
        Some(_) => {}
        None => incidents.push(i),
    }
}
