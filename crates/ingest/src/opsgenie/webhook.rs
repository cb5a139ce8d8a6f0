//! Opsgenie's outgoing webhooks (the "Webhook integration"): `{"action": "Create", "alert": {…}, "source":
//! {…}, "integrationName": …}`. The caller has already checked the delivery's secret header. Actions that
//! decide an alert's state (Create, Acknowledge, UnAcknowledge, Close) give a partial version of it; the
//! others (AddNote, AssignOwnership, …) change nothing here and are read by the next sync.

use super::normalize::{number, priority, tags, text, time, urgency};
use crate::NormalizedIncident;
use crate::connector::WebhookUpdate;
use chrono::Utc;
use insights_types::api::{IncidentSource, IncidentStatus};
use serde_json::Value;
use subtle::ConstantTimeEq;

/// The header Opsgenie must send with every webhook, holding the integration's secret (Opsgenie cannot sign
/// its webhooks: the product makes the secret up and the user adds it to the webhook's headers).
pub const SECRET_HEADER: &str = "X-Insights-Webhook-Secret";

/// Whether the secret header `given` is the integration's `secret` (constant-time).
#[must_use]
pub fn verify_secret(secret: &[u8], given: &str) -> bool {
    !secret.is_empty() && bool::from(given.trim().as_bytes().ct_eq(secret))
}

