//! PagerDuty v3 webhooks: checking a delivery's signature, and reading the incident it changes.
//!
//! A delivery is one event, `{"event": {id, event_type, resource_type, occurred_at, agent, data}}`. For the
//! incident events (`incident.triggered`, `.acknowledged`, `.resolved`, `.reassigned`, `.priority_updated`…)
//! `data` is the incident as it now is, which becomes a partial version: what it lacks keeps its stored value.
//! Other events (notes, status updates, responders, services) change no incident.

use crate::connector::WebhookUpdate;
use crate::{NormalizedIncident, SourceRef};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};
use serde_json::Value;
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

/// Whether `header` (`X-PagerDuty-Signature`: `v1=<hex>[,v1=<hex>…]`, several while a secret is rotated)
/// holds a `v1` signature of `body` under `secret`: lowercase hex of HMAC-SHA256(secret, raw body). Compared
/// in constant time; unknown schemes are ignored; an empty secret accepts nothing.
#[must_use]
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let mut matched = Choice::from(0);
    for part in header.split(',') {
        let Some((scheme, value)) = part.trim().split_once('=') else {
            continue;
        };
        if scheme.trim() != "v1" {
            continue;
        }
        if let Ok(given) = hex::decode(value.trim()) {
            matched |= expected[..].ct_eq(&given[..]);
        }
    }
    matched.into()
}

/// Reads a delivery (already authenticated). The error is a sentence about what the body lacks.
pub fn parse(body: &[u8]) -> Result<WebhookUpdate, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the webhook body is not JSON ({e})"))?;
    let event = v.get("event").filter(|e| e.is_object()).ok_or(
        "the webhook body has no \"event\" object (is the subscription a v3 webhook?)".to_owned(),
    )?;
    let event_type = str_at(event, "event_type")
        .ok_or("the webhook event has no event_type")?
        .to_owned();
    let about_incident = str_at(event, "resource_type") == Some("incident")
        && event
            .get("data")
            .is_some_and(|d| matches!(str_at(d, "type"), None | Some("incident")));
    if !about_incident {
        return Ok(WebhookUpdate {
            event_type,
            incident: None,
        });
    }
    let occurred_at =
        str_at(event, "occurred_at").ok_or(format!("the {event_type} event has no occurred_at"))?;
    let occurred_at = DateTime::parse_from_rfc3339(occurred_at)
        .map_err(|e| format!("the {event_type} event's occurred_at is not a time ({e})"))?
        .with_timezone(&Utc);
    let data = event.get("data").unwrap_or(&Value::Null);
    let incident = incident(&event_type, occurred_at, data)?;
    Ok(WebhookUpdate {
        event_type,
        incident: Some(incident),
    })
}

/// The partial version an incident event carries. PagerDuty does not always send `created_at`; the event's
/// time stands in for it then (it only matters when the incident is not stored yet, and the next sync's full
/// version replaces it).
fn incident(
    event_type: &str,
    occurred_at: DateTime<Utc>,
    data: &Value,
) -> Result<NormalizedIncident, String> {
    let id = str_at(data, "id").ok_or(format!("the {event_type} event names no incident"))?;
    let title = str_at(data, "title")
        .or_else(|| str_at(data, "summary"))
        .ok_or(format!(
            "the {event_type} event for incident {id} has no title"
        ))?;
    let status = match str_at(data, "status") {
        Some(s) => IncidentStatus::parse(s).ok_or(format!(
            "the {event_type} event for incident {id} has an unknown status \"{s}\""
        ))?,
        None => status_after(event_type).ok_or(format!(
            "the {event_type} event for incident {id} has no status"
        ))?,
    };
    let triggered_at = str_at(data, "created_at")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(occurred_at, |t| t.with_timezone(&Utc));
    let source_ref = |v: &Value| {
        let id = str_at(v, "id")?;
        Some(SourceRef {
            external_id: id.to_owned(),
            name: named(v).unwrap_or(id).to_owned(),
        })
    };
    let mut assignees: Vec<String> = Vec::new();
    for name in array_at(data, "assignees").filter_map(named) {
        if !assignees.iter().any(|a| a == name) {
            assignees.push(name.to_owned());
        }
    }
    Ok(NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: id.to_owned(),
        number: data.get("number").and_then(Value::as_i64),
        title: title.to_owned(),
        description: None,
        service: data.get("service").and_then(source_ref),
        team: array_at(data, "teams").find_map(source_ref),
        urgency: str_at(data, "urgency").and_then(Urgency::parse),
        priority: data.get("priority").and_then(named).map(str::to_owned),
        status,
        triggered_at,
        acknowledged_at: (event_type == "incident.acknowledged").then_some(occurred_at),
        resolved_at: (event_type == "incident.resolved").then_some(occurred_at),
        assignees,
        tags: Vec::new(),
        source_url: str_at(data, "html_url").map(str::to_owned),
        source_updated_at: occurred_at,
        raw: data.clone(),
        timeline: Vec::new(),
    })
}

/// The status an incident event implies, for a payload that does not state it.
fn status_after(event_type: &str) -> Option<IncidentStatus> {
    match event_type {
        "incident.triggered" | "incident.unacknowledged" | "incident.reopened" => {
            Some(IncidentStatus::Triggered)
        }
        "incident.acknowledged" => Some(IncidentStatus::Acknowledged),
        "incident.resolved" => Some(IncidentStatus::Resolved),
        _ => None,
    }
}

/// What a reference is called (`summary`), or an included object (`name`).
fn named(v: &Value) -> Option<&str> {
    str_at(v, "summary").or_else(|| str_at(v, "name"))
}

/// A non-empty string field.
fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn array_at<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}
