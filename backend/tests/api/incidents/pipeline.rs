//! The batch pipeline every source stores through: idempotent, newest version wins, timeline entries once,
//! partial versions and late entries merged, one organization's incidents apart from another's.

use super::*;

#[tokio::test]
async fn the_batch_pipeline_is_idempotent_and_never_moves_an_incident_back() {
    let app = TestApp::spawn(&[]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let batch = vec![
        incident("A", 0, "api", IncidentStatus::Resolved),
        incident("B", 10, "db", IncidentStatus::Acknowledged),
        incident("C", 20, "api", IncidentStatus::Triggered),
    ];
    let first = store(&app, org, &batch).await;
    assert_eq!(
        (
            first.inserted,
            first.updated,
            first.stale,
            first.events_inserted
        ),
        (3, 0, 0, 6)
    );
    let again = store(&app, org, &batch).await;
    assert_eq!(
        (again.inserted, again.events_inserted),
        (0, 0),
        "a re-run duplicates nothing"
    );

    // An older version of B (triggered, changed earlier) arrives late: it must not win.
    let mut old_b = incident("B", 10, "db", IncidentStatus::Triggered);
    old_b.source_updated_at -= Duration::hours(1);
    let late = store(&app, org, &[old_b]).await;
    assert_eq!(late.stale, 1);
    let page: Page<IncidentOut> = app
        .get(&format!("/api/v1/orgs/{org}/incidents?limit=200"), &s.token)
        .await
        .json();
    assert_eq!(page.items.len(), 3);
    let b = page.items.iter().find(|i| i.external_id == "B").unwrap();
    assert_eq!(b.status, IncidentStatus::Acknowledged);
    // A newer version does win.
    let mut new_b = incident("B", 10, "db", IncidentStatus::Resolved);
    new_b.source_updated_at += Duration::hours(1);
    assert_eq!(store(&app, org, &[new_b]).await.updated, 1);
    let page: Page<IncidentOut> = app
        .get(
            &format!("/api/v1/orgs/{org}/incidents?status=resolved"),
            &s.token,
        )
        .await
        .json();
    assert_eq!(
        page.items
            .iter()
            .map(|i| i.external_id.as_str())
            .collect::<Vec<_>>(),
        vec!["B", "A"]
    );
}

/// What is stored of one incident, read back under its organization.
#[derive(Debug, sqlx::FromRow)]
struct Stored {
    id: uuid::Uuid,
    title: String,
    description: Option<String>,
    status: String,
    priority: Option<String>,
    service_id: Option<uuid::Uuid>,
    acknowledged_at: Option<chrono::DateTime<Utc>>,
    resolved_at: Option<chrono::DateTime<Utc>>,
    assignees: serde_json::Value,
    tags: Vec<String>,
    raw: serde_json::Value,
    integration_id: Option<uuid::Uuid>,
    /// External ids of its timeline entries, in order.
    timeline: Vec<String>,
}

async fn stored(app: &TestApp, org: OrgId, ext: &str) -> Option<Stored> {
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query_as(
        "SELECT i.id, i.title, i.description, i.status, i.priority, i.service_id, i.acknowledged_at,
                i.resolved_at, i.assignees, i.tags, i.raw, i.integration_id,
                ARRAY(SELECT e.external_id FROM incident_events e
                       WHERE e.org_id = i.org_id AND e.incident_id = i.id ORDER BY e.at, e.external_id) AS timeline
           FROM incidents i WHERE i.org_id = $1 AND i.external_id = $2",
    )
    .bind(org.0)
    .bind(ext)
    .fetch_optional(db.conn())
    .await
    .unwrap()
}

fn entry(ext: &str, kind: &str, at: chrono::DateTime<Utc>) -> NormalizedEvent {
    NormalizedEvent {
        external_id: ext.to_owned(),
        kind: kind.to_owned(),
        at,
        actor: None,
        message: None,
        raw: serde_json::json!({ "id": ext }),
    }
}

fn stats(s: insights_ingest::UpsertStats) -> (u64, u64, u64, u64) {
    (s.inserted, s.updated, s.stale, s.events_inserted)
}

#[tokio::test]
async fn a_batch_keeps_the_newest_version_of_a_duplicate_and_each_timeline_entry_once() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let newest = incident("A", 0, "api", IncidentStatus::Resolved);
    let mut older = incident("A", 0, "api", IncidentStatus::Triggered);
    older.title = "Older title".into();
    older.source_updated_at -= Duration::minutes(20);
    older.timeline.push(entry(
        "A-0",
        "note",
        newest.triggered_at + Duration::minutes(1),
    ));
    // The newest version comes first: order in the batch does not matter, versions do.
    let s = store(&app, org, &[newest.clone(), older]).await;
    assert_eq!(stats(s), (1, 0, 0, 3), "A-1 and A-2 once, and A-0");
    let a = stored(&app, org, "A").await.unwrap();
    assert_eq!(
        (a.title.as_str(), a.status.as_str()),
        (newest.title.as_str(), "resolved")
    );
    assert_eq!(a.timeline, vec!["A-1", "A-0", "A-2"]);
    assert_eq!(a.tags, vec!["disk"]);
    assert_eq!(a.assignees, serde_json::json!(["Ada"]));
    assert_eq!(a.raw, serde_json::json!({ "id": "A" }));
}

