//! The runbook index end to end: a change written with its `vector_outbox` row is indexed by the running
//! worker and found through the search protocol (`insights_core::search::ask`, answered by the worker) within
//! seconds; a deletion disappears; a resolved incident's note is found as a past fix; and one organization's
//! search never finds another's chunks, whatever it asks.

use chrono::{Duration as Days, Utc};
use insights_core::runbooks::outbox::{self, OutboxKind};
use insights_core::search::{SearchAnswer, SearchFilter, SearchQuery};
use insights_ingest::{NormalizedEvent, NormalizedIncident, SourceRef};
use insights_testing::TestApp;
use insights_types::api::{IncidentSource, IncidentStatus, SourceKind};
use insights_types::{OrgId, RunbookId};
use secrecy::ExposeSecret;
use std::time::Duration;
use uuid::Uuid;

async fn ask(app: &TestApp, org: OrgId, text: &str, filter: SearchFilter) -> SearchAnswer {
    let redis = redis::Client::open(app.config.jobs.redis_url.expose_secret()).unwrap();
    insights_core::search::ask(
        &redis,
        &app.config.jobs.redis_prefix,
        org,
        SearchQuery {
            text: text.into(),
            limit: 10,
            filter,
        },
        Duration::from_secs(5),
    )
    .await
    .expect("the worker answers")
}

