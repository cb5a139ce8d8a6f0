//! Opsgenie connector: an account's alerts — each with its log and notes — and its incidents (the Incident
//! API, on Standard and Enterprise plans), read through the REST API and mapped by [`normalize`].
//!
//! A walk reads alerts, then incidents, in time windows ([`Windowed`]) given by a search query: on `createdAt`
//! for a backfill, on `updatedAt` for the changes of a time range. `offset + limit` may not exceed 20,000, so
//! a window's size is checked on its first page and a window holding more is halved. In a changes walk a
//! window is halved until one page holds it: paging by offset through items sorted by a field that moves
//! while they are read (`updatedAt`) skips some, reading a window in one request cannot.

pub mod webhook;

mod model;
mod normalize;

pub use normalize::INCIDENT_TAG;

#[cfg(test)]
mod contract_tests;
#[cfg(test)]
mod tests;

use super::connector::{Progress, Step};
use super::window::{Fit, Windowed};
use super::{NormalizedEvent, NormalizedIncident};
use crate::client::{SourceError, SourceHttp};
use chrono::{DateTime, Duration, Utc};
use insights_types::api::OpsgenieOptions;
use model::{Count, Page};
use normalize::TeamNames;
use reqwest::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::OnceCell;
use url::Url;

/// Who notes written by the product are from (alerts record a user and a source).
const NOTE_USER: &str = "Incident Insights";
/// What a refused note says (Opsgenie answers 401 or 403 to a key without the right to write).
const READ_ONLY_KEY: &str = "the integration's API key may only read (or is not valid any more): adding notes \
     needs a key with the “Create and Update” access right (Settings → API key management); put it in the \
     integration's settings";
/// Items per page (the most Opsgenie allows).
const PAGE: u32 = 100;
/// `offset + limit` may not exceed this on `/v2/alerts` (and, by the same reports, `/v1/incidents/`).
const OFFSET_CAP: u32 = 20_000;
/// A changes walk reads a little before its start, in case Opsgenie's search had not caught up with the
/// last changes when the previous walk ran.
const CHANGES_OVERLAP_MINUTES: i64 = 5;
/// Requests that read no page (counts, split windows, empty windows) a step may make before it returns.
const STEP_BUDGET: u32 = 16;
/// Pages of one alert's log (or notes) read at most.
const TIMELINE_PAGES: u32 = 100;
/// The share of the progress given to alerts (incidents are far fewer).
const ALERTS_SHARE: f64 = 0.9;

/// A position in a walk (saved after every step): what is read, and where.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub mode: Mode,
    pub phase: Phase,
    /// The range and the current window of the phase.
    pub window: Windowed,
}

/// What a walk filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The history: items created in the range.
    Backfill,
    /// The changes: items updated in the range.
    Changes,
}

/// What is being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Alerts,
    Incidents,
}

impl Mode {
    fn field(self) -> &'static str {
        match self {
            Self::Backfill => "createdAt",
            Self::Changes => "updatedAt",
        }
    }

    fn span(self) -> Duration {
        match self {
            Self::Backfill => Duration::days(30),
            Self::Changes => Duration::days(1),
        }
    }
}

/// What one page gave: incidents, and the timeline entries of the alerts among them.
type Read = (Vec<NormalizedIncident>, Vec<(String, NormalizedEvent)>);

/// Maps one entry of an alert's log or notes (given the alert's id).
type EntryMapper = fn(&str, &Value) -> Result<NormalizedEvent, String>;

/// A connection to one Opsgenie account (one region's API, one API key).
#[derive(Clone, Debug)]
pub struct Opsgenie {
    http: SourceHttp,
    base: Url,
    token: SecretString,
    options: OpsgenieOptions,
    /// `offset + limit` may not exceed it ([`OFFSET_CAP`]; lower in tests).
    offset_cap: u32,
    /// Team names by id, read once per connector (empty when `/v2/teams` could not be read).
    teams: Arc<OnceCell<TeamNames>>,
}

impl Opsgenie {
    /// A connector for the API at `base` (the region's host, e.g. `https://api.eu.opsgenie.com`).
    #[must_use]
    pub fn new(http: SourceHttp, base: Url, token: SecretString, options: OpsgenieOptions) -> Self {
        Self {
            http,
            base,
            token,
            options,
            offset_cap: OFFSET_CAP,
            teams: Arc::default(),
        }
    }

