//! Tenant isolation: every organization-scoped endpoint answers 404 to a member of another organization, and
//! PostgreSQL row-level security hides other tenants' rows even from a query that forgets its WHERE clause.

use insights_testing::TestApp;
use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_types::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

/// Every organization-scoped endpoint, with a valid body, and the roles allowed to call it.
fn endpoints(
    org: &str,
    user: &str,
    invitation: &str,
    job: &str,
) -> Vec<(Method, String, Option<Value>, &'static [Role])> {
    // A missing integration and incident: allowed roles get 404, like the nil job.
    let nil = uuid::Uuid::nil();
    use Role::*;
    const ALL: &[Role] = &[Owner, Admin, Member, Viewer];
    const ADMINS: &[Role] = &[Owner, Admin];
    const EDITORS: &[Role] = &[Owner, Admin, Member];
    vec![
        (Method::GET, format!("/api/v1/orgs/{org}"), None, ALL),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{org}"),
            Some(json!({ "name": "Renamed" })),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/members"),
            None,
            ALL,
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{org}/members/{user}"),
            Some(json!({ "role": "viewer" })),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/invitations"),
            None,
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/invitations"),
            Some(json!({ "email": "z@example.com", "role": "viewer" })),
            ADMINS,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/invitations/{invitation}"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/audit-log"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/jobs"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/jobs/{job}"),
            None,
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/feedback"),
            Some(json!({ "message": "hi", "page": "/" })),
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/feedback"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/incidents"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/incidents/{nil}"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/incidents/export?format=csv"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/services"),
            None,
            ALL,
        ),
        (Method::GET, format!("/api/v1/orgs/{org}/teams"), None, ALL),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/sample-data"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/integrations"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/integrations"),
            Some(
                json!({ "kind": "pagerduty", "name": "PD", "credentials": { "api_token": PD_TOKEN } }),
            ),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/integrations/{nil}"),
            None,
            ALL,
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{org}/integrations/{nil}"),
            Some(json!({ "name": "Renamed" })),
            ADMINS,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/integrations/{nil}?data=keep"),
            None,
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/integrations/{nil}/sync"),
            None,
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/integrations/{nil}/cancel"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/integrations/{nil}/runs"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/integrations/{nil}/webhook-secret"),
            None,
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/integrations/{nil}/webhook-subscription"),
            None,
            ADMINS,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/members/{user}"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/analytics/summary"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!(
                "/api/v1/orgs/{org}/analytics/timeseries?metric=count&bucket=day&group_by=service"
            ),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/analytics/heatmap"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/analytics/top?dimension=team"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/analytics/status"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/analytics/settings"),
            None,
            ALL,
        ),
        (
            Method::PUT,
            format!("/api/v1/orgs/{org}/analytics/settings"),
            Some(serde_json::to_value(insights_types::api::AnalyticsSettings::default()).unwrap()),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/dashboard/layout"),
            None,
            ALL,
        ),
        (
            Method::PUT,
            format!("/api/v1/orgs/{org}/dashboard/layout"),
            Some(
                serde_json::to_value(insights_types::api::DashboardLayout::default_layout())
                    .unwrap(),
            ),
            ALL,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/dashboard/layout"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/patterns"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/patterns/{nil}"),
            None,
            ALL,
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{org}/patterns/{nil}"),
            Some(json!({ "name": "Disks" })),
            EDITORS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/patterns/{nil}/merge"),
            Some(json!({ "into": uuid::Uuid::max() })),
            EDITORS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/incidents/{nil}/pattern"),
            Some(json!({ "new": true })),
            EDITORS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbooks"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/runbooks"),
            Some(
                json!({ "title": "Disk full", "steps": [{ "title": "Look", "command": { "language": "shell", "text": "df -h" } }] }),
            ),
            EDITORS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbooks/{nil}"),
            None,
            ALL,
        ),
        (
            Method::PUT,
            format!("/api/v1/orgs/{org}/runbooks/{nil}"),
            Some(json!({ "title": "Disk full", "base_version": 1 })),
            EDITORS,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/runbooks/{nil}"),
            None,
            EDITORS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbooks/{nil}/versions"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbooks/{nil}/versions/1"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbooks/{nil}/diff?from=1&to=2"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/runbooks/{nil}/versions/1/restore"),
            None,
            EDITORS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/runbooks/import"),
            Some(
                json!({ "files": [{ "name": "disk.md", "content": "# Disk full\n\n1. Look\n   ```\n   df -h\n   ```\n" }] }),
            ),
            EDITORS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbooks/search?incident_id={nil}"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbooks/index-status"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/runbooks/reindex"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbook-generations"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/runbook-generations"),
            Some(json!({ "incident_id": nil })),
            EDITORS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbook-generations/{nil}"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/runbook-generations/{nil}/save"),
            Some(json!({})),
            EDITORS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/runbook-settings"),
            None,
            ALL,
        ),
        (
            Method::PUT,
            format!("/api/v1/orgs/{org}/runbook-settings"),
            Some(
                json!({ "generation": "off", "redact_contacts": true, "monthly_token_budget": 100000 }),
            ),
            ADMINS,
        ),
        // Automations: a nil id is a 404 to whoever may call it; a nil automation in a body a 422 naming it.
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/aws-connections"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/aws-connections"),
            Some(
                json!({ "name": "Production", "mode": "role", "region": "eu-west-1",
                         "functions": ["restart-service"] }),
            ),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/aws-connections/{nil}"),
            None,
            ALL,
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{org}/aws-connections/{nil}"),
            Some(json!({ "name": "Renamed" })),
            ADMINS,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/aws-connections/{nil}"),
            None,
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/aws-connections/{nil}/verify"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/aws-connections/{nil}/templates"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automations"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automations"),
            Some(
                json!({ "name": "Note the owner", "action": "note", "template": "Looking at {{ incident.title }}" }),
            ),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automations/effectiveness"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automations/{nil}"),
            None,
            ALL,
        ),
        (
            Method::PUT,
            format!("/api/v1/orgs/{org}/automations/{nil}"),
            Some(json!({ "name": "Note", "action": "note", "template": "Hello" })),
            ADMINS,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/automations/{nil}"),
            None,
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automations/{nil}/preview"),
            Some(json!({})),
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automations/{nil}/runs"),
            Some(json!({})),
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automation-rules"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automation-rules"),
            Some(json!({ "name": "High urgency", "automation_id": nil, "conditions": {} })),
            ADMINS,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automation-rules/dry-run"),
            Some(
                json!({ "rule": { "name": "High urgency", "automation_id": nil, "conditions": {} } }),
            ),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automation-rules/{nil}"),
            None,
            ALL,
        ),
        (
            Method::PUT,
            format!("/api/v1/orgs/{org}/automation-rules/{nil}"),
            Some(json!({ "name": "High urgency", "automation_id": nil, "conditions": {} })),
            ADMINS,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/automation-rules/{nil}"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automation-schedules"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automation-schedules"),
            Some(json!({ "name": "Nightly", "automation_id": nil, "cron": "0 3 * * *" })),
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automation-schedules/{nil}"),
            None,
            ALL,
        ),
        (
            Method::PUT,
            format!("/api/v1/orgs/{org}/automation-schedules/{nil}"),
            Some(json!({ "name": "Nightly", "automation_id": nil, "cron": "0 3 * * *" })),
            ADMINS,
        ),
        (
            Method::DELETE,
            format!("/api/v1/orgs/{org}/automation-schedules/{nil}"),
            None,
            ADMINS,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automation-runs"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automation-runs/{nil}"),
            None,
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automation-runs/{nil}/approve"),
            Some(json!({})),
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automation-runs/{nil}/reject"),
            Some(json!({})),
            ALL,
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/automation-runs/{nil}/cancel"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automation-approvals"),
            None,
            ALL,
        ),
        (
            Method::GET,
            format!("/api/v1/orgs/{org}/automation-settings"),
            None,
            ALL,
        ),
        (
            Method::PUT,
            format!("/api/v1/orgs/{org}/automation-settings"),
            Some(json!({ "killed": false })),
            ADMINS,
        ),
    ]
}

