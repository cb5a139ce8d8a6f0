//! Mapping Opsgenie's alerts, incidents, alert log entries and notes into the normalized model. Each item is
//! mapped on its own, entirely or not at all: what cannot be mapped comes back as a sentence for `skipped`.

use crate::{NormalizedEvent, NormalizedIncident, SourceRef, event_kind};
use chrono::{DateTime, Duration, Utc};
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Team names by id (from `/v2/teams`; empty when it could not be read).
pub(super) type TeamNames = HashMap<String, String>;

/// An alert from `/v2/alerts`.
pub(super) fn alert(raw: &Value, teams: &TeamNames) -> Result<NormalizedIncident, String> {
    let id = id_of(raw)
        .ok_or_else(|| format!("An alert without an id was skipped ({}).", describe(raw)))?;
    let (created, title) = essentials(raw, "Alert", &id)?;
    let updated = time(raw, "updatedAt");
    let report = raw.get("report");
    let after_created = |key: &str| {
        report
            .and_then(|r| r.get(key))
            .and_then(Value::as_i64)
            .filter(|ms| *ms >= 0)
            .and_then(Duration::try_milliseconds)
            .and_then(|d| created.checked_add_signed(d))
    };
    let closed = text(raw, "status").is_some_and(|s| s.eq_ignore_ascii_case("closed"));
    let status = if closed {
        IncidentStatus::Resolved
    } else if raw.get("acknowledged").and_then(Value::as_bool) == Some(true) {
        IncidentStatus::Acknowledged
    } else {
        IncidentStatus::Triggered
    };
    let resolved_at = if closed {
        after_created("closeTime").or(updated)
    } else {
        None
    };
    let priority = priority(raw.get("priority"));
    Ok(NormalizedIncident {
        source: IncidentSource::Opsgenie,
        number: number(raw.get("tinyId")),
        title,
        description: text(raw, "description").map(str::to_owned),
        service: raw.get("integration").and_then(|i| {
            let id = text(i, "id")?;
            Some(SourceRef {
                external_id: id.to_owned(),
                name: text(i, "name").unwrap_or(id).to_owned(),
            })
        }),
        team: first_team(raw, teams),
        urgency: urgency(priority.as_deref()),
        priority,
        status,
        triggered_at: created,
        acknowledged_at: after_created("ackTime"),
        resolved_at,
        assignees: text(raw, "owner").map(str::to_owned).into_iter().collect(),
        tags: tags(raw),
        source_url: None,
        source_updated_at: updated.unwrap_or(created).max(created),
        raw: raw.clone(),
        timeline: Vec::new(),
        external_id: id,
    })
}

/// An incident from `/v1/incidents/` (no acknowledgement, no report: resolution time is the last update).
/// The tag that tells an Opsgenie incident (a record that groups alerts, on Standard and Enterprise plans)
/// from an alert, which is what pages people and what the unified schema counts as an incident elsewhere:
/// analytics that count pages leave these out.
pub const INCIDENT_TAG: &str = "opsgenie:incident";

pub(super) fn incident(raw: &Value, teams: &TeamNames) -> Result<NormalizedIncident, String> {
    let id = id_of(raw)
        .ok_or_else(|| format!("An incident without an id was skipped ({}).", describe(raw)))?;
    let (created, title) = essentials(raw, "Incident", &id)?;
    let updated = time(raw, "updatedAt");
    let resolved = text(raw, "status")
        .is_some_and(|s| s.eq_ignore_ascii_case("resolved") || s.eq_ignore_ascii_case("closed"));
    let priority = priority(raw.get("priority"));
    let team = text(raw, "ownerTeam")
        .map(|id| SourceRef {
            external_id: id.to_owned(),
            name: teams.get(id).cloned().unwrap_or_else(|| id.to_owned()),
        })
        .or_else(|| first_team(raw, teams));
    Ok(NormalizedIncident {
        source: IncidentSource::Opsgenie,
        number: number(raw.get("tinyId")),
        title,
        description: text(raw, "description").map(str::to_owned),
        service: None,
        team,
        urgency: urgency(priority.as_deref()),
        priority,
        status: if resolved {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Triggered
        },
        triggered_at: created,
        acknowledged_at: None,
        resolved_at: if resolved { updated } else { None },
        assignees: text(raw, "owner").map(str::to_owned).into_iter().collect(),
        tags: std::iter::once(INCIDENT_TAG.to_owned())
            .chain(tags(raw))
            .collect(),
        source_url: None,
        source_updated_at: updated.unwrap_or(created).max(created),
        raw: raw.clone(),
        timeline: Vec::new(),
        external_id: id,
    })
}

