//! The read replica (`DATABASE_READ_URL`) against the real streaming replica `scripts/test` starts on loopback:
//! lists and analytics are read there and the rest on the primary, row-level security holds there too, and
//! a write that reached it would fail.

use insights_core::db::{Db, audit};
use insights_testing::replica::wait_for_replay;
use insights_testing::{TestApp, seed_incidents};
use insights_types::OrgId;
use insights_types::api::JobState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

fn url(org: OrgId, rest: &str) -> String {
    format!("/api/v1/orgs/{org}/{rest}")
}

/// The replica's admin URL (the test is skipped without one).
fn replica() -> Option<String> {
    insights_testing::replica::replica_url()
}

/// How many incidents `org` has on the primary, counted as the owner of the tables.
async fn incidents_on_primary(app: &TestApp, org: OrgId) -> i64 {
    let db = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    let mut c = PgConnection::connect(&db).await.expect("connect");
    let n = sqlx::query_scalar("SELECT count(*) FROM incidents WHERE org_id = $1")
        .bind(org.0)
        .fetch_one(&mut c)
        .await
        .expect("count");
    c.close().await.ok();
    n
}

/// Inserts one incident titled `title` into `org` on the primary (as the owner of the tables); its id.
async fn insert_incident(app: &TestApp, org: OrgId, title: &str) -> uuid::Uuid {
    let db = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    let mut c = PgConnection::connect(&db).await.expect("connect");
    let id = sqlx::query_scalar(
        "INSERT INTO incidents (id, org_id, source, external_id, title, status, triggered_at, source_updated_at)
         VALUES (gen_random_uuid(), $1, 'sample', 'probe-' || gen_random_uuid(), $2, 'triggered', now(), now())
         RETURNING id",
    )
    .bind(org.0)
    .bind(title)
    .fetch_one(&mut c)
    .await
    .expect("insert an incident");
    c.close().await.ok();
    id
}