const PD_TOKEN: &str = "isolation-token-1";

/// An app whose PagerDuty is a fake accepting `PD_TOKEN`.
async fn app_with_pagerduty() -> (TestApp, FakePagerDuty) {
    let pd = FakePagerDuty::start(PD_TOKEN, History::recent(1, chrono::Duration::hours(1))).await;
    let app = TestApp::spawn(&[("INSIGHTS_PAGERDUTY_API_URL", &pd.url)]).await;
    (app, pd)
}

#[tokio::test]
async fn the_endpoint_table_covers_every_organization_route_of_the_api_description() {
    let (app, _pd) = app_with_pagerduty().await;
    let doc = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let id = "X";
    let listed: std::collections::BTreeSet<(String, String)> = endpoints(id, id, id, id)
        .into_iter()
        .map(|(m, p, _, _)| {
            // Back to the template: ids become their parameter names.
            let p = p
                .split('?')
                .next()
                .unwrap()
                .replace("/versions/1", "/versions/{id}")
                .replace(&uuid::Uuid::nil().to_string(), "{id}");
            (m.to_string(), p.replace("/X", "/{id}"))
        })
        .collect();
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/orgs/{org_id}") {
            continue;
        }
        let template = regex_like_ids(path);
        for method in item.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            assert!(
                listed.contains(&(m.clone(), template.clone())),
                "{m} {path} is missing from the isolation and permission table"
            );
        }
    }
}