/// An entry of an alert's `/logs`. Its `offset` (unique within the alert) is its id; without one, a digest of
/// its content and time.
pub(super) fn log_entry(alert_id: &str, raw: &Value) -> Result<NormalizedEvent, String> {
    let at = time(raw, "createdAt").ok_or_else(|| {
        format!(
            "A log entry of alert {alert_id} was skipped: its createdAt is missing or unreadable."
        )
    })?;
    let log = text(raw, "log");
    Ok(NormalizedEvent {
        external_id: format!("log:{}", entry_id(raw, &["type", "owner", "log"])),
        kind: log_kind(log.unwrap_or_default()).to_owned(),
        at,
        actor: text(raw, "owner").map(str::to_owned),
        message: log.map(str::to_owned),
        raw: raw.clone(),
    })
}

/// A note of an alert's `/notes`.
pub(super) fn note(alert_id: &str, raw: &Value) -> Result<NormalizedEvent, String> {
    let at = time(raw, "createdAt").ok_or_else(|| {
        format!("A note of alert {alert_id} was skipped: its createdAt is missing or unreadable.")
    })?;
    Ok(NormalizedEvent {
        external_id: format!("note:{}", entry_id(raw, &["owner", "note"])),
        kind: event_kind::NOTE.to_owned(),
        at,
        actor: text(raw, "owner").map(str::to_owned),
        message: text(raw, "note").map(str::to_owned),
        raw: raw.clone(),
    })
}

/// The kind of a log entry, from its text (Opsgenie's `type` is coarse: `system`, `alertRecipient`…).
/// Acknowledgements and resolutions count only when the text starts with them, because such entries fill
/// in an incident's times: a stray match would shorten its time to acknowledge.
pub(super) fn log_kind(log: &str) -> &'static str {
    let t = log.trim().to_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| t.starts_with(p));
    if starts(&[
        "alert unacknowledged",
        "unacknowledged",
        "alert un-acknowledged",
    ]) {
        event_kind::UNACKNOWLEDGE
    } else if starts(&["alert acknowledged", "acknowledged"]) {
        event_kind::ACKNOWLEDGE
    } else if starts(&["alert closed", "alert is closed", "closed alert", "closed"]) {
        event_kind::RESOLVE
    } else if starts(&["alert created", "alert is created", "created alert"]) {
        event_kind::TRIGGER
    } else if t.contains("note") {
        // Notes are read from `/notes`; the log's line about one stays an ordinary entry.
        event_kind::OTHER
    } else if t.contains("reopen") {
        event_kind::REOPEN
    } else if t.contains("escalat") {
        event_kind::ESCALATE
    } else if t.contains("ownership") || starts(&["assigned", "alert assigned"]) {
        event_kind::ASSIGN
    } else if t.contains("snooz") {
        event_kind::SNOOZE
    } else if t.contains("priority") {
        event_kind::PRIORITY
    } else if t.contains("notif") || starts(&["sent ", "notified"]) {
        event_kind::NOTIFY
    } else {
        event_kind::OTHER
    }
}

/// A time as Opsgenie writes it: RFC 3339 text (REST API), or epoch seconds, milliseconds, microseconds or
/// nanoseconds (webhooks send milliseconds for `createdAt` and nanoseconds for `updatedAt`), told apart by
/// magnitude.
pub(super) fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| s.trim().parse::<i64>().ok().and_then(epoch)),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .and_then(epoch),
        _ => None,
    }
}

fn epoch(n: i64) -> Option<DateTime<Utc>> {
    if n < 0 {
        None
    } else if n >= 100_000_000_000_000_000 {
        Some(DateTime::from_timestamp_nanos(n))
    } else if n >= 100_000_000_000_000 {
        DateTime::from_timestamp_micros(n)
    } else if n >= 100_000_000_000 {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

/// `P1`…`P5` as written, or a bare number (`3`, as some webhooks send) as `P3`.
pub(super) fn priority(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => n
            .as_u64()
            .filter(|p| (1..=5).contains(p))
            .map(|p| format!("P{p}")),
        _ => None,
    }
}

/// High for P1 and P2, low for the other priorities; none without a priority.
pub(super) fn urgency(priority: Option<&str>) -> Option<Urgency> {
    let p = priority?;
    Some(
        if p.eq_ignore_ascii_case("P1") || p.eq_ignore_ascii_case("P2") {
            Urgency::High
        } else {
            Urgency::Low
        },
    )
}

/// `tinyId` as a number (`"28"` or `28`); none when it is not one.
pub(super) fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// A non-empty string field.
pub(super) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A time field (see [`parse_time`]).
pub(super) fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key).and_then(parse_time)
}

