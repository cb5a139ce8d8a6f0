//! The envelopes of Opsgenie's answers. Only the envelope is typed: the items stay `serde_json::Value`s and
//! are mapped one by one ([`super::normalize`]), so one odd item cannot spoil its page.

use serde::Deserialize;
use serde_json::Value;

/// A page of a list: `/v2/alerts`, `/v1/incidents/`, `/v2/teams`, an alert's `/logs` or `/notes`.
#[derive(Debug, Deserialize)]
pub(super) struct Page {
    pub data: Vec<Value>,
    #[serde(default)]
    pub paging: Option<Paging>,
    /// The number of matches, where an endpoint tells it (not in the published description; read if present).
    #[serde(default, rename = "totalCount")]
    pub total_count: Option<Value>,
}

/// Links to the neighbouring pages (`/logs` and `/notes` carry their cursor in `next`'s `offset` parameter).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    pub next: Option<Value>,
}

impl Page {
    /// `paging.next`, when it is a non-empty string.
    pub fn next(&self) -> Option<&str> {
        self.paging
            .as_ref()
            .and_then(|p| p.next.as_ref())
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `totalCount`, when it is a count (not negative).
    pub fn total(&self) -> Option<u64> {
        self.total_count.as_ref().and_then(Value::as_u64)
    }
}

/// `GET /v2/alerts/count`: `{"data": {"count": N}}`.
#[derive(Debug, Deserialize)]
pub(super) struct Count {
    pub data: CountData,
}

#[derive(Debug, Deserialize)]
pub(super) struct CountData {
    #[serde(default)]
    pub count: Option<i64>,
}

impl Count {
    /// The count, unless it is absent or nonsense (a negative number, as a schema-shaped mock sends).
    pub fn value(&self) -> Option<u64> {
        self.data.count.and_then(|c| u64::try_from(c).ok())
    }
}