/// `/api/v1/orgs/{org_id}/members/{user_id}` → `/api/v1/orgs/{id}/members/{id}`.
fn regex_like_ids(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "{id}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn a_member_of_another_organization_gets_404_from_every_org_endpoint() {
    let (app, _pd) = app_with_pagerduty().await;
    let p = app.personas().await;
    let inv = app
        .invite(&p.owner, p.org_id, "pending@example.com", Role::Member)
        .await;
    for (method, path, body, _) in endpoints(
        &p.org_id.to_string(),
        &p.viewer.user_id.to_string(),
        &inv.id.to_string(),
        &uuid::Uuid::nil().to_string(),
    ) {
        let r = app
            .request(method.clone(), &path, Some(&p.outsider.token), body)
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            r.text
        );
        assert_eq!(r.error_code(), "not_found");
        // And exactly like an organization that does not exist.
        let ghost = path.replace(&p.org_id.to_string(), &uuid::Uuid::new_v4().to_string());
        let g = app
            .request(method.clone(), &ghost, Some(&p.outsider.token), None)
            .await;
        assert_eq!(g.status, StatusCode::NOT_FOUND, "{method} {ghost}");
        assert_eq!(g.body, r.body);
    }
    // Nothing changed for the real members.
    let r = app
        .get(&format!("/api/v1/orgs/{}", p.org_id), &p.viewer.token)
        .await;
    assert_eq!(r.body["name"], "Acme");
}

#[tokio::test]
async fn every_org_endpoint_answers_each_role_as_the_permission_table_says() {
    let (app, _pd) = app_with_pagerduty().await;
    // What the allowed calls queue (sample data, an import) runs.
    let app = app.with_worker().await;
    for role in Role::ALL {
        // A fresh organization per role, so one role's writes do not change what the next sees.
        let p = app.personas().await;
        let target = p.viewer.user_id.to_string();
        let inv = app
            .invite(
                &p.owner,
                p.org_id,
                &format!("pending-{role}@example.com"),
                Role::Member,
            )
            .await;
        for (method, path, body, allowed) in endpoints(
            &p.org_id.to_string(),
            &target,
            &inv.id.to_string(),
            &uuid::Uuid::nil().to_string(),
        ) {
            if role == Role::Viewer && method == Method::DELETE && path.contains("/members/") {
                continue; // the viewer removing themselves is leaving, which everyone may do
            }
            let body_text = body.as_ref().map(Value::to_string);
            let r = app
                .request(method.clone(), &path, Some(&p.by_role(role).token), body)
                .await;
            if allowed.contains(&role) {
                // Allowed: anything but 401/403 (a nil id is a 404 by design in a path, and a 422 naming the
                // field in a body).
                let nil = uuid::Uuid::nil().to_string();
                let body_names_nil = body_text.as_deref().is_some_and(|b| b.contains(&nil));
                assert!(
                    r.status.is_success()
                        || (path.contains(&nil) && r.status == StatusCode::NOT_FOUND)
                        || (body_names_nil
                            && r.status == StatusCode::UNPROCESSABLE_ENTITY
                            && r.text.contains("not_found")),
                    "{role} {method} {path}: {} {}",
                    r.status,
                    r.text
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{role} {method} {path}: {}",
                    r.text
                );
                assert_eq!(r.error_code(), "forbidden");
            }
        }
        for job in app.wait_for_jobs(&p.owner.token, p.org_id).await {
            assert_eq!(
                job.state,
                insights_types::api::JobState::Succeeded,
                "{job:?}"
            );
        }
    }
}

