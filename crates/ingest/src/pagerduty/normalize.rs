//! What PagerDuty's REST API returns, and how it maps into the unified model. Pages are read leniently: the
//! envelope (`incidents` / `log_entries`, `more`, `total`) must be what the API documents, but each item is
//! mapped on its own, so one item that cannot be read is reported and the rest of its page is kept.

use crate::{NormalizedEvent, NormalizedIncident, SourceRef, event_kind};
use chrono::{DateTime, Utc};
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};
use serde::Deserialize;
use serde_json::Value;

/// One page of `GET /incidents`.
#[derive(Debug, Deserialize)]
pub(super) struct IncidentsPage {
    pub incidents: Vec<Value>,
    #[serde(default)]
    pub more: Option<bool>,
    /// Only when asked with `total=true`.
    #[serde(default)]
    pub total: Option<u64>,
}

/// One page of `GET /log_entries`.
#[derive(Debug, Deserialize)]
pub(super) struct LogEntriesPage {
    pub log_entries: Vec<Value>,
    #[serde(default)]
    pub more: Option<bool>,
    #[serde(default)]
    pub total: Option<u64>,
}

/// A reference to another object (`{id, type, summary}`), or the object itself when included.
#[derive(Debug, Deserialize)]
struct Ref {
    id: Option<String>,
    summary: Option<String>,
    name: Option<String>,
}

impl Ref {
    fn label(&self) -> Option<String> {
        self.summary
            .as_ref()
            .or(self.name.as_ref())
            .filter(|s| !s.trim().is_empty())
            .cloned()
    }

    fn source_ref(&self) -> Option<SourceRef> {
        let id = self.id.clone().filter(|id| !id.is_empty())?;
        Some(SourceRef {
            name: self.label().unwrap_or_else(|| id.clone()),
            external_id: id,
        })
    }
}

#[derive(Debug, Deserialize)]
struct Acknowledgement {
    at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct Assignment {
    assignee: Option<Ref>,
}

/// The fields of a PagerDuty incident this product reads (the whole object is kept as `raw`).
#[derive(Debug, Deserialize)]
struct ApiIncident {
    incident_number: Option<i64>,
    title: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    body: Option<Value>,
    service: Option<Ref>,
    teams: Option<Vec<Ref>>,
    urgency: Option<String>,
    priority: Option<Ref>,
    status: Option<String>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    last_status_change_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    acknowledgements: Option<Vec<Acknowledgement>>,
    assignments: Option<Vec<Assignment>>,
    html_url: Option<String>,
}

/// The fields of a log entry this product reads.
#[derive(Debug, Deserialize)]
struct ApiLogEntry {
    #[serde(rename = "type")]
    kind: Option<String>,
    summary: Option<String>,
    created_at: Option<DateTime<Utc>>,
    agent: Option<Ref>,
    channel: Option<Value>,
    note: Option<String>,
    incident: Option<Ref>,
}

fn id_of(v: &Value) -> Option<&str> {
    v.get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.trim().is_empty())
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Maps one incident as `GET /incidents` (or `include[]=incidents`) returns it. The error is a sentence that
/// names the incident.
pub(super) fn incident(v: &Value) -> Result<NormalizedIncident, String> {
    let Some(id) = id_of(v) else {
        return Err(format!(
            "an incident without an id was skipped ({})",
            preview(v)
        ));
    };
    let api = ApiIncident::deserialize(v)
        .map_err(|e| format!("incident {id} was skipped: it cannot be read ({e})"))?;
    let title = non_empty(api.title.as_ref())
        .or_else(|| non_empty(api.summary.as_ref()))
        .ok_or_else(|| format!("incident {id} was skipped: it has no title"))?;
    let status = match api.status.as_deref() {
        Some(s) => IncidentStatus::parse(s)
            .ok_or_else(|| format!("incident {id} was skipped: its status \"{s}\" is unknown"))?,
        None => return Err(format!("incident {id} was skipped: it has no status")),
    };
    let triggered_at = api
        .created_at
        .ok_or_else(|| format!("incident {id} was skipped: it has no creation time"))?;
    let description = match api.body.as_ref().and_then(|b| b.get("details")) {
        Some(Value::String(details)) if !details.trim().is_empty() => Some(details.clone()),
        _ => non_empty(api.description.as_ref()).filter(|d| *d != title),
    };
    let acknowledged_at = api
        .acknowledgements
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.at)
        .min();
    let resolved_at = api.resolved_at.or(if status == IncidentStatus::Resolved {
        api.last_status_change_at
    } else {
        None
    });
    let mut assignees: Vec<String> = Vec::new();
    for name in api
        .assignments
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.assignee.as_ref().and_then(Ref::label))
    {
        if !assignees.contains(&name) {
            assignees.push(name);
        }
    }
    Ok(NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: id.to_owned(),
        number: api.incident_number,
        title,
        description,
        service: api.service.as_ref().and_then(Ref::source_ref),
        team: api
            .teams
            .unwrap_or_default()
            .iter()
            .find_map(Ref::source_ref),
        urgency: api.urgency.as_deref().and_then(Urgency::parse),
        priority: api.priority.as_ref().and_then(Ref::label),
        status,
        triggered_at,
        acknowledged_at,
        resolved_at,
        assignees,
        tags: Vec::new(),
        source_url: non_empty(api.html_url.as_ref()),
        source_updated_at: api
            .updated_at
            .or(api.last_status_change_at)
            .unwrap_or(triggered_at),
        raw: v.clone(),
        timeline: Vec::new(),
    })
}

