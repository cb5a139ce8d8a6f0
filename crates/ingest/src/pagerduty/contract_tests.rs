//! Contract tests: the connector's real requests go to Prism serving PagerDuty's official OpenAPI description
//! (`crates/ingest/specs/pagerduty-rest-v2.openapi.json`, started by `scripts/test`), which validates them, and
//! PagerDuty's own example answers must map into the expected values. Prism answers a request that breaks the
//! description with 400 or 422, which the connector reports as an error, so such a test fails. Its examples
//! always say `more: true`: these tests take single steps and never walk to the end.

use super::normalize::IncidentsPage;
use super::*;
use crate::client::HttpPolicy;
use crate::event_kind;
use insights_types::api::{IncidentStatus, Urgency};
use std::time::Duration as StdDuration;

fn prism() -> Url {
    let url = std::env::var("INSIGHTS_TEST_PRISM_PAGERDUTY").unwrap_or_else(|_| {
        panic!(
            "INSIGHTS_TEST_PRISM_PAGERDUTY is not set: run the tests through scripts/test, which serves PagerDuty's \
             OpenAPI description with Prism"
        )
    });
    Url::parse(&url).expect("INSIGHTS_TEST_PRISM_PAGERDUTY is a URL")
}

/// Every filter set, so that Prism checks the array parameters too.
fn options() -> PagerDutyOptions {
    PagerDutyOptions {
        since: Some(t("2024-01-01T00:00:00Z")),
        service_ids: vec!["PIJ90N7".into(), "PSVC002".into()],
        team_ids: vec!["PQ9K7I8".into()],
        statuses: vec![IncidentStatus::Resolved, IncidentStatus::Acknowledged],
        note_author_email: None,
    }
}

