//! The unified incident schema: the batch pipeline every source uses, and the list and detail endpoints.

mod endpoints;
mod pipeline;

use chrono::{Duration, TimeZone, Utc};
use insights_core::db::incidents::upsert_batch;
use insights_ingest::{NormalizedEvent, NormalizedIncident, SourceRef};
use insights_testing::TestApp;
use insights_types::OrgId;
use insights_types::api::{
    IncidentDetailOut, IncidentOut, IncidentSource, IncidentStatus, Page, Urgency,
};

fn incident(ext: &str, minutes: i64, service: &str, status: IncidentStatus) -> NormalizedIncident {
    let at = Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap() + Duration::minutes(minutes);
    NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: ext.to_owned(),
        number: Some(minutes),
        title: format!("Disk full on {service} ({ext})"),
        description: Some("/var is at 99%".into()),
        service: Some(SourceRef {
            external_id: format!("P{service}"),
            name: service.to_owned(),
        }),
        team: Some(SourceRef {
            external_id: "PTEAM".into(),
            name: "Platform".into(),
        }),
        urgency: Some(if (minutes / 60) % 2 == 0 {
            Urgency::High
        } else {
            Urgency::Low
        }),
        priority: Some("P2".into()),
        status,
        triggered_at: at,
        acknowledged_at: (status != IncidentStatus::Triggered).then(|| at + Duration::minutes(3)),
        resolved_at: (status == IncidentStatus::Resolved).then(|| at + Duration::minutes(30)),
        assignees: vec!["Ada".into()],
        tags: vec!["disk".into()],
        source_url: Some(format!("https://acme.pagerduty.com/incidents/{ext}")),
        source_updated_at: at + Duration::minutes(30),
        raw: serde_json::json!({ "id": ext }),
        timeline: vec![
            NormalizedEvent {
                external_id: format!("{ext}-1"),
                kind: "trigger".into(),
                at,
                actor: None,
                message: Some("Triggered".into()),
                raw: serde_json::json!({}),
            },
            NormalizedEvent {
                external_id: format!("{ext}-2"),
                kind: "acknowledge".into(),
                at: at + Duration::minutes(3),
                actor: Some("Ada".into()),
                message: None,
                raw: serde_json::json!({}),
            },
        ],
    }
}

async fn store(
    app: &TestApp,
    org: OrgId,
    batch: &[NormalizedIncident],
) -> insights_ingest::UpsertStats {
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    let stats = upsert_batch(&mut db, None, batch).await.unwrap();
    db.commit().await.unwrap();
    stats
}