/// The string items of `tags`.
pub(super) fn tags(v: &Value) -> Vec<String> {
    v.get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether any responder is a team (then team names are worth looking up).
pub(super) fn has_team(v: &Value) -> bool {
    text(v, "ownerTeam").is_some() || team_responder(v).is_some()
}

fn id_of(v: &Value) -> Option<String> {
    text(v, "id").map(str::to_owned)
}

fn essentials(raw: &Value, what: &str, id: &str) -> Result<(DateTime<Utc>, String), String> {
    let created = time(raw, "createdAt").ok_or_else(|| {
        format!("{what} {id} was skipped: its createdAt is missing or unreadable.")
    })?;
    let title = text(raw, "message")
        .ok_or_else(|| format!("{what} {id} was skipped: it has no message."))?;
    Ok((created, title.to_owned()))
}

fn team_responder(v: &Value) -> Option<&Value> {
    v.get("responders")?.as_array()?.iter().find(|r| {
        text(r, "type").is_some_and(|t| t.eq_ignore_ascii_case("team")) && text(r, "id").is_some()
    })
}

fn first_team(v: &Value, teams: &TeamNames) -> Option<SourceRef> {
    let r = team_responder(v)?;
    let id = text(r, "id")?;
    let name = text(r, "name")
        .map(str::to_owned)
        .or_else(|| teams.get(id).cloned())
        .unwrap_or_else(|| id.to_owned());
    Some(SourceRef {
        external_id: id.to_owned(),
        name,
    })
}

/// An entry's `offset`, or a digest of its time and `fields` when it has none.
fn entry_id(raw: &Value, fields: &[&str]) -> String {
    if let Some(offset) = text(raw, "offset") {
        return offset.to_owned();
    }
    let mut h = Sha256::new();
    for key in std::iter::once("createdAt").chain(fields.iter().copied()) {
        h.update(raw.get(key).map(Value::to_string).unwrap_or_default());
        h.update([0u8]);
    }
    format!("sha256:{}", &hex::encode(h.finalize())[..32])
}

/// What identifies an item without an id, for a person.
fn describe(v: &Value) -> String {
    match (text(v, "tinyId"), text(v, "message")) {
        (Some(t), Some(m)) => format!("#{t}, \"{}\"", short(m)),
        (Some(t), None) => format!("#{t}"),
        (None, Some(m)) => format!("\"{}\"", short(m)),
        (None, None) => "no number or message either".into(),
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 5, h, m, s).unwrap()
    }

    fn full_alert() -> Value {
        json!({
            "id": "70413a06-38d6-4c85-92b8-5ebc900d42e2", "tinyId": "1791",
            "message": "Disk usage above 90% on db-1", "description": "Volume /data",
            "status": "closed", "acknowledged": true, "tags": ["db", "disk"],
            "createdAt": "2024-03-05T10:00:00.000Z", "updatedAt": "2024-03-05T11:00:00.000Z",
            "owner": "ada@example.com", "priority": "P2",
            "responders": [{"type": "user", "id": "u1"}, {"type": "team", "id": "t1"}, {"type": "team", "id": "t2"}],
            "integration": {"id": "i1", "name": "Datadog", "type": "Datadog"},
            "report": {"ackTime": 90_500, "closeTime": 1_800_000, "acknowledgedBy": "ada", "closedBy": "ada"}
        })
    }

    #[test]
    fn a_closed_alert_maps_every_field_and_its_times_from_the_report() {
        let teams = TeamNames::from([("t1".to_owned(), "Platform".to_owned())]);
        let i = alert(&full_alert(), &teams).unwrap();
        assert_eq!(i.external_id, "70413a06-38d6-4c85-92b8-5ebc900d42e2");
        assert_eq!(i.source, IncidentSource::Opsgenie);
        assert_eq!(i.number, Some(1791));
        assert_eq!(i.title, "Disk usage above 90% on db-1");
        assert_eq!(i.description.as_deref(), Some("Volume /data"));
        assert_eq!(
            i.service,
            Some(SourceRef {
                external_id: "i1".into(),
                name: "Datadog".into()
            })
        );
        assert_eq!(
            i.team,
            Some(SourceRef {
                external_id: "t1".into(),
                name: "Platform".into()
            })
        );
        assert_eq!(i.urgency, Some(Urgency::High));
        assert_eq!(i.priority.as_deref(), Some("P2"));
        assert_eq!(i.status, IncidentStatus::Resolved);
        assert_eq!(i.triggered_at, at(10, 0, 0));
        assert_eq!(
            i.acknowledged_at,
            Some(at(10, 1, 30) + Duration::milliseconds(500))
        );
        assert_eq!(i.resolved_at, Some(at(10, 30, 0)));
        assert_eq!(i.assignees, vec!["ada@example.com"]);
        assert_eq!(i.tags, vec!["db", "disk"]);
        assert_eq!(i.source_url, None);
        assert_eq!(i.source_updated_at, at(11, 0, 0));
        assert_eq!(i.raw, full_alert());
    }

    #[test]
    fn alert_status_follows_closed_then_acknowledged() {
        let mut a = full_alert();
        a["status"] = json!("open");
        assert_eq!(
            alert(&a, &TeamNames::new()).unwrap().status,
            IncidentStatus::Acknowledged
        );
        a["acknowledged"] = json!(false);
        let i = alert(&a, &TeamNames::new()).unwrap();
        assert_eq!(i.status, IncidentStatus::Triggered);
        assert_eq!(i.resolved_at, None, "an open alert has no resolution time");
    }

    #[test]
    fn a_closed_alert_without_a_close_time_is_resolved_at_its_last_update() {
        let mut a = full_alert();
        a["report"] = json!({});
        let i = alert(&a, &TeamNames::new()).unwrap();
        assert_eq!(i.resolved_at, Some(at(11, 0, 0)));
        assert_eq!(i.acknowledged_at, None);
    }

    #[test]
    fn unknown_team_names_fall_back_to_the_id_and_low_priorities_are_low_urgency() {
        let mut a = full_alert();
        a["priority"] = json!("P4");
        a["tinyId"] = json!("string");
        let i = alert(&a, &TeamNames::new()).unwrap();
        assert_eq!(i.team.unwrap().name, "t1");
        assert_eq!(i.urgency, Some(Urgency::Low));
        assert_eq!(i.number, None, "a tinyId that is not a number");
        a.as_object_mut().unwrap().remove("priority");
        assert_eq!(alert(&a, &TeamNames::new()).unwrap().urgency, None);
    }

    #[test]
    fn negative_report_times_are_ignored() {
        let mut a = full_alert();
        a["report"] = json!({"ackTime": -9007199254740991_i64, "closeTime": -9007199254740991_i64});
        let i = alert(&a, &TeamNames::new()).unwrap();
        assert_eq!(i.acknowledged_at, None);
        assert_eq!(i.resolved_at, Some(at(11, 0, 0)));
    }

    #[test]
    fn an_alert_missing_what_an_incident_needs_is_refused_with_a_sentence_naming_it() {
        let mut a = full_alert();
        a.as_object_mut().unwrap().remove("id");
        let e = alert(&a, &TeamNames::new()).unwrap_err();
        assert!(e.contains("without an id") && e.contains("#1791"), "{e}");
        let mut a = full_alert();
        a["createdAt"] = json!("yesterday");
        let e = alert(&a, &TeamNames::new()).unwrap_err();
        assert!(
            e.contains("70413a06-38d6-4c85-92b8-5ebc900d42e2") && e.contains("createdAt"),
            "{e}"
        );
        let mut a = full_alert();
        a["message"] = json!("");
        assert!(
            alert(&a, &TeamNames::new())
                .unwrap_err()
                .contains("no message")
        );
    }

    #[test]
    fn an_incident_maps_its_owner_team_and_resolution() {
        let raw = json!({
            "id": "inc-1", "tinyId": "7", "message": "Checkout down", "status": "resolved",
            "createdAt": "2024-03-05T10:00:00Z", "updatedAt": "2024-03-05T12:00:00Z",
            "priority": "P1", "ownerTeam": "t9", "tags": ["sev1"], "owner": "grace"
        });
        let teams = TeamNames::from([("t9".to_owned(), "Payments".to_owned())]);
        let i = incident(&raw, &teams).unwrap();
        assert_eq!(i.external_id, "inc-1");
        assert_eq!(i.number, Some(7));
        assert_eq!(i.status, IncidentStatus::Resolved);
        assert_eq!(i.resolved_at, Some(at(12, 0, 0)));
        assert_eq!(i.team.unwrap().name, "Payments");
        assert_eq!(i.urgency, Some(Urgency::High));
        assert_eq!(i.assignees, vec!["grace"]);
        assert_eq!(i.tags, vec![INCIDENT_TAG, "sev1"], "told apart from alerts");
        let open = incident(
            &json!({"id": "inc-2", "message": "m", "status": "open",
                                    "createdAt": "2024-03-05T10:00:00Z"}),
            &teams,
        )
        .unwrap();
        assert_eq!(open.status, IncidentStatus::Triggered);
        assert_eq!(open.resolved_at, None);
        assert_eq!(open.source_updated_at, at(10, 0, 0));
    }

    #[test]
    fn log_texts_map_to_event_kinds() {
        for (text, kind) in [
            ("Alert created via Datadog[Datadog]", event_kind::TRIGGER),
            ("Alert acknowledged via web", event_kind::ACKNOWLEDGE),
            ("Acknowledged via [mobile]", event_kind::ACKNOWLEDGE),
            ("Alert unacknowledged via web", event_kind::UNACKNOWLEDGE),
            ("Alert closed via API", event_kind::RESOLVE),
            ("Alert ownership assigned to ada", event_kind::ASSIGN),
            ("Took ownership of the alert", event_kind::ASSIGN),
            (
                "Escalated to next via escalation [Default]",
                event_kind::ESCALATE,
            ),
            ("Alert snoozed until 10:00", event_kind::SNOOZE),
            ("Alert priority updated to P1", event_kind::PRIORITY),
            ("Sent [SMS] notification to ada", event_kind::NOTIFY),
            ("Added note: closed the ticket", event_kind::OTHER),
            ("Viewed on [web]", event_kind::OTHER),
            ("Will notify if not acknowledged in 5m", event_kind::NOTIFY),
            ("", event_kind::OTHER),
        ] {
            assert_eq!(log_kind(text), kind, "{text:?}");
        }
    }

    #[test]
    fn log_entries_and_notes_take_their_offset_as_id_or_else_a_stable_digest() {
        let e = log_entry(
            "a1",
            &json!({"log": "Alert acknowledged via web", "type": "system", "owner": "neo",
                    "createdAt": "2017-04-12T12:27:52.838Z", "offset": "1492000072838_1492000072838234593"}),
        )
        .unwrap();
        assert_eq!(e.external_id, "log:1492000072838_1492000072838234593");
        assert_eq!(e.kind, event_kind::ACKNOWLEDGE);
        assert_eq!(e.actor.as_deref(), Some("neo"));
        assert_eq!(e.message.as_deref(), Some("Alert acknowledged via web"));
        let raw =
            json!({"note": "rolled back", "owner": "ada", "createdAt": "2024-03-05T10:00:00Z"});
        let (a, b) = (note("a1", &raw).unwrap(), note("a1", &raw).unwrap());
        assert_eq!(a.external_id, b.external_id);
        assert!(a.external_id.starts_with("note:sha256:"));
        assert_eq!(a.kind, event_kind::NOTE);
        let other = note(
            "a1",
            &json!({"note": "rolled forward", "owner": "ada", "createdAt": "2024-03-05T10:00:00Z"}),
        );
        assert_ne!(other.unwrap().external_id, a.external_id);
        assert!(
            note("a1", &json!({"note": "x"}))
                .unwrap_err()
                .contains("a1")
        );
    }

    #[test]
    fn times_are_read_as_text_or_as_epoch_numbers_of_any_precision() {
        let t =
            Utc.with_ymd_and_hms(2017, 8, 14, 11, 25, 56).unwrap() + Duration::milliseconds(288);
        assert_eq!(parse_time(&json!("2017-08-14T11:25:56.288Z")), Some(t));
        assert_eq!(parse_time(&json!(1502709956288_i64)), Some(t));
        assert_eq!(parse_time(&json!(1502709956288000_i64)), Some(t));
        assert_eq!(
            parse_time(&json!(1502709956288000110_i64)),
            Some(t + Duration::nanoseconds(110))
        );
        assert_eq!(
            parse_time(&json!(1502709956_i64)),
            Some(t - Duration::milliseconds(288))
        );
        assert_eq!(parse_time(&json!("1502709956288")), Some(t));
        assert_eq!(parse_time(&json!(-5)), None);
        assert_eq!(parse_time(&json!("soon")), None);
        assert_eq!(parse_time(&json!(null)), None);
    }

    #[test]
    fn priorities_are_read_as_text_or_numbers() {
        assert_eq!(priority(Some(&json!("P1"))).as_deref(), Some("P1"));
        assert_eq!(priority(Some(&json!(3))).as_deref(), Some("P3"));
        assert_eq!(priority(Some(&json!(9))), None);
        assert_eq!(priority(Some(&json!(""))), None);
        assert_eq!(priority(None), None);
    }
}