#[tokio::test]
async fn anonymous_callers_are_unauthorized_everywhere_under_an_organization() {
    let app = TestApp::spawn(&[]).await;
    let id = uuid::Uuid::new_v4().to_string();
    for (method, path, body, _) in endpoints(&id, &id, &id, &id) {
        let r = app.request(method.clone(), &path, None, body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

#[tokio::test]
async fn row_level_security_hides_other_tenants_even_without_a_where_clause() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let (_, other_org) = app.signup("solo@example.com", "Solo").await;
    use secrecy::ExposeSecret;
    let mut conn = PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    conn.execute("SET ROLE insights_app").await.unwrap();
    let is_owner: bool = sqlx::query_scalar("SELECT pg_has_role('insights_app', tableowner, 'MEMBER') FROM pg_tables WHERE tablename = 'memberships'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(!is_owner, "the application role must not own the tables");

    let mut tx = conn.begin().await.unwrap();
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM memberships")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(none, 0, "no org set: no tenant rows");
    sqlx::query("SELECT set_config('app.org_id', $1, true)")
        .bind(p.org_id.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let mine: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT DISTINCT org_id FROM memberships")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(mine, vec![p.org_id.0]);
    let audit: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT DISTINCT org_id FROM audit_events")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(audit, vec![p.org_id.0]);
    let orgs: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(orgs, 1);
    // Writing into another tenant is refused by the policy's WITH CHECK.
    let err =
        sqlx::query("INSERT INTO feedback (id, org_id, message, page) VALUES ($1, $2, 'x', '/')")
            .bind(uuid::Uuid::now_v7())
            .bind(other_org.0)
            .execute(&mut *tx)
            .await
            .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    let unwalled = unwalled_tenant_relations(&mut conn).await;
    assert!(unwalled.is_empty(), "tenant data without RLS: {unwalled:?}");
}

/// Tenant data that row-level security does not wall off, one line per relation: every table, partitioned
/// table and partition with an `org_id` column must have row-level security enabled and forced and at least
/// one policy (`enable_tenant_rls` does all three), and no materialized view may have `org_id` (it cannot have
/// policies: rollups are tables).
async fn unwalled_tenant_relations(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.oid::regclass::text || CASE
                  WHEN c.relkind = 'm' THEN ': materialized view (cannot have row-level security)'
                  WHEN NOT (c.relrowsecurity AND c.relforcerowsecurity) THEN ': row-level security not forced'
                  ELSE ': no policy' END
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
          WHERE c.relkind IN ('r', 'p', 'm')
            AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
            AND (c.relkind = 'm'
                 OR NOT (c.relrowsecurity AND c.relforcerowsecurity)
                 OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
          ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_new_tenant_table_is_walled_off_once_it_calls_the_rls_helper() {
    use insights_core::db::Db;
    use insights_types::OrgId;
    let url = insights_testing::fresh_database().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    conn.execute(
        "CREATE TABLE scratch_notes (
             id         uuid        PRIMARY KEY,
             org_id     uuid        NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
             body       text        NOT NULL,
             created_at timestamptz NOT NULL DEFAULT now(),
             updated_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE scratch_events (
             org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
             at     date NOT NULL) PARTITION BY RANGE (at);
         CREATE TABLE scratch_events_2026 PARTITION OF scratch_events
             FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         CREATE TABLE scratch_no_policy (org_id uuid NOT NULL);
         ALTER TABLE scratch_no_policy ENABLE ROW LEVEL SECURITY;
         ALTER TABLE scratch_no_policy FORCE ROW LEVEL SECURITY;
         CREATE MATERIALIZED VIEW scratch_rollup AS SELECT org_id, count(*) FROM scratch_notes GROUP BY org_id;",
    )
    .await
    .unwrap();

    // The catalog check flags each way a relation can escape the wall.
    assert_eq!(
        unwalled_tenant_relations(&mut conn).await,
        [
            "scratch_events: row-level security not forced",
            "scratch_events_2026: row-level security not forced",
            "scratch_no_policy: no policy",
            "scratch_notes: row-level security not forced",
            "scratch_rollup: materialized view (cannot have row-level security)",
        ]
    );
    // The helper on a table and on a partitioned table's parent (which covers its partitions) clears it.
    conn.execute(
        "SELECT enable_tenant_rls('scratch_notes');
         SELECT enable_tenant_rls('scratch_events');
         DROP TABLE scratch_no_policy;
         DROP MATERIALIZED VIEW scratch_rollup;
         GRANT SELECT, INSERT ON scratch_notes, scratch_events, scratch_events_2026 TO insights_app;",
    )
    .await
    .unwrap();
    assert_eq!(
        unwalled_tenant_relations(&mut conn).await,
        Vec::<String>::new()
    );

    // Rows of two organizations, written by the (superuser) test connection, which RLS does not restrict.
    let (mine, theirs) = (OrgId(uuid::Uuid::now_v7()), OrgId(uuid::Uuid::now_v7()));
    for org in [mine, theirs] {
        for insert in [
            "INSERT INTO organizations (id, name, slug) VALUES ($1, 'Org', $1::text)",
            "INSERT INTO scratch_notes (id, org_id, body) VALUES (gen_random_uuid(), $1, 'note')",
            "INSERT INTO scratch_events (org_id, at) VALUES ($1, '2026-06-01')",
        ] {
            sqlx::query(insert)
                .bind(org.0)
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    // The application role, in an organization's transaction, sees and writes only that organization's rows.
    let db = Db::connect_lazy(&url.clone().into(), "insights_app", 1).unwrap();
    let mut tx = db.org_tx(mine, None).await.unwrap();
    for table in ["scratch_notes", "scratch_events", "scratch_events_2026"] {
        let orgs: Vec<uuid::Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT org_id FROM {table}"
        )))
        .fetch_all(tx.conn())
        .await
        .unwrap();
        assert_eq!(orgs, [mine.0], "{table}");
    }
    for insert in [
        "INSERT INTO scratch_notes (id, org_id, body) VALUES (gen_random_uuid(), $1, 'x')",
        "INSERT INTO scratch_events (org_id, at) VALUES ($1, '2026-07-01')",
        "INSERT INTO scratch_events_2026 (org_id, at) VALUES ($1, '2026-07-01')",
    ] {
        let mut sp = tx.conn().begin().await.unwrap(); // a savepoint
        let err = sqlx::query(insert)
            .bind(theirs.0)
            .execute(&mut *sp)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("row-level security"),
            "{insert}: {err}"
        );
        sp.rollback().await.unwrap();
    }
    sqlx::query("INSERT INTO scratch_notes (id, org_id, body) VALUES (gen_random_uuid(), $1, 'x')")
        .bind(mine.0)
        .execute(tx.conn())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_application_cannot_change_or_remove_audit_entries() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    for statement in [
        "UPDATE audit_events SET action = 'tampered'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let mut tx = app.state.db.org_tx(org, None).await.unwrap();
        let err = sqlx::query(statement)
            .execute(tx.conn())
            .await
            .expect_err(statement);
        assert!(
            err.to_string().contains("permission denied"),
            "{statement}: {err}"
        );
    }
    // Writing and reading entries still works: signing up recorded one.
    let mut tx = app.state.db.org_tx(org, None).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert!(n >= 1);
}
