//! Normalize-and-store throughput (`cargo bench -p insights-backend --bench ingest`): incidents per second
//! into PostgreSQL through the batch pipeline every source uses (`db::incidents::upsert_batch`), 1,000 per
//! batch, each incident with two timeline entries, a dozen services and three teams. Then the same batches
//! again (every row an update), as an incremental sync would. Needs DATABASE_URL and REDIS_URL.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use chrono::{Duration, TimeZone, Utc};
use insights_backend::db::incidents::upsert_batch;
use insights_backend::ingest::{NormalizedEvent, NormalizedIncident, SourceRef};
use insights_backend::testing::TestApp;
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};
use std::time::Instant;

const TOTAL: usize = 100_000;
const BATCH: usize = 1_000;

fn incident(n: usize) -> NormalizedIncident {
    let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(n as i64 * 7);
    NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: format!("Q{n:08}"),
        number: Some(n as i64),
        title: format!("High latency on checkout-{} (p99 > 2s)", n % 12),
        description: Some("Latency SLO burn rate above 14.4 for 5 minutes".into()),
        service: Some(SourceRef {
            external_id: format!("PSVC{}", n % 12),
            name: format!("checkout-{}", n % 12),
        }),
        team: Some(SourceRef {
            external_id: format!("PTEAM{}", n % 3),
            name: format!("team-{}", n % 3),
        }),
        urgency: Some(if n.is_multiple_of(4) {
            Urgency::Low
        } else {
            Urgency::High
        }),
        priority: Some("P2".into()),
        status: IncidentStatus::Resolved,
        triggered_at: at,
        acknowledged_at: Some(at + Duration::minutes(4)),
        resolved_at: Some(at + Duration::minutes(38)),
        assignees: vec!["oncall-primary".into()],
        tags: vec!["latency".into(), "slo".into()],
        source_url: Some(format!("https://acme.pagerduty.com/incidents/Q{n:08}")),
        source_updated_at: at + Duration::minutes(38),
        raw: serde_json::json!({ "id": format!("Q{n:08}"), "type": "incident", "incident_number": n }),
        timeline: vec![
            NormalizedEvent {
                external_id: "t".into(),
                kind: "trigger".into(),
                at,
                actor: None,
                message: None,
                raw: serde_json::json!({}),
            },
            NormalizedEvent {
                external_id: "r".into(),
                kind: "resolve".into(),
                at: at + Duration::minutes(38),
                actor: Some("oncall-primary".into()),
                message: None,
                raw: serde_json::json!({}),
            },
        ],
    }
}

#[tokio::main]
async fn main() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("bench@example.com", "Bench").await;
    let batches: Vec<Vec<NormalizedIncident>> = (0..TOTAL)
        .collect::<Vec<_>>()
        .chunks(BATCH)
        .map(|c| c.iter().map(|n| incident(*n)).collect())
        .collect();
    println!(
        "Normalize-and-store benchmark: {TOTAL} incidents, {BATCH} per batch, 2 timeline entries each"
    );
    for round in ["insert", "update (same versions again)"] {
        let started = Instant::now();
        let mut stored = 0;
        for batch in &batches {
            let mut db = app.state.db.org_tx(org, None).await.unwrap();
            let stats = upsert_batch(&mut db, None, batch).await.unwrap();
            db.commit().await.unwrap();
            stored += stats.inserted + stats.updated;
        }
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(stored as usize, TOTAL);
        println!(
            "  {round}: {:.0} incidents/s ({TOTAL} in {secs:.1} s)",
            TOTAL as f64 / secs
        );
    }
}