/// The unified kind of a log entry type (`trigger_log_entry`, `annotate_log_entry`…).
pub(super) fn kind_of(log_entry_type: &str) -> &'static str {
    let t = log_entry_type
        .strip_suffix("_reference")
        .unwrap_or(log_entry_type);
    let t = t.strip_suffix("_log_entry").unwrap_or(t);
    match t {
        "trigger" => event_kind::TRIGGER,
        "acknowledge" | "acknowledgement" => event_kind::ACKNOWLEDGE,
        "unacknowledge" => event_kind::UNACKNOWLEDGE,
        "resolve" => event_kind::RESOLVE,
        "assign" | "delegate" => event_kind::ASSIGN,
        "escalate" | "repeat_escalation_path" | "exhaust_escalation_path" => event_kind::ESCALATE,
        "notify" => event_kind::NOTIFY,
        "annotate" => event_kind::NOTE,
        "snooze" => event_kind::SNOOZE,
        "urgency_change" => event_kind::URGENCY,
        t if t.starts_with("priority") => event_kind::PRIORITY,
        _ => event_kind::OTHER,
    }
}

/// Maps one log entry into a timeline event of the incident it belongs to (by the incident's id).
pub(super) fn event(v: &Value) -> Result<(String, NormalizedEvent), String> {
    let Some(id) = id_of(v) else {
        return Err(format!(
            "a log entry without an id was skipped ({})",
            preview(v)
        ));
    };
    let api = ApiLogEntry::deserialize(v)
        .map_err(|e| format!("log entry {id} was skipped: it cannot be read ({e})"))?;
    let incident = api
        .incident
        .as_ref()
        .and_then(|i| i.id.clone())
        .filter(|i| !i.is_empty())
        .ok_or_else(|| format!("log entry {id} was skipped: it names no incident"))?;
    let at = api
        .created_at
        .ok_or_else(|| format!("log entry {id} was skipped: it has no time"))?;
    let kind = kind_of(api.kind.as_deref().unwrap_or_default());
    let message = if kind == event_kind::NOTE {
        let channel_text = api
            .channel
            .as_ref()
            .and_then(|c| c.get("summary"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        non_empty(channel_text.as_ref())
            .or_else(|| non_empty(api.note.as_ref()))
            .or_else(|| non_empty(api.summary.as_ref()))
    } else {
        non_empty(api.summary.as_ref())
    };
    Ok((
        incident,
        NormalizedEvent {
            external_id: id.to_owned(),
            kind: kind.to_owned(),
            at,
            actor: api.agent.as_ref().and_then(Ref::label),
            message,
            raw: v.clone(),
        },
    ))
}

/// Whether an object is only a reference (`{id, type: "…_reference", summary}`), not the object itself.
pub(super) fn is_reference(v: &Value) -> bool {
    v.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("_reference"))
}

/// The start of an item, to name it in a sentence when it has no id.
fn preview(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}
