//! The patterns API: who may read and correct patterns, how bad input is refused, the figures of the list and
//! the detail against a history seeded with known times, sort orders and cursor pages, alias resolution, the
//! `pattern` filter and grouping of the incident list and analytics agreeing with a pattern's count, the
//! incident detail's why, similar and related incidents, and corrections (audited, and never answered from a
//! stale analytics cache).

use chrono::{DateTime, Duration, Utc};
use insights_patterns::Template;
use insights_testing::{Personas, TestApp};
use insights_types::api::{
    AnalyticsSummaryOut, AssignedBy, AuditEventOut, IncidentDetailOut, IncidentOut,
    IncidentPatternMovedOut, Page, PatternDetailOut, PatternPageOut, PatternTrend, SlotKindOut,
    TimeseriesOut, TopOut,
};
use insights_types::{OrgId, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::{Connection, PgConnection};
use std::collections::HashSet;
use uuid::Uuid;

fn url(org: OrgId, path: &str) -> String {
    format!("/api/v1/orgs/{org}/{path}")
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The period every figure below is asked for, and the one before it.
const SINCE: &str = "2026-10-01T00:00:00Z";
const PERIOD: &str = "since=2026-10-01T00:00:00Z&until=2026-10-31T00:00:00Z";

/// A seeded history: four patterns (one muted), an alias, two services, a co-occurring pair.
struct Seeded {
    /// "Disk full on <host>": 6 incidents in the period (4 on checkout, 2 on payments), 2 in the previous one.
    disk: Uuid,
    /// "High latency on <service> (p99 > <duration>)": 3 and 3, each resolved after two hours (the costliest).
    latency: Uuid,
    /// First seen in the period: 2 incidents.
    cert: Uuid,
    /// Muted: 1 incident in the period.
    muted: Uuid,
    /// An id merged into `disk`.
    alias: Uuid,
    checkout: Uuid,
    /// Incidents by pattern (in the period first), and one without a pattern.
    disk_incidents: Vec<Uuid>,
    latency_incidents: Vec<Uuid>,
}

/// The owner's connection (past row-level security), as the store pipeline and refinement write.
async fn owner_conn(app: &TestApp) -> PgConnection {
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    PgConnection::connect(&url).await.unwrap()
}

async fn insert_pattern(
    c: &mut PgConnection,
    org: OrgId,
    title: &str,
    service: Option<&str>,
    origin: &str,
) -> Uuid {
    let template = Template::of_title(title, service).to_string();
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO patterns (id, org_id, template) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(org.0)
        .bind(&template)
        .execute(&mut *c)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO pattern_templates (id, org_id, pattern_id, template, origin) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(org.0)
    .bind(id)
    .bind(&template)
    .bind(origin)
    .execute(&mut *c)
    .await
    .unwrap();
    id
}

/// One resolved incident: acknowledged after `ack` minutes, resolved after `resolve` minutes.
#[allow(clippy::too_many_arguments)]
async fn insert_incident(
    c: &mut PgConnection,
    org: OrgId,
    pattern: Option<Uuid>,
    title: &str,
    service: Option<Uuid>,
    at: DateTime<Utc>,
    ack: i64,
    resolve: i64,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO incidents (id, org_id, source, external_id, title, status, service_id, triggered_at,
                                acknowledged_at, resolved_at, source_updated_at, pattern_id, pattern_score)
         VALUES ($1, $2, 'sample', $1::text, $3, 'resolved', $4, $5, $6, $7, $7, $8, 0.9)",
    )
    .bind(id)
    .bind(org.0)
    .bind(title)
    .bind(service)
    .bind(at)
    .bind(at + Duration::minutes(ack))
    .bind(at + Duration::minutes(resolve))
    .bind(pattern)
    .execute(&mut *c)
    .await
    .unwrap();
    id
}

async fn seed(app: &TestApp, org: OrgId) -> Seeded {
    let mut c = owner_conn(app).await;
    let mut service = async |name: &str| -> Uuid {
        sqlx::query_scalar(
            "INSERT INTO services (id, org_id, source, external_id, name) VALUES ($1, $2, 'sample', $3, $3)
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(org.0)
        .bind(name)
        .fetch_one(&mut c)
        .await
        .unwrap()
    };
    let checkout = service("checkout").await;
    let payments = service("payments").await;
    let disk = insert_pattern(
        &mut c,
        org,
        "Disk full on db-1.prod.example.com",
        None,
        "mined",
    )
    .await;
    let latency = insert_pattern(
        &mut c,
        org,
        "High latency on checkout (p99 > 2s)",
        Some("checkout"),
        "mined",
    )
    .await;
    let cert = insert_pattern(
        &mut c,
        org,
        "Certificate expiring for api.example.com",
        None,
        "mined",
    )
    .await;
    let muted = insert_pattern(
        &mut c,
        org,
        "Queue backlog growing on orders",
        None,
        "mined",
    )
    .await;
    sqlx::query("UPDATE patterns SET muted = true WHERE id = $1")
        .bind(muted)
        .execute(&mut c)
        .await
        .unwrap();
    let since = t(SINCE);
    let mut disk_incidents = Vec::new();
    for i in 0..6 {
        let svc = if i < 4 { checkout } else { payments };
        let title = format!("Disk full on db-{i}.prod.example.com");
        let at = since + Duration::days(2 + i * 4) + Duration::hours(10);
        disk_incidents
            .push(insert_incident(&mut c, org, Some(disk), &title, Some(svc), at, 5, 10).await);
    }
    for i in 0..2 {
        let at = since - Duration::days(5 + i * 7);
        let title = format!("Disk full on db-{}.prod.example.com", 10 + i);
        disk_incidents.push(
            insert_incident(&mut c, org, Some(disk), &title, Some(checkout), at, 5, 10).await,
        );
    }
    let mut latency_incidents = Vec::new();
    for i in 0..3 {
        // The first starts two minutes after the first disk incident (of another service): related.
        let at = since + Duration::days(2 + i * 9) + Duration::hours(10) + Duration::minutes(2);
        let title = format!("High latency on payments (p99 > {}s)", i + 2);
        latency_incidents.push(
            insert_incident(
                &mut c,
                org,
                Some(latency),
                &title,
                Some(payments),
                at,
                30,
                120,
            )
            .await,
        );
    }
    for i in 0..3 {
        let at = since - Duration::days(3 + i * 8);
        latency_incidents.push(
            insert_incident(
                &mut c,
                org,
                Some(latency),
                "High latency on payments (p99 > 2s)",
                Some(payments),
                at,
                30,
                120,
            )
            .await,
        );
    }
    for i in 0..2 {
        let at = since + Duration::days(20 + i);
        insert_incident(
            &mut c,
            org,
            Some(cert),
            "Certificate expiring for www.example.com",
            None,
            at,
            10,
            20,
        )
        .await;
    }
    insert_incident(
        &mut c,
        org,
        Some(muted),
        "Queue backlog growing on orders",
        None,
        since + Duration::days(3),
        1,
        1,
    )
    .await;
    insert_incident(
        &mut c,
        org,
        None,
        "Something unassigned",
        None,
        since + Duration::days(4),
        1,
        2,
    )
    .await;
    // What the store pipeline and refinement keep: counts, first and last seen, examples, aliases, pairs.
    sqlx::query(
        "UPDATE patterns p SET incident_count = s.n, first_seen = s.first, last_seen = s.last, examples = s.examples
           FROM (SELECT pattern_id, count(*) AS n, min(triggered_at) AS first, max(triggered_at) AS last,
                        to_jsonb((array_agg(DISTINCT title))[1:5]) AS examples
                   FROM incidents WHERE org_id = $1 AND pattern_id IS NOT NULL GROUP BY pattern_id) s
          WHERE p.id = s.pattern_id",
    )
    .bind(org.0)
    .execute(&mut c)
    .await
    .unwrap();
    let alias = Uuid::now_v7();
    sqlx::query("INSERT INTO pattern_aliases (alias_id, org_id, pattern_id) VALUES ($1, $2, $3)")
        .bind(alias)
        .bind(org.0)
        .bind(disk)
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO pattern_pairs (org_id, pattern_a, pattern_b, together, last_at)
         VALUES ($1, LEAST($2, $3), GREATEST($2, $3), 3, $4)",
    )
    .bind(org.0)
    .bind(disk)
    .bind(latency)
    .bind(since + Duration::days(2))
    .execute(&mut c)
    .await
    .unwrap();
    Seeded {
        disk,
        latency,
        cert,
        muted,
        alias,
        checkout,
        disk_incidents,
        latency_incidents,
    }
}

async fn list(app: &TestApp, p: &Personas, query: &str) -> PatternPageOut {
    let r = app
        .get(
            &url(p.org_id, &format!("patterns?{query}")),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    r.json()
}

#[tokio::test]
async fn every_member_reads_patterns_an_outsider_gets_404_and_anonymous_401() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let reads = [
        "patterns".to_owned(),
        format!("patterns?{PERIOD}&sort=cost&muted=all"),
        format!("patterns/{}", s.disk),
        format!("patterns/{}?{PERIOD}", s.alias),
        format!("incidents/{}", s.disk_incidents[0]),
    ];
    for path in &reads {
        for role in Role::ALL {
            let r = app.get(&url(p.org_id, path), &p.by_role(role).token).await;
            assert_eq!(r.status, StatusCode::OK, "{role} {path}: {}", r.text);
        }
        let r = app.get(&url(p.org_id, path), &p.outsider.token).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert_eq!(r.error_code(), "not_found");
        let r = app
            .request(Method::GET, &url(p.org_id, path), None, None)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Another organization's pattern id, asked in one's own organization, is not found either.
    let (_, other_org) = app.signup("other-patterns@example.com", "Initech").await;
    let theirs = seed(&app, other_org).await;
    for path in [
        format!("patterns/{}", theirs.disk),
        format!("patterns/{}", theirs.alias),
    ] {
        let r = app.get(&url(p.org_id, &path), &p.owner.token).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
    }
    let r = app
        .patch(
            &url(p.org_id, &format!("patterns/{}", theirs.disk)),
            &p.owner.token,
            json!({"muted": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app
        .post(
            &url(p.org_id, &format!("patterns/{}/merge", s.cert)),
            &p.owner.token,
            json!({"into": theirs.disk}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["fields"][0]["field"], "into");
    // Their pattern filter matches nothing of ours, like an unknown service id.
    let mine: Page<IncidentOut> = app
        .get(
            &url(p.org_id, &format!("incidents?pattern={}", theirs.disk)),
            &p.owner.token,
        )
        .await
        .json();
    assert!(mine.items.is_empty());
}

#[tokio::test]
async fn viewers_cannot_correct_patterns() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let writes = [
        (
            Method::PATCH,
            format!("patterns/{}", s.disk),
            json!({"name": "Disks"}),
        ),
        (
            Method::POST,
            format!("patterns/{}/merge", s.cert),
            json!({"into": s.disk}),
        ),
        (
            Method::POST,
            format!("incidents/{}/pattern", s.disk_incidents[0]),
            json!({"new": true}),
        ),
    ];
    for (method, path, body) in writes {
        let r = app
            .request(
                method.clone(),
                &url(p.org_id, &path),
                Some(&p.viewer.token),
                Some(body),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.text
        );
        assert_eq!(r.error_code(), "forbidden");
    }
    // Nothing changed.
    let d: PatternDetailOut = app
        .get(
            &url(p.org_id, &format!("patterns/{}", s.disk)),
            &p.owner.token,
        )
        .await
        .json();
    assert!(!d.pattern.renamed);
    assert_eq!(d.pattern.total_count, 8);
}

#[tokio::test]
async fn bad_list_parameters_and_bodies_are_refused_with_the_error_body() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let count_cursor = list(&app, &p, &format!("{PERIOD}&limit=1"))
        .await
        .next_cursor
        .unwrap();
    for (query, code) in [
        ("patterns?limit=0".to_owned(), "invalid_query"),
        ("patterns?limit=101".to_owned(), "invalid_query"),
        ("patterns?sort=loudest".to_owned(), "invalid_query"),
        ("patterns?order=up".to_owned(), "invalid_query"),
        ("patterns?muted=maybe".to_owned(), "invalid_query"),
        ("patterns?pattern=nope".to_owned(), "invalid_query"),
        (
            "patterns?since=2026-10-02T00:00:00Z&until=2026-10-01T00:00:00Z".to_owned(),
            "invalid_query",
        ),
        ("patterns?cursor=garbage".to_owned(), "invalid_cursor"),
        // A cursor is valid only for the sort and order it was issued for.
        (
            format!("patterns?{PERIOD}&sort=cost&cursor={count_cursor}"),
            "invalid_cursor",
        ),
        (
            format!("patterns?{PERIOD}&order=asc&cursor={count_cursor}"),
            "invalid_cursor",
        ),
        ("patterns/not-a-uuid".to_owned(), "invalid_path"),
        ("incidents?pattern=42".to_owned(), "invalid_query"),
        ("analytics/summary?pattern=x".to_owned(), "invalid_query"),
        (
            "analytics/top?dimension=patterns".to_owned(),
            "invalid_query",
        ),
    ] {
        let r = app.get(&url(p.org_id, &query), &p.viewer.token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        assert_eq!(r.error_code(), code, "{query}");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let long = "x".repeat(201);
    let disk = format!("patterns/{}", s.disk);
    let incident = format!("incidents/{}/pattern", s.disk_incidents[0]);
    for (method, path, body, field) in [
        (Method::PATCH, disk.clone(), json!({}), "name"),
        (Method::PATCH, disk.clone(), json!({"name": "   "}), "name"),
        (Method::PATCH, disk.clone(), json!({"name": long}), "name"),
        (
            Method::POST,
            format!("{disk}/merge"),
            json!({"into": s.disk}),
            "into",
        ),
        // An alias of the same pattern is the same pattern.
        (
            Method::POST,
            format!("{disk}/merge"),
            json!({"into": s.alias}),
            "into",
        ),
        (
            Method::POST,
            format!("{disk}/merge"),
            json!({"into": Uuid::now_v7()}),
            "into",
        ),
        (Method::POST, incident.clone(), json!({}), "pattern_id"),
        (
            Method::POST,
            incident.clone(),
            json!({"new": false}),
            "pattern_id",
        ),
        (
            Method::POST,
            incident.clone(),
            json!({"new": true, "pattern_id": s.cert}),
            "pattern_id",
        ),
        (
            Method::POST,
            incident.clone(),
            json!({"pattern_id": Uuid::now_v7()}),
            "pattern_id",
        ),
    ] {
        let r = app
            .request(
                method.clone(),
                &url(p.org_id, &path),
                Some(&p.member.token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path} {body}: {}",
            r.text
        );
        assert_eq!(r.error_code(), "validation_failed");
        assert_eq!(
            r.body["error"]["details"]["fields"][0]["field"], field,
            "{body}"
        );
    }
    // Unknown fields are refused, not ignored.
    let r = app
        .patch(
            &url(p.org_id, &disk),
            &p.member.token,
            json!({"title": "x"}),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.text);
    // A missing pattern or incident in the path is a 404.
    let r = app
        .patch(
            &url(p.org_id, &format!("patterns/{}", Uuid::now_v7())),
            &p.member.token,
            json!({"muted": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get(
            &url(p.org_id, &format!("patterns/{}", Uuid::now_v7())),
            &p.member.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // None of it wrote anything.
    let d: PatternDetailOut = app.get(&url(p.org_id, &disk), &p.owner.token).await.json();
    assert!(!d.pattern.renamed);
}

#[tokio::test]
async fn the_list_has_each_patterns_figures_over_the_period_against_the_previous_one() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let page = list(&app, &p, PERIOD).await;
    let ids: Vec<Uuid> = page.items.iter().map(|x| x.id.0).collect();
    // Muted patterns are left out by default; the order is by count.
    assert_eq!(ids, [s.disk, s.latency, s.cert]);
    let disk = &page.items[0];
    assert_eq!(
        (disk.count, disk.previous_count, disk.total_count),
        (6, 2, 8)
    );
    assert_eq!(disk.trend, PatternTrend::Growing);
    assert_eq!(disk.mtta_seconds, Some(300.0));
    assert_eq!(disk.mttr_seconds, Some(600.0));
    assert_eq!(disk.cost_seconds, 6.0 * 600.0);
    assert_eq!(disk.name, disk.template);
    assert!(!disk.renamed);
    assert!(disk.template.contains("Disk full on"), "{}", disk.template);
    assert!(!disk.parts.is_empty());
    // Services by count: checkout (4) before payments (2).
    let services: Vec<&str> = disk.services.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(services, ["checkout", "payments"]);
    assert_eq!(disk.services[0].id, s.checkout);
    assert_eq!(disk.sparkline.len(), page.sparkline_starts.len());
    assert_eq!(disk.sparkline.iter().sum::<i64>(), 6);
    assert!(!disk.examples.is_empty());
    let off = disk.off_hours_share.unwrap();
    assert!((0.0..=1.0).contains(&off));
    let latency = &page.items[1];
    assert_eq!((latency.count, latency.previous_count), (3, 3));
    assert_eq!(latency.trend, PatternTrend::Steady);
    assert_eq!(latency.cost_seconds, 3.0 * 7200.0);
    let cert = &page.items[2];
    assert_eq!(cert.trend, PatternTrend::New);
    assert_eq!(cert.count, 2);

    // Without `since`: all time, no previous period.
    let all = list(&app, &p, "").await;
    let disk = all.items.iter().find(|x| x.id.0 == s.disk).unwrap();
    assert_eq!(
        (disk.count, disk.previous_count, disk.trend),
        (8, 0, PatternTrend::Steady)
    );

    // The incident list's filters narrow the figures: the checkout service has four disk incidents only.
    let narrowed = list(&app, &p, &format!("{PERIOD}&service={}", s.checkout)).await;
    assert_eq!(narrowed.items.len(), 1);
    assert_eq!(
        (narrowed.items[0].id.0, narrowed.items[0].count),
        (s.disk, 4)
    );
    let text = list(&app, &p, &format!("{PERIOD}&q=certificate")).await;
    assert_eq!(
        text.items.iter().map(|x| x.id.0).collect::<Vec<_>>(),
        [s.cert]
    );
    // Muted ones on request.
    let muted = list(&app, &p, &format!("{PERIOD}&muted=true")).await;
    assert_eq!(
        muted.items.iter().map(|x| x.id.0).collect::<Vec<_>>(),
        [s.muted]
    );
    assert!(muted.items[0].muted);
    assert_eq!(
        list(&app, &p, &format!("{PERIOD}&muted=all"))
            .await
            .items
            .len(),
        4
    );
    // A period without incidents lists nothing.
    assert!(
        list(
            &app,
            &p,
            "since=2020-01-01T00:00:00Z&until=2020-02-01T00:00:00Z"
        )
        .await
        .items
        .is_empty()
    );
}

#[tokio::test]
async fn every_sort_and_order_pages_through_every_pattern_once() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let expected = [
        ("count", vec![s.disk, s.latency, s.cert, s.muted]),
        ("cost", vec![s.latency, s.disk, s.cert, s.muted]),
        ("growth", vec![s.disk, s.cert, s.muted, s.latency]),
    ];
    for (sort, want) in &expected {
        let page = list(&app, &p, &format!("{PERIOD}&muted=all&sort={sort}")).await;
        let got: Vec<Uuid> = page.items.iter().map(|x| x.id.0).collect();
        assert_eq!(&got, want, "sort={sort}");
    }
    let recent = list(&app, &p, &format!("{PERIOD}&muted=all&sort=recent")).await;
    let seen: Vec<DateTime<Utc>> = recent.items.iter().map(|x| x.last_seen.unwrap()).collect();
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "{seen:?}");
    for sort in ["count", "cost", "recent", "growth"] {
        for order in ["desc", "asc"] {
            let whole = list(
                &app,
                &p,
                &format!("{PERIOD}&muted=all&sort={sort}&order={order}"),
            )
            .await;
            let whole: Vec<Uuid> = whole.items.iter().map(|x| x.id.0).collect();
            assert_eq!(whole.len(), 4);
            let mut paged = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let c = cursor
                    .as_deref()
                    .map(|c| format!("&cursor={c}"))
                    .unwrap_or_default();
                let page = list(
                    &app,
                    &p,
                    &format!("{PERIOD}&muted=all&sort={sort}&order={order}&limit=1{c}"),
                )
                .await;
                assert!(page.items.len() <= 1);
                paged.extend(page.items.iter().map(|x| x.id.0));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(
                paged, whole,
                "sort={sort} order={order}: no duplicates, no gaps"
            );
            if order == "asc" {
                // No two patterns tie on any column here: ascending is descending reversed.
                let desc = list(&app, &p, &format!("{PERIOD}&muted=all&sort={sort}")).await;
                let mut desc: Vec<Uuid> = desc.items.iter().map(|x| x.id.0).collect();
                desc.reverse();
                assert_eq!(whole, desc, "sort={sort}");
            }
        }
    }
}

#[tokio::test]
async fn an_alias_answers_as_the_pattern_it_was_merged_into() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let r = app
        .get(
            &url(p.org_id, &format!("patterns/{}?{PERIOD}", s.alias)),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let location = format!("/api/v1/orgs/{}/patterns/{}", p.org_id, s.disk);
    assert_eq!(
        r.headers.get("content-location").unwrap().to_str().unwrap(),
        location
    );
    let d: PatternDetailOut = r.json();
    assert_eq!(d.pattern.id.0, s.disk);
    assert_eq!(d.aliases.iter().map(|a| a.0).collect::<Vec<_>>(), [s.alias]);
    // The pattern's own id has no Content-Location.
    let own = app
        .get(
            &url(p.org_id, &format!("patterns/{}", s.disk)),
            &p.viewer.token,
        )
        .await;
    assert!(own.headers.get("content-location").is_none());
    // As a filter, the alias stands for its pattern everywhere.
    for id in [s.disk, s.alias] {
        let l: Page<IncidentOut> = app
            .get(
                &url(p.org_id, &format!("incidents?{PERIOD}&pattern={id}")),
                &p.viewer.token,
            )
            .await
            .json();
        assert_eq!(l.items.len(), 6, "{id}");
        let sum: AnalyticsSummaryOut = app
            .get(
                &url(
                    p.org_id,
                    &format!("analytics/summary?{PERIOD}&pattern={id}"),
                ),
                &p.viewer.token,
            )
            .await
            .json();
        assert_eq!(sum.totals.count, 6, "{id}");
    }
}

#[tokio::test]
async fn the_pattern_detail_has_its_templates_incidents_series_and_related_patterns() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let d: PatternDetailOut = app
        .get(
            &url(p.org_id, &format!("patterns/{}?{PERIOD}", s.disk)),
            &p.viewer.token,
        )
        .await
        .json();
    assert_eq!((d.pattern.count, d.pattern.previous_count), (6, 2));
    assert_eq!(d.templates.len(), 1);
    assert_eq!(d.templates[0].template, d.pattern.template);
    assert_eq!(d.templates[0].origin, "mined");
    assert_eq!(d.incidents.len(), 6);
    let listed: HashSet<Uuid> = d.incidents.iter().map(|i| i.id.0).collect();
    assert_eq!(listed, s.disk_incidents[..6].iter().copied().collect());
    assert!(
        d.incidents
            .windows(2)
            .all(|w| w[0].triggered_at >= w[1].triggered_at)
    );
    assert_eq!(d.series.len(), d.series_starts.len());
    assert_eq!(d.series.iter().sum::<i64>(), 6);
    assert_eq!(d.related.len(), 1);
    assert_eq!((d.related[0].id.0, d.related[0].times), (s.latency, 3));
    assert_eq!(
        d.related[0]
            .services
            .iter()
            .map(|x| x.name.as_str())
            .collect::<Vec<_>>(),
        ["payments"]
    );
    // The filters apply to the detail's figures and incidents too.
    let narrowed: PatternDetailOut = app
        .get(
            &url(
                p.org_id,
                &format!("patterns/{}?{PERIOD}&service={}", s.disk, s.checkout),
            ),
            &p.viewer.token,
        )
        .await
        .json();
    assert_eq!((narrowed.pattern.count, narrowed.incidents.len()), (4, 4));
}

#[tokio::test]
async fn the_pattern_filter_and_grouping_agree_with_the_pattern_count() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let page = list(&app, &p, &format!("{PERIOD}&muted=all")).await;
    let ts: TimeseriesOut = app
        .get(
            &url(
                p.org_id,
                &format!("analytics/timeseries?{PERIOD}&group_by=pattern"),
            ),
            &p.viewer.token,
        )
        .await
        .json();
    let top: TopOut = app
        .get(
            &url(
                p.org_id,
                &format!("analytics/top?{PERIOD}&dimension=pattern&limit=100"),
            ),
            &p.viewer.token,
        )
        .await
        .json();
    for pattern in &page.items {
        let l: Page<IncidentOut> = app
            .get(
                &url(
                    p.org_id,
                    &format!("incidents?{PERIOD}&pattern={}&limit=200", pattern.id),
                ),
                &p.viewer.token,
            )
            .await
            .json();
        assert_eq!(l.items.len() as i64, pattern.count, "{}", pattern.name);
        let sum: AnalyticsSummaryOut = app
            .get(
                &url(
                    p.org_id,
                    &format!("analytics/summary?{PERIOD}&pattern={}", pattern.id),
                ),
                &p.viewer.token,
            )
            .await
            .json();
        assert_eq!(sum.totals.count, pattern.count);
        let series = ts
            .series
            .iter()
            .find(|x| x.key == pattern.id.to_string())
            .unwrap();
        assert_eq!(series.label, pattern.name);
        let n: f64 = series.points.iter().filter_map(|x| x.value).sum();
        assert_eq!(n as i64, pattern.count);
        let row = top
            .rows
            .iter()
            .find(|x| x.key == pattern.id.to_string())
            .unwrap();
        assert_eq!(
            (row.count, row.label.as_str()),
            (pattern.count, pattern.name.as_str())
        );
        assert_eq!(row.sparkline.iter().sum::<i64>(), pattern.count);
    }
    // The incident without a pattern is its own group.
    let none = ts.series.iter().find(|x| x.key == "none").unwrap();
    assert_eq!(none.label, "No pattern");
    assert_eq!(none.points.iter().filter_map(|x| x.value).sum::<f64>(), 1.0);
    // An unknown pattern id is an empty answer, like an unknown service id.
    let ghost = Uuid::now_v7();
    let sum: AnalyticsSummaryOut = app
        .get(
            &url(
                p.org_id,
                &format!("analytics/summary?{PERIOD}&pattern={ghost}"),
            ),
            &p.viewer.token,
        )
        .await
        .json();
    assert_eq!(sum.totals.count, 0);
    assert!(
        list(&app, &p, &format!("{PERIOD}&pattern={ghost}"))
            .await
            .items
            .is_empty()
    );
    let csv = app
        .get(
            &url(
                p.org_id,
                &format!("incidents/export?format=csv&{PERIOD}&pattern={}", s.cert),
            ),
            &p.viewer.token,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.text.lines().count(),
        1 + 2,
        "a header and two incidents: {}",
        csv.text
    );
}

#[tokio::test]
async fn the_incident_detail_says_why_it_is_in_its_pattern_and_lists_similar_and_related_incidents()
{
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let first = s.disk_incidents[0];
    let d: IncidentDetailOut = app
        .get(
            &url(p.org_id, &format!("incidents/{first}")),
            &p.viewer.token,
        )
        .await
        .json();
    let pat = d.pattern.expect("a pattern");
    assert_eq!((pat.id.0, pat.total_count, pat.muted), (s.disk, 8, false));
    assert_eq!(pat.why.assigned_by, AssignedBy::Mined);
    assert_eq!(
        pat.why.template,
        Template::of_title("Disk full on db-1.prod.example.com", None).to_string()
    );
    // Its own host name is the slot's value.
    assert!(
        pat.why
            .slots
            .iter()
            .any(|x| x.value == "db-0.prod.example.com" && x.kind == SlotKindOut::Host),
        "{:?}",
        pat.why.slots
    );
    for slot in &pat.why.slots {
        assert!(matches!(
            pat.why.parts[slot.part],
            insights_types::api::TemplatePartOut::Slot { .. }
        ));
    }
    assert!(pat.why.score > 0.0 && pat.why.score <= 1.0);
    // Similar: the five latest other incidents of the pattern.
    assert_eq!(pat.similar.len(), 5);
    assert!(pat.similar.iter().all(|i| i.id.0 != first));
    assert!(
        pat.similar
            .windows(2)
            .all(|w| w[0].triggered_at >= w[1].triggered_at)
    );
    // Related: the latency incident two minutes later, of a paired pattern.
    assert_eq!(pat.related.len(), 1);
    assert_eq!(pat.related[0].incident.id.0, s.latency_incidents[0]);
    assert_eq!(
        (pat.related[0].pattern.id.0, pat.related[0].pattern.times),
        (s.latency, 3)
    );
    // A person's template (here, of a merge) makes the assignment a rule; a pinned incident is manual.
    let mut c = owner_conn(&app).await;
    sqlx::query("UPDATE pattern_templates SET origin = 'merge' WHERE pattern_id = $1")
        .bind(s.disk)
        .execute(&mut c)
        .await
        .unwrap();
    let d: IncidentDetailOut = app
        .get(
            &url(p.org_id, &format!("incidents/{first}")),
            &p.viewer.token,
        )
        .await
        .json();
    assert_eq!(d.pattern.unwrap().why.assigned_by, AssignedBy::Rule);
    sqlx::query("UPDATE incidents SET pattern_pinned = true WHERE id = $1")
        .bind(first)
        .execute(&mut c)
        .await
        .unwrap();
    let d: IncidentDetailOut = app
        .get(
            &url(p.org_id, &format!("incidents/{first}")),
            &p.viewer.token,
        )
        .await
        .json();
    assert_eq!(d.pattern.unwrap().why.assigned_by, AssignedBy::Manual);
    // An incident without a pattern has none.
    let l: Page<IncidentOut> = app
        .get(&url(p.org_id, "incidents?q=unassigned"), &p.viewer.token)
        .await
        .json();
    let d: IncidentDetailOut = app
        .get(
            &url(p.org_id, &format!("incidents/{}", l.items[0].id)),
            &p.viewer.token,
        )
        .await
        .json();
    assert!(d.pattern.is_none());
}

async fn audit_actions(app: &TestApp, p: &Personas) -> Vec<AuditEventOut> {
    let r = app
        .get(&url(p.org_id, "audit-log?limit=200"), &p.owner.token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json::<Page<AuditEventOut>>().items
}

#[tokio::test]
async fn members_rename_mute_merge_and_move_and_each_correction_is_audited() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let disk = url(p.org_id, &format!("patterns/{}", s.disk));
    // Rename (trimmed), then back to the template.
    let r = app
        .patch(
            &disk,
            &p.member.token,
            json!({"name": "  Disks filling up  "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let d: PatternDetailOut = r.json();
    assert_eq!(
        (d.pattern.name.as_str(), d.pattern.renamed),
        ("Disks filling up", true)
    );
    let page = list(&app, &p, PERIOD).await;
    assert_eq!(page.items[0].name, "Disks filling up");
    let d: PatternDetailOut = app
        .patch(&disk, &p.admin.token, json!({"name": null}))
        .await
        .json();
    assert_eq!(d.pattern.name, d.pattern.template);
    assert!(!d.pattern.renamed);
    // Mute: gone from the default list, listed with muted=true.
    let d: PatternDetailOut = app
        .patch(&disk, &p.owner.token, json!({"muted": true}))
        .await
        .json();
    assert!(d.pattern.muted);
    assert!(
        list(&app, &p, PERIOD)
            .await
            .items
            .iter()
            .all(|x| x.id.0 != s.disk)
    );
    assert!(
        list(&app, &p, &format!("{PERIOD}&muted=true"))
            .await
            .items
            .iter()
            .any(|x| x.id.0 == s.disk)
    );
    app.patch(&disk, &p.owner.token, json!({"muted": false}))
        .await;

    // Merge cert into disk: the answer is disk with cert's incidents; cert's id answers as disk.
    let r = app
        .post(
            &url(p.org_id, &format!("patterns/{}/merge", s.cert)),
            &p.member.token,
            json!({"into": s.disk}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let d: PatternDetailOut = r.json();
    assert_eq!(d.pattern.id.0, s.disk);
    assert_eq!(d.pattern.count, 10, "all time: 8 + 2");
    assert!(d.aliases.iter().any(|a| a.0 == s.cert));
    let via_old: PatternDetailOut = app
        .get(
            &url(p.org_id, &format!("patterns/{}", s.cert)),
            &p.viewer.token,
        )
        .await
        .json();
    assert_eq!(via_old.pattern.id.0, s.disk);

    // Move a latency incident to a new pattern, then another one into disk.
    let moved = s.latency_incidents[1];
    let r = app
        .post(
            &url(p.org_id, &format!("incidents/{moved}/pattern")),
            &p.member.token,
            json!({"new": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let m: IncidentPatternMovedOut = r.json();
    assert_eq!(m.incident_id.0, moved);
    assert!(![s.disk, s.latency].contains(&m.pattern.id.0));
    assert_eq!(m.pattern.count, 1);
    let d: IncidentDetailOut = app
        .get(
            &url(p.org_id, &format!("incidents/{moved}")),
            &p.viewer.token,
        )
        .await
        .json();
    let pat = d.pattern.unwrap();
    assert_eq!(
        (pat.id, pat.why.assigned_by),
        (m.pattern.id, AssignedBy::Manual)
    );
    let other = s.latency_incidents[2];
    let m: IncidentPatternMovedOut = app
        .post(
            &url(p.org_id, &format!("incidents/{other}/pattern")),
            &p.member.token,
            json!({"pattern_id": s.alias}),
        )
        .await
        .json();
    assert_eq!(m.pattern.id.0, s.disk, "an alias moves to its pattern");

    let actions: Vec<String> = audit_actions(&app, &p)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "pattern_renamed",
        "pattern_muted",
        "pattern_unmuted",
        "pattern_merged",
        "incident_pattern_moved",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    let merged = audit_actions(&app, &p)
        .await
        .into_iter()
        .find(|e| e.action == "pattern_merged")
        .unwrap();
    assert_eq!(merged.target["id"], s.cert.to_string());
    assert_eq!(merged.details["into"], s.disk.to_string());
    assert_eq!(merged.actor.unwrap().id, p.member.user_id);
}

#[tokio::test]
async fn a_correction_changes_a_cached_pattern_answer_at_once() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let s = seed(&app, p.org_id).await;
    let path = url(
        p.org_id,
        &format!("analytics/top?{PERIOD}&dimension=pattern&limit=100"),
    );
    let count_of = |top: &TopOut, id: Uuid| {
        top.rows
            .iter()
            .find(|r| r.key == id.to_string())
            .map(|r| r.count)
    };
    let before: TopOut = app.get(&path, &p.viewer.token).await.json();
    assert_eq!(
        (count_of(&before, s.disk), count_of(&before, s.cert)),
        (Some(6), Some(2))
    );
    // Served from the cache now.
    let again: TopOut = app.get(&path, &p.viewer.token).await.json();
    assert_eq!(again, before);
    let r = app
        .post(
            &url(p.org_id, &format!("patterns/{}/merge", s.cert)),
            &p.member.token,
            json!({"into": s.disk}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let after: TopOut = app.get(&path, &p.viewer.token).await.json();
    assert_eq!(
        (count_of(&after, s.disk), count_of(&after, s.cert)),
        (Some(8), None)
    );
    let series_path = url(
        p.org_id,
        &format!("analytics/timeseries?{PERIOD}&group_by=pattern"),
    );
    let ts: TimeseriesOut = app.get(&series_path, &p.viewer.token).await.json();
    let renamed: PatternDetailOut = app
        .patch(
            &url(p.org_id, &format!("patterns/{}", s.disk)),
            &p.member.token,
            json!({"name": "Disks"}),
        )
        .await
        .json();
    assert_eq!(renamed.pattern.name, "Disks");
    let ts2: TimeseriesOut = app.get(&series_path, &p.viewer.token).await.json();
    let label = |ts: &TimeseriesOut| {
        ts.series
            .iter()
            .find(|x| x.key == s.disk.to_string())
            .map(|x| x.label.clone())
    };
    assert_ne!(label(&ts), label(&ts2));
    assert_eq!(label(&ts2).as_deref(), Some("Disks"));
}