#[tokio::test]
async fn a_stale_version_still_adds_its_new_timeline_entries_and_their_times() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let a = incident("A", 0, "api", IncidentStatus::Resolved);
    store(&app, org, std::slice::from_ref(&a)).await;
    // A late, older version whose timeline shows an earlier acknowledgement than the one stored.
    let mut late = incident("A", 0, "api", IncidentStatus::Triggered);
    late.source_updated_at -= Duration::hours(1);
    late.timeline.push(entry(
        "A-0",
        "acknowledge",
        a.triggered_at + Duration::minutes(1),
    ));
    let s = store(&app, org, &[late]).await;
    assert_eq!(stats(s), (0, 0, 1, 1));
    let stored_a = stored(&app, org, "A").await.unwrap();
    assert_eq!(
        stored_a.status, "resolved",
        "the stale version itself is left out"
    );
    assert_eq!(
        stored_a.acknowledged_at,
        Some(a.triggered_at + Duration::minutes(1))
    );
    assert_eq!(stored_a.resolved_at, a.resolved_at);
    assert_eq!(stored_a.timeline, vec!["A-1", "A-0", "A-2"]);
}

#[tokio::test]
async fn timeline_entries_fill_in_the_times_a_source_left_out() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let t = |m: i64| Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap() + Duration::minutes(m);
    // Resolved, but the times only show in the timeline.
    let mut b = incident("B", 0, "api", IncidentStatus::Resolved);
    (b.acknowledged_at, b.resolved_at) = (None, None);
    b.timeline = vec![
        entry("B-1", "trigger", t(0)),
        entry("B-2", "acknowledge", t(3)),
        entry("B-3", "resolve", t(30)),
    ];
    // States an acknowledgement later than its timeline shows: the earliest wins.
    let mut c = incident("C", 0, "api", IncidentStatus::Acknowledged);
    c.acknowledged_at = Some(t(10));
    c.timeline = vec![entry("C-1", "acknowledge", t(3))];
    // States earlier times than its timeline: they stay.
    let mut d = incident("D", 0, "api", IncidentStatus::Resolved);
    d.timeline = vec![
        entry("D-1", "acknowledge", t(5)),
        entry("D-2", "resolve", t(40)),
    ];
    let s = store(&app, org, &[b.clone(), c, d]).await;
    assert_eq!(stats(s), (3, 0, 0, 6));
    let times = |s: Stored| (s.acknowledged_at, s.resolved_at);
    assert_eq!(
        times(stored(&app, org, "B").await.unwrap()),
        (Some(t(3)), Some(t(30)))
    );
    assert_eq!(
        times(stored(&app, org, "C").await.unwrap()),
        (Some(t(3)), None)
    );
    assert_eq!(
        times(stored(&app, org, "D").await.unwrap()),
        (Some(t(3)), Some(t(30)))
    );

    // A newer full version that still lacks the times keeps them.
    b.source_updated_at += Duration::hours(1);
    b.title = "Renamed".into();
    assert_eq!(stats(store(&app, org, &[b]).await), (0, 1, 0, 0));
    let stored_b = stored(&app, org, "B").await.unwrap();
    assert_eq!(stored_b.title, "Renamed");
    assert_eq!(times(stored_b), (Some(t(3)), Some(t(30))));
}