/// Reads a delivery. Its `event_type` is Opsgenie's action name (`Create`, `Close`, …).
pub fn parse(body: &[u8]) -> Result<WebhookUpdate, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("The delivery is not JSON ({e})."))?;
    let action = text(&v, "action")
        .ok_or("The delivery has no action: it does not look like an Opsgenie webhook.")?
        .to_owned();
    let alert = v
        .get("alert")
        .filter(|a| a.is_object())
        .ok_or_else(|| format!("The {action} delivery has no alert."))?;
    let id = text(alert, "alertId")
        .or_else(|| text(alert, "id"))
        .ok_or_else(|| format!("The {action} delivery's alert has no alertId."))?;
    let is = |name: &str| action.eq_ignore_ascii_case(name);
    let status = if is("Create") || is("UnAcknowledge") {
        IncidentStatus::Triggered
    } else if is("Acknowledge") {
        IncidentStatus::Acknowledged
    } else if is("Close") {
        IncidentStatus::Resolved
    } else {
        return Ok(WebhookUpdate {
            event_type: action,
            incident: None,
        });
    };
    // A partial version replaces the stored title, so one without a message is left to the next sync.
    let Some(title) = text(alert, "message") else {
        return Ok(WebhookUpdate {
            event_type: action,
            incident: None,
        });
    };
    let delivered = Utc::now();
    let created = time(alert, "createdAt");
    let updated = time(alert, "updatedAt");
    let changed = updated.or(created).unwrap_or(delivered);
    let priority = priority(alert.get("priority"));
    let incident = NormalizedIncident {
        source: IncidentSource::Opsgenie,
        external_id: id.to_owned(),
        number: number(alert.get("tinyId")),
        title: title.to_owned(),
        description: text(alert, "description").map(str::to_owned),
        service: None,
        team: None,
        urgency: urgency(priority.as_deref()),
        priority,
        status,
        triggered_at: created.or(updated).unwrap_or(delivered),
        acknowledged_at: (status == IncidentStatus::Acknowledged)
            .then(|| updated.unwrap_or(delivered)),
        resolved_at: (status == IncidentStatus::Resolved).then(|| updated.unwrap_or(delivered)),
        assignees: text(alert, "owner")
            .map(str::to_owned)
            .into_iter()
            .collect(),
        tags: tags(alert),
        source_url: None,
        source_updated_at: changed,
        raw: v.clone(),
        timeline: Vec::new(),
    };
    Ok(WebhookUpdate {
        event_type: action,
        incident: Some(incident),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, TimeZone};
    use insights_types::api::Urgency;
    use serde_json::json;

    fn delivery(action: &str, alert: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "action": action, "alert": alert,
            "source": {"name": "", "type": "web"},
            "integrationName": "Incident Insights", "integrationId": "37c8f316-17c6-49d7-899b-9c7e540c048d"
        }))
        .unwrap()
    }

    fn ms(t: DateTime<Utc>) -> i64 {
        t.timestamp_millis()
    }

    fn ns(t: DateTime<Utc>) -> i64 {
        t.timestamp_nanos_opt().unwrap()
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 6, 1, 8, 0, 0).unwrap()
    }

    #[test]
    fn a_create_gives_a_triggered_alert_with_millisecond_and_nanosecond_times() {
        let body = delivery(
            "Create",
            json!({
                "alertId": "ec03dad6-62c8-4c94-b38b-d88f398e900f", "message": "Checkout p99 above 2s",
                "tags": ["vip"], "tinyId": "2", "entity": "checkout", "alias": "checkout-latency",
                "createdAt": ms(t0()), "updatedAt": ns(t0()) + 110, "username": "ada@example.com",
                "userId": "8d43133c", "description": "From Datadog", "priority": "P1", "teams": []
            }),
        );
        let u = parse(&body).unwrap();
        assert_eq!(u.event_type, "Create");
        let i = u.incident.unwrap();
        assert_eq!(i.source, IncidentSource::Opsgenie);
        assert_eq!(i.external_id, "ec03dad6-62c8-4c94-b38b-d88f398e900f");
        assert_eq!(i.number, Some(2));
        assert_eq!(i.title, "Checkout p99 above 2s");
        assert_eq!(i.description.as_deref(), Some("From Datadog"));
        assert_eq!(i.status, IncidentStatus::Triggered);
        assert_eq!(i.triggered_at, t0());
        assert_eq!(i.source_updated_at, t0() + Duration::nanoseconds(110));
        assert_eq!(i.acknowledged_at, None);
        assert_eq!(i.resolved_at, None);
        assert_eq!(i.priority.as_deref(), Some("P1"));
        assert_eq!(i.urgency, Some(Urgency::High));
        assert_eq!(i.tags, vec!["vip"]);
        assert_eq!(
            i.service, None,
            "the webhook integration is not the alert's source"
        );
        assert_eq!(i.raw["integrationName"], "Incident Insights");
    }

    #[test]
    fn an_acknowledge_is_acknowledged_at_its_update_time() {
        let acked = t0() + Duration::minutes(4);
        let body = delivery(
            "Acknowledge",
            json!({"alertId": "a1", "message": "m", "tinyId": "23", "createdAt": ms(t0()), "updatedAt": ns(acked)}),
        );
        let i = parse(&body).unwrap().incident.unwrap();
        assert_eq!(i.status, IncidentStatus::Acknowledged);
        assert_eq!(i.acknowledged_at, Some(acked));
        assert_eq!(i.source_updated_at, acked);
        assert_eq!(i.resolved_at, None);
    }

    #[test]
    fn a_close_is_resolved_at_its_update_time_in_milliseconds_too() {
        let closed = t0() + Duration::minutes(30);
        let body = delivery(
            "Close",
            json!({"alertId": "a1", "message": "m", "createdAt": ms(t0()), "updatedAt": ms(closed), "priority": 3}),
        );
        let i = parse(&body).unwrap().incident.unwrap();
        assert_eq!(i.status, IncidentStatus::Resolved);
        assert_eq!(i.resolved_at, Some(closed));
        assert_eq!(i.source_updated_at, closed);
        assert_eq!(i.priority.as_deref(), Some("P3"));
        assert_eq!(i.urgency, Some(Urgency::Low));
    }

    #[test]
    fn without_an_update_time_the_delivery_time_is_used() {
        let before = Utc::now();
        let i = parse(&delivery(
            "Acknowledge",
            json!({"alertId": "a1", "message": "m", "createdAt": ms(t0())}),
        ))
        .unwrap()
        .incident
        .unwrap();
        let acked = i.acknowledged_at.unwrap();
        assert!(acked >= before && acked <= Utc::now(), "{acked}");
        assert_eq!(
            i.source_updated_at,
            t0(),
            "the last known change is the creation"
        );
    }

    #[test]
    fn an_unacknowledge_puts_the_alert_back_to_triggered() {
        let i = parse(&delivery(
            "UnAcknowledge",
            json!({"alertId": "a1", "message": "m", "createdAt": ms(t0()), "updatedAt": ns(t0())}),
        ))
        .unwrap()
        .incident
        .unwrap();
        assert_eq!(i.status, IncidentStatus::Triggered);
        assert_eq!(i.acknowledged_at, None);
    }

    #[test]
    fn other_actions_change_no_incident() {
        for action in [
            "AddNote",
            "AssignOwnership",
            "TakeOwnership",
            "Escalate",
            "AddTags",
        ] {
            let u = parse(&delivery(
                action,
                json!({"alertId": "a1", "message": "m", "note": "looking", "createdAt": ms(t0())}),
            ))
            .unwrap();
            assert_eq!(u.event_type, action);
            assert!(u.incident.is_none(), "{action}");
        }
    }

    #[test]
    fn a_state_change_without_a_message_is_left_to_the_next_sync() {
        let u = parse(&delivery(
            "Close",
            json!({"alertId": "a1", "updatedAt": ns(t0())}),
        ))
        .unwrap();
        assert_eq!(u.event_type, "Close");
        assert!(u.incident.is_none());
    }

    #[test]
    fn unreadable_deliveries_are_refused_with_a_sentence() {
        assert!(parse(b"<html>").unwrap_err().contains("not JSON"));
        assert!(
            parse(br#"{"alert": {"alertId": "a1"}}"#)
                .unwrap_err()
                .contains("no action")
        );
        assert!(
            parse(br#"{"action": "Close"}"#)
                .unwrap_err()
                .contains("no alert")
        );
        assert!(
            parse(br#"{"action": "Close", "alert": {"message": "m"}}"#)
                .unwrap_err()
                .contains("no alertId")
        );
    }
}
