//! The analytics endpoints, the analytics settings and each person's dashboard layout: who may call them, how
//! bad input is refused, that the numbers agree across endpoints and with the incident list they drill into,
//! and the answer cache.

use chrono::{DateTime, Duration, Utc};
use insights_testing::{Personas, TestApp, TestResponse};
use insights_types::OrgId;
use insights_types::Role;
use insights_types::api::{
    AnalyticsSettings, AnalyticsSettingsOut, AnalyticsStatusOut, AnalyticsSummaryOut,
    DashboardLayout, DashboardLayoutOut, HeatmapOut, TimeseriesOut, TopOut,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every analytics read, with parameters that make a valid query.
const READS: [&str; 8] = [
    "analytics/summary",
    "analytics/timeseries?metric=count&bucket=day&group_by=service",
    "analytics/timeseries?metric=mtta&stat=p90&bucket=week",
    "analytics/heatmap",
    "analytics/top?dimension=service&sort=mttr&order=asc&limit=5",
    "analytics/status",
    "analytics/settings",
    "dashboard/layout",
];

fn url(org: OrgId, path: &str) -> String {
    format!("/api/v1/orgs/{org}/{path}")
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> TestResponse {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

#[tokio::test]
async fn every_member_reads_analytics_an_outsider_gets_404_and_anonymous_401() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    for path in READS {
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
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text);
        assert_eq!(r.error_code(), "unauthenticated");
    }
    // An empty organization has zeros, not errors.
    let s: AnalyticsSummaryOut = app
        .get(&url(p.org_id, "analytics/summary"), &p.viewer.token)
        .await
        .json();
    assert_eq!(s.totals.count, 0);
    assert_eq!(s.totals.mtta_seconds.mean, None);
    let h: HeatmapOut = app
        .get(&url(p.org_id, "analytics/heatmap"), &p.viewer.token)
        .await
        .json();
    assert_eq!(h.cells.len(), 168);
    assert!(h.cells.iter().all(|c| c.count == 0));
}

#[tokio::test]
async fn bad_filters_and_parameters_are_refused_with_the_error_body() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let long_q = "x".repeat(201);
    let cases: Vec<(String, &str)> = vec![
        ("analytics/summary?service=not-a-uuid".into(), "invalid_query"),
        ("analytics/summary?team=42".into(), "invalid_query"),
        ("analytics/summary?source=nagios".into(), "invalid_query"),
        ("analytics/heatmap?status=sleeping".into(), "invalid_query"),
        ("analytics/heatmap?urgency=urgent".into(), "invalid_query"),
        ("analytics/summary?since=yesterday".into(), "invalid_query"),
        (
            "analytics/summary?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z".into(),
            "invalid_query",
        ),
        (
            "analytics/heatmap?since=2026-11-01T00:00:00Z&until=2026-11-01T00:00:00Z".into(),
            "invalid_query",
        ),
        (format!("analytics/summary?q={long_q}"), "invalid_query"),
        ("analytics/summary?since=0613-08-05T02:07:50Z".into(), "invalid_query"),
        ("analytics/heatmap?until=2300-01-01T00:00:00Z".into(), "invalid_query"),
        // The incident list parses the same filters the same way.
        ("incidents?since=0613-08-05T02:07:50Z".into(), "invalid_query"),
        (format!("incidents?q={long_q}"), "invalid_query"),
        ("analytics/timeseries?metric=latency".into(), "invalid_query"),
        ("analytics/timeseries?stat=p99".into(), "invalid_query"),
        ("analytics/timeseries?bucket=fortnight".into(), "invalid_query"),
        ("analytics/timeseries?group_by=region".into(), "invalid_query"),
        (
            "analytics/timeseries?group_by=service&since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z"
                .into(),
            "invalid_query",
        ),
        ("analytics/top".into(), "invalid_query"),
        ("analytics/top?dimension=urgency".into(), "invalid_query"),
        ("analytics/top?dimension=service&sort=title".into(), "invalid_query"),
        ("analytics/top?dimension=service&order=up".into(), "invalid_query"),
        ("analytics/top?dimension=service&limit=0".into(), "invalid_query"),
        ("analytics/top?dimension=service&limit=101".into(), "invalid_query"),
        ("analytics/top?dimension=service&limit=-1".into(), "invalid_query"),
        ("analytics/top?dimension=team&limit=ten".into(), "invalid_query"),
    ];
    for (path, code) in cases {
        let r = app.get(&url(p.org_id, &path), &p.member.token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_eq!(r.error_code(), code, "{path}");
    }
    // The limits themselves are fine.
    for limit in [1, 100] {
        let path = format!("analytics/top?dimension=team&limit={limit}");
        let r = app.get(&url(p.org_id, &path), &p.member.token).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn only_admins_change_analytics_settings_and_bad_settings_name_their_field() {
    let app = TestApp::spawn(&[]).await.with_worker().await;
    let p = app.personas().await;
    let path = url(p.org_id, "analytics/settings");
    let read: AnalyticsSettingsOut = app.get(&path, &p.viewer.token).await.json();
    assert_eq!(read.settings, AnalyticsSettings::default());
    assert_eq!(read.recompute_job_id, None);
    let berlin = AnalyticsSettings {
        time_zone: "Europe/Berlin".into(),
        ..AnalyticsSettings::default()
    };
    for role in [Role::Member, Role::Viewer] {
        let r = put(&app, &path, &p.by_role(role).token, json!(berlin)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}: {}", r.text);
        assert_eq!(r.error_code(), "forbidden");
    }
    let r = put(&app, &path, &p.outsider.token, json!(berlin)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    let mut bad = json!(AnalyticsSettings::default());
    bad["business_hours"]["monday"]["start"] = json!("25:00");
    let mut unknown = json!(AnalyticsSettings::default());
    unknown["colour"] = json!("blue");
    let mut zone = json!(AnalyticsSettings::default());
    zone["time_zone"] = json!("Mars/Olympus_Mons");
    let mut noise = json!(AnalyticsSettings::default());
    noise["noise_auto_resolve_minutes"] = json!(0);
    for (body, field) in [
        (bad, "business_hours.monday.start"),
        (unknown, "colour"),
        (zone, "time_zone"),
        (noise, "noise_auto_resolve_minutes"),
    ] {
        let r = put(&app, &path, &p.admin.token, body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.text
        );
        assert_eq!(r.error_code(), "validation_failed");
        assert_eq!(
            r.body["error"]["details"]["fields"][0]["field"], field,
            "{}",
            r.text
        );
    }
    // Nothing was stored.
    let read: AnalyticsSettingsOut = app.get(&path, &p.viewer.token).await.json();
    assert_eq!(read.settings, AnalyticsSettings::default());

    // An admin's change is stored, audited, and recomputes the rollups in a tracked job.
    let r = put(&app, &path, &p.admin.token, json!(berlin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let job = r.body["recompute_job_id"]
        .as_str()
        .expect("a time zone change recomputes")
        .parse()
        .unwrap();
    let done = app.wait_for_job(&p.owner.token, p.org_id, job).await;
    assert_eq!(
        done.state,
        insights_types::api::JobState::Succeeded,
        "{done:?}"
    );
    let read: AnalyticsSettingsOut = app.get(&path, &p.member.token).await.json();
    assert_eq!(read.settings, berlin);
    assert_eq!(read.recompute_job_id, None, "the recomputation ended");
    let log = app
        .get(
            &url(p.org_id, "audit-log?action=analytics_settings_changed"),
            &p.owner.token,
        )
        .await;
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", log.text);
    assert_eq!(items[0]["details"]["from"]["time_zone"], "UTC");
    assert_eq!(items[0]["details"]["to"]["time_zone"], "Europe/Berlin");
}

#[tokio::test]
async fn each_member_arranges_their_own_dashboard_and_can_reset_it() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let path = url(p.org_id, "dashboard/layout");
    let fresh: DashboardLayoutOut = app.get(&path, &p.member.token).await.json();
    assert!(!fresh.customized);
    assert_eq!(fresh.updated_at, None);
    assert_eq!(fresh.layout, DashboardLayout::default_layout());

    // The viewer keeps two widgets, the heatmap first and wide.
    let mut mine = DashboardLayout::default_layout();
    mine.widgets
        .retain(|w| w.id == "heatmap" || w.id == "summary");
    mine.widgets.reverse();
    mine.widgets[0].width = 4;
    let r = put(&app, &path, &p.viewer.token, json!(mine)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let saved: DashboardLayoutOut = r.json();
    assert!(saved.customized);
    let read: DashboardLayoutOut = app.get(&path, &p.viewer.token).await.json();
    assert_eq!(read.layout, mine);
    assert!(read.customized && read.updated_at.is_some());

    // Nobody else sees it: not the member in the same organization, not the viewer elsewhere.
    let other: DashboardLayoutOut = app.get(&path, &p.member.token).await.json();
    assert_eq!(other.layout, DashboardLayout::default_layout());
    assert!(!other.customized);
    let r = app.get(&path, &p.outsider.token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Saving again replaces it; deleting resets to the default.
    mine.widgets.pop();
    let r = put(&app, &path, &p.viewer.token, json!(mine)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let read: DashboardLayoutOut = app.get(&path, &p.viewer.token).await.json();
    assert_eq!(read.layout.widgets.len(), 1);
    let r = app.delete(&path, &p.viewer.token).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let read: DashboardLayoutOut = app.get(&path, &p.viewer.token).await.json();
    assert!(!read.customized);
    assert_eq!(read.layout, DashboardLayout::default_layout());
    // Resetting a default layout is fine too.
    let r = app.delete(&path, &p.viewer.token).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

#[tokio::test]
async fn a_layout_leaves_with_its_member() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let path = url(p.org_id, "dashboard/layout");
    let r = put(&app, &path, &p.member.token, json!({ "widgets": [] })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .delete(
            &url(p.org_id, &format!("members/{}", p.member.user_id)),
            &p.admin.token,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    use secrecy::ExposeSecret;
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM dashboard_layouts WHERE user_id = $1")
        .bind(p.member.user_id.0)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn bad_layouts_are_422_naming_the_field() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let path = url(p.org_id, "dashboard/layout");
    let default = json!(DashboardLayout::default_layout());
    let with = |i: usize, field: &str, value: Value| {
        let mut l = default.clone();
        l["widgets"][i][field] = value;
        l
    };
    let mut too_many = json!({ "widgets": [] });
    for i in 0..25 {
        too_many["widgets"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "id": format!("w{i}"), "kind": "summary", "width": 1, "height": 1 }));
    }
    let cases = [
        (with(1, "id", json!("summary")), "widgets[1].id"),
        (with(0, "id", json!("Not Valid")), "widgets[0].id"),
        (with(2, "width", json!(5)), "widgets[2].width"),
        (with(2, "height", json!(0)), "widgets[2].height"),
        (with(4, "dimension", Value::Null), "widgets[4].dimension"),
        (with(3, "kind", json!("pie")), "widgets[3].kind"),
        (with(3, "colour", json!("red")), "widgets[3].colour"),
        (too_many, "widgets"),
        (json!({}), "widgets"),
    ];
    for (body, field) in cases {
        let r = put(&app, &path, &p.member.token, body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.text
        );
        assert_eq!(r.error_code(), "validation_failed");
        assert_eq!(
            r.body["error"]["details"]["fields"][0]["field"], field,
            "{}",
            r.text
        );
    }
    let read: DashboardLayoutOut = app.get(&path, &p.member.token).await.json();
    assert!(!read.customized, "nothing was saved");
}

/// Waits until the organization's rollups have taken in every change, and returns the status.
async fn settled(app: &TestApp, token: &str, org: OrgId) -> AnalyticsStatusOut {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let s: AnalyticsStatusOut = app.get(&url(org, "analytics/status"), token).await.json();
        if !s.pending && s.recompute_job_id.is_none() {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "analytics still pending after a minute: {s:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// An organization with the sample history loaded and rolled up.
async fn with_sample_history() -> (TestApp, Personas) {
    let app = TestApp::spawn(&[]).await.with_worker().await;
    let p = app.personas().await;
    let job = app.load_sample_data(&p.owner.token, p.org_id).await;
    let done = app.wait_for_job(&p.owner.token, p.org_id, job.id).await;
    assert_eq!(
        done.state,
        insights_types::api::JobState::Succeeded,
        "{done:?}"
    );
    settled(&app, &p.owner.token, p.org_id).await;
    (app, p)
}

/// How many incidents the incident list shows for `query` (its filters), counted through the export.
async fn listed(app: &TestApp, token: &str, org: OrgId, query: &str) -> usize {
    let r = app
        .get(
            &url(org, &format!("incidents/export?format=jsonl&{query}")),
            token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    r.text.lines().filter(|l| !l.trim().is_empty()).count()
}

fn series_total(t: &TimeseriesOut) -> f64 {
    t.series
        .iter()
        .flat_map(|s| &s.points)
        .filter_map(|p| p.value)
        .sum()
}

fn enc(t: DateTime<Utc>) -> String {
    url::form_urlencoded::byte_serialize(t.to_rfc3339().as_bytes()).collect()
}

#[tokio::test]
async fn the_numbers_agree_across_endpoints_and_with_the_incident_list() {
    let (app, p) = with_sample_history().await;
    let token = &p.member.token;
    let org = p.org_id;
    let now = Utc::now();
    // All time, the last 30 days, and one team's urgent incidents over 90 days.
    let since30 = enc(now - Duration::days(30));
    let since90 = enc(now - Duration::days(90));
    let top: TopOut = app
        .get(&url(org, "analytics/top?dimension=team&limit=100"), token)
        .await
        .json();
    let team = top
        .rows
        .iter()
        .find(|r| r.key != "none")
        .expect("the sample history has teams")
        .key
        .clone();
    for filters in [
        String::new(),
        format!("since={since30}"),
        format!("since={since90}&team={team}&urgency=high"),
    ] {
        let summary: AnalyticsSummaryOut = app
            .get(&url(org, &format!("analytics/summary?{filters}")), token)
            .await
            .json();
        let count = summary.totals.count;
        assert!(count > 0, "{filters}: no incidents");
        assert_eq!(
            listed(&app, token, org, &filters).await as i64,
            count,
            "{filters}: the incident list"
        );
        for series in [
            "bucket=day",
            "bucket=week&group_by=service",
            "bucket=month&group_by=status",
        ] {
            let t: TimeseriesOut = app
                .get(
                    &url(
                        org,
                        &format!("analytics/timeseries?metric=count&{series}&{filters}"),
                    ),
                    token,
                )
                .await
                .json();
            assert_eq!(series_total(&t), count as f64, "{filters} {series}");
        }
        let h: HeatmapOut = app
            .get(&url(org, &format!("analytics/heatmap?{filters}")), token)
            .await
            .json();
        assert_eq!(
            h.cells.iter().map(|c| c.count).sum::<i64>(),
            count,
            "{filters} heatmap"
        );
        let t: TopOut = app
            .get(
                &url(
                    org,
                    &format!("analytics/top?dimension=service&limit=100&{filters}"),
                ),
                token,
            )
            .await
            .json();
        assert_eq!(
            t.rows.iter().map(|r| r.count).sum::<i64>(),
            count,
            "{filters} top"
        );
        for row in &t.rows {
            assert_eq!(
                row.sparkline.iter().sum::<i64>(),
                row.count,
                "{filters} {}",
                row.key
            );
        }
        // Off-hours: the summary and the off-hours series agree.
        let off: TimeseriesOut = app
            .get(
                &url(
                    org,
                    &format!("analytics/timeseries?metric=off_hours&bucket=day&{filters}"),
                ),
                token,
            )
            .await
            .json();
        assert_eq!(
            series_total(&off),
            summary.totals.off_hours.count as f64,
            "{filters} off-hours"
        );
    }
}

#[tokio::test]
async fn a_point_drills_into_as_many_incidents_as_its_value() {
    let (app, p) = with_sample_history().await;
    let token = &p.viewer.token;
    let org = p.org_id;
    let since = enc(Utc::now() - Duration::days(60));
    let t: TimeseriesOut = app
        .get(
            &url(
                org,
                &format!(
                    "analytics/timeseries?metric=count&bucket=day&group_by=service&since={since}"
                ),
            ),
            token,
        )
        .await
        .json();
    assert!(t.series.len() > 1, "{t:?}");
    let mut checked = 0;
    for s in t
        .series
        .iter()
        .filter(|s| s.key != "other" && s.key != "none")
    {
        // The busiest day of the service, and a quiet one.
        let mut points: Vec<_> = s.points.iter().collect();
        points.sort_by(|a, b| b.value.partial_cmp(&a.value).unwrap());
        for point in [points[0], points[points.len() - 1]] {
            let query = format!(
                "service={}&since={}&until={}",
                s.key,
                enc(point.start),
                enc(point.end)
            );
            assert_eq!(
                listed(&app, token, org, &query).await as f64,
                point.value.unwrap_or(0.0),
                "{} {query}",
                s.label
            );
            checked += 1;
        }
    }
    assert!(checked >= 4);
}

/// Stores incidents `from..to` (`n` created `n` hours ago, resolved after 30 minutes) through the store pipeline
/// every source uses, as a sync would.
async fn store(app: &TestApp, org: OrgId, from: usize, to: usize) {
    use insights_ingest::NormalizedIncident;
    use insights_types::api::{IncidentSource, IncidentStatus};
    let batch: Vec<NormalizedIncident> = (from..to)
        .map(|n| {
            let at = Utc::now() - Duration::hours(n as i64) - Duration::minutes(1);
            NormalizedIncident {
                source: IncidentSource::Sample,
                external_id: format!("cache-{n}"),
                number: Some(n as i64),
                title: format!("Disk full on db-{n}"),
                description: None,
                service: None,
                team: None,
                urgency: None,
                priority: None,
                status: IncidentStatus::Resolved,
                triggered_at: at,
                acknowledged_at: None,
                resolved_at: Some(at + Duration::minutes(30)),
                assignees: vec![],
                tags: vec![],
                source_url: None,
                source_updated_at: at + Duration::minutes(30),
                raw: json!({}),
                timeline: vec![],
            }
        })
        .collect();
    let mut tx = app.state.db.org_tx(org, None).await.unwrap();
    insights_core::db::incidents::upsert_batch(&mut tx, None, &batch)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The value of a Prometheus counter with these labels (0 when absent).
fn counter(metrics: &str, name: &str, labels: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && labels.split(',').all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_repeated_query_is_served_from_the_cache_until_new_incidents_change_the_answer() {
    let app = TestApp::spawn(&[]).await.with_worker().await;
    let p = app.personas().await;
    let org = p.org_id;
    store(&app, org, 0, 20).await;
    settled(&app, &p.owner.token, org).await;
    let path = url(
        org,
        "analytics/summary?since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00Z",
    );
    let hits_before = counter(
        &app.metrics().await.text,
        "analytics_cache_requests_total",
        r#"endpoint="summary",result="hit""#,
    );
    let first = app.get(&path, &p.member.token).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["count"], 20);

    // The answer is in Redis under the organization's key space: mark it, and the next request returns it.
    let mut redis = app.state.redis.clone();
    let pattern = app.state.redis_key(&["analytics", &org.to_string(), "*"]);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let mut marked = first.body.clone();
    marked["resolved"] = json!(-1);
    let _: () = redis::cmd("SET")
        .arg(&keys[0])
        .arg(marked.to_string())
        .query_async(&mut redis)
        .await
        .unwrap();
    let second = app.get(&path, &p.viewer.token).await;
    assert_eq!(second.body, marked, "served from the cache");
    let hits_after = counter(
        &app.metrics().await.text,
        "analytics_cache_requests_total",
        r#"endpoint="summary",result="hit""#,
    );
    assert!(hits_after > hits_before, "{hits_before} → {hits_after}");
    // The same query spelled differently shares the entry.
    let reordered = url(
        org,
        "analytics/summary?until=2100-01-01T00:00:00Z&q=&since=2020-01-01T00:00:00Z",
    );
    assert_eq!(app.get(&reordered, &p.viewer.token).await.body, marked);

    // A new incident moves the version on: the next answer is computed again and counts it.
    let before = settled(&app, &p.owner.token, org).await.version;
    store(&app, org, 20, 21).await;
    let after = settled(&app, &p.owner.token, org).await.version;
    assert_ne!(before, after);
    let third = app.get(&path, &p.member.token).await;
    assert_eq!(third.body["count"], 21, "{}", third.text);
    assert_ne!(third.body["resolved"], json!(-1));
}

#[tokio::test]
async fn the_answer_cache_gives_up_on_an_unavailable_redis_within_its_budget() {
    use insights_api::routes::analytics::cache;
    let redis = insights_testing::services::OwnRedis::start();
    let app = TestApp::spawn(&[("REDIS_URL", &redis.url)]).await;
    let filter = insights_core::db::incidents::IncidentFilter::default();
    let key = cache::Key::new(
        &app.state,
        OrgId::new(),
        7,
        "summary",
        &filter,
        &[],
        Utc::now(),
    );
    cache::put(&app.state, &key, b"{\"count\":1}").await;
    assert_eq!(
        cache::get(&app.state, &key).await.as_deref(),
        Some(&b"{\"count\":1}"[..])
    );
    // Redis goes away: a lookup is a miss, a write is skipped, each within the cache's budget, so the handler
    // computes the answer as if it missed.
    drop(redis);
    for _ in 0..3 {
        let t = std::time::Instant::now();
        assert_eq!(cache::get(&app.state, &key).await, None);
        cache::put(&app.state, &key, b"{}").await;
        assert!(
            t.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            t.elapsed()
        );
    }
}

#[tokio::test]
async fn the_description_lets_answers_carry_more_than_the_strict_bodies_they_flatten() {
    let app = TestApp::spawn(&[]).await;
    let doc = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .body;
    let schemas = &doc["components"]["schemas"];
    for (body, answer) in [
        ("AnalyticsSettings", "AnalyticsSettingsOut"),
        ("DashboardLayout", "DashboardLayoutOut"),
    ] {
        // The request body refuses unknown fields…
        assert_eq!(
            schemas[body]["additionalProperties"],
            json!(false),
            "{body}"
        );
        // …and the answer that flattens it has its own fields beside it.
        let parts = schemas[answer]["allOf"].as_array().expect("allOf");
        assert!(
            parts
                .iter()
                .all(|p| p.get("additionalProperties").is_none() && p.get("$ref").is_none()),
            "{answer}: {parts:?}"
        );
        assert_eq!(
            parts[0]["properties"], schemas[body]["properties"],
            "{answer}"
        );
    }
}
