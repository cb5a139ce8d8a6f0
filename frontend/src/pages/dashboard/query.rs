//! What the dashboard shows, as kept in its URL: a time range (a preset, or custom dates) and the incident
//! list's filters. From it come the analytics' query pairs (the same the incident list sends) and the
//! drill-down links into the list.

use crate::time;
use chrono::{DateTime, Duration, Utc};
use insights_types::OrgId;
use insights_types::api::Bucket;
use leptos_router::params::ParamsMap;

/// The time range presets: (URL value, label, length).
pub const PRESETS: [(&str, &str, Option<i64>); 6] = [
    ("24h", "24 h", Some(1)),
    ("7d", "7 d", Some(7)),
    ("30d", "30 d", Some(30)),
    ("90d", "90 d", Some(90)),
    ("1y", "1 y", Some(365)),
    ("all", "All", None),
];

/// The range used when the URL names none.
pub const DEFAULT_RANGE: &str = "30d";

/// The filter parameters shared with the incident list, in its order.
pub const FILTER_KEYS: [&str; 7] = [
    "q", "status", "source", "urgency", "service", "team", "pattern",
];

/// The dashboard's view: `range` is a preset or `custom` (then `from`/`to` are `yyyy-mm-dd` dates, UTC);
/// `filters` the incident list's, by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashQuery {
    pub range: String,
    pub from: String,
    pub to: String,
    pub filters: Vec<(&'static str, String)>,
}

impl Default for DashQuery {
    fn default() -> Self {
        Self {
            range: DEFAULT_RANGE.to_owned(),
            from: String::new(),
            to: String::new(),
            filters: FILTER_KEYS.iter().map(|k| (*k, String::new())).collect(),
        }
    }
}

/// A resolved period: where it starts (`None`: from the first incident) and ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub since: Option<DateTime<Utc>>,
    pub until: DateTime<Utc>,
}

impl DashQuery {
    pub fn from_query(map: &ParamsMap) -> Self {
        let get = |k: &str| map.get(k).unwrap_or_default();
        let range = get("range");
        let known = range == "custom" || PRESETS.iter().any(|(v, _, _)| *v == range);
        Self {
            range: if known {
                range
            } else {
                DEFAULT_RANGE.to_owned()
            },
            from: get("from"),
            to: get("to"),
            filters: FILTER_KEYS.iter().map(|k| (*k, get(k))).collect(),
        }
    }

    /// The value of one filter.
    pub fn filter(&self, key: &str) -> String {
        self.filters
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The same view with one filter changed.
    #[must_use]
    pub fn with_filter(&self, key: &str, value: String) -> Self {
        let mut next = self.clone();
        for (k, v) in &mut next.filters {
            if *k == key {
                *v = value.clone();
            }
        }
        next
    }

    /// The page's query string.
    pub fn url_query(&self) -> String {
        let mut pairs = vec![("range", self.range.as_str())];
        if self.range == "custom" {
            pairs.push(("from", &self.from));
            pairs.push(("to", &self.to));
        }
        pairs.extend(self.filters.iter().map(|(k, v)| (*k, v.trim())));
        encode(
            pairs
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .join("&")
    }

    /// The period the view covers, as of `now` rounded up to the next whole minute: every widget read within
    /// a minute asks the same question (the API's answer cache keys on it) and no incident created before now
    /// is left out.
    pub fn period(&self, now: DateTime<Utc>) -> Period {
        let now =
            DateTime::from_timestamp((now.timestamp() + 59).div_euclid(60) * 60, 0).unwrap_or(now);
        if self.range == "custom" {
            return Period {
                since: time::day_start(&self.from),
                until: time::day_end(&self.to).unwrap_or(now),
            };
        }
        let days = PRESETS
            .iter()
            .find(|(v, _, _)| *v == self.range)
            .and_then(|(_, _, d)| *d);
        Period {
            since: days.map(|d| now - Duration::days(d)),
            until: now,
        }
    }

    /// Why the custom range cannot be shown, if it cannot.
    pub fn range_error(&self) -> Option<&'static str> {
        if self.range != "custom" {
            return None;
        }
        match (time::day_start(&self.from), time::day_start(&self.to)) {
            (Some(a), Some(b)) if a > b => Some("The end comes before the start."),
            _ => None,
        }
    }

    /// The filter pairs of the incident list (encoded), without the period.
    pub fn filter_pairs(&self) -> Vec<String> {
        encode(
            self.filters
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| ((*k).to_owned(), v.trim().to_owned())),
        )
    }
}

impl Period {
    /// The analytics' (and the incident list's) query pairs: the filters and this period.
    pub fn api_pairs(&self, q: &DashQuery) -> Vec<String> {
        let mut out = q.filter_pairs();
        out.extend(self.bounds());
        out
    }

    fn bounds(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(s) = self.since {
            out.push(format!("since={}", enc(&time::rfc3339(s))));
        }
        out.push(format!("until={}", enc(&time::rfc3339(self.until))));
        out
    }

    /// The bucket width that gives a readable number of bars over this period.
    pub fn bucket(&self, first: Option<DateTime<Utc>>) -> Bucket {
        let since = self
            .since
            .or(first)
            .unwrap_or(self.until - Duration::days(365 * 3));
        let days = (self.until - since).num_hours() as f64 / 24.0;
        match days {
            d if d <= 2.0 => Bucket::Hour,
            d if d <= 62.0 => Bucket::Day,
            d if d <= 370.0 => Bucket::Week,
            _ => Bucket::Month,
        }
    }

    /// The part of `[start, end)` inside this period (the first and last buckets are cut by it).
    pub fn clip(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            since: Some(self.since.map_or(start, |s| s.max(start))),
            until: self.until.min(end),
        }
    }
}

/// `encodeURIComponent` of a value.
pub fn enc(v: &str) -> String {
    String::from(js_sys::encode_uri_component(v))
}

fn encode(pairs: impl Iterator<Item = (String, String)>) -> Vec<String> {
    pairs.map(|(k, v)| format!("{k}={}", enc(&v))).collect()
}

/// The incident list showing the incidents behind a number: the view's filters, `period`, and `group` (a
/// filter parameter and its value, e.g. `("service", id)`) replacing the view's filter of that name.
pub fn drill_href(
    org: OrgId,
    q: &DashQuery,
    period: Period,
    group: Option<(&str, &str)>,
) -> String {
    let base = match group {
        Some((k, v)) => q.with_filter(k, v.to_owned()),
        None => q.clone(),
    };
    format!(
        "/orgs/{org}/incidents?{}",
        period.api_pairs(&base).join("&")
    )
}

/// Whether a group key names one filterable group (not `other`, `none` or `all`).
pub fn drillable_key(key: &str) -> bool {
    !matches!(key, "other" | "none" | "all")
}
