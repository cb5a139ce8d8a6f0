//! The mapping of incidents and log entries to the unified model.

use super::super::normalize;
use super::*;

#[test]
fn an_incident_maps_every_field_the_unified_model_has() {
    let v = json!({
        "id": "PX1", "incident_number": 42, "title": "Disk full", "summary": "[#42] Disk full",
        "description": "Disk full", "body": {"type": "incident_body", "details": "/var is at 100%"},
        "status": "acknowledged", "urgency": "low", "priority": {"id": "PP1", "summary": "P1"},
        "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:30:00Z",
        "last_status_change_at": "2024-05-01T10:20:00Z",
        "service": {"id": "PSVC1", "summary": "Storage"},
        "teams": [{"id": "PT1", "summary": "Platform"}, {"id": "PT2", "summary": "Other"}],
        "acknowledgements": [{"at": "2024-05-01T10:20:00Z"}, {"at": "2024-05-01T10:05:00+02:00"}],
        "assignments": [{"assignee": {"id": "PU1", "summary": "Ada"}}, {"assignee": {"id": "PU2", "summary": "Grace"}},
                        {"assignee": {"id": "PU1", "summary": "Ada"}}],
        "html_url": "https://acme.pagerduty.com/incidents/PX1",
    });
    let i = normalize::incident(&v).unwrap();
    assert_eq!(i.source, insights_types::api::IncidentSource::Pagerduty);
    assert_eq!(i.external_id, "PX1");
    assert_eq!(i.number, Some(42));
    assert_eq!(i.title, "Disk full");
    assert_eq!(i.description.as_deref(), Some("/var is at 100%"));
    assert_eq!(
        i.service
            .as_ref()
            .map(|s| (s.external_id.as_str(), s.name.as_str())),
        Some(("PSVC1", "Storage"))
    );
    assert_eq!(i.team.as_ref().map(|s| s.name.as_str()), Some("Platform"));
    assert_eq!(i.urgency, Some(Urgency::Low));
    assert_eq!(i.priority.as_deref(), Some("P1"));
    assert_eq!(i.status, IncidentStatus::Acknowledged);
    assert_eq!(i.triggered_at, t("2024-05-01T10:00:00Z"));
    assert_eq!(
        i.acknowledged_at,
        Some(t("2024-05-01T08:05:00Z")),
        "the earliest, in UTC"
    );
    assert_eq!(i.resolved_at, None);
    assert_eq!(i.assignees, ["Ada", "Grace"]);
    assert!(i.tags.is_empty() && i.timeline.is_empty());
    assert_eq!(
        i.source_url.as_deref(),
        Some("https://acme.pagerduty.com/incidents/PX1")
    );
    assert_eq!(i.source_updated_at, t("2024-05-01T10:30:00Z"));
    assert_eq!(i.raw, v);
}

#[test]
fn a_resolved_incident_without_resolved_at_uses_its_last_status_change() {
    let v = json!({
        "id": "PX2", "summary": "[#7] Latency", "description": "[#7] Latency", "status": "resolved",
        "created_at": "2024-05-01T10:00:00Z", "last_status_change_at": "2024-05-01T11:00:00Z", "priority": null,
    });
    let i = normalize::incident(&v).unwrap();
    assert_eq!(
        i.title, "[#7] Latency",
        "the summary stands in for a missing title"
    );
    assert_eq!(
        i.description, None,
        "a description equal to the title says nothing"
    );
    assert_eq!(i.resolved_at, Some(t("2024-05-01T11:00:00Z")));
    assert_eq!(i.source_updated_at, t("2024-05-01T11:00:00Z"));
    assert_eq!(
        (i.urgency, i.priority, i.service, i.team, i.acknowledged_at),
        (None, None, None, None, None)
    );
    let bare = json!({"id": "PX3", "title": "t", "status": "triggered", "created_at": "2024-05-01T10:00:00Z"});
    let i = normalize::incident(&bare).unwrap();
    assert_eq!(i.source_updated_at, i.triggered_at);
    assert_eq!(i.resolved_at, None);
}

#[test]
fn log_entry_types_map_to_the_unified_kinds() {
    for (t, kind) in [
        ("trigger_log_entry", event_kind::TRIGGER),
        ("acknowledge_log_entry", event_kind::ACKNOWLEDGE),
        ("unacknowledge_log_entry", event_kind::UNACKNOWLEDGE),
        ("resolve_log_entry", event_kind::RESOLVE),
        ("assign_log_entry", event_kind::ASSIGN),
        ("delegate_log_entry", event_kind::ASSIGN),
        ("escalate_log_entry", event_kind::ESCALATE),
        ("repeat_escalation_path_log_entry", event_kind::ESCALATE),
        ("exhaust_escalation_path_log_entry", event_kind::ESCALATE),
        ("notify_log_entry", event_kind::NOTIFY),
        ("annotate_log_entry", event_kind::NOTE),
        ("snooze_log_entry", event_kind::SNOOZE),
        ("urgency_change_log_entry", event_kind::URGENCY),
        ("priority_change_log_entry", event_kind::PRIORITY),
        ("trigger_log_entry_reference", event_kind::TRIGGER),
        ("reach_ack_limit_log_entry", event_kind::OTHER),
        ("custom_field_value_change_log_entry", event_kind::OTHER),
        ("", event_kind::OTHER),
    ] {
        assert_eq!(normalize::kind_of(t), kind, "{t}");
    }
}

#[test]
fn a_log_entry_maps_to_an_event_of_its_incident_with_the_note_text_for_annotations() {
    let note = json!({
        "id": "RN1", "type": "annotate_log_entry", "created_at": "2024-05-01T10:09:00Z", "summary": "Note added",
        "agent": {"id": "PU1", "type": "user_reference", "summary": "Ada"},
        "channel": {"type": "note", "summary": "Rolled back the deploy"}, "incident": {"id": "PX1"},
    });
    let (incident, e) = normalize::event(&note).unwrap();
    assert_eq!(incident, "PX1");
    assert_eq!(
        (e.external_id.as_str(), e.kind.as_str()),
        ("RN1", event_kind::NOTE)
    );
    assert_eq!(e.at, t("2024-05-01T10:09:00Z"));
    assert_eq!(e.actor.as_deref(), Some("Ada"));
    assert_eq!(e.message.as_deref(), Some("Rolled back the deploy"));
    assert_eq!(e.raw, note);
    let in_note_field = json!({"id": "RN2", "type": "annotate_log_entry", "created_at": "2024-05-01T10:09:00Z",
        "note": "Paged the DBA", "channel": {"type": "note"}, "incident": {"id": "PX1"}});
    assert_eq!(
        normalize::event(&in_note_field)
            .unwrap()
            .1
            .message
            .as_deref(),
        Some("Paged the DBA")
    );
    let ack = json!({"id": "RA", "type": "acknowledge_log_entry", "created_at": "2024-05-01T10:09:00Z",
        "summary": "Acknowledged by Ada", "note": "ignored", "incident": {"id": "PX1"}});
    let (_, e) = normalize::event(&ack).unwrap();
    assert_eq!(e.message.as_deref(), Some("Acknowledged by Ada"));
    assert_eq!(e.actor, None);
}