    /// Checks the key with one cheap read (`GET /v2/alerts?limit=1`); the error says what to do about it.
    pub async fn verify(&self) -> Result<(), SourceError> {
        self.get::<Page>(self.url(&["v2", "alerts"]), &[("limit", "1".into())])
            .await
            .map(drop)
            .map_err(|e| self.explain(e))
    }

    /// A walk over the alerts and incidents created from the options' `since` (default: all history) to
    /// `until`.
    #[must_use]
    pub fn backfill(&self, until: DateTime<Utc>) -> Cursor {
        let since = self.options.since.unwrap_or_else(all_history);
        Cursor {
            mode: Mode::Backfill,
            phase: Phase::Alerts,
            window: Windowed::new(since, until, Mode::Backfill.span()),
        }
    }

    /// A walk over the alerts and incidents updated in `[since, until)` (from a few minutes earlier, see
    /// [`CHANGES_OVERLAP_MINUTES`]): new ones, and old ones acknowledged, closed or otherwise changed since.
    #[must_use]
    pub fn changes(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Cursor {
        Cursor {
            mode: Mode::Changes,
            phase: Phase::Alerts,
            window: Windowed::new(
                since - Duration::minutes(CHANGES_OVERLAP_MINUTES),
                until,
                Mode::Changes.span(),
            ),
        }
    }

    /// Reads one page of alerts (with their timelines) or incidents at `cursor`, after the counts and empty
    /// windows that lead to it.
    pub async fn step(&self, cursor: &Cursor) -> Result<Step<Cursor>, SourceError> {
        let mut at = cursor.clone();
        let mut skipped = Vec::new();
        for _ in 0..STEP_BUDGET {
            let Some(next) = settle(at) else {
                return Ok(Step {
                    skipped,
                    ..Step::default()
                });
            };
            at = next;
            let read = match at.phase {
                Phase::Alerts => self.alerts(&mut at, &mut skipped).await?,
                Phase::Incidents => self.incidents(&mut at, &mut skipped).await?,
            };
            if let Some((incidents, events)) = read {
                return Ok(Step {
                    incidents,
                    events,
                    skipped,
                    next: settle(at),
                });
            }
        }
        Ok(Step {
            skipped,
            next: settle(at),
            ..Step::default()
        })
    }

    /// Where `cursor` stands: alerts take the first 90% of the walk, incidents the rest.
    #[must_use]
    pub fn progress(cursor: &Cursor) -> Progress {
        let f = cursor.window.fraction_done();
        match cursor.phase {
            Phase::Alerts => Progress {
                phase: "alerts",
                fraction: f * ALERTS_SHARE,
            },
            Phase::Incidents => Progress {
                phase: "incidents",
                fraction: ALERTS_SHARE + f * (1.0 - ALERTS_SHARE),
            },
        }
    }

    /// HTTP requests sent so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    #[cfg(test)]
    fn with_offset_cap(mut self, cap: u32) -> Self {
        self.offset_cap = cap;
        self
    }

    /// The largest window paged through at once: the offset cap, or one page in a changes walk.
    fn split_cap(&self, mode: Mode) -> u32 {
        match mode {
            Mode::Backfill => self.offset_cap,
            Mode::Changes => PAGE,
        }
    }

    /// One page of alerts, or `None` when the step only sized or skipped a window.
    async fn alerts(
        &self,
        at: &mut Cursor,
        skipped: &mut Vec<String>,
    ) -> Result<Option<Read>, SourceError> {
        let mode = at.mode;
        let split = self.split_cap(mode);
        let w = &mut at.window;
        let query = window_query(mode, w, self.options.query.as_deref());
        if w.at_window_start() && w.total.is_none() {
            let count: Count = self
                .get(
                    self.url(&["v2", "alerts", "count"]),
                    &[("query", query.clone())],
                )
                .await?;
            if let Some(total) = count.value() {
                match w.fit(total, split) {
                    Fit::Split => return Ok(None),
                    Fit::TooDense if total > u64::from(self.offset_cap) => {
                        skipped.push(too_dense("alerts", mode, total, w.from, self.offset_cap));
                    }
                    Fit::Fits | Fit::TooDense => {}
                }
                if total == 0 {
                    w.advance(0, false, PAGE, split);
                    return Ok(None);
                }
            }
        }
        let page: Page = self
            .get(
                self.url(&["v2", "alerts"]),
                &[
                    ("query", query),
                    ("sort", mode.field().into()),
                    ("order", "asc".into()),
                    ("limit", PAGE.to_string()),
                    ("offset", w.offset.to_string()),
                ],
            )
            .await?;
        if mode == Mode::Changes
            && let Some(why) = ignored_filter(&page.data, w.from)
        {
            return Err(SourceError::Malformed {
                source_name: self.http.name(),
                detail: format!(
                    "its alert search did not apply the updatedAt filter ({why}), so recent changes cannot be \
                     listed; a full import still works"
                ),
            });
        }
        let teams = self.team_names(&page.data).await;
        let mut incidents = Vec::new();
        for raw in &page.data {
            match normalize::alert(raw, &teams) {
                Ok(i) => incidents.push(i),
                Err(why) => skipped.push(why),
            }
        }
        let mut events = Vec::new();
        for i in &incidents {
            match self.timeline(&i.external_id, skipped).await {
                Ok(entries) => {
                    events.extend(entries.into_iter().map(|e| (i.external_id.clone(), e)));
                }
                Err(e @ SourceError::Unauthorized { .. }) => return Err(e),
                Err(e) => skipped.push(format!(
                    "The timeline of alert {} (\"{}\") could not be read and was left out: {e}.",
                    i.external_id, i.title
                )),
            }
        }
        self.after_page(w, split, page.data.len());
        Ok(Some((incidents, events)))
    }

    /// One page of incidents, or `None` when the step only sized a window or found no Incident API.
    async fn incidents(
        &self,
        at: &mut Cursor,
        skipped: &mut Vec<String>,
    ) -> Result<Option<Read>, SourceError> {
        let mode = at.mode;
        let split = self.split_cap(mode);
        let w = &mut at.window;
        let first_call = w.from == w.start && w.offset == 0;
        let answer = self
            .get::<Page>(
                self.url(&["v1", "incidents", ""]),
                &[
                    ("query", window_query(mode, w, None)),
                    ("sort", "createdAt".into()),
                    ("order", "asc".into()),
                    ("limit", PAGE.to_string()),
                    ("offset", w.offset.to_string()),
                ],
            )
            .await;
        let page = match answer {
            Ok(page) => page,
            // Said once, by the backfill; incremental syncs skip the phase quietly.
            Err(SourceError::Forbidden { status, .. }) if first_call => {
                if mode == Mode::Backfill {
                    skipped.push(no_incident_api(status));
                }
                w.from = w.end;
                return Ok(None);
            }
            Err(SourceError::NotFound { .. }) if first_call => {
                if mode == Mode::Backfill {
                    skipped.push(no_incident_api(404));
                }
                w.from = w.end;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if w.at_window_start()
            && w.total.is_none()
            && let Some(total) = page.total()
        {
            match w.fit(total, split) {
                Fit::Split => return Ok(None),
                Fit::TooDense if total > u64::from(self.offset_cap) => {
                    skipped.push(too_dense("incidents", mode, total, w.from, self.offset_cap));
                }
                Fit::Fits | Fit::TooDense => {}
            }
        }
        if mode == Mode::Changes
            && let Some(why) = ignored_filter(&page.data, w.from)
        {
            skipped.push(format!(
                "Changed incidents were not read: Opsgenie's incident search did not apply the updatedAt \
                 filter ({why}). A full import reads them."
            ));
            w.from = w.end;
            return Ok(None);
        }
        let teams = self.team_names(&page.data).await;
        let mut incidents = Vec::new();
        for raw in &page.data {
            match normalize::incident(raw, &teams) {
                Ok(i) => incidents.push(i),
                Err(why) => skipped.push(why),
            }
        }
        self.after_page(w, split, page.data.len());
        Ok(Some((incidents, Vec::new())))
    }

    /// Moves past a page of `count` items. A full page means there may be more; when the window's size is
    /// unknown and the next page would pass the cap, the window is halved and read again rather than cut.
    fn after_page(&self, w: &mut Windowed, split: u32, count: usize) {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let more = count >= PAGE;
        if more
            && w.total.is_none()
            && w.offset.saturating_add(count).saturating_add(PAGE) > split
            && w.to - w.from > Duration::seconds(1)
        {
            w.fit(u64::from(split) + 1, split);
            return;
        }
        let cap = if w.total.is_some_and(|t| t <= u64::from(split)) {
            split
        } else {
            self.offset_cap
        };
        w.advance(count, more, PAGE, cap);
    }

    /// An alert's log entries and notes, oldest first.
    async fn timeline(
        &self,
        alert_id: &str,
        skipped: &mut Vec<String>,
    ) -> Result<Vec<NormalizedEvent>, SourceError> {
        let mut out = Vec::new();
        let lists: [(&str, EntryMapper); 2] =
            [("logs", normalize::log_entry), ("notes", normalize::note)];
        for (list, map) in lists {
            let (items, complete) = self.entries(alert_id, list).await?;
            for raw in &items {
                match map(alert_id, raw) {
                    Ok(e) => out.push(e),
                    Err(why) => skipped.push(why),
                }
            }
            if !complete {
                skipped.push(format!(
                    "Alert {alert_id} has more than {} {list} entries; the rest were not read.",
                    TIMELINE_PAGES * PAGE
                ));
            }
        }
        Ok(out)
    }

    /// All pages of an alert's `logs` or `notes` (cursor paging: each page's `paging.next` carries the
    /// `offset` of the next); `false` when there were more than [`TIMELINE_PAGES`].
    async fn entries(&self, alert_id: &str, list: &str) -> Result<(Vec<Value>, bool), SourceError> {
        let url = self.url(&["v2", "alerts", alert_id, list]);
        let mut items = Vec::new();
        let mut offset: Option<String> = None;
        for _ in 0..TIMELINE_PAGES {
            let mut query = vec![
                ("identifierType", "id".to_owned()),
                ("order", "asc".to_owned()),
                ("limit", PAGE.to_string()),
                ("direction", "next".to_owned()),
            ];
            if let Some(o) = &offset {
                query.push(("offset", o.clone()));
            }
            let page: Page = self.get(url.clone(), &query).await?;
            let next = next_offset(&page);
            let full = page.data.len() >= PAGE as usize;
            items.extend(page.data);
            match next {
                Some(o) if full && offset.as_ref() != Some(&o) => offset = Some(o),
                _ => return Ok((items, true)),
            }
        }
        Ok((items, false))
    }

    /// Team names, read on the first page that names a team (a failure leaves them unknown: teams are then
    /// named by their ids).
    async fn team_names(&self, items: &[Value]) -> TeamNames {
        if !items.iter().any(normalize::has_team) {
            return TeamNames::new();
        }
        self.teams
            .get_or_init(|| async {
                match self.get::<Page>(self.url(&["v2", "teams"]), &[]).await {
                    Ok(page) => page
                        .data
                        .iter()
                        .filter_map(|t| {
                            Some((
                                normalize::text(t, "id")?.to_owned(),
                                normalize::text(t, "name")?.to_owned(),
                            ))
                        })
                        .collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "Opsgenie teams could not be read; teams are named by id");
                        TeamNames::new()
                    }
                }
            })
            .await
            .clone()
    }

    /// `GET url?query` with the key, through the shared client (retries, rate limits).
    async fn get<T: DeserializeOwned>(
        &self,
        url: Url,
        query: &[(&str, String)],
    ) -> Result<T, SourceError> {
        let auth = format!("GenieKey {}", self.token.expose_secret());
        self.http
            .json(|client| {
                client
                    .get(url.clone())
                    .query(query)
                    .header(AUTHORIZATION, auth.as_str())
            })
            .await
    }

    /// Adds a note to an imported alert (`POST /v2/alerts/{id}/notes`) or, for an item imported from the
    /// Incident API (tagged [`INCIDENT_TAG`]), to the incident (`POST /v1/incidents/{id}/notes`). Opsgenie
    /// accepts both asynchronously (202). Needs a key with the “Create and Update” access right: a read-only
    /// key is told so.
    pub async fn add_note(
        &self,
        id: &str,
        is_incident: bool,
        note: &str,
    ) -> Result<(), SourceError> {
        let (url, body) = if is_incident {
            (
                self.url(&["v1", "incidents", id, "notes"]),
                serde_json::json!({ "note": note }),
            )
        } else {
            (
                self.url(&["v2", "alerts", id, "notes"]),
                serde_json::json!({ "note": note, "user": NOTE_USER, "source": NOTE_USER }),
            )
        };
        let auth = format!("GenieKey {}", self.token.expose_secret());
        self.http
            .json::<Value>(|client| {
                client
                    .post(url.clone())
                    .query(&[("identifierType", "id")])
                    .header(AUTHORIZATION, auth.as_str())
                    .json(&body)
            })
            .await
            .map(drop)
            .map_err(|e| match e {
                SourceError::Unauthorized { source_name, .. } => SourceError::Unauthorized {
                    source_name,
                    detail: READ_ONLY_KEY.into(),
                },
                SourceError::Forbidden {
                    source_name,
                    status,
                    ..
                } => SourceError::Forbidden {
                    source_name,
                    status,
                    detail: READ_ONLY_KEY.into(),
                },
                SourceError::NotFound { source_name, .. } => SourceError::NotFound {
                    source_name,
                    detail: format!(
                        "{} {id} does not exist any more (or the key cannot see it)",
                        if is_incident { "incident" } else { "alert" }
                    ),
                },
                other => other,
            })
    }

    /// The API's URL of `segments` (an empty last segment gives a trailing slash, as `/v1/incidents/` needs).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `verify`'s errors, in the words the "connect" form needs.
    fn explain(&self, e: SourceError) -> SourceError {
        let said = |detail: &str| {
            if detail.is_empty() || detail == "no details" {
                String::new()
            } else {
                format!(" Opsgenie said: {detail}")
            }
        };
        match e {
            SourceError::Unauthorized {
                source_name,
                detail,
            } => {
                let other = if self.base.host_str().is_some_and(|h| h.contains(".eu.")) {
                    "US accounts use api.opsgenie.com: choose region us"
                } else {
                    "EU accounts use api.eu.opsgenie.com: choose region eu"
                };
                SourceError::Unauthorized {
                    source_name,
                    detail: format!(
                        "the API key is not valid — or it belongs to the other region ({other}).{}",
                        said(&detail)
                    ),
                }
            }
            SourceError::Forbidden {
                source_name,
                status,
                detail,
            } => SourceError::Forbidden {
                source_name,
                status,
                detail: if status == 402 {
                    format!(
                        "this account's Opsgenie plan does not allow reading alerts through the API.{}",
                        said(&detail)
                    )
                } else {
                    format!(
                        "this key cannot read alerts (create a key under Settings → API key management with \
                         Read access).{}",
                        said(&detail)
                    )
                },
            },
            e => e,
        }
    }
}

/// Moves a finished alerts phase on to incidents; `None` when the walk is over.
fn settle(mut at: Cursor) -> Option<Cursor> {
    if at.window.is_done() && at.phase == Phase::Alerts {
        at.phase = Phase::Incidents;
        at.window = Windowed::new(at.window.start, at.window.end, at.mode.span());
    }
    (!at.window.is_done()).then_some(at)
}

/// The search query of a window, e.g. `createdAt >= 1704067200000 AND createdAt < 1706659200000 AND (…)`
/// (epoch milliseconds, as Opsgenie's search syntax has them).
fn window_query(mode: Mode, w: &Windowed, user: Option<&str>) -> String {
    let f = mode.field();
    let mut q = format!(
        "{f} >= {} AND {f} < {}",
        w.from.timestamp_millis(),
        w.to.timestamp_millis()
    );
    if let Some(user) = user.map(str::trim).filter(|u| !u.is_empty()) {
        q.push_str(&format!(" AND ({user})"));
    }
    q
}

/// Why a page of a changes walk cannot have been filtered on `updatedAt`: an item updated before the window
/// (in milliseconds, as the query has it).
fn ignored_filter(items: &[Value], from: DateTime<Utc>) -> Option<String> {
    items.iter().find_map(|item| {
        let updated = normalize::time(item, "updatedAt")?;
        (updated.timestamp_millis() < from.timestamp_millis()).then(|| {
            format!(
                "{} was last updated at {updated}, before {from}",
                normalize::text(item, "id").unwrap_or("an item")
            )
        })
    })
}

/// The `offset` of the page after `page`: from `paging.next`'s URL, else the last item's own.
fn next_offset(page: &Page) -> Option<String> {
    let next = page.next()?;
    Url::parse(next)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "offset")
                .map(|(_, v)| v.into_owned())
        })
        .or_else(|| {
            page.data
                .last()
                .and_then(|e| normalize::text(e, "offset"))
                .map(str::to_owned)
        })
        .filter(|o| !o.is_empty())
}

fn too_dense(what: &str, mode: Mode, total: u64, at: DateTime<Utc>, cap: u32) -> String {
    let verb = match mode {
        Mode::Backfill => "created",
        Mode::Changes => "updated",
    };
    format!(
        "{total} {what} were {verb} within one second at {at}: only the first {cap} could be read (Opsgenie \
         pages no further)."
    )
}

fn no_incident_api(status: u16) -> String {
    format!(
        "Incidents were not imported: this Opsgenie account has no Incident API (it comes with the Standard \
         and Enterprise plans; Opsgenie answered HTTP {status}), so only alerts were read."
    )
}

/// The default start of a backfill: 2012-01-01, before Opsgenie existed.
fn all_history() -> DateTime<Utc> {
    DateTime::from_timestamp(1_325_376_000, 0).expect("a valid time")
}