fn connector() -> PagerDuty {
    let policy = HttpPolicy {
        max_attempts: 2,
        backoff: StdDuration::from_millis(50),
        max_backoff: StdDuration::from_millis(100),
        timeout: StdDuration::from_secs(10),
        ..HttpPolicy::default()
    };
    PagerDuty::new(
        SourceHttp::new("PagerDuty", policy),
        prism(),
        SecretString::from("y_NbAkKc66ryYTWUXYEu"),
        options(),
    )
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn range() -> (DateTime<Utc>, DateTime<Utc>) {
    (t("2024-01-01T00:00:00Z"), t("2024-03-01T00:00:00Z"))
}

/// PagerDuty's example log entry: the trigger of incident PT4KHLK.
fn assert_example_log_entry(events: &[(String, crate::NormalizedEvent)]) {
    assert_eq!(events.len(), 1, "{events:?}");
    let (incident, e) = &events[0];
    assert_eq!(incident, "PT4KHLK");
    assert_eq!(e.external_id, "Q02JTSNZWHSEKV");
    assert_eq!(e.kind, event_kind::TRIGGER);
    assert_eq!(e.at, t("2015-11-07T00:14:20Z"));
    assert_eq!(e.actor.as_deref(), Some("My Mail Service"));
    assert_eq!(e.message.as_deref(), Some("Triggered through the API"));
}

#[tokio::test]
async fn verify_passes_prisms_request_validation() {
    let pd = connector();
    pd.verify().await.unwrap();
    assert_eq!(pd.requests(), 1);
}

#[tokio::test]
async fn prism_refuses_a_request_that_breaks_the_description_and_the_connector_reports_it() {
    // The guard the other tests rely on: a request Prism finds invalid is an error, never a page.
    let pd = connector();
    let result = pd
        .get::<IncidentsPage>("incidents", &[("limit", "many".to_owned())])
        .await;
    match result {
        Err(SourceError::Rejected { status, .. }) => assert!(matches!(status, 400 | 422)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_incidents_step_is_accepted_and_pagerdutys_example_incident_maps() {
    let pd = connector();
    let (_, until) = range();
    let step = pd.step(&pd.backfill(until)).await.unwrap();
    assert_eq!(pd.requests(), 1);
    assert!(step.skipped.is_empty(), "{:?}", step.skipped);
    assert_eq!(step.incidents.len(), 1);
    let i = &step.incidents[0];
    assert_eq!(i.external_id, "PT4KHLK");
    assert_eq!(i.number, Some(1234));
    assert_eq!(i.title, "The server is on fire.");
    assert_eq!(i.description, None);
    let service = i.service.as_ref().unwrap();
    assert_eq!(
        (service.external_id.as_str(), service.name.as_str()),
        ("PIJ90N7", "My Mail Service")
    );
    assert_eq!(
        i.team.as_ref().map(|t| t.name.as_str()),
        Some("Engineering")
    );
    assert_eq!(i.status, IncidentStatus::Resolved);
    assert_eq!(i.urgency, Some(Urgency::High));
    assert_eq!(i.priority.as_deref(), Some("P2"));
    assert_eq!(i.triggered_at, t("2015-10-06T21:30:42Z"));
    assert_eq!(i.acknowledged_at, None);
    assert_eq!(i.resolved_at, Some(t("2015-10-06T21:38:23Z")));
    assert!(i.assignees.is_empty());
    assert_eq!(
        i.source_url.as_deref(),
        Some("https://subdomain.pagerduty.com/incidents/PT4KHLK")
    );
    assert_eq!(i.source_updated_at, t("2015-10-06T21:40:23Z"));
    assert_eq!(i.raw["incident_key"], "baf7cf21b1da41b4b0221008339ff357");
    let next = step.next.unwrap();
    assert_eq!(
        (next.phase, next.walk.offset),
        (Phase::Incidents, 1),
        "Prism said more"
    );
}

#[tokio::test]
async fn a_timeline_step_is_accepted_and_pagerdutys_example_log_entry_maps() {
    let pd = connector();
    let (since, until) = range();
    let cursor = Cursor {
        phase: Phase::Timeline,
        walk: Windowed::new(since, until, Duration::days(MAX_SPAN_DAYS)),
    };
    let step = pd.step(&cursor).await.unwrap();
    assert_eq!(pd.requests(), 1);
    assert!(step.incidents.is_empty());
    assert!(step.skipped.is_empty(), "{:?}", step.skipped);
    assert_example_log_entry(&step.events);
    assert_eq!(step.next.unwrap().phase, Phase::Timeline);
}

#[tokio::test]
async fn a_changes_step_is_accepted_and_pagerdutys_example_log_entry_maps() {
    let pd = connector();
    let (since, until) = range();
    let step = pd.step(&pd.changes(since, until)).await.unwrap();
    assert_eq!(pd.requests(), 1);
    assert_example_log_entry(&step.events);
    // The static example does not expand the incident although the request asks `include[]=incidents`.
    assert!(step.incidents.is_empty());
    assert_eq!(step.skipped.len(), 1, "{:?}", step.skipped);
    assert!(step.skipped[0].starts_with("incident PT4KHLK came without its details"));
    assert_eq!(step.next.unwrap().phase, Phase::Changes);
}

#[tokio::test]
async fn creating_a_webhook_subscription_passes_prisms_validation() {
    // PagerDuty's example answer hides the secret (it is only in the real creation answer): the request was
    // accepted, and the missing secret is reported as such rather than stored.
    let err = connector()
        .create_webhook_subscription("https://insights.example.com/hooks/pagerduty/01")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Malformed { detail, .. } if detail.contains("without its signing secret")),
        "{err:?}"
    );
}

#[tokio::test]
async fn add_note_passes_prisms_request_validation() {
    let pd = connector();
    let id = pd
        .add_note(
            "PT4KHLK",
            Some("oncall@example.com"),
            "Restarted the pods: ok",
        )
        .await
        .unwrap();
    assert_eq!(id, "PWL7QXS", "PagerDuty's example note");
}