/// How many `action` events the audit log (read on the replica) lists.
async fn audited(app: &TestApp, token: &str, org: OrgId, action: &str) -> usize {
    let r = app
        .get(
            &url(org, &format!("audit-log?action={action}&limit=100")),
            token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().expect("items").len()
}

/// Pauses (`true`) or resumes the replica's replay of the primary's WAL: what it serves stays as it was.
async fn pause_replay(replica: &str, pause: bool) {
    let mut c = PgConnection::connect(replica).await.expect("connect");
    let sql = if pause {
        "SELECT pg_wal_replay_pause()::text"
    } else {
        "SELECT pg_wal_replay_resume()::text"
    };
    sqlx::query_scalar::<_, Option<String>>(sql)
        .fetch_one(&mut c)
        .await
        .expect("pause or resume the replay");
    c.close().await.ok();
}

#[tokio::test]
async fn lists_and_analytics_are_read_on_the_replica_and_what_follows_an_action_on_the_primary() {
    let Some(replica) = replica() else { return };
    let app = TestApp::with_read_replica(&[])
        .await
        .expect("a replica")
        .with_worker()
        .await;
    let p = app.personas().await;
    let (org, token) = (p.org_id, &p.owner.token);
    let job = app.load_sample_data(token, org).await;
    let done = app.wait_for_job(token, org, job.id).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    // The analytics status is read on the replica too, so this also waits for it to catch up.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let s = app.get(&url(org, "analytics/status"), token).await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.text);
        if s.body["pending"] == false && s.body["recompute_job_id"].is_null() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "analytics still pending: {}",
            s.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    wait_for_replay(&replica).await;

    let written = incidents_on_primary(&app, org).await;
    assert!(written > 0, "the sample history is empty");
    let export = app
        .get(&url(org, "incidents/export?format=jsonl"), token)
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.text);
    assert_eq!(
        export.text.lines().filter(|l| !l.is_empty()).count() as i64,
        written
    );
    let summary = app.get(&url(org, "analytics/summary"), token).await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
    assert_eq!(summary.body["count"], json!(written), "{}", summary.text);
    let page = app.get(&url(org, "incidents?limit=5"), token).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.body["items"].as_array().expect("items").len(), 5);
    let patterns = app.get(&url(org, "patterns"), token).await;
    assert_eq!(patterns.status, StatusCode::OK, "{}", patterns.text);
    let runs = app.get(&url(org, "automation-runs"), token).await;
    assert_eq!(runs.status, StatusCode::OK, "{}", runs.text);
    let ready = app.request(Method::GET, "/health/ready", None, None).await;
    assert_eq!(
        ready.body["checks"]["postgres_replica"], "ok",
        "{}",
        ready.text
    );

    // With the replica held still, a change is seen at once where the rule reads the primary (the list of
    // invitations the admin just sent, an incident's page) and only once replayed where it reads the replica
    // (the audit log, the incident list).
    let before = audited(&app, token, org, "invitation_created").await;
    pause_replay(&replica, true).await;
    let incident = insert_incident(&app, org, "Replica probe").await;
    let detail = app
        .get(&url(org, &format!("incidents/{incident}")), token)
        .await;
    let listed_while_paused = app
        .get(&url(org, "incidents?q=Replica%20probe"), token)
        .await;
    let invited = app
        .post(
            &url(org, "invitations"),
            token,
            json!({ "email": "late-reader@example.com", "role": "viewer" }),
        )
        .await;
    let invitations = app.get(&url(org, "invitations"), token).await;
    let while_paused = audited(&app, token, org, "invitation_created").await;
    pause_replay(&replica, false).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.text);
    assert!(
        invitations.text.contains("late-reader@example.com"),
        "the invitation list is not read on the primary: {}",
        invitations.text
    );
    assert_eq!(
        while_paused, before,
        "the audit log is not read on the replica"
    );
    assert_eq!(
        detail.status,
        StatusCode::OK,
        "the incident's page is not read on the primary: {}",
        detail.text
    );
    assert_eq!(
        listed_while_paused.body["items"],
        json!([]),
        "the incident list is not read on the replica"
    );
    wait_for_replay(&replica).await;
    assert_eq!(
        audited(&app, token, org, "invitation_created").await,
        before + 1
    );
    let listed = app
        .get(&url(org, "incidents?q=Replica%20probe"), token)
        .await;
    assert_eq!(
        listed.body["items"][0]["id"],
        json!(incident),
        "{}",
        listed.text
    );
}

#[tokio::test]
async fn row_level_security_holds_on_the_replica() {
    let Some(replica) = replica() else { return };
    let app = TestApp::with_read_replica(&[]).await.expect("a replica");
    let (a, org_a) = app.signup("a@example.com", "Acme").await;
    let (b, org_b) = app.signup("b@example.com", "Globex").await;
    seed_incidents(&app, org_a, 30, chrono::Duration::hours(1)).await;
    wait_for_replay(&replica).await;

    // Through the API: each organization lists its own incidents only; another's are not found.
    let mine = app.get(&url(org_a, "incidents?limit=100"), &a.token).await;
    assert_eq!(
        mine.body["items"].as_array().expect("items").len(),
        30,
        "{}",
        mine.text
    );
    let theirs = app.get(&url(org_b, "incidents?limit=100"), &b.token).await;
    assert_eq!(theirs.body["items"], json!([]), "{}", theirs.text);
    let peek = app.get(&url(org_a, "incidents?limit=100"), &b.token).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND, "{}", peek.text);

    // As the application role on the replica itself: only the organization of `app.org_id` is visible, even
    // to a statement that names another one, and nothing without it.
    let db = app.replica_database_url().expect("a replica");
    let mut c = PgConnection::connect(&db)
        .await
        .expect("connect to the replica");
    c.execute("SET ROLE insights_app").await.expect("set role");
    let mut visible = async |scope: Option<OrgId>, named: OrgId| -> i64 {
        let mut tx = c.begin().await.expect("begin");
        if let Some(org) = scope {
            sqlx::query("SELECT set_config('app.org_id', $1, true)")
                .bind(org.to_string())
                .execute(&mut *tx)
                .await
                .expect("set org");
        }
        let n = sqlx::query_scalar("SELECT count(*) FROM incidents WHERE org_id = $1")
            .bind(named.0)
            .fetch_one(&mut *tx)
            .await
            .expect("count");
        tx.rollback().await.expect("rollback");
        n
    };
    assert_eq!(visible(Some(org_a), org_a).await, 30);
    assert_eq!(visible(Some(org_b), org_a).await, 0);
    assert_eq!(visible(None, org_a).await, 0);
    c.close().await.ok();

    // And through the read transaction of the application's own pool on the replica.
    let mut tx = app
        .state
        .db
        .org_read_tx(org_b, None)
        .await
        .expect("read tx");
    let (items, _) = insights_core::db::incidents::list(&mut tx, &Default::default(), None, 100)
        .await
        .expect("list");
    assert!(
        items.is_empty(),
        "{} incidents of another organization",
        items.len()
    );
}

