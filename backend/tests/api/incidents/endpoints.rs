//! The list (filters, sort, pages), detail and export endpoints, and the services and teams behind the filters.

use super::*;
use reqwest::StatusCode;

#[tokio::test]
async fn incidents_are_filtered_sorted_and_paginated() {
    let app = TestApp::spawn(&[]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let batch: Vec<_> = (0..25)
        .map(|n| {
            incident(
                &format!("I{n:02}"),
                n * 60,
                if n % 3 == 0 { "db" } else { "api" },
                IncidentStatus::Resolved,
            )
        })
        .collect();
    store(&app, org, &batch).await;
    let base = format!("/api/v1/orgs/{org}/incidents");
    let get = |q: String| {
        let (app, token, base) = (&app, s.token.clone(), base.clone());
        async move {
            let r = app.get(&format!("{base}?{q}"), &token).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
            r.json::<Page<IncidentOut>>()
        }
    };
    // Newest first by default; oldest first on request.
    let all = get("limit=200".into()).await;
    assert_eq!(all.items.first().unwrap().external_id, "I24");
    let asc = get("limit=200&sort=triggered_at".into()).await;
    assert_eq!(asc.items.first().unwrap().external_id, "I00");
    // Filters.
    let db_service = all
        .items
        .iter()
        .find(|i| i.service.as_ref().unwrap().name == "db")
        .unwrap()
        .service
        .clone()
        .unwrap();
    assert_eq!(
        get(format!("limit=200&service={}", db_service.id))
            .await
            .items
            .len(),
        9
    );
    assert_eq!(get("limit=200&urgency=high".into()).await.items.len(), 13);
    assert_eq!(
        get("limit=200&since=2026-10-01T14:00:00Z&until=2026-10-01T17:00:00Z".into())
            .await
            .items
            .len(),
        3
    );
    assert_eq!(get("q=I07".into()).await.items.len(), 1);
    assert_eq!(get("q=disk%20FULL&limit=200".into()).await.items.len(), 25);
    assert_eq!(get("source=opsgenie".into()).await.items.len(), 0);
    // Pages cover the list once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = get(match &cursor {
            Some(c) => format!("limit=10&cursor={c}"),
            None => "limit=10".into(),
        })
        .await;
        seen.extend(page.items.into_iter().map(|i| i.external_id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        seen,
        all.items
            .iter()
            .map(|i| i.external_id.clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_incident_shows_its_timeline_and_stays_in_its_organization() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    store(
        &app,
        p.org_id,
        &[incident("X", 0, "api", IncidentStatus::Acknowledged)],
    )
    .await;
    let page: Page<IncidentOut> = app
        .get(
            &format!("/api/v1/orgs/{}/incidents", p.org_id),
            &p.viewer.token,
        )
        .await
        .json();
    let id = page.items[0].id;
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/incidents/{id}", p.org_id),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let detail: IncidentDetailOut = r.json();
    assert_eq!(detail.description.as_deref(), Some("/var is at 99%"));
    assert_eq!(
        detail
            .timeline
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>(),
        vec!["trigger", "acknowledge"]
    );
    assert_eq!(detail.incident.team.as_ref().unwrap().name, "Platform");
    // Another organization sees nothing of it.
    let (_, other_org) = app.signup("other@example.com", "Other").await;
    let r = app
        .get(
            &format!("/api/v1/orgs/{}/incidents/{id}", p.org_id),
            &p.outsider.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get(
            &format!("/api/v1/orgs/{other_org}/incidents/{id}"),
            &p.outsider.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_incident_queries_are_refused() {
    let app = TestApp::spawn(&[]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    for q in [
        "status=exploded",
        "source=jira",
        "urgency=medium",
        "service=not-a-uuid",
        "since=yesterday",
        "since=2026-10-02T00:00:00Z&until=2026-10-01T00:00:00Z",
        "sort=title",
        "limit=0",
        "cursor=nope",
    ] {
        let r = app
            .get(&format!("/api/v1/orgs/{org}/incidents?{q}"), &s.token)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
        let _ = r.error_code();
    }
    let r = app
        .get(&format!("/api/v1/orgs/{org}/incidents/42"), &s.token)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_history_exports_as_csv_and_json_lines_with_the_list_filters() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let mut batch: Vec<_> = (0..1_205)
        .map(|n| incident(&format!("E{n:04}"), n, "api", IncidentStatus::Resolved))
        .collect();
    batch[3].title = "=HYPERLINK(\"http://evil\"), \"quoted\"".into();
    batch[4].service = Some(SourceRef {
        external_id: "Pdb".into(),
        name: "db".into(),
    });
    for chunk in batch.chunks(500) {
        store(&app, p.org_id, chunk).await;
    }
    let base = format!("/api/v1/orgs/{}/incidents/export", p.org_id);

    // CSV: a header, then every incident oldest first (more than one internal chunk), safely quoted.
    let r = app
        .get(&format!("{base}?format=csv"), &p.viewer.token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"incidents-")
    );
    let lines: Vec<&str> = r.text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 1_205);
    assert!(lines[0].starts_with("id,source,external_id,number,title,status"));
    assert!(lines[1].contains(",E0000,"), "{}", lines[1]);
    assert!(lines[1_205].contains(",E1204,"));
    assert!(
        lines[4].contains(r#""'=HYPERLINK(""http://evil""), ""quoted""""#),
        "{}",
        lines[4]
    );
    assert!(
        lines[1].contains(",3.0,30.0,"),
        "minutes to ack and resolve: {}",
        lines[1]
    );

    // JSON lines, filtered like the list: each line an incident with its timeline.
    let page: Page<IncidentOut> = app
        .get(
            &format!("/api/v1/orgs/{}/incidents?q=E0004", p.org_id),
            &p.viewer.token,
        )
        .await
        .json();
    let db = page.items[0].service.clone().unwrap();
    let r = app
        .get(
            &format!("{base}?format=jsonl&service={}", db.id),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.headers["content-type"], "application/x-ndjson");
    let rows: Vec<IncidentDetailOut> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].incident.external_id, "E0004");
    assert_eq!(rows[0].timeline.len(), 2);
    assert_eq!(rows[0].description.as_deref(), Some("/var is at 99%"));

    // Bad requests and other tenants.
    let r = app
        .get(&format!("{base}?format=xml"), &p.viewer.token)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = app.get(&base, &p.viewer.token).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the format is required");
    let r = app
        .get(&format!("{base}?format=csv"), &p.outsider.token)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn services_and_teams_are_listed_by_name_for_the_filters() {
    let app = TestApp::spawn(&[]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    store(
        &app,
        org,
        &[
            incident("S1", 0, "db", IncidentStatus::Resolved),
            incident("S2", 1, "api", IncidentStatus::Resolved),
            incident("S3", 2, "db", IncidentStatus::Resolved),
        ],
    )
    .await;
    let services: Page<insights_types::api::ServiceOut> = app
        .get(&format!("/api/v1/orgs/{org}/services"), &s.token)
        .await
        .json();
    assert_eq!(
        services
            .items
            .iter()
            .map(|s| (s.name.as_str(), s.external_id.as_str(), s.source))
            .collect::<Vec<_>>(),
        vec![
            ("api", "Papi", IncidentSource::Pagerduty),
            ("db", "Pdb", IncidentSource::Pagerduty)
        ]
    );
    let teams: Page<insights_types::api::TeamOut> = app
        .get(&format!("/api/v1/orgs/{org}/teams"), &s.token)
        .await
        .json();
    assert_eq!(teams.items.len(), 1);
    assert_eq!(teams.items[0].name, "Platform");
    // An id from the list filters the incidents.
    let db = &services.items[1];
    let page: Page<IncidentOut> = app
        .get(
            &format!("/api/v1/orgs/{org}/incidents?service={}", db.id),
            &s.token,
        )
        .await
        .json();
    assert_eq!(page.items.len(), 2);
    let by_team: Page<IncidentOut> = app
        .get(
            &format!("/api/v1/orgs/{org}/incidents?team={}", teams.items[0].id),
            &s.token,
        )
        .await
        .json();
    assert_eq!(by_team.items.len(), 3);
}
