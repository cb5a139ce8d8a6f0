//! The automations API: AWS connections (generated external id, write-only keys, validation, in use, the
//! verification request, the templates), automations (validation with the template's line, the allow-list,
//! the outbound guard, write-only secrets and the signing secret shown once, the version conflict), rules and
//! their dry run on sample incidents, schedules, the run log, approvals (approver ≠ requester, the
//! automation's `approve_role`), cancelling, the kill switch, manual runs and effectiveness; and that no
//! secret appears in an answer or in the audit log. Who may call what, and that another organization gets
//! 404, is in `isolation.rs`'s matrix; here the automation-specific rights (`run_role`, `approve_role`).

use insights_testing::{Personas, TestApp, TestResponse};
use insights_types::OrgId;
use insights_types::api::{
    AutomationOut, AutomationRuleOut, AutomationScheduleOut, AutomationSettingsOut,
    AwsConnectionOut, AwsConnectionStatus, AwsTemplatesOut, DryRunOut, EffectivenessReportOut,
    Page, PreviewOut, RunOut, RunStatus, RunSummaryOut,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

fn url(org: OrgId, path: &str) -> String {
    format!("/api/v1/orgs/{org}/{path}")
}

/// The owner's connection (past row-level security), to seed what other features write.
async fn owner_conn(app: &TestApp) -> PgConnection {
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    PgConnection::connect(&url).await.unwrap()
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> TestResponse {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

/// The field paths of a 422.
fn fields(r: &TestResponse) -> Vec<String> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect()
}

fn field_message<'a>(r: &'a TestResponse, field: &str) -> &'a str {
    r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == field)
        .and_then(|f| f["message"].as_str())
        .unwrap_or_else(|| panic!("no error on {field}: {}", r.text))
}