#[tokio::test]
async fn a_write_that_reaches_the_replica_or_a_read_transaction_is_refused() {
    let Some(replica) = replica() else { return };
    let app = TestApp::with_read_replica(&[]).await.expect("a replica");
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    wait_for_replay(&replica).await;
    let probe = || audit::AuditEntry::new(Some(owner.user_id), "replica_probe", None);
    let read_only = |e: insights_core::db::DbError| {
        let message = format!("{e:?}");
        assert!(message.contains("read-only transaction"), "{message}");
    };

    // The read transaction, on the replica.
    let mut tx = app.state.db.org_read_tx(org, None).await.expect("read tx");
    read_only(audit::record(&mut tx, probe()).await.unwrap_err());
    drop(tx);
    // A pool whose "primary" is the replica by mistake: the server itself refuses.
    let db = app.replica_database_url().expect("a replica");
    let wrong = Db::connect_lazy(&db.into(), "insights_app", 1).expect("pool");
    let mut tx = wrong.org_tx(org, None).await.expect("tx");
    read_only(audit::record(&mut tx, probe()).await.unwrap_err());
    drop(tx);
    wrong.pool().close().await;
    // Without a replica the read transaction is read-only all the same, on the primary.
    let primary = Db::connect_lazy(&app.config.database.url, "insights_app", 1).expect("pool");
    let mut tx = primary.org_read_tx(org, None).await.expect("read tx");
    read_only(audit::record(&mut tx, probe()).await.unwrap_err());
    drop(tx);
    // The same write where it belongs succeeds.
    let mut tx = primary.org_tx(org, None).await.expect("tx");
    audit::record(&mut tx, probe())
        .await
        .expect("the write on the primary");
    tx.commit().await.expect("commit");
    primary.pool().close().await;
    wait_for_replay(&replica).await;
    assert_eq!(audited(&app, &owner.token, org, "replica_probe").await, 1);
}

#[tokio::test]
async fn a_replica_that_does_not_answer_is_named_in_readiness_without_failing_it() {
    let app =
        TestApp::spawn(&[("DATABASE_READ_URL", "postgres://postgres@127.0.0.1:1/none")]).await;
    let r = app.request(Method::GET, "/health/ready", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["checks"]["postgres"], "ok");
    assert_eq!(r.body["checks"]["postgres_replica"], "unavailable");
    assert!(!r.text.contains("127.0.0.1"), "{}", r.text);
    // Without a replica there is no such check.
    let plain = TestApp::spawn(&[]).await;
    let r: Value = plain
        .request(Method::GET, "/health/ready", None, None)
        .await
        .body;
    assert!(r["checks"].get("postgres_replica").is_none(), "{r}");
}
