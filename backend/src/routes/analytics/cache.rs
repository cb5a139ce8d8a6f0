//! The answer cache: the JSON of an analytics answer, kept in Redis under the organization, its analytics
//! `version` (which changes whenever an answer may: new, changed or deleted incidents rolled up, a settings
//! recomputation), the endpoint and a digest of the normalized query. A write never has to invalidate
//! anything: the next read asks for a new version and misses, and the old entries expire after [`TTL`].
//!
//! A period without `until` ends "now": such a query is answered as of `now` rounded up to the next minute
//! (see [`answer_time`]), and that minute is part of its key, so an open-ended answer is reused for at most a
//! minute and never leaves out an incident created before the request. Redis is an optimisation: when it
//! fails or is slow, the answer is computed as if it missed (logged once until Redis answers again).

use crate::state::AppState;
use axum::body::Bytes;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use insights_core::db::incidents::IncidentFilter;
use insights_types::OrgId;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long an answer is kept (an entry of an old version is never read again; this bounds its memory).
pub const TTL: Duration = Duration::from_secs(10 * 60);
/// Answers larger than this are not cached. Two years of daily buckets for eleven series are ~0.7 MiB; the
/// cap keeps one pathological query from filling Redis.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// How long a cache read or write may take before the request goes on without it.
const REDIS_BUDGET: Duration = Duration::from_millis(250);

/// Whether the last cache operation failed (so a Redis outage is logged once, not on every request).
static FAILING: AtomicBool = AtomicBool::new(false);

/// The instant an analytics query is answered as of: `now` rounded up to the next whole minute, so that
/// requests within the same minute share one answer, which includes every incident created before them.
#[must_use]
pub fn answer_time(now: DateTime<Utc>) -> DateTime<Utc> {
    let floor = now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now);
    if floor == now {
        now
    } else {
        floor + TimeDelta::minutes(1)
    }
}

/// One answer's place in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub endpoint: &'static str,
    redis_key: String,
}

impl Key {
    /// The key of `endpoint`'s answer to `filter` and the endpoint's own `params` (name, value), for `org` at
    /// analytics `version`, answered at `at` (only part of the key when the period has no `until`).
    #[must_use]
    pub fn new(
        state: &AppState,
        org: OrgId,
        version: i64,
        endpoint: &'static str,
        filter: &IncidentFilter,
        params: &[(&str, String)],
        at: DateTime<Utc>,
    ) -> Self {
        let digest = hex::encode(Sha256::digest(normalized(filter, params, at)));
        Self {
            endpoint,
            redis_key: state.redis_key(&[
                "analytics",
                &org.to_string(),
                &version.to_string(),
                endpoint,
                &digest,
            ]),
        }
    }

    /// The Redis key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.redis_key
    }
}

/// The query as one string: every parameter that changes the answer, by name, sorted, with empty ones left
/// out, so that two spellings of one query (parameter order, an empty `q`) share an entry.
fn normalized(filter: &IncidentFilter, params: &[(&str, String)], at: DateTime<Utc>) -> String {
    fn text<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_value(v)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
    let mut pairs: Vec<(&str, String)> = vec![
        (
            "source",
            filter.source.as_ref().map(text).unwrap_or_default(),
        ),
        (
            "status",
            filter.status.as_ref().map(text).unwrap_or_default(),
        ),
        (
            "service",
            filter.service_id.map(|u| u.to_string()).unwrap_or_default(),
        ),
        (
            "team",
            filter.team_id.map(|u| u.to_string()).unwrap_or_default(),
        ),
        (
            "urgency",
            filter.urgency.as_ref().map(text).unwrap_or_default(),
        ),
        (
            "since",
            filter.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ),
        (
            "until",
            filter.until.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ),
        (
            "pattern",
            filter.pattern_id.map(|u| u.to_string()).unwrap_or_default(),
        ),
        ("q", filter.text.clone().unwrap_or_default()),
    ];
    if filter.until.is_none() {
        pairs.push(("now", at.to_rfc3339()));
    }
    pairs.extend(params.iter().cloned());
    pairs.retain(|(_, v)| !v.is_empty());
    pairs.sort();
    let mut out = String::new();
    for (name, value) in pairs {
        // Lengths first: no value can pass for another's boundary.
        out.push_str(&format!("{}:{name}={}:{value};", name.len(), value.len()));
    }
    out
}

