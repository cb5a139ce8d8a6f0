//! The runbooks API: the library (write, read, list and filter, versions, diff, restore, delete, import),
//! validation, the version conflict, links to the organization's services and patterns, search through a
//! worker (and 503 without one), drafts (what a request needs, privacy, the budget, saving one), the
//! generation settings, and that every write is audited and enqueued for the index. Who may call what, and
//! that another organization gets 404, is in `isolation.rs`'s matrix; here the runbook-specific cases.

use insights_core::search::{SearchAnswer, SearchHit, SearchQuery};
use insights_testing::{Personas, TestApp, TestResponse};
use insights_types::api::{
    AuditEventOut, DiffOp, Page, RunbookDiffOut, RunbookGenerationCreatedOut, RunbookGenerationOut,
    RunbookImportOut, RunbookIndexStatusOut, RunbookOrigin, RunbookOut, RunbookSearchOut,
    RunbookSettingsOut, RunbookSummaryOut, RunbookVersionOut, SearchMode, SnippetPartOut,
    SourceKind, SourceRefOut, StepRisk,
};
use insights_types::{OrgId, RunbookId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

fn url(org: OrgId, path: &str) -> String {
    format!("/api/v1/orgs/{org}/{path}")
}

/// The owner's connection (past row-level security), to seed what other features write.
async fn owner_conn(app: &TestApp) -> PgConnection {
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    PgConnection::connect(&url).await.unwrap()
}

async fn insert_service(c: &mut PgConnection, org: OrgId, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO services (id, org_id, source, external_id, name) VALUES ($1, $2, 'sample', $3, $3)")
        .bind(id)
        .bind(org.0)
        .bind(name)
        .execute(&mut *c)
        .await
        .unwrap();
    id
}

async fn insert_pattern(c: &mut PgConnection, org: OrgId, template: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO patterns (id, org_id, template, examples) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(org.0)
        .bind(template)
        .bind(json!(["Replication lag on postgres-primary above 31s"]))
        .execute(&mut *c)
        .await
        .unwrap();
    id
}

async fn insert_incident(
    c: &mut PgConnection,
    org: OrgId,
    title: &str,
    service: Option<Uuid>,
    pattern: Option<Uuid>,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO incidents (id, org_id, source, external_id, title, description, status, service_id,
                                triggered_at, source_updated_at, pattern_id)
         VALUES ($1, $2, 'sample', $1::text, $3, 'Replica behind the primary', 'triggered', $4, now(), now(), $5)",
    )
    .bind(id)
    .bind(org.0)
    .bind(title)
    .bind(service)
    .bind(pattern)
    .execute(&mut *c)
    .await
    .unwrap();
    id
}

fn runbook(title: &str) -> Value {
    json!({
        "title": title,
        "body": "When the replica falls behind, reads go stale.",
        "steps": [
            {"title": "Check the lag", "why": "How far behind?",
             "command": {"language": "sql", "text": "SELECT client_addr, replay_lag FROM pg_stat_replication;"},
             "expected": "replay_lag under 5 s"},
            {"title": "Restart the replica",
             "command": {"language": "kubectl", "text": "kubectl rollout restart statefulset/postgres-replica"},
             "risk": "read_only"}
        ],
        "tags": ["Postgres", "replication"]
    })
}