/// Every audit entry of the organization, as text.
async fn audit_text(app: &TestApp, p: &Personas) -> String {
    let r = app
        .get(&url(p.org_id, "audit-log?limit=200"), &p.owner.token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.text
}

async fn create_connection(app: &TestApp, p: &Personas, functions: &[&str]) -> AwsConnectionOut {
    let r = app
        .post(
            &url(p.org_id, "aws-connections"),
            &p.admin.token,
            json!({ "name": "Production", "mode": "role", "region": "eu-west-1",
                    "role_arn": "arn:aws:iam::123456789012:role/incident-insights",
                    "functions": functions }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

fn note(name: &str) -> Value {
    json!({ "name": name, "action": "note", "template": "Automation looked at {{ incident.title }}" })
}

async fn create_automation(app: &TestApp, p: &Personas, body: Value) -> AutomationOut {
    let r = app
        .post(&url(p.org_id, "automations"), &p.admin.token, body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

async fn insert_incident(c: &mut PgConnection, org: OrgId, title: &str, minutes_ago: i64) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO incidents (id, org_id, source, external_id, title, status, urgency, triggered_at,
                                source_updated_at)
         VALUES ($1, $2, 'sample', $1::text, $3, 'triggered', 'high', now() - make_interval(mins => $4::int),
                 now())",
    )
    .bind(id)
    .bind(org.0)
    .bind(title)
    .bind(minutes_ago as i32)
    .execute(&mut *c)
    .await
    .unwrap();
    id
}

/// A run recorded as admission would (for the decisions, the log and effectiveness).
async fn insert_run(
    c: &mut PgConnection,
    org: OrgId,
    automation: &AutomationOut,
    status: &str,
    actor: Option<Uuid>,
    incident: Option<Uuid>,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO automation_runs (id, org_id, automation_id, automation_name, action, trigger, actor_id,
                                      incident_id, status, finished_at, duration_ms)
         VALUES ($1, $2, $3, $4, 'note', 'manual', $5, $6, $7,
                 CASE WHEN $7 IN ('succeeded', 'failed') THEN now() END,
                 CASE WHEN $7 IN ('succeeded', 'failed') THEN 1200 END)",
    )
    .bind(id)
    .bind(org.0)
    .bind(automation.id.0)
    .bind(&automation.name)
    .bind(actor)
    .bind(incident)
    .bind(status)
    .execute(&mut *c)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO automation_run_events (id, org_id, run_id, kind, actor_id) VALUES ($1, $2, $3, 'requested', $4)",
    )
    .bind(Uuid::now_v7())
    .bind(org.0)
    .bind(id)
    .bind(actor)
    .execute(&mut *c)
    .await
    .unwrap();
    id
}

// ---------------------------------------------------------------------------------------------------------
// AWS connections

#[tokio::test]
async fn a_connection_gets_a_generated_external_id_and_its_keys_are_never_shown() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let role = create_connection(&app, &p, &["restart-service"]).await;
    assert!(
        role.external_id.starts_with("insights-"),
        "{}",
        role.external_id
    );
    assert!(role.external_id.len() >= 32);
    assert_eq!(role.status, AwsConnectionStatus::Unverified);
    assert_eq!(role.access_key_hint, None);
    let other = create_connection(&app, &p, &[]).await;
    assert_ne!(role.external_id, other.external_id);

    let r = app
        .post(
            &url(p.org_id, "aws-connections"),
            &p.owner.token,
            json!({ "name": "Self-hosted", "mode": "keys", "region": "us-east-1",
                    "keys": { "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                              "secret_access_key": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY" },
                    "functions": ["arn:aws:lambda:us-east-1:123456789012:function:runner:prod"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let keys: AwsConnectionOut = r.json();
    assert_eq!(keys.access_key_hint.as_deref(), Some("MPLE"));
    assert!(!r.text.contains("wJalrXUtnFEMIK7MDENG"));
    assert!(!r.text.contains("AKIAIOSFODNN7EXAMPLE"));
    let listed = app
        .get(&url(p.org_id, "aws-connections"), &p.viewer.token)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(!listed.text.contains("wJalrXUtnFEMIK7MDENG"));
    assert_eq!(listed.json::<Page<AwsConnectionOut>>().items.len(), 3);
    // Replacing the keys keeps them sealed too, and the connection must be verified again.
    let r = app
        .patch(
            &url(p.org_id, &format!("aws-connections/{}", keys.id)),
            &p.owner.token,
            json!({ "keys": { "access_key_id": "AKIAI44QH8DHBEXAMPLE",
                              "secret_access_key": "je7MtGbClwBF2Zp9Utk2h3yCo8nvbEXAMPLEKEY" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json::<AwsConnectionOut>().access_key_hint.as_deref(),
        Some("MPLE")
    );
    let audit = audit_text(&app, &p).await;
    assert!(audit.contains("aws_connection_created"));
    assert!(audit.contains("aws_connection_updated"));
    for secret in [
        "wJalrXUtnFEMIK7MDENG",
        "je7MtGbClwBF2Zp9Utk2h3yCo8nvb",
        "AKIAI44QH8DHBEXAMPLE",
    ] {
        assert!(!audit.contains(secret), "{secret} in the audit log");
    }
}

#[tokio::test]
async fn connection_validation_names_every_invalid_field() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let r = app
        .post(
            &url(p.org_id, "aws-connections"),
            &p.owner.token,
            json!({ "name": "", "mode": "role", "region": "Europe",
                    "role_arn": "arn:aws:iam::1234:user/bob",
                    "keys": { "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x" },
                    "functions": ["ok-function", "bad function", "ok-function"] }),
        )
        .await;
    let f = fields(&r);
    for expected in [
        "name",
        "region",
        "role_arn",
        "keys",
        "functions[1]",
        "functions[2]",
    ] {
        assert!(
            f.contains(&expected.to_owned()),
            "{expected} missing in {f:?}"
        );
    }
    assert!(!r.text.contains("AKIAIOSFODNN7EXAMPLE"));
    let r = app
        .post(
            &url(p.org_id, "aws-connections"),
            &p.owner.token,
            json!({ "name": "Keys", "mode": "keys", "region": "eu-west-1" }),
        )
        .await;
    assert_eq!(fields(&r), vec!["keys"]);
}

#[tokio::test]
async fn a_connection_in_use_cannot_be_deleted_nor_lose_a_function_an_automation_invokes() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let c = create_connection(&app, &p, &["restart-service", "collect-logs"]).await;
    let a = create_automation(
        &app,
        &p,
        json!({ "name": "Restart", "action": "lambda",
                "settings": { "connection_id": c.id, "function_name": "restart-service" },
                "template": "{\"service\": {{ incident.service.name }}}" }),
    )
    .await;
    assert_eq!(a.connection.as_ref().unwrap().name, "Production");
    let path = url(p.org_id, &format!("aws-connections/{}", c.id));
    let r = app.delete(&path, &p.owner.token).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.error_code(), "connection_in_use");
    assert!(r.text.contains("Restart"));
    let r = app
        .patch(
            &path,
            &p.owner.token,
            json!({ "functions": ["collect-logs"] }),
        )
        .await;
    assert!(field_message(&r, "functions").contains("Restart"));
    // Once the automation is gone, so may the connection be.
    let r = app
        .delete(
            &url(p.org_id, &format!("automations/{}", a.id)),
            &p.owner.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.delete(&path, &p.owner.token).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&path, &p.owner.token).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn asking_for_a_verification_needs_a_role_arn_and_queues_one_job() {
    let app = TestApp::spawn(&[]).await;
    app.allow_pending_jobs();
    let p = app.personas().await;
    let r = app
        .post(
            &url(p.org_id, "aws-connections"),
            &p.owner.token,
            json!({ "name": "Later", "mode": "role", "region": "eu-west-1" }),
        )
        .await;
    let c: AwsConnectionOut = r.json();
    let verify = url(p.org_id, &format!("aws-connections/{}/verify", c.id));
    let r = app.post(&verify, &p.owner.token, json!({})).await;
    assert_eq!(fields(&r), vec!["role_arn"]);
    let r = app
        .patch(
            &url(p.org_id, &format!("aws-connections/{}", c.id)),
            &p.owner.token,
            json!({ "role_arn": "arn:aws:iam::123456789012:role/path/incident-insights" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.post(&verify, &p.owner.token, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        r.json::<AwsConnectionOut>().status,
        AwsConnectionStatus::Verifying
    );
    // Asking again while one is queued does not queue a second.
    let r = app.post(&verify, &p.owner.token, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let jobs = app.jobs(&p.owner.token, p.org_id).await;
    let verifications = jobs
        .iter()
        .filter(|j| j.kind == "verify_aws_connection")
        .count();
    assert_eq!(verifications, 1, "{jobs:?}");
    // A verification whose job gave up (every retry failed on our side) is shown failed, with what to do —
    // never `verifying` for ever.
    let mut c2 = owner_conn(&app).await;
    sqlx::query(
        "UPDATE job_runs SET state = 'failed', last_error = 'database unavailable', updated_at = now()
          WHERE kind = 'verify_aws_connection' AND subject_id = $1",
    )
    .bind(c.id.0)
    .execute(&mut c2)
    .await
    .unwrap();
    let r = app
        .get(
            &url(p.org_id, &format!("aws-connections/{}", c.id)),
            &p.member.token,
        )
        .await;
    let shown: AwsConnectionOut = r.json();
    assert_eq!(shown.status, AwsConnectionStatus::Failed, "{}", r.text);
    assert_eq!(shown.checks.len(), 1);
    assert!(!shown.checks[0].ok);
    assert!(
        shown.checks[0].message.contains("Verify again"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("database unavailable"), "{}", r.text);
    // Asking again starts over.
    let r = app.post(&verify, &p.owner.token, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        r.json::<AwsConnectionOut>().status,
        AwsConnectionStatus::Verifying
    );
}

#[tokio::test]
async fn the_templates_trust_the_configured_principal_with_the_external_id() {
    let app = TestApp::spawn(&[(
        "INSIGHTS_AWS_PRINCIPAL_ARN",
        "arn:aws:iam::999988887777:role/insights-product",
    )])
    .await;
    let p = app.personas().await;
    let c = create_connection(&app, &p, &["restart-service"]).await;
    let r = app
        .get(
            &url(p.org_id, &format!("aws-connections/{}/templates", c.id)),
            &p.member.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let t: AwsTemplatesOut = r.json();
    assert_eq!(
        t.principal,
        "arn:aws:iam::999988887777:role/insights-product"
    );
    assert_eq!(t.external_id, c.external_id);
    for text in [&t.cloudformation, &t.terraform] {
        assert!(text.contains(&c.external_id));
        assert!(text.contains("arn:aws:iam::999988887777:role/insights-product"));
        assert!(text.contains("restart-service"));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Automations

#[tokio::test]
async fn a_template_that_does_not_compile_is_a_422_naming_its_line() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let r = app
        .post(
            &url(p.org_id, "automations"),
            &p.owner.token,
            json!({ "name": "Broken", "action": "note",
                    "template": "Line one\n{% if incident.title %}\nno end" }),
        )
        .await;
    assert_eq!(fields(&r), vec!["template"]);
    assert!(field_message(&r, "template").contains("line"), "{}", r.text);
    let r = app
        .post(
            &url(p.org_id, "automations"),
            &p.owner.token,
            json!({ "name": "Everything wrong", "action": "email", "template": "",
                    "settings": { "recipients": ["not an address"], "function_name": "f" },
                    "timeout_secs": 0, "max_attempts": 11, "run_role": "viewer",
                    "limits": { "max_runs_per_hour": 0, "breaker_threshold": 0 } }),
        )
        .await;
    let f = fields(&r);
    for expected in [
        "template",
        "settings.recipients[0]",
        "settings.function_name",
        "timeout_secs",
        "max_attempts",
        "run_role",
        "limits.max_runs_per_hour",
        "limits.breaker_threshold",
    ] {
        assert!(
            f.contains(&expected.to_owned()),
            "{expected} missing in {f:?}"
        );
    }
}

#[tokio::test]
async fn a_lambda_automation_invokes_only_a_function_on_the_allow_list() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let c = create_connection(&app, &p, &["restart-service"]).await;
    let r = app
        .post(
            &url(p.org_id, "automations"),
            &p.owner.token,
            json!({ "name": "Drop tables", "action": "lambda",
                    "settings": { "connection_id": c.id, "function_name": "drop-tables" },
                    "template": "{}" }),
        )
        .await;
    assert!(field_message(&r, "settings.function_name").contains("allow-list"));
    let r = app
        .post(
            &url(p.org_id, "automations"),
            &p.owner.token,
            json!({ "name": "No connection", "action": "lambda",
                    "settings": { "connection_id": Uuid::nil(), "function_name": "restart-service" },
                    "template": "{}" }),
        )
        .await;
    assert_eq!(fields(&r), vec!["settings.connection_id"]);
    // A payload template must render to JSON.
    let r = app
        .post(
            &url(p.org_id, "automations"),
            &p.owner.token,
            json!({ "name": "Restart", "action": "lambda",
                    "settings": { "connection_id": c.id, "function_name": "restart-service", "invocation": "async" },
                    "template": "{\"title\": {{ incident.title }}, \"service\": \"web\"}", "remote_command": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let a: AutomationOut = r.json();
    assert_eq!(a.function_name.as_deref(), Some("restart-service"));
    assert_eq!(a.version, 1);
    assert!(a.may_run && a.may_approve);
}

#[tokio::test]
async fn outbound_urls_to_private_addresses_are_refused() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    for target in [
        "http://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://127.0.0.1:8080/",
        "https://[::1]/",
        "https://user:hunter2secret@hooks.example.com/",
        "file:///etc/passwd",
    ] {
        let r = app
            .post(
                &url(p.org_id, "automations"),
                &p.owner.token,
                json!({ "name": "Hook", "action": "webhook", "template": "{}",
                        "settings": { "webhook_url": target } }),
            )
            .await;
        assert_eq!(fields(&r), vec!["settings.webhook_url"], "{target}");
        assert!(!r.text.contains("hunter2secret"), "{}", r.text);
    }
    let r = app
        .post(
            &url(p.org_id, "automations"),
            &p.owner.token,
            json!({ "name": "Slack", "action": "slack", "template": "Hi",
                    "settings": { "slack_url": "http://hooks.slack.com/services/T0/B0/x" } }),
        )
        .await;
    assert_eq!(fields(&r), vec!["settings.slack_url"]);
}

#[tokio::test]
async fn webhook_secrets_are_write_only_and_a_generated_signing_secret_is_shown_once() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let token = "hook-token-7f3a9c";
    let body = json!({ "name": "Hook", "action": "webhook",
                       "template": "{\"incident\": {{ incident.title }}}",
                       "settings": { "webhook_url": format!("https://hooks.example.com/in?token={token}") } });
    let r = app
        .post(&url(p.org_id, "automations"), &p.admin.token, body.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.text.contains(token));
    let a: AutomationOut = r.json();
    let secret = a.new_signing_secret.clone().expect("a generated secret");
    assert!(secret.starts_with("whsec_"));
    assert!(a.has_webhook_url && a.has_signing_secret && !a.has_slack_url);
    assert_eq!(a.webhook_host.as_deref(), Some("hooks.example.com"));
    let path = url(p.org_id, &format!("automations/{}", a.id));
    let got = app.get(&path, &p.viewer.token).await;
    assert!(!got.text.contains(&secret) && !got.text.contains(token));
    assert!(got.body.get("new_signing_secret").is_none());
    // Replaced without the secrets: both are kept, and no new secret is generated.
    let mut keep = body.clone();
    keep["settings"] = json!({});
    keep["description"] = json!("Tells the on-call bridge");
    let r = put(&app, &p.admin.token, &path, keep).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let b: AutomationOut = r.json();
    assert!(b.has_webhook_url && b.has_signing_secret);
    assert_eq!(b.new_signing_secret, None);
    assert_eq!(b.webhook_host.as_deref(), Some("hooks.example.com"));
    assert_eq!(b.version, 2);
    // The stored secrets open to what was given.
    let row = insights_core::automations::definitions::get(
        &mut app.state.db.org_tx(p.org_id, None).await.unwrap(),
        a.id,
        false,
    )
    .await
    .unwrap();
    let opened =
        insights_core::automations::definitions::open_secrets(&app.state.secrets, &row).unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(opened.signing_secret.unwrap().expose_secret(), secret);
    assert!(opened.webhook_url.unwrap().expose_secret().contains(token));
    let audit = audit_text(&app, &p).await;
    assert!(audit.contains("automation_created") && audit.contains("automation_updated"));
    assert!(!audit.contains(token) && !audit.contains(&secret));
}

#[tokio::test]
async fn replacing_an_automation_from_an_old_version_is_a_conflict() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let a = create_automation(&app, &p, note("Note")).await;
    let path = url(p.org_id, &format!("automations/{}", a.id));
    let mut body = note("Note");
    body["base_version"] = json!(1);
    assert_eq!(
        put(&app, &p.admin.token, &path, body.clone()).await.status,
        StatusCode::OK
    );
    let r = put(&app, &p.owner.token, &path, body).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "version_conflict");
    // A second automation may not take the first one's name.
    let r = app
        .post(&url(p.org_id, "automations"), &p.owner.token, note("Note"))
        .await;
    assert_eq!(fields(&r), vec!["name"]);
}

#[tokio::test]
async fn the_preview_shows_the_exact_payload_with_titles_json_escaped() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let c = create_connection(&app, &p, &["restart-service"]).await;
    let a = create_automation(
        &app,
        &p,
        json!({ "name": "Restart", "action": "lambda",
                "settings": { "connection_id": c.id, "function_name": "restart-service" },
                "template": "{\"title\": {{ incident.title }}, \"who\": {{ params.who }}}" }),
    )
    .await;
    let mut conn = owner_conn(&app).await;
    let title = "Disk full\", \"admin\": true, \"x\": \"{{ 7*7 }}";
    let incident = insert_incident(&mut conn, p.org_id, title, 5).await;
    let r = app
        .post(
            &url(p.org_id, &format!("automations/{}/preview", a.id)),
            &p.viewer.token,
            json!({ "incident_id": incident, "params": { "who": "on-call" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out: PreviewOut = r.json();
    let rendered = out.rendered.expect("rendered");
    let payload: Value = serde_json::from_str(&rendered).expect("the payload is JSON");
    assert_eq!(payload["title"], title);
    assert_eq!(payload["who"], "on-call");
    assert!(payload.get("admin").is_none());
    assert_eq!(out.payload_hash.unwrap().len(), 64);
    assert_eq!(out.context["incident"]["title"], title);
    // An unsaved template that does not compile answers its error, not a 422.
    let r = app
        .post(
            &url(p.org_id, &format!("automations/{}/preview", a.id)),
            &p.viewer.token,
            json!({ "incident_id": incident, "template": "{\n{{ incident.title " }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out: PreviewOut = r.json();
    assert!(out.rendered.is_none());
    assert!(out.error.is_some());
    // Another organization's incident does not exist here.
    let r = app
        .post(
            &url(p.org_id, &format!("automations/{}/preview", a.id)),
            &p.viewer.token,
            json!({ "incident_id": Uuid::now_v7() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
}

// ---------------------------------------------------------------------------------------------------------
// Rules, dry run, schedules

#[tokio::test]
async fn rules_are_validated_and_list_their_automation() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let a = create_automation(&app, &p, note("Note")).await;
    let r = app
        .post(
            &url(p.org_id, "automation-rules"),
            &p.admin.token,
            json!({ "name": "Bad", "automation_id": a.id,
                    "conditions": { "title_regex": "(unclosed", "service_ids": [Uuid::nil()] },
                    "params": [1], "max_runs_per_hour": 0 }),
        )
        .await;
    let f = fields(&r);
    for expected in ["conditions.title_regex", "params", "max_runs_per_hour"] {
        assert!(
            f.contains(&expected.to_owned()),
            "{expected} missing in {f:?}"
        );
    }
    let r = app
        .post(
            &url(p.org_id, "automation-rules"),
            &p.admin.token,
            json!({ "name": "Disk", "automation_id": a.id,
                    "conditions": { "transitions": ["triggered", "reopened"], "title_regex": "disk" },
                    "params": { "size": 10 } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let rule: AutomationRuleOut = r.json();
    assert_eq!(rule.automation.name, "Note");
    assert_eq!(rule.max_runs_per_hour, 10);
    let listed: Page<AutomationRuleOut> = app
        .get(&url(p.org_id, "automation-rules"), &p.viewer.token)
        .await
        .json();
    assert_eq!(listed.items, vec![rule.clone()]);
    let mut changed =
        json!({ "name": "Disk (off)", "automation_id": a.id, "conditions": {}, "enabled": false });
    let r = put(
        &app,
        &p.owner.token,
        &url(p.org_id, &format!("automation-rules/{}", rule.id)),
        changed.take(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.json::<AutomationRuleOut>().enabled);
}

#[tokio::test]
async fn a_dry_run_says_what_would_have_run_on_the_last_incidents_under_the_rules_cap() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let a = create_automation(
        &app,
        &p,
        json!({ "name": "Disk note", "action": "note", "template": "Disk alert: {{ incident.title }} ({{ params.team }})" }),
    )
    .await;
    let mut conn = owner_conn(&app).await;
    // Oldest first: three disk alerts within the hour, one other, one disk alert two hours later.
    insert_incident(&mut conn, p.org_id, "Disk full on db-1", 200).await;
    insert_incident(&mut conn, p.org_id, "Disk full on db-2", 190).await;
    insert_incident(&mut conn, p.org_id, "CPU high on web-1", 185).await;
    insert_incident(&mut conn, p.org_id, "disk latency on db-3", 180).await;
    insert_incident(&mut conn, p.org_id, "Disk full on db-1 again", 30).await;
    let r = app
        .post(
            &url(p.org_id, "automation-rules/dry-run"),
            &p.admin.token,
            json!({ "rule": { "name": "Disk", "automation_id": a.id,
                              "conditions": { "title_regex": "^disk" }, "params": { "team": "storage" },
                              "max_runs_per_hour": 2 },
                    "last": 10 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out: DryRunOut = r.json();
    assert_eq!(out.examined, 5);
    assert_eq!(out.matched, 4);
    // The cap lets two of the three within the hour through, then the one two hours later.
    assert_eq!(out.would_run, 3);
    let titles: Vec<(&str, bool, &str)> = out
        .incidents
        .iter()
        .map(|i| (i.incident.name.as_str(), i.matched, i.outcome.as_str()))
        .collect();
    assert_eq!(titles[0], ("Disk full on db-1 again", true, "run"));
    assert_eq!(titles[2], ("CPU high on web-1", false, "no_match"));
    assert_eq!(titles[4], ("Disk full on db-1", true, "run"));
    assert_eq!(titles[3], ("Disk full on db-2", true, "run"));
    assert!(titles[1].1 && titles[1].2 != "run", "{titles:?}");
    assert_eq!(
        out.incidents[0].rendered.as_deref(),
        Some("Disk alert: Disk full on db-1 again (storage)")
    );
    assert!(out.incidents[2].rendered.is_none());
    assert!(!out.incidents[2].why.is_empty());
    // `last` bounds what is examined.
    let r = app
        .post(
            &url(p.org_id, "automation-rules/dry-run"),
            &p.admin.token,
            json!({ "rule": { "name": "Disk", "automation_id": a.id, "conditions": {} }, "last": 2 }),
        )
        .await;
    assert_eq!(r.json::<DryRunOut>().examined, 2);
    let r = app
        .post(
            &url(p.org_id, "automation-rules/dry-run"),
            &p.admin.token,
            json!({ "rule": { "name": "Disk", "automation_id": a.id, "conditions": {} }, "last": 0 }),
        )
        .await;
    assert_eq!(fields(&r), vec!["last"]);
}

#[tokio::test]
async fn schedules_parse_cron_in_a_time_zone_and_list_their_next_runs() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let a = create_automation(&app, &p, note("Note")).await;
    let r = app
        .post(
            &url(p.org_id, "automation-schedules"),
            &p.admin.token,
            json!({ "name": "Bad", "automation_id": a.id, "cron": "61 * * * *", "time_zone": "Mars/Olympus" }),
        )
        .await;
    let f = fields(&r);
    assert!(
        f.contains(&"cron".to_owned()) || f.contains(&"time_zone".to_owned()),
        "{f:?}"
    );
    let r = app
        .post(
            &url(p.org_id, "automation-schedules"),
            &p.admin.token,
            json!({ "name": "Bad zone", "automation_id": a.id, "cron": "0 3 * * *", "time_zone": "Mars/Olympus" }),
        )
        .await;
    assert_eq!(fields(&r), vec!["time_zone"]);
    let r = app
        .post(
            &url(p.org_id, "automation-schedules"),
            &p.admin.token,
            json!({ "name": "Nightly", "automation_id": a.id, "cron": "30 3 * * *",
                    "time_zone": "Europe/Berlin", "params": { "scope": "all" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let s: AutomationScheduleOut = r.json();
    assert_eq!(s.next_runs.len(), 5);
    assert!(s.next_runs.windows(2).all(|w| w[0] < w[1]));
    use chrono::Timelike;
    for at in &s.next_runs {
        let local = at.with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(
            (
                local.hour(),
                local.minute(),
                local.second(),
                local.nanosecond()
            ),
            (3, 30, 0, 0),
            "{at}"
        );
    }
    let mut conn = owner_conn(&app).await;
    let next: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT next_run_at FROM automation_schedules WHERE id = $1")
            .bind(s.id.0)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(next, Some(s.next_runs[0]));
    // Disabled: no next runs.
    let r = put(
        &app,
        &p.admin.token,
        &url(p.org_id, &format!("automation-schedules/{}", s.id)),
        json!({ "name": "Nightly", "automation_id": a.id, "cron": "30 3 * * *", "enabled": false }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json::<AutomationScheduleOut>().next_runs.is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Runs, approvals, kill switch

#[tokio::test]
async fn an_approval_needs_the_approve_role_and_someone_other_than_the_requester() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let mut body = note("Needs approval");
    body["needs_approval"] = json!(true);
    body["approve_role"] = json!("admin");
    let a = create_automation(&app, &p, body).await;
    let mut conn = owner_conn(&app).await;
    let by_admin = insert_run(
        &mut conn,
        p.org_id,
        &a,
        "pending_approval",
        Some(p.admin.user_id.0),
        None,
    )
    .await;
    let by_member = insert_run(
        &mut conn,
        p.org_id,
        &a,
        "pending_approval",
        Some(p.member.user_id.0),
        None,
    )
    .await;

    // The inbox: what each may decide.
    let inbox = |token: String| {
        let app = &app;
        async move {
            let r = app
                .get(&url(p.org_id, "automation-approvals"), &token)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let mut ids: Vec<Uuid> = r
                .json::<Page<RunSummaryOut>>()
                .items
                .iter()
                .map(|i| i.id.0)
                .collect();
            ids.sort();
            ids
        }
    };
    let mut both = vec![by_admin, by_member];
    both.sort();
    assert_eq!(inbox(p.owner.token.clone()).await, both);
    assert_eq!(inbox(p.admin.token.clone()).await, vec![by_member]);
    assert!(inbox(p.member.token.clone()).await.is_empty());
    let settings: AutomationSettingsOut = app
        .get(&url(p.org_id, "automation-settings"), &p.admin.token)
        .await
        .json();
    assert_eq!(settings.pending_approvals, 1);

    let approve = |run: Uuid| url(p.org_id, &format!("automation-runs/{run}/approve"));
    let reject = |run: Uuid| url(p.org_id, &format!("automation-runs/{run}/reject"));
    // The requester may not approve their own run; a member is below the approve role.
    let r = app
        .post(&approve(by_admin), &p.admin.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "approval_not_allowed");
    let r = app
        .post(&approve(by_admin), &p.member.token, json!({}))
        .await;
    assert_eq!(r.error_code(), "approval_not_allowed");
    let detail: RunOut = app
        .get(
            &url(p.org_id, &format!("automation-runs/{by_admin}")),
            &p.admin.token,
        )
        .await
        .json();
    assert!(!detail.may_decide && detail.may_cancel);
    let detail: RunOut = app
        .get(
            &url(p.org_id, &format!("automation-runs/{by_admin}")),
            &p.owner.token,
        )
        .await
        .json();
    assert!(detail.may_decide);

    // The owner rejects with a comment: recorded in the run's history and the audit log.
    let r = app
        .post(
            &reject(by_admin),
            &p.owner.token,
            json!({ "comment": "Not during the freeze" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let run: RunOut = r.json();
    assert_eq!(run.summary.status, RunStatus::Rejected);
    assert!(
        run.summary
            .reason
            .unwrap()
            .contains("Not during the freeze")
    );
    let kinds: Vec<&str> = run.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["requested", "rejected"]);
    assert_eq!(run.events[1].actor.as_ref().unwrap().id, p.owner.user_id.0);
    // Decided once: a second decision is a conflict.
    let r = app
        .post(&approve(by_admin), &p.owner.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "not_pending");
    assert!(
        audit_text(&app, &p)
            .await
            .contains("automation_run_rejected")
    );
}

#[tokio::test]
async fn approving_while_the_kill_switch_is_on_keeps_the_run_waiting() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let mut body = note("Needs approval");
    body["needs_approval"] = json!(true);
    let a = create_automation(&app, &p, body).await;
    let mut conn = owner_conn(&app).await;
    let run = insert_run(
        &mut conn,
        p.org_id,
        &a,
        "pending_approval",
        Some(p.member.user_id.0),
        None,
    )
    .await;
    let r = put(
        &app,
        &p.admin.token,
        &url(p.org_id, "automation-settings"),
        json!({ "killed": true, "reason": "Incident storm" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let s: AutomationSettingsOut = r.json();
    assert!(s.killed);
    assert_eq!(s.reason, "Incident storm");
    assert_eq!(s.killed_by.unwrap().id, p.admin.user_id.0);
    let seen: AutomationSettingsOut = app
        .get(&url(p.org_id, "automation-settings"), &p.viewer.token)
        .await
        .json();
    assert!(seen.killed);
    let r = app
        .post(
            &url(p.org_id, &format!("automation-runs/{run}/approve")),
            &p.owner.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.error_code(), "kill_switch_on");
    let detail: RunOut = app
        .get(
            &url(p.org_id, &format!("automation-runs/{run}")),
            &p.owner.token,
        )
        .await
        .json();
    assert_eq!(detail.summary.status, RunStatus::PendingApproval);
    let r = put(
        &app,
        &p.owner.token,
        &url(p.org_id, "automation-settings"),
        json!({ "killed": false }),
    )
    .await;
    let s: AutomationSettingsOut = r.json();
    assert!(!s.killed && s.killed_by.is_none());
    let audit = audit_text(&app, &p).await;
    assert!(
        audit.contains("automations_kill_switch_on")
            && audit.contains("automations_kill_switch_off")
    );
}

#[tokio::test]
async fn a_waiting_run_is_cancelled_by_its_requester_or_an_admin_only() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let a = create_automation(&app, &p, note("Note")).await;
    let mut conn = owner_conn(&app).await;
    let mine = insert_run(
        &mut conn,
        p.org_id,
        &a,
        "queued",
        Some(p.member.user_id.0),
        None,
    )
    .await;
    let theirs = insert_run(
        &mut conn,
        p.org_id,
        &a,
        "pending_approval",
        Some(p.admin.user_id.0),
        None,
    )
    .await;
    let done = insert_run(
        &mut conn,
        p.org_id,
        &a,
        "succeeded",
        Some(p.member.user_id.0),
        None,
    )
    .await;
    let cancel = |run: Uuid| url(p.org_id, &format!("automation-runs/{run}/cancel"));
    let r = app.post(&cancel(theirs), &p.member.token, json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "cancel_not_allowed");
    let r = app.post(&cancel(mine), &p.member.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json::<RunOut>().summary.status, RunStatus::Cancelled);
    let r = app.post(&cancel(theirs), &p.owner.token, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.post(&cancel(done), &p.member.token, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "not_waiting");
}

#[tokio::test]
async fn the_run_log_filters_by_status_automation_and_incident_in_pages() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let a = create_automation(&app, &p, note("First")).await;
    let b = create_automation(&app, &p, note("Second")).await;
    let mut conn = owner_conn(&app).await;
    let incident = insert_incident(&mut conn, p.org_id, "Disk full", 10).await;
    let mut runs = Vec::new();
    for (auto, status, inc) in [
        (&a, "succeeded", Some(incident)),
        (&a, "failed", None),
        (&b, "refused", Some(incident)),
        (&b, "succeeded", None),
        (&a, "succeeded", None),
    ] {
        runs.push(
            insert_run(
                &mut conn,
                p.org_id,
                auto,
                status,
                Some(p.member.user_id.0),
                inc,
            )
            .await,
        );
    }
    let viewer = p.viewer.token.clone();
    let list = |query: String| {
        let (app, token) = (&app, viewer.clone());
        async move {
            let r = app
                .get(&url(p.org_id, &format!("automation-runs?{query}")), &token)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.json::<Page<RunSummaryOut>>()
        }
    };
    let all = list(String::new()).await;
    let ids: Vec<Uuid> = all.items.iter().map(|r| r.id.0).collect();
    let mut newest_first = runs.clone();
    newest_first.reverse();
    assert_eq!(ids, newest_first);
    assert_eq!(list("status=succeeded".into()).await.items.len(), 3);
    assert_eq!(list(format!("automation={}", b.id)).await.items.len(), 2);
    let on_incident = list(format!("incident={incident}")).await;
    assert_eq!(on_incident.items.len(), 2);
    assert_eq!(
        on_incident.items[0].incident.as_ref().unwrap().name,
        "Disk full"
    );
    // Pages: two, two, one.
    let first = list("limit=2".into()).await;
    assert_eq!(first.items.len(), 2);
    let second = list(format!("limit=2&cursor={}", first.next_cursor.unwrap())).await;
    let third = list(format!("limit=2&cursor={}", second.next_cursor.unwrap())).await;
    assert_eq!(third.items.len(), 1);
    assert!(third.next_cursor.is_none());
    assert_eq!(third.items[0].id.0, runs[0]);
    let r = app
        .get(
            &url(p.org_id, "automation-runs?status=exploded"),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Each automation's last run.
    let listed: Page<AutomationOut> = app
        .get(&url(p.org_id, "automations"), &p.viewer.token)
        .await
        .json();
    let first = listed.items.iter().find(|x| x.id == a.id).unwrap();
    assert_eq!(first.last_run.as_ref().unwrap().id.0, runs[4]);
    assert!(!first.may_run && !first.may_approve);
}

#[tokio::test]
async fn effectiveness_counts_outcomes_and_resolutions_after_runs() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let a = create_automation(&app, &p, note("Restart")).await;
    let mut conn = owner_conn(&app).await;
    let fixed = insert_incident(&mut conn, p.org_id, "Disk full", 30).await;
    let still_open = insert_incident(&mut conn, p.org_id, "CPU high", 30).await;
    insert_run(&mut conn, p.org_id, &a, "succeeded", None, Some(fixed)).await;
    insert_run(&mut conn, p.org_id, &a, "succeeded", None, Some(still_open)).await;
    insert_run(&mut conn, p.org_id, &a, "failed", None, None).await;
    insert_run(&mut conn, p.org_id, &a, "refused", None, None).await;
    sqlx::query("UPDATE incidents SET status = 'resolved', resolved_at = now() + interval '10 minutes' WHERE id = $1")
        .bind(fixed)
        .execute(&mut conn)
        .await
        .unwrap();
    let r = app
        .get(
            &url(
                p.org_id,
                "automations/effectiveness?days=7&resolved_within_minutes=30",
            ),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let report: EffectivenessReportOut = r.json();
    assert_eq!(report.resolved_within_minutes, 30);
    let e = &report.automations[0];
    assert_eq!((e.runs, e.succeeded, e.failed, e.refused), (4, 2, 1, 1));
    assert!((e.success_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!((e.incidents, e.resolved_within), (2, 1));
    assert_eq!(e.median_duration_ms, Some(1200));
    // Resolved 10 minutes after: outside a 5-minute window.
    let r = app
        .get(
            &url(
                p.org_id,
                "automations/effectiveness?resolved_within_minutes=5",
            ),
            &p.viewer.token,
        )
        .await;
    assert_eq!(
        r.json::<EffectivenessReportOut>().automations[0].resolved_within,
        0
    );
    let r = app
        .get(
            &url(p.org_id, "automations/effectiveness?days=0"),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_manual_run_needs_the_automations_run_role() {
    let app = TestApp::spawn(&[]).await;
    app.allow_pending_jobs();
    let p = app.personas().await;
    let mut body = note("Admins only");
    body["run_role"] = json!("admin");
    let a = create_automation(&app, &p, body).await;
    let runs = url(p.org_id, &format!("automations/{}/runs", a.id));
    for who in [&p.member, &p.viewer] {
        let r = app.post(&runs, &who.token, json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        assert_eq!(r.error_code(), "run_not_allowed");
    }
    let got: AutomationOut = app
        .get(
            &url(p.org_id, &format!("automations/{}", a.id)),
            &p.member.token,
        )
        .await
        .json();
    assert!(!got.may_run);
    // Nothing was recorded for the refused callers.
    let log: Page<RunSummaryOut> = app
        .get(&url(p.org_id, "automation-runs"), &p.owner.token)
        .await
        .json();
    assert!(log.items.is_empty());
}

#[tokio::test]
async fn the_kill_switch_refuses_manual_runs_and_records_each_refusal() {
    let app = TestApp::spawn(&[]).await;
    app.allow_pending_jobs();
    let p = app.personas().await;
    let a = create_automation(
        &app,
        &p,
        json!({ "name": "Check in", "action": "note", "template": "Checking in", "needs_approval": true }),
    )
    .await;
    let runs = url(p.org_id, &format!("automations/{}/runs", a.id));
    let r = put(
        &app,
        &p.admin.token,
        &url(p.org_id, "automation-settings"),
        json!({ "killed": true, "reason": "Incident storm" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.post(&runs, &p.member.token, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let refused: RunOut = r.json();
    assert_eq!(refused.summary.status, RunStatus::Refused);
    assert!(
        refused
            .summary
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("kill switch"),
        "{refused:?}"
    );
    let kinds: Vec<&str> = refused.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"refused"), "{kinds:?}");
    let log: Page<RunSummaryOut> = app
        .get(
            &url(p.org_id, "automation-runs?status=refused"),
            &p.viewer.token,
        )
        .await
        .json();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].actor.as_ref().unwrap().id, p.member.user_id.0);

    // Off again: the run waits for an approver, who queues it.
    put(
        &app,
        &p.admin.token,
        &url(p.org_id, "automation-settings"),
        json!({ "killed": false }),
    )
    .await;
    let r = app.post(&runs, &p.member.token, json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let waiting: RunOut = r.json();
    assert_eq!(waiting.summary.status, RunStatus::PendingApproval);
    let r = app
        .post(
            &url(
                p.org_id,
                &format!("automation-runs/{}/approve", waiting.summary.id),
            ),
            &p.admin.token,
            json!({ "comment": "Go" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let approved: RunOut = r.json();
    assert_eq!(approved.summary.status, RunStatus::Queued);
    let kinds: Vec<&str> = approved.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"approved") && kinds.contains(&"queued"),
        "{kinds:?}"
    );
    assert!(
        audit_text(&app, &p)
            .await
            .contains("automation_run_requested")
    );
}

#[tokio::test]
async fn rotating_the_secret_key_reseals_connection_keys_and_automation_secrets() {
    use insights_core::crypto::SecretBox;
    use secrecy::ExposeSecret;
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let r = app
        .post(
            &url(p.org_id, "aws-connections"),
            &p.owner.token,
            json!({ "name": "Keys", "mode": "keys", "region": "eu-west-1",
                    "keys": { "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                              "secret_access_key": "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY" } }),
        )
        .await;
    let c: AwsConnectionOut = r.json();
    let a = create_automation(
        &app,
        &p,
        json!({ "name": "Hook", "action": "webhook", "template": "{}",
                "settings": { "webhook_url": "https://hooks.example.com/in?token=rotate-me" } }),
    )
    .await;
    let old_key = app.config.general.secret_keys.expose_secret()[0];
    let new_key: [u8; 32] = rand::random();
    let done = insights_core::secrets::rotate(
        &app.state.db,
        &SecretBox::with_previous(&new_key, &[old_key]),
    )
    .await
    .unwrap();
    assert_eq!(done.resealed, 2, "{done:?}");
    let new_only = SecretBox::new(&new_key);
    let mut db = app.state.db.org_tx(p.org_id, None).await.unwrap();
    let conn = insights_core::automations::connections::get(&mut db, c.id, false)
        .await
        .unwrap();
    let keys = insights_core::automations::connections::open_keys(
        &new_only,
        c.id,
        conn.credentials.as_ref().unwrap(),
    )
    .unwrap();
    assert_eq!(
        keys.secret_access_key.expose_secret(),
        "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
    );
    let row = insights_core::automations::definitions::get(&mut db, a.id, false)
        .await
        .unwrap();
    let opened = insights_core::automations::definitions::open_secrets(&new_only, &row).unwrap();
    assert!(
        opened
            .webhook_url
            .unwrap()
            .expose_secret()
            .ends_with("rotate-me")
    );
    assert!(
        insights_core::automations::definitions::open_secrets(&SecretBox::new(&old_key), &row)
            .is_err()
    );
}

#[tokio::test]
async fn the_approvers_of_a_waiting_run_are_emailed_a_link_to_it_but_not_who_asked() {
    let sink = insights_testing::smtp::SmtpSink::start(0).await;
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let app = TestApp::spawn(&[
        ("INSIGHTS_SMTP_URL", smtp.as_str()),
        ("INSIGHTS_SMTP_FROM", "insights@example.com"),
    ])
    .await
    .with_worker()
    .await;
    let p = app.personas().await;
    let a = create_automation(
        &app,
        &p,
        json!({ "name": "Failover db", "action": "note", "template": "Failing over",
                "needs_approval": true, "approve_role": "admin" }),
    )
    .await;
    // An admin asks: the owner (an approver by role) is told; the admin who asked is not; members and
    // viewers may not approve.
    let r = app
        .post(
            &url(p.org_id, &format!("automations/{}/runs", a.id)),
            &p.admin.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let run: RunOut = r.json();
    assert_eq!(run.summary.status, RunStatus::PendingApproval);
    let mails = approval_mails(&sink, 1).await;
    assert_eq!(mails[0].rcpt, vec![format!("<{}>", p.owner.email)]);
    assert!(
        mails[0].data.contains("Approval needed: Failover db"),
        "{}",
        mails[0].data
    );
    let text = mails[0].text();
    assert!(
        text.contains(&format!(
            "/orgs/{}/automations/runs/{}",
            p.org_id, run.summary.id
        )),
        "a link to the run: {text}"
    );
    // A member asks: the owner and the admin are told.
    let r = app
        .post(
            &url(p.org_id, &format!("automations/{}/runs", a.id)),
            &p.member.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let mails = approval_mails(&sink, 3).await;
    let mut told: Vec<String> = mails[1..].iter().flat_map(|m| m.rcpt.clone()).collect();
    told.sort();
    let mut expected = vec![
        format!("<{}>", p.owner.email),
        format!("<{}>", p.admin.email),
    ];
    expected.sort();
    assert_eq!(told, expected);
    // Every approval notice went out (the jobs end succeeded).
    for job in app.wait_for_jobs(&p.owner.token, p.org_id).await {
        assert_eq!(
            job.state,
            insights_types::api::JobState::Succeeded,
            "{job:?}"
        );
    }
}

/// The approval emails sent so far, once there are `n` (the personas' invitations are in the sink too).
async fn approval_mails(
    sink: &insights_testing::smtp::SmtpSink,
    n: usize,
) -> Vec<insights_testing::smtp::Mail> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mails: Vec<_> = sink
            .messages()
            .await
            .into_iter()
            .filter(|m| m.data.contains("Subject: Approval needed"))
            .collect();
        if mails.len() >= n {
            assert_eq!(mails.len(), n, "{mails:?}");
            return mails;
        }
        assert!(std::time::Instant::now() < deadline, "{mails:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_remote_command_automation_without_a_template_sends_the_runners_contract() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let c = create_connection(&app, &p, &["insights-runner"]).await;
    let r = app
        .post(
            &url(p.org_id, "automations"),
            &p.owner.token,
            json!({ "name": "Run on machines", "action": "lambda",
                    "settings": { "connection_id": c.id, "function_name": "insights-runner" },
                    "remote_command": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let a: AutomationOut = r.json();
    assert_eq!(
        a.template,
        insights_automation::template::REMOTE_COMMAND_TEMPLATE
    );
    // Without remote commands an empty payload template is still refused.
    let r = app
        .post(
            &url(p.org_id, "automations"),
            &p.owner.token,
            json!({ "name": "Plain", "action": "lambda",
                    "settings": { "connection_id": c.id, "function_name": "insights-runner" } }),
        )
        .await;
    assert_eq!(fields(&r), vec!["template"]);
    // A runbook step's command, with targets: exactly the runner's payload.
    let r = app
        .post(
            &url(p.org_id, "runbooks"),
            &p.member.token,
            json!({ "title": "Database restart", "steps": [
                { "title": "Restart", "command": { "language": "shell", "text": "systemctl restart \"postgresql\"" },
                  "risk": "changes_state" } ] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let runbook: Value = r.json();
    let r = app
        .post(
            &url(p.org_id, &format!("automations/{}/preview", a.id)),
            &p.member.token,
            json!({ "runbook_id": runbook["id"], "step_index": 0,
                    "targets": { "tag:role": ["db"] } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let preview: PreviewOut = r.json();
    let payload: Value = serde_json::from_str(preview.rendered.as_deref().unwrap()).unwrap();
    assert_eq!(payload["command"], "systemctl restart \"postgresql\"");
    assert_eq!(payload["language"], "shell");
    assert_eq!(payload["targets"], json!({ "tag:role": ["db"] }));
    assert_eq!(payload["timeout_secs"], 30);
    assert!(payload["run_id"].is_string(), "{payload}");
}