/// The cached answer, if there is one (and Redis answers in time).
pub async fn get(state: &AppState, key: &Key) -> Option<Bytes> {
    let mut redis = state.redis.clone();
    let mut cmd = redis::cmd("GET");
    cmd.arg(key.as_str());
    let read = cmd.query_async::<Option<Vec<u8>>>(&mut redis);
    let found = match tokio::time::timeout(REDIS_BUDGET, read).await {
        Ok(Ok(found)) => {
            recovered();
            found
        }
        Ok(Err(e)) => {
            failed(&e.to_string());
            record(key.endpoint, "error");
            return None;
        }
        Err(_) => {
            failed("timed out");
            record(key.endpoint, "error");
            return None;
        }
    };
    record(key.endpoint, if found.is_some() { "hit" } else { "miss" });
    found.map(Bytes::from)
}

/// Keeps an answer (unless it is larger than [`MAX_BYTES`]) for [`TTL`].
pub async fn put(state: &AppState, key: &Key, answer: &[u8]) {
    if answer.len() > MAX_BYTES {
        metrics::counter!("analytics_cache_too_large_total", "endpoint" => key.endpoint)
            .increment(1);
        return;
    }
    let mut redis = state.redis.clone();
    let mut cmd = redis::cmd("SET");
    cmd.arg(key.as_str())
        .arg(answer)
        .arg("EX")
        .arg(TTL.as_secs());
    let write = cmd.query_async::<()>(&mut redis);
    match tokio::time::timeout(REDIS_BUDGET, write).await {
        Ok(Ok(())) => recovered(),
        Ok(Err(e)) => failed(&e.to_string()),
        Err(_) => failed("timed out"),
    }
}

/// Counts a lookup: `analytics_cache_requests_total{endpoint, result="hit"|"miss"|"error"}`.
fn record(endpoint: &'static str, result: &'static str) {
    metrics::counter!("analytics_cache_requests_total", "endpoint" => endpoint, "result" => result)
        .increment(1);
}

fn failed(error: &str) {
    if !FAILING.swap(true, Ordering::Relaxed) {
        tracing::warn!(error, "analytics cache unavailable; answering without it");
    }
}

fn recovered() {
    if FAILING.swap(false, Ordering::Relaxed) {
        tracing::info!("analytics cache available again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_as_of_the_next_whole_minute() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(
            answer_time(t("2026-11-29T10:15:00.000001Z")),
            t("2026-11-29T10:16:00Z")
        );
        assert_eq!(
            answer_time(t("2026-11-29T10:15:59Z")),
            t("2026-11-29T10:16:00Z")
        );
        assert_eq!(
            answer_time(t("2026-11-29T10:15:00Z")),
            t("2026-11-29T10:15:00Z")
        );
    }

    #[test]
    fn one_query_has_one_key_and_different_queries_differ() {
        let at = Utc::now();
        let f = IncidentFilter {
            service_id: Some(uuid::Uuid::nil()),
            ..IncidentFilter::default()
        };
        let a = normalized(
            &f,
            &[("metric", "count".into()), ("bucket", "day".into())],
            at,
        );
        let b = normalized(
            &f,
            &[("bucket", "day".into()), ("metric", "count".into())],
            at,
        );
        assert_eq!(a, b, "parameter order does not matter");
        let c = normalized(
            &f,
            &[("metric", "mtta".into()), ("bucket", "day".into())],
            at,
        );
        assert_ne!(a, c);
        let g = IncidentFilter {
            team_id: Some(uuid::Uuid::nil()),
            ..IncidentFilter::default()
        };
        assert_ne!(
            a,
            normalized(
                &g,
                &[("metric", "count".into()), ("bucket", "day".into())],
                at
            )
        );
        // An open-ended period depends on the minute; a closed one does not.
        let later = at + TimeDelta::minutes(1);
        assert_ne!(normalized(&f, &[], at), normalized(&f, &[], later));
        let closed = IncidentFilter {
            until: Some(at),
            ..IncidentFilter::default()
        };
        assert_eq!(
            normalized(&closed, &[], at),
            normalized(&closed, &[], later)
        );
    }
}