#[tokio::test]
async fn partial_versions_keep_what_they_leave_out() {
    use insights_core::db::incidents::apply_partial;
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let full = incident("A", 0, "api", IncidentStatus::Triggered);
    store(&app, org, std::slice::from_ref(&full)).await;
    let before = stored(&app, org, "A").await.unwrap();
    let partial = |minutes: i64, status: IncidentStatus| {
        let mut p = incident("A", 0, "api", status);
        p.title = format!("Webhook title {minutes}");
        (
            p.description,
            p.service,
            p.team,
            p.urgency,
            p.priority,
            p.source_url,
        ) = (None, None, None, None, None, None);
        (p.assignees, p.tags) = (vec![], vec![]);
        p.raw = serde_json::json!({ "webhook": true });
        p.source_updated_at = full.source_updated_at + Duration::minutes(minutes);
        p.timeline = vec![entry(
            "A-9",
            "note",
            full.triggered_at + Duration::minutes(minutes),
        )];
        p
    };
    let apply = |batch: Vec<NormalizedIncident>| {
        let app = &app;
        async move {
            let mut db = app.state.db.org_tx(org, None).await.unwrap();
            let s = apply_partial(&mut db, None, &batch).await.unwrap();
            db.commit().await.unwrap();
            stats(s)
        }
    };
    assert_eq!(
        apply(vec![partial(5, IncidentStatus::Acknowledged)]).await,
        (0, 1, 0, 1)
    );
    let after = stored(&app, org, "A").await.unwrap();
    assert_eq!(after.id, before.id);
    assert_eq!(
        (after.title.as_str(), after.status.as_str()),
        ("Webhook title 5", "acknowledged")
    );
    assert_eq!(after.description, before.description);
    assert_eq!(after.service_id, before.service_id);
    assert_eq!(after.priority, before.priority);
    assert_eq!(after.assignees, before.assignees);
    assert_eq!(after.tags, before.tags);
    assert_eq!(after.raw, before.raw, "the full payload stays");
    assert_eq!(after.timeline, vec!["A-1", "A-2", "A-9"]);
    // An older partial version is stale; a partial version of an unknown incident creates it.
    assert_eq!(
        apply(vec![partial(1, IncidentStatus::Resolved)]).await,
        (0, 0, 1, 0)
    );
    let mut other = partial(5, IncidentStatus::Triggered);
    other.external_id = "NEW".into();
    assert_eq!(apply(vec![other]).await, (1, 0, 0, 1));
    assert_eq!(
        stored(&app, org, "NEW").await.unwrap().title,
        "Webhook title 5"
    );
}

#[tokio::test]
async fn upsert_events_adds_new_entries_of_stored_incidents_only() {
    use insights_core::db::incidents::upsert_events;
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let (_, other_org) = app.signup("other@example.com", "Other").await;
    let a = incident("A", 0, "api", IncidentStatus::Acknowledged);
    store(&app, org, std::slice::from_ref(&a)).await;
    let earlier_ack = entry("A-0", "acknowledge", a.triggered_at + Duration::minutes(1));
    let again = a.timeline[0].clone();
    let elsewhere = entry("X-1", "note", a.triggered_at);
    let events = [
        (IncidentSource::Pagerduty, "A", &earlier_ack),
        (IncidentSource::Pagerduty, "A", &again),
        (IncidentSource::Pagerduty, "MISSING", &elsewhere),
        (IncidentSource::Opsgenie, "A", &elsewhere),
    ];
    let upsert = |org: OrgId| {
        let (app, events) = (&app, &events);
        async move {
            let mut db = app.state.db.org_tx(org, None).await.unwrap();
            let n = upsert_events(&mut db, events).await.unwrap();
            db.commit().await.unwrap();
            n
        }
    };
    // Another organization has no incident "A": nothing of it is touched from there.
    assert_eq!(upsert(other_org).await, 0);
    assert_eq!(
        stored(&app, org, "A").await.unwrap().timeline,
        vec!["A-1", "A-2"]
    );
    assert_eq!(upsert(org).await, 1);
    assert_eq!(upsert(org).await, 0, "entries are stored once");
    let stored_a = stored(&app, org, "A").await.unwrap();
    assert_eq!(stored_a.timeline, vec!["A-1", "A-0", "A-2"]);
    assert_eq!(
        stored_a.acknowledged_at,
        Some(a.triggered_at + Duration::minutes(1))
    );
    assert!(stored(&app, org, "MISSING").await.is_none());
}