/// Asks until `until` holds for the answer (at most 15 s).
async fn eventually(
    app: &TestApp,
    org: OrgId,
    text: &str,
    until: impl Fn(&SearchAnswer) -> bool,
) -> SearchAnswer {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let answer = ask(app, org, text, SearchFilter::default()).await;
        if until(&answer) {
            return answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{text}: not as expected within 15 s: {answer:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stores a runbook as the API does (its row and its outbox row, in one transaction).
async fn store_runbook(
    app: &TestApp,
    org: OrgId,
    title: &str,
    steps: serde_json::Value,
) -> RunbookId {
    let id = RunbookId::new();
    let mut tx = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query(
        "INSERT INTO runbooks (id, org_id, title, body, steps, tags, source)
         VALUES ($1, $2, $3, '## Background\nConsumers fall behind when the broker rebalances.', $4, '{kafka}', 'written')",
    )
    .bind(id.0)
    .bind(org.0)
    .bind(title)
    .bind(steps)
    .execute(tx.conn())
    .await
    .unwrap();
    outbox::enqueue(&mut tx, OutboxKind::Runbook, &[id.0])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn delete_runbook(app: &TestApp, org: OrgId, id: RunbookId) {
    let mut tx = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query("DELETE FROM runbooks WHERE org_id = $1 AND id = $2")
        .bind(org.0)
        .bind(id.0)
        .execute(tx.conn())
        .await
        .unwrap();
    outbox::enqueue(&mut tx, OutboxKind::Runbook, &[id.0])
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn steps() -> serde_json::Value {
    serde_json::json!([
        {"title": "Check the consumer lag", "why": "See how far behind the consumers are.",
         "command": {"language": "shell", "text": "kafka-consumer-groups --describe --group orders"},
         "risk": "read_only", "expected": "lag shrinking"},
        {"title": "Scale out the consumers", "why": "More consumers drain the backlog.",
         "command": {"language": "kubectl", "text": "kubectl scale deploy/orders-consumer --replicas=6"},
         "risk": "changes_state"}
    ])
}

fn resolved_incident(title: &str, note: &str) -> NormalizedIncident {
    let t = Utc::now() - Days::hours(3);
    let event = |id: &str, kind: &str, message: &str, minutes: i64| NormalizedEvent {
        external_id: id.into(),
        kind: kind.into(),
        at: t + Days::minutes(minutes),
        actor: Some("ada".into()),
        message: Some(message.into()),
        raw: serde_json::json!({}),
    };
    NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: format!("inc-{}", Uuid::new_v4()),
        number: Some(42),
        title: title.into(),
        description: None,
        service: Some(SourceRef {
            external_id: "orders".into(),
            name: "orders".into(),
        }),
        team: None,
        urgency: None,
        priority: None,
        status: IncidentStatus::Resolved,
        triggered_at: t,
        acknowledged_at: Some(t + Days::minutes(2)),
        resolved_at: Some(t + Days::minutes(40)),
        assignees: vec![],
        tags: vec![],
        source_url: None,
        source_updated_at: t + Days::minutes(40),
        raw: serde_json::json!({}),
        timeline: vec![
            event("e1", "acknowledge", "Acknowledged by Ada", 2),
            event("e2", "note", note, 30),
            event("e3", "resolve", "Resolved by Ada", 40),
        ],
    }
}

#[tokio::test]
async fn a_saved_runbook_is_found_within_seconds_and_a_deleted_one_is_gone() {
    let mut app = TestApp::spawn(&[]).await.with_worker().await;
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    let id = store_runbook(&app, org, "Kafka consumer lag", steps()).await;
    let answer = eventually(&app, org, "orders consumers are lagging behind", |a| {
        a.hits.iter().any(|h| h.source.runbook_id == Some(id))
    })
    .await;
    let best = &answer.hits[0];
    assert_eq!(best.source.kind, SourceKind::Runbook);
    assert_eq!(best.source.runbook_version, Some(1));
    assert!(best.source.step.is_some(), "{best:#?}");
    assert!(best.snippet.iter().any(|p| p.highlight), "{best:#?}");
    // The row is completed right after the index write: the outbox of the organization empties.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut tx = app.state.db.org_tx(org, None).await.unwrap();
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM vector_outbox WHERE org_id = $1")
                .bind(org.0)
                .fetch_one(tx.conn())
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} rows left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    delete_runbook(&app, org, id).await;
    eventually(&app, org, "orders consumers are lagging behind", |a| {
        a.hits.iter().all(|h| h.source.runbook_id != Some(id))
    })
    .await;
    app.stop_worker().await;
}

#[tokio::test]
async fn a_resolved_incident_with_a_note_is_found_as_a_past_fix() {
    let mut app = TestApp::spawn(&[]).await.with_worker().await;
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    // Stored as an integration would store it: the incident store enqueues its past fix.
    let mut tx = app.state.db.org_tx(org, None).await.unwrap();
    insights_core::db::incidents::upsert_batch(
        &mut tx,
        None,
        &[resolved_incident(
            "Replication lag on postgres-main",
            "Promoted the standby after the primary's disk filled up; replication lag back to zero",
        )],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let answer = eventually(&app, org, "database replication lagging", |a| {
        a.hits.iter().any(|h| h.source.kind == SourceKind::PastFix)
    })
    .await;
    let fix = answer
        .hits
        .iter()
        .find(|h| h.source.kind == SourceKind::PastFix)
        .unwrap();
    assert_eq!(fix.source.incident_number, Some(42));
    assert_eq!(fix.source.title, "Replication lag on postgres-main");
    assert!(fix.text.starts_with("Promoted the standby"), "{fix:#?}");
    // Only the note: not the acknowledgement or the bare resolution.
    assert_eq!(
        answer
            .hits
            .iter()
            .filter(|h| h.source.kind == SourceKind::PastFix)
            .count(),
        1
    );
    // Searching for that incident leaves its own fix out.
    let own = fix.source.incident_id.unwrap();
    let excluded = ask(
        &app,
        org,
        "database replication lagging",
        SearchFilter {
            exclude_incidents: vec![own],
            ..SearchFilter::default()
        },
    )
    .await;
    assert!(
        excluded
            .hits
            .iter()
            .all(|h| h.source.incident_id != Some(own))
    );
    app.stop_worker().await;
}

#[tokio::test]
async fn one_organization_never_finds_another_organizations_chunks() {
    let mut app = TestApp::spawn(&[]).await.with_worker().await;
    let (_, a) = app.signup("a@example.com", "Org A").await;
    let (_, b) = app.signup("b@example.com", "Org B").await;
    // The same runbook in both, and one only A has.
    let in_a = store_runbook(&app, a, "Kafka consumer lag", steps()).await;
    let secret = store_runbook(
        &app,
        a,
        "Rotate the vault root token",
        serde_json::json!([{"title": "Rotate the vault root token", "why": "Org A's own procedure."}]),
    )
    .await;
    let in_b = store_runbook(&app, b, "Kafka consumer lag", steps()).await;
    eventually(&app, a, "vault root token", |x| {
        x.hits.iter().any(|h| h.source.runbook_id == Some(secret))
    })
    .await;
    eventually(&app, b, "consumer lag", |x| {
        x.hits.iter().any(|h| h.source.runbook_id == Some(in_b))
    })
    .await;
    for q in [
        "vault root token",
        "Rotate the vault root token Org A's own procedure",
        "consumer lag",
        "kafka",
    ] {
        let answer = ask(&app, b, q, SearchFilter::default()).await;
        assert!(
            answer
                .hits
                .iter()
                .all(|h| h.source.runbook_id == Some(in_b)),
            "{q}: {answer:#?}"
        );
        assert!(
            answer
                .hits
                .iter()
                .all(|h| h.source.runbook_id != Some(in_a))
        );
    }
    app.stop_worker().await;
}

#[tokio::test]
async fn without_a_worker_a_search_is_unavailable_once_its_time_is_up() {
    let app = TestApp::spawn(&[]).await;
    let redis = redis::Client::open(app.config.jobs.redis_url.expose_secret()).unwrap();
    let started = tokio::time::Instant::now();
    let err = insights_core::search::ask(
        &redis,
        &app.config.jobs.redis_prefix,
        OrgId::new(),
        SearchQuery {
            text: "anything".into(),
            limit: 5,
            filter: SearchFilter::default(),
        },
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, insights_core::search::SearchError::Unavailable(_)),
        "{err}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_second_worker_on_the_same_embedded_index_stops_with_one_clear_line() {
    let mut app = TestApp::spawn(&[]).await.with_worker().await;
    // Wait until the first worker owns the index (it opens it as it starts running).
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    ask(&app, org, "warm up", SearchFilter::default()).await;
    let second = insights_worker::Worker::build(app.config.clone())
        .await
        .unwrap();
    let err = second
        .run_until(std::future::pending())
        .await
        .expect_err("a second owner is refused");
    let message = format!("{err:#}");
    assert!(
        message.contains("is owned by another worker (pid ")
            && message.contains("set QDRANT_URL to run several workers")
            && !message.contains('\n'),
        "{message}"
    );
    app.stop_worker().await;
}