async fn create(app: &TestApp, token: &str, org: OrgId, body: Value) -> RunbookOut {
    let r = app.post(&url(org, "runbooks"), token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()
}

async fn put(app: &TestApp, token: &str, org: OrgId, id: RunbookId, body: Value) -> TestResponse {
    app.request(
        Method::PUT,
        &url(org, &format!("runbooks/{id}")),
        Some(token),
        Some(body),
    )
    .await
}

async fn outbox(app: &TestApp, org: OrgId) -> Vec<(String, Uuid)> {
    let mut c = owner_conn(app).await;
    sqlx::query_as(
        "SELECT kind, subject_id FROM vector_outbox WHERE org_id = $1 ORDER BY kind, subject_id",
    )
    .bind(org.0)
    .fetch_all(&mut c)
    .await
    .unwrap()
}

async fn audit_actions(app: &TestApp, p: &Personas) -> Vec<String> {
    let r = app
        .get(&url(p.org_id, "audit-log?limit=200"), &p.owner.token)
        .await;
    let page: Page<AuditEventOut> = r.json();
    page.items.into_iter().map(|e| e.action).collect()
}

#[tokio::test]
async fn a_runbook_is_written_versioned_diffed_restored_and_deleted_and_each_change_is_audited_and_enqueued()
 {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let org = p.org_id;
    let created = create(&app, &p.member.token, org, runbook("Replication lag")).await;
    assert_eq!(created.version, 1);
    assert_eq!(created.source, RunbookOrigin::Written);
    assert_eq!(created.tags, ["postgres", "replication"]);
    // A risk below what the command implies is raised to it.
    assert_eq!(created.steps[1].risk, StepRisk::ChangesState);
    assert_eq!(created.steps[0].risk, StepRisk::ReadOnly);
    assert_eq!(
        created.created_by.as_ref().map(|u| u.id),
        Some(p.member.user_id.0)
    );
    assert_eq!(
        outbox(&app, org).await,
        [("runbook".to_owned(), created.id.0)]
    );

    // Everyone reads it.
    let r = app
        .get(
            &url(org, &format!("runbooks/{}", created.id)),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json::<RunbookOut>(), created);

    // A new version, on top of version 1.
    let mut v2 = runbook("Replication lag on the primary");
    v2["base_version"] = json!(1);
    v2["steps"][0]["title"] = json!("Measure the lag");
    let r = put(&app, &p.admin.token, org, created.id, v2.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let saved: RunbookOut = r.json();
    assert_eq!((saved.version, saved.current_version), (2, 2));
    assert_eq!(
        saved.updated_by.as_ref().map(|u| u.id),
        Some(p.admin.user_id.0)
    );

    // Someone still editing version 1 is told, and nothing is overwritten.
    let mut stale = runbook("Mine");
    stale["base_version"] = json!(1);
    let r = put(&app, &p.member.token, org, created.id, stale).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.error_code(), "version_conflict");
    let now: RunbookOut = app
        .get(
            &url(org, &format!("runbooks/{}", created.id)),
            &p.member.token,
        )
        .await
        .json();
    assert_eq!(now.title, "Replication lag on the primary");

    // The old version is still there, and the diff shows what changed.
    let v1: RunbookOut = app
        .get(
            &url(org, &format!("runbooks/{}/versions/1", created.id)),
            &p.viewer.token,
        )
        .await
        .json();
    assert_eq!((v1.version, v1.current_version), (1, 2));
    assert_eq!(v1.title, "Replication lag");
    let d: RunbookDiffOut = app
        .get(
            &url(org, &format!("runbooks/{}/diff?from=1&to=2", created.id)),
            &p.viewer.token,
        )
        .await
        .json();
    let changed: Vec<(DiffOp, &str)> = d
        .lines
        .iter()
        .filter(|l| l.op != DiffOp::Same)
        .map(|l| (l.op.clone(), l.text.as_str()))
        .collect();
    assert_eq!(
        changed,
        [
            (DiffOp::Removed, "# Replication lag"),
            (DiffOp::Added, "# Replication lag on the primary"),
            (DiffOp::Removed, "### 1. Check the lag"),
            (DiffOp::Added, "### 1. Measure the lag"),
        ]
    );
    assert!(
        d.lines
            .iter()
            .any(|l| l.op == DiffOp::Same && l.text.contains("pg_stat_replication"))
    );

    // Restoring version 1 makes version 3, a copy of it.
    let r = app
        .post(
            &url(org, &format!("runbooks/{}/versions/1/restore", created.id)),
            &p.member.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let restored: RunbookOut = r.json();
    assert_eq!(restored.version, 3);
    assert_eq!(
        (restored.title.as_str(), &restored.steps),
        (v1.title.as_str(), &v1.steps)
    );
    let versions: Page<RunbookVersionOut> = app
        .get(
            &url(org, &format!("runbooks/{}/versions", created.id)),
            &p.viewer.token,
        )
        .await
        .json();
    let numbers: Vec<(i32, Option<i32>)> = versions
        .items
        .iter()
        .map(|v| (v.number, v.restored_from))
        .collect();
    assert_eq!(numbers, [(3, Some(1)), (2, None), (1, None)]);
    let d: RunbookDiffOut = app
        .get(
            &url(org, &format!("runbooks/{}/diff?from=1&to=3", created.id)),
            &p.viewer.token,
        )
        .await
        .json();
    assert!(d.lines.iter().all(|l| l.op == DiffOp::Same));

    // Unknown versions are 404; a diff without its versions is a bad query.
    for path in [
        format!("runbooks/{}/versions/9", created.id),
        format!("runbooks/{}/diff?from=1&to=9", created.id),
    ] {
        assert_eq!(
            app.get(&url(org, &path), &p.viewer.token).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let r = app
        .get(
            &url(org, &format!("runbooks/{}/diff?from=1", created.id)),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Deleting it: gone, and enqueued so the index removes it.
    let r = app
        .delete(
            &url(org, &format!("runbooks/{}", created.id)),
            &p.member.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = app
        .get(
            &url(org, &format!("runbooks/{}", created.id)),
            &p.member.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        outbox(&app, org).await,
        [("runbook".to_owned(), created.id.0)]
    );
    let status: RunbookIndexStatusOut = app
        .get(&url(org, "runbooks/index-status"), &p.viewer.token)
        .await
        .json();
    assert_eq!((status.pending, status.failing), (1, 0));

    let actions = audit_actions(&app, &p).await;
    for a in [
        "runbook_created",
        "runbook_updated",
        "runbook_restored",
        "runbook_deleted",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} not in {actions:?}");
    }
    // The refused save wrote nothing, not even its audit entry.
    assert_eq!(
        actions.iter().filter(|a| *a == "runbook_updated").count(),
        1
    );
}

#[tokio::test]
async fn viewers_read_runbooks_but_cannot_write_them() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let created = create(&app, &p.owner.token, p.org_id, runbook("Disk full")).await;
    let id = created.id;
    let tries = [
        (Method::POST, url(p.org_id, "runbooks"), Some(runbook("x"))),
        (
            Method::PUT,
            url(p.org_id, &format!("runbooks/{id}")),
            Some(runbook("x")),
        ),
        (
            Method::DELETE,
            url(p.org_id, &format!("runbooks/{id}")),
            None,
        ),
        (
            Method::POST,
            url(p.org_id, &format!("runbooks/{id}/versions/1/restore")),
            Some(json!({})),
        ),
        (
            Method::POST,
            url(p.org_id, "runbooks/import"),
            Some(json!({"files": [{"name": "a.md", "content": "# A"}]})),
        ),
        (
            Method::POST,
            url(p.org_id, "runbook-generations"),
            Some(json!({"prompt": "disk full"})),
        ),
        (Method::POST, url(p.org_id, "runbooks/reindex"), None),
    ];
    for (method, path, body) in tries {
        let r = app
            .request(method.clone(), &path, Some(&p.viewer.token), body)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    // Re-indexing is for generation managers.
    let r = app
        .post(
            &url(p.org_id, "runbooks/reindex"),
            &p.member.token,
            json!(null),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post(
            &url(p.org_id, "runbooks/reindex"),
            &p.admin.token,
            json!(null),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert!(
        outbox(&app, p.org_id)
            .await
            .contains(&("org".to_owned(), p.org_id.0))
    );
    let r = app
        .get(&url(p.org_id, &format!("runbooks/{id}")), &p.viewer.token)
        .await;
    assert_eq!(r.json::<RunbookOut>().version, 1);
}

#[tokio::test]
async fn invalid_runbooks_are_refused_naming_every_bad_field_and_links_must_be_the_organizations() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let mut body = runbook("x");
    body["title"] = json!("");
    body["tags"] = json!(["ok", "not ok!"]);
    body["steps"][1]["command"]["text"] = json!("");
    body["steps"][0]["title"] = json!("t".repeat(201));
    let r = app
        .post(&url(p.org_id, "runbooks"), &p.member.token, body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        [
            "title",
            "steps[0].title",
            "steps[1].command.text",
            "tags[1]"
        ]
    );
    // Too many steps; an unknown field; a base version on creation.
    let mut body = runbook("x");
    body["steps"] = json!(vec![json!({"title": "s"}); 101]);
    let r = app
        .post(&url(p.org_id, "runbooks"), &p.member.token, body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut body = runbook("x");
    body["steps"][0]["danger"] = json!(true);
    assert_eq!(
        app.post(&url(p.org_id, "runbooks"), &p.member.token, body)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut body = runbook("x");
    body["base_version"] = json!(1);
    let r = app
        .post(&url(p.org_id, "runbooks"), &p.member.token, body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Links: the organization's own service and pattern are fine (the pattern gets pinned); another
    // organization's are unknown here, named by their path.
    let mut c = owner_conn(&app).await;
    let service = insert_service(&mut c, p.org_id, "postgres-primary").await;
    let pattern = insert_pattern(
        &mut c,
        p.org_id,
        "Replication lag on postgres-primary above <num>s",
    )
    .await;
    let (_, other_org) = app.signup("else@example.com", "Else").await;
    let foreign = insert_service(&mut c, other_org, "theirs").await;
    let mut body = runbook("Linked");
    body["service_ids"] = json!([service, foreign]);
    body["pattern_ids"] = json!([pattern, Uuid::now_v7()]);
    let r = app
        .post(&url(p.org_id, "runbooks"), &p.member.token, body)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let fields: Vec<(String, String)> = r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("service_ids[1]".to_owned(), "not_found".to_owned()),
            ("pattern_ids[1]".to_owned(), "not_found".to_owned())
        ]
    );
    let pinned: bool = sqlx::query_scalar("SELECT pinned FROM patterns WHERE id = $1")
        .bind(pattern)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(!pinned, "a refused request pins nothing");
    let mut body = runbook("Linked");
    body["service_ids"] = json!([service]);
    body["pattern_ids"] = json!([pattern]);
    let linked = create(&app, &p.member.token, p.org_id, body).await;
    assert_eq!(
        linked.services.iter().map(|s| s.id).collect::<Vec<_>>(),
        [service]
    );
    assert_eq!(
        linked.patterns.iter().map(|s| s.id).collect::<Vec<_>>(),
        [pattern]
    );
    let pinned: bool = sqlx::query_scalar("SELECT pinned FROM patterns WHERE id = $1")
        .bind(pattern)
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(pinned, "linking a pattern pins it");
}

async fn list(app: &TestApp, p: &Personas, q: &str) -> Page<RunbookSummaryOut> {
    let r = app
        .get(&url(p.org_id, &format!("runbooks?{q}")), &p.viewer.token)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
    r.json()
}

#[tokio::test]
async fn the_library_filters_by_text_tag_service_pattern_and_source_in_stable_pages() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let org = p.org_id;
    let mut c = owner_conn(&app).await;
    let service = insert_service(&mut c, org, "checkout-api").await;
    let pattern = insert_pattern(&mut c, org, "High latency on checkout-api").await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let mut body = runbook(&format!("Runbook {n}"));
        body["tags"] = json!(if n % 2 == 0 {
            vec!["even"]
        } else {
            vec!["odd"]
        });
        if n == 3 {
            body["service_ids"] = json!([service]);
            body["pattern_ids"] = json!([pattern]);
            body["title"] = json!("Checkout latency");
        }
        ids.push(create(&app, &p.member.token, org, body).await.id);
    }
    let all = list(&app, &p, "").await;
    // Most recently changed first.
    let expected: Vec<RunbookId> = ids.iter().rev().copied().collect();
    assert_eq!(all.items.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    assert_eq!(all.items[0].step_count, 2);
    let titles = |page: &Page<RunbookSummaryOut>| {
        page.items
            .iter()
            .map(|r| r.title.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(&list(&app, &p, "q=checkout").await),
        ["Checkout latency"]
    );
    assert_eq!(
        titles(&list(&app, &p, "q=LATENCY").await),
        ["Checkout latency"]
    );
    assert_eq!(
        list(&app, &p, "q=odd").await.items.len(),
        3,
        "q matches a tag too"
    );
    assert_eq!(list(&app, &p, "tag=EVEN").await.items.len(), 4);
    assert_eq!(
        titles(&list(&app, &p, &format!("service={service}")).await),
        ["Checkout latency"]
    );
    assert_eq!(
        titles(&list(&app, &p, &format!("pattern={pattern}")).await),
        ["Checkout latency"]
    );
    assert_eq!(list(&app, &p, "source=imported").await.items.len(), 0);
    assert_eq!(list(&app, &p, "source=written").await.items.len(), 7);
    assert_eq!(
        list(&app, &p, "q=100%25").await.items.len(),
        0,
        "% is a character, not a wildcard"
    );
    // Pages of 3 cover the list once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".to_owned(),
        };
        let page = list(&app, &p, &q).await;
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    for bad in ["limit=0", "cursor=nope", "q=a%00b", "source=copied"] {
        let r = app
            .get(&url(org, &format!("runbooks?{bad}")), &p.viewer.token)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn an_import_reads_markdown_files_and_stores_all_of_them_or_none() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let good = "# Certificate expiring\n\nRenew before it lapses.\n\n## Steps\n\n1. Check the expiry\n   ```bash\n   openssl x509 -noout -enddate -in /etc/ssl/auth.pem\n   ```\n2. Renew it\n   ```\n   certbot renew --cert-name auth.acme.io\n   ```\n";
    let headings = "## Step 1: Find the pod\n\n```sh\nkubectl get pods -n web\n```\n\n## Step 2: Delete it\n\n```sh\nkubectl delete pod web-0 -n web\n```\n";
    // One bad file (empty) among good ones: a 422 naming it, and nothing stored.
    let r = app
        .post(
            &url(p.org_id, "runbooks/import"),
            &p.member.token,
            json!({"files": [
                {"name": "cert.md", "content": good},
                {"name": "empty.md", "content": "  \n"},
                {"name": "pod.md", "content": headings}
            ], "tags": ["imported-2026"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.body["error"]["details"]["fields"][0]["field"],
        "files[1].content"
    );
    assert!(r.text.contains("empty.md"));
    let page: Page<RunbookSummaryOut> = app
        .get(&url(p.org_id, "runbooks"), &p.member.token)
        .await
        .json();
    assert!(page.items.is_empty());
    assert!(outbox(&app, p.org_id).await.is_empty());
    // A title too long in one file is that file's error too.
    let r = app
        .post(
            &url(p.org_id, "runbooks/import"),
            &p.member.token,
            json!({"files": [{"name": "long.md", "content": format!("# {}\n", "t".repeat(300))}]}),
        )
        .await;
    assert_eq!(
        r.body["error"]["details"]["fields"][0]["field"],
        "files[0].title"
    );

    let r = app
        .post(
            &url(p.org_id, "runbooks/import"),
            &p.member.token,
            json!({"files": [
                {"name": "cert.md", "content": good},
                {"name": "ops/pod-stuck.md", "content": headings}
            ], "tags": ["Imported-2026"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let out: RunbookImportOut = r.json();
    let titles: Vec<&str> = out.items.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles, ["Certificate expiring", "pod stuck"]);
    assert!(
        out.items
            .iter()
            .all(|r| r.source == RunbookOrigin::Imported && r.tags == ["imported-2026"])
    );
    let cert: RunbookOut = app
        .get(
            &url(p.org_id, &format!("runbooks/{}", out.items[0].id)),
            &p.member.token,
        )
        .await
        .json();
    assert_eq!(cert.body, "Renew before it lapses.");
    let steps: Vec<(&str, StepRisk)> = cert
        .steps
        .iter()
        .map(|s| (s.title.as_str(), s.risk))
        .collect();
    assert_eq!(
        steps,
        [
            ("Check the expiry", StepRisk::ReadOnly),
            ("Renew it", StepRisk::ChangesState)
        ]
    );
    let pod: RunbookOut = app
        .get(
            &url(p.org_id, &format!("runbooks/{}", out.items[1].id)),
            &p.member.token,
        )
        .await
        .json();
    assert_eq!(pod.steps[1].risk, StepRisk::Destructive);
    assert_eq!(
        pod.steps[0].command.as_ref().map(|c| c.language),
        Some(insights_types::api::CommandLanguage::Kubectl)
    );
    assert_eq!(outbox(&app, p.org_id).await.len(), 2);
    assert!(
        audit_actions(&app, &p)
            .await
            .contains(&"runbooks_imported".to_owned())
    );
    // No files, too many files.
    for files in [
        json!([]),
        json!(vec![json!({"name": "a.md", "content": "# A"}); 51]),
    ] {
        let r = app
            .post(
                &url(p.org_id, "runbooks/import"),
                &p.member.token,
                json!({ "files": files }),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.body["error"]["details"]["fields"][0]["field"], "files");
    }
}

#[tokio::test]
async fn a_runbook_as_large_as_the_limits_allow_is_accepted() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let mut body = runbook("Big");
    body["body"] = json!("b".repeat(100_000));
    body["steps"] = json!(vec![
        json!({"title": "s", "why": "w".repeat(2000), "command": {"language": "shell", "text": "echo ok"}});
        100
    ]);
    let r = app
        .post(&url(p.org_id, "runbooks"), &p.member.token, body)
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        &r.text[..r.text.len().min(300)]
    );
}

/// A stand-in for the worker's search server: answers every search with one hit and records what it was
/// asked (organization and query).
fn answer_searches(
    app: &TestApp,
) -> (
    Arc<Mutex<Vec<(OrgId, SearchQuery)>>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let client = redis::Client::open(secrecy::ExposeSecret::expose_secret(
        &app.config.jobs.redis_url,
    ))
    .unwrap();
    let log = asked.clone();
    tokio::spawn(insights_core::search::serve(
        client,
        app.config.jobs.redis_prefix.clone(),
        2,
        move |org, query: SearchQuery| {
            log.lock().unwrap().push((org, query.clone()));
            async move {
                Ok(SearchAnswer {
                    hits: vec![SearchHit {
                        source: SourceRefOut {
                            kind: SourceKind::Runbook,
                            runbook_id: Some(RunbookId::new()),
                            runbook_version: Some(1),
                            step: Some(0),
                            incident_id: None,
                            incident_number: None,
                            event_id: None,
                            title: "Replication lag".into(),
                            heading: Some("Check the lag".into()),
                        },
                        text: "SELECT replay_lag FROM pg_stat_replication".into(),
                        snippet: vec![SnippetPartOut {
                            text: "replay_lag".into(),
                            highlight: true,
                        }],
                        score: 0.5,
                    }],
                    mode: SearchMode::Lexical,
                })
            }
        },
        async move {
            let _ = stopped.await;
        },
    ));
    (asked, stop)
}

#[tokio::test]
async fn search_asks_the_worker_for_the_callers_organization_with_text_built_from_an_incident_or_a_pattern()
 {
    let app = TestApp::spawn(&[("INSIGHTS_SEARCH_TIMEOUT_MS", "3000")]).await;
    let p = app.personas().await;
    let org = p.org_id;
    let mut c = owner_conn(&app).await;
    let service = insert_service(&mut c, org, "postgres-primary").await;
    let pattern = insert_pattern(
        &mut c,
        org,
        "Replication lag on postgres-primary above <num>s",
    )
    .await;
    let incident = insert_incident(
        &mut c,
        org,
        "Replication lag on postgres-primary above 42s",
        Some(service),
        Some(pattern),
    )
    .await;
    let (asked, _stop) = answer_searches(&app);

    let r = app
        .get(
            &url(
                org,
                "runbooks/search?q=replica%20lag&kind=runbook&tag=Postgres&limit=5",
            ),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out: RunbookSearchOut = r.json();
    assert_eq!(out.query, "replica lag");
    assert_eq!(out.items.len(), 1);
    assert_eq!(out.items[0].snippet[0].text, "replay_lag");
    {
        let asked = asked.lock().unwrap();
        let (o, q) = asked.last().unwrap();
        assert_eq!(*o, org);
        assert_eq!((q.text.as_str(), q.limit), ("replica lag", 5));
        assert_eq!(q.filter.kinds, [SourceKind::Runbook]);
        assert_eq!(q.filter.tags, ["postgres"]);
    }

    let r = app
        .get(
            &url(org, &format!("runbooks/search?incident_id={incident}")),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out: RunbookSearchOut = r.json();
    for part in [
        "Replication lag on postgres-primary above 42s",
        "postgres-primary",
        "Replica behind the primary",
    ] {
        assert!(out.query.contains(part), "{part} not in {:?}", out.query);
    }
    {
        let asked = asked.lock().unwrap();
        let (_, q) = asked.last().unwrap();
        assert_eq!(q.text, out.query);
        assert_eq!(
            q.filter
                .exclude_incidents
                .iter()
                .map(|i| i.0)
                .collect::<Vec<_>>(),
            [incident]
        );
    }
    let r = app
        .get(
            &url(org, &format!("runbooks/search?pattern_id={pattern}")),
            &p.viewer.token,
        )
        .await;
    let out: RunbookSearchOut = r.json();
    assert!(
        out.query
            .contains("Replication lag on postgres-primary above <num>s")
    );
    assert!(
        out.query.contains("above 31s"),
        "the pattern's examples: {:?}",
        out.query
    );

    // Another organization's incident is unknown here; bad queries are 400.
    let (other, other_org) = app.signup("other@example.com", "Other").await;
    let theirs = insert_incident(&mut c, other_org, "Their incident", None, None).await;
    let r = app
        .get(
            &url(org, &format!("runbooks/search?incident_id={theirs}")),
            &p.viewer.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .get(
            &url(
                other_org,
                &format!("runbooks/search?incident_id={incident}"),
            ),
            &other.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for bad in [
        "",
        "q=a&incident_id=00000000-0000-0000-0000-000000000000",
        "q=x&limit=0",
        "q=x&limit=51",
        "q=a%01",
        "q=x&kind=nope",
    ] {
        let r = app
            .get(
                &url(org, &format!("runbooks/search?{bad}")),
                &p.viewer.token,
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
}

#[tokio::test]
async fn search_without_a_worker_answering_is_503_search_unavailable() {
    let app = TestApp::spawn(&[("INSIGHTS_SEARCH_TIMEOUT_MS", "300")]).await;
    let p = app.personas().await;
    let r = app
        .get(&url(p.org_id, "runbooks/search?q=disk"), &p.viewer.token)
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    assert_eq!(r.error_code(), "search_unavailable");
}

async fn ask(app: &TestApp, token: &str, org: OrgId, body: Value) -> TestResponse {
    app.post(&url(org, "runbook-generations"), token, body)
        .await
}

#[tokio::test]
async fn a_draft_needs_exactly_one_subject_of_the_organization_and_is_private_to_its_creator() {
    let app = TestApp::spawn(&[]).await;
    // Nothing runs the drafts here: this is about what the API records.
    app.allow_pending_jobs();
    let p = app.personas().await;
    let org = p.org_id;
    let mut c = owner_conn(&app).await;
    let incident = insert_incident(
        &mut c,
        org,
        "Disk usage above 91% on postgres-primary",
        None,
        None,
    )
    .await;

    let r = ask(&app, &p.member.token, org, json!({"incident_id": incident})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let created: RunbookGenerationCreatedOut = r.json();
    assert_eq!(
        created.status,
        insights_types::api::GenerationStatus::Queued
    );
    // Recorded with its job, which names it.
    let job: (String, Option<Uuid>) = sqlx::query_as(
        "SELECT j.kind, j.subject_id FROM runbook_generations g JOIN job_runs j ON j.id = g.job_run_id WHERE g.id = $1",
    )
    .bind(created.id.0)
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(job, ("generate_runbook".to_owned(), Some(created.id.0)));

    let path = url(org, &format!("runbook-generations/{}", created.id));
    let mine: RunbookGenerationOut = app.get(&path, &p.member.token).await.json();
    assert_eq!(
        mine.subject.incident.as_ref().map(|i| i.name.as_str()),
        Some("Disk usage above 91% on postgres-primary")
    );
    assert_eq!(mine.progress.stage, "queued");
    assert_eq!(mine.created_by, Some(p.member.user_id));
    assert!(mine.draft.is_none() && mine.sent.is_none());
    // Admins (ManageGeneration) see it; another member and a viewer do not, as if it did not exist.
    assert_eq!(app.get(&path, &p.admin.token).await.status, StatusCode::OK);
    let other = app
        .join(
            &app.invite(
                &p.owner,
                org,
                "second@example.com",
                insights_types::Role::Member,
            )
            .await,
        )
        .await;
    for token in [&other.token, &p.viewer.token] {
        let r = app.get(&path, token).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let r = app
        .post(&format!("{path}/save"), &other.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Nor may they refine it.
    let r = ask(
        &app,
        &other.token,
        org,
        json!({"refine_of": created.id, "instructions": "shorter"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.body["error"]["details"]["fields"][0]["field"],
        "refine_of"
    );

    // Lists: one's own; `all` for generation managers only.
    let own: Page<RunbookGenerationOut> = app
        .get(&url(org, "runbook-generations"), &other.token)
        .await
        .json();
    assert!(own.items.is_empty());
    let own: Page<RunbookGenerationOut> = app
        .get(&url(org, "runbook-generations"), &p.member.token)
        .await
        .json();
    assert_eq!(
        own.items.iter().map(|g| g.id).collect::<Vec<_>>(),
        [created.id]
    );
    let r = app
        .get(&url(org, "runbook-generations?all=true"), &p.member.token)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let all: Page<RunbookGenerationOut> = app
        .get(&url(org, "runbook-generations?all=true"), &p.admin.token)
        .await
        .json();
    assert_eq!(all.items.len(), 1);
    let admins_own: Page<RunbookGenerationOut> = app
        .get(&url(org, "runbook-generations"), &p.admin.token)
        .await
        .json();
    assert!(admins_own.items.is_empty());

    // Exactly one subject; lengths; subjects of this organization only.
    let (_, other_org) = app.signup("else@example.com", "Else").await;
    let foreign = insert_incident(&mut c, other_org, "Theirs", None, None).await;
    for (body, field) in [
        (json!({}), "incident_id"),
        (
            json!({"incident_id": incident, "prompt": "disk"}),
            "incident_id",
        ),
        (json!({"prompt": ""}), "prompt"),
        (json!({"prompt": "x".repeat(4001)}), "prompt"),
        (
            json!({"prompt": "disk", "instructions": "x".repeat(2001)}),
            "instructions",
        ),
        (json!({"incident_id": foreign}), "incident_id"),
        (json!({"pattern_id": Uuid::now_v7()}), "pattern_id"),
        (json!({"refine_of": created.id}), "instructions"),
        (
            json!({"refine_of": created.id, "prompt": "x", "instructions": "y"}),
            "refine_of",
        ),
    ] {
        let r = ask(&app, &p.member.token, org, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        assert_eq!(
            r.body["error"]["details"]["fields"][0]["field"], field,
            "{body}"
        );
    }
    // A draft still queued cannot be refined or saved yet.
    let r = ask(
        &app,
        &p.member.token,
        org,
        json!({"refine_of": created.id, "instructions": "shorter"}),
    )
    .await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "not_ready");
    let r = app
        .post(&format!("{path}/save"), &p.member.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "draft_not_ready");
    assert!(
        audit_actions(&app, &p)
            .await
            .contains(&"runbook_generation_requested".to_owned())
    );
}

#[tokio::test]
async fn a_spent_monthly_token_budget_answers_429_until_the_month_ends() {
    let app = TestApp::spawn(&[]).await;
    app.allow_pending_jobs();
    let p = app.personas().await;
    let org = p.org_id;
    let r = app
        .request(
            Method::PUT,
            &url(org, "runbook-settings"),
            Some(&p.admin.token),
            Some(json!({"generation": "redacted", "redact_contacts": false, "monthly_token_budget": 1000})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        ask(&app, &p.member.token, org, json!({"prompt": "disk full"}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    // What the worker adds after each draft.
    let mut c = owner_conn(&app).await;
    sqlx::query(
        "INSERT INTO llm_usage (org_id, month, tokens) VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, 1000)",
    )
    .bind(org.0)
    .execute(&mut c)
    .await
    .unwrap();
    let r = ask(&app, &p.member.token, org, json!({"prompt": "disk full"})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.error_code(), "token_budget_spent");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1000")
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=31 * 24 * 3600).contains(&retry), "{retry}");
    let s: RunbookSettingsOut = app
        .get(&url(org, "runbook-settings"), &p.viewer.token)
        .await
        .json();
    assert_eq!(
        (s.tokens_used_this_month, s.monthly_token_budget),
        (1000, Some(1000))
    );
    // Last month's use does not count; raising the budget lets requests through again.
    sqlx::query("UPDATE llm_usage SET month = month - interval '1 month' WHERE org_id = $1")
        .bind(org.0)
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(
        ask(&app, &p.member.token, org, json!({"prompt": "disk full"}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM runbook_generations WHERE org_id = $1")
            .bind(org.0)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(rows, 2, "the refused request recorded nothing");
}

#[tokio::test]
async fn generation_settings_are_read_by_everyone_and_set_by_generation_managers() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let org = p.org_id;
    let s: RunbookSettingsOut = app
        .get(&url(org, "runbook-settings"), &p.viewer.token)
        .await
        .json();
    assert_eq!(
        s.generation,
        insights_types::api::GenerationPolicy::Redacted
    );
    assert_eq!(
        (
            s.redact_contacts,
            s.monthly_token_budget,
            s.tokens_used_this_month
        ),
        (false, None, 0)
    );
    let body = json!({"generation": "off", "redact_contacts": true, "monthly_token_budget": 50000});
    for token in [&p.member.token, &p.viewer.token] {
        let r = app
            .request(
                Method::PUT,
                &url(org, "runbook-settings"),
                Some(token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = app
        .request(
            Method::PUT,
            &url(org, "runbook-settings"),
            Some(&p.owner.token),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let s: RunbookSettingsOut = app
        .get(&url(org, "runbook-settings"), &p.member.token)
        .await
        .json();
    assert_eq!(s.generation, insights_types::api::GenerationPolicy::Off);
    assert_eq!(
        (s.redact_contacts, s.monthly_token_budget),
        (true, Some(50000))
    );
    for bad in [
        json!({"generation": "off", "redact_contacts": true, "monthly_token_budget": -1}),
        json!({"generation": "sometimes", "redact_contacts": true, "monthly_token_budget": null}),
        json!({"generation": "on"}),
    ] {
        let r = app
            .request(
                Method::PUT,
                &url(org, "runbook-settings"),
                Some(&p.admin.token),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert!(
        audit_actions(&app, &p)
            .await
            .contains(&"runbook_settings_changed".to_owned())
    );
}

#[tokio::test]
async fn a_finished_draft_is_saved_once_as_a_generated_runbook_linked_to_its_incident() {
    let app = TestApp::spawn(&[]).await;
    app.allow_pending_jobs();
    let p = app.personas().await;
    let org = p.org_id;
    let mut c = owner_conn(&app).await;
    let service = insert_service(&mut c, org, "postgres-primary").await;
    let pattern = insert_pattern(
        &mut c,
        org,
        "Replication lag on postgres-primary above <num>s",
    )
    .await;
    let incident = insert_incident(
        &mut c,
        org,
        "Replication lag on postgres-primary above 42s",
        Some(service),
        Some(pattern),
    )
    .await;
    let created: RunbookGenerationCreatedOut =
        ask(&app, &p.member.token, org, json!({"incident_id": incident}))
            .await
            .json();
    // What the worker writes when it finishes.
    let draft = json!({
        "title": "Replication lag on the primary",
        "summary": "Assembled from two past fixes.",
        "steps": [
            {"title": "Check the lag", "why": "", "command": {"language": "sql", "text": "SELECT replay_lag FROM pg_stat_replication;"},
             "risk": "read_only", "expected": null, "citations": [1], "grounded": true},
            {"title": "Restart the replica", "why": "It fixed it last time.",
             "command": {"language": "kubectl", "text": "kubectl rollout restart statefulset/postgres-replica"},
             "risk": "changes_state", "expected": null, "citations": [2], "grounded": true}
        ],
        "warnings": []
    });
    sqlx::query(
        "UPDATE runbook_generations SET status = 'succeeded', mode = 'assembled', draft = $2, finished_at = now(),
                progress = '{\"stage\": \"done\", \"done\": 4, \"total\": 4}' WHERE id = $1",
    )
    .bind(created.id.0)
    .bind(&draft)
    .execute(&mut c)
    .await
    .unwrap();
    let path = url(org, &format!("runbook-generations/{}", created.id));
    let g: RunbookGenerationOut = app.get(&path, &p.member.token).await.json();
    assert_eq!(g.mode, Some(insights_types::api::DraftMode::Assembled));
    assert_eq!(g.draft.as_ref().unwrap().steps[1].citations, [2]);

    let r = app
        .post(
            &format!("{path}/save"),
            &p.member.token,
            json!({"tags": ["postgres"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let saved: RunbookOut = r.json();
    assert_eq!(saved.source, RunbookOrigin::Generated);
    assert_eq!(saved.generation_id, Some(created.id));
    assert_eq!(saved.title, "Replication lag on the primary");
    assert_eq!(saved.body, "Assembled from two past fixes.");
    assert_eq!(saved.steps.len(), 2);
    assert_eq!(saved.tags, ["postgres"]);
    assert_eq!(
        saved.services.iter().map(|s| s.id).collect::<Vec<_>>(),
        [service]
    );
    assert_eq!(
        saved.patterns.iter().map(|s| s.id).collect::<Vec<_>>(),
        [pattern]
    );
    assert!(
        outbox(&app, org)
            .await
            .contains(&("runbook".to_owned(), saved.id.0))
    );
    let g: RunbookGenerationOut = app.get(&path, &p.member.token).await.json();
    assert_eq!(g.saved_runbook_id, Some(saved.id));
    let r = app
        .post(&format!("{path}/save"), &p.member.token, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "already_saved");
    // A finished draft can be refined: the refinement keeps its subject.
    let r = ask(
        &app,
        &p.member.token,
        org,
        json!({"refine_of": created.id, "instructions": "use kubectl"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let refined: RunbookGenerationCreatedOut = r.json();
    let g: RunbookGenerationOut = app
        .get(
            &url(org, &format!("runbook-generations/{}", refined.id)),
            &p.member.token,
        )
        .await
        .json();
    assert_eq!(
        (g.refine_of, g.instructions.as_deref()),
        (Some(created.id), Some("use kubectl"))
    );
    assert_eq!(g.subject.incident.map(|i| i.id), Some(incident));
    assert!(
        audit_actions(&app, &p)
            .await
            .contains(&"runbook_draft_saved".to_owned())
    );
}

#[tokio::test]
async fn the_sample_history_comes_with_runbooks_for_its_services_once() {
    let app = TestApp::spawn(&[]).await.with_worker().await;
    let p = app.personas().await;
    let job = app.load_sample_data(&p.admin.token, p.org_id).await;
    app.wait_for_job(&p.admin.token, p.org_id, job.id).await;
    let first = list(&app, &p, "tag=sample&limit=200").await;
    assert!(
        first.items.len() >= 8,
        "{} sample runbooks",
        first.items.len()
    );
    assert!(
        first
            .items
            .iter()
            .all(|r| r.source == RunbookOrigin::Imported
                && !r.services.is_empty()
                && r.step_count >= 3)
    );
    let replication = first
        .items
        .iter()
        .find(|r| r.title.contains("Replication lag"))
        .expect("a runbook for replication lag");
    assert_eq!(
        replication
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["postgres-primary"]
    );
    // Each is enqueued for the index.
    let queued = outbox(&app, p.org_id).await;
    assert!(
        first
            .items
            .iter()
            .all(|r| queued.contains(&("runbook".to_owned(), r.id.0)))
    );
    // Loading again adds none.
    let job = app.load_sample_data(&p.admin.token, p.org_id).await;
    app.wait_for_job(&p.admin.token, p.org_id, job.id).await;
    assert_eq!(
        list(&app, &p, "tag=sample&limit=200").await.items.len(),
        first.items.len()
    );
}