#[tokio::test]
async fn organizations_keep_their_own_incidents_under_the_same_external_ids() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let (_, other_org) = app.signup("other@example.com", "Other").await;
    let a = incident("A", 0, "api", IncidentStatus::Resolved);
    let mut theirs = a.clone();
    theirs.title = "Theirs".into();
    theirs.source_updated_at -= Duration::hours(1);
    assert_eq!(stats(store(&app, org, &[a]).await), (1, 0, 0, 2));
    // Older than ours, yet new in its own organization.
    assert_eq!(stats(store(&app, other_org, &[theirs]).await), (1, 0, 0, 2));
    let (ours, theirs) = (
        stored(&app, org, "A").await.unwrap(),
        stored(&app, other_org, "A").await.unwrap(),
    );
    assert_ne!(ours.id, theirs.id);
    assert_ne!(ours.service_id, theirs.service_id);
    assert_eq!(theirs.title, "Theirs");
    assert_eq!((ours.timeline.len(), theirs.timeline.len()), (2, 2));
}

#[tokio::test]
async fn a_batch_that_fails_writes_nothing() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let a = incident("A", 0, "api", IncidentStatus::Triggered);
    store(&app, org, std::slice::from_ref(&a)).await;
    let mut newer = incident("A", 0, "api", IncidentStatus::Resolved);
    newer.source_updated_at += Duration::hours(1);
    let mut b = incident("B", 10, "db", IncidentStatus::Triggered);
    // PostgreSQL refuses NUL in text: the timeline statement fails after the incidents were written.
    b.timeline[1].message = Some("nul \0 byte".into());
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    assert!(upsert_batch(&mut db, None, &[newer, b]).await.is_err());
    drop(db);
    assert_eq!(stored(&app, org, "A").await.unwrap().status, "triggered");
    assert!(stored(&app, org, "B").await.is_none());
}

#[tokio::test]
async fn the_integration_an_incident_came_from_is_recorded() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let integration = uuid::Uuid::now_v7();
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query(
        "INSERT INTO integrations (id, org_id, kind, name, credentials) VALUES ($1, $2, 'pagerduty', 'PD', '\\x00')",
    )
    .bind(integration)
    .bind(org.0)
    .execute(db.conn())
    .await
    .unwrap();
    let a = incident("A", 0, "api", IncidentStatus::Resolved);
    let s = upsert_batch(
        &mut db,
        Some(insights_types::IntegrationId(integration)),
        &[a],
    )
    .await
    .unwrap();
    db.commit().await.unwrap();
    assert_eq!(stats(s), (1, 0, 0, 2));
    assert_eq!(
        stored(&app, org, "A").await.unwrap().integration_id,
        Some(integration)
    );
    // A version without one (such as the sample source's) keeps it.
    let mut again = incident("A", 0, "api", IncidentStatus::Resolved);
    again.source_updated_at += Duration::minutes(1);
    store(&app, org, &[again]).await;
    assert_eq!(
        stored(&app, org, "A").await.unwrap().integration_id,
        Some(integration)
    );
}

#[tokio::test]
async fn a_timeline_entry_cannot_point_at_another_organizations_incident() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("o@example.com", "Acme").await;
    let (_, other_org) = app.signup("other@example.com", "Other").await;
    store(
        &app,
        org,
        &[incident("A", 0, "api", IncidentStatus::Resolved)],
    )
    .await;
    let theirs = stored(&app, org, "A").await.unwrap().id;
    // Row-level security lets the row in (it is of the acting organization); the foreign key must not.
    let mut db = app.state.db.org_tx(other_org, None).await.unwrap();
    let err = sqlx::query(
        "INSERT INTO incident_events (id, org_id, incident_id, external_id, kind, at)
         VALUES ($1, $2, $3, 'x', 'note', now())",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(other_org.0)
    .bind(theirs)
    .execute(db.conn())
    .await
    .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|e| e.constraint()),
        Some("incident_events_incident_fkey")
    );
}

#[tokio::test]
async fn a_full_version_without_a_description_keeps_the_stored_one() {
    let app = TestApp::spawn(&[]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    store(
        &app,
        org,
        &[incident("D", 0, "api", IncidentStatus::Triggered)],
    )
    .await;
    // A later version from a list endpoint that does not return descriptions.
    let mut listed = incident("D", 0, "api", IncidentStatus::Resolved);
    listed.description = None;
    listed.source_updated_at += Duration::hours(1);
    assert_eq!(store(&app, org, &[listed]).await.updated, 1);
    let page: Page<IncidentOut> = app
        .get(&format!("/api/v1/orgs/{org}/incidents"), &s.token)
        .await
        .json();
    let d: IncidentDetailOut = app
        .get(
            &format!("/api/v1/orgs/{org}/incidents/{}", page.items[0].id),
            &s.token,
        )
        .await
        .json();
    assert_eq!(d.incident.status, IncidentStatus::Resolved);
    assert_eq!(d.description.as_deref(), Some("/var is at 99%"));
}
