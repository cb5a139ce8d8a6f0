//! Backups: what `docs/operations/backups.md` tells operators to run, run here. A database written through the
//! API (an organization, a PagerDuty integration with its sealed credential and imported incidents, a runbook)
//! is dumped with `pg_dump --format=custom`, restored with `pg_restore` into a new database, and an app started
//! on the restored database with the same `INSIGHTS_SECRET_KEY` serves the same answers and opens the
//! credential; a different key does not.

use insights_core::crypto::SecretBox;
use insights_core::db::integrations;
use insights_core::sync;
use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_testing::{PASSWORD, TestApp, TestDatabase};
use insights_types::OrgId;
use insights_types::api::{AuthOut, IntegrationOut, JobState, RunbookOut};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::Connection;
use std::path::PathBuf;
use std::process::Command;

const PD_TOKEN: &str = "pd-token-backup";

/// The PostgreSQL client programs of the newest installed PostgreSQL (as `scripts/lib/common.sh` finds the
/// server's), or the ones on `PATH`.
fn pg_program(name: &str) -> PathBuf {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin").join(name)))
        })
        .filter(|(_, p)| p.exists())
        .max_by_key(|(v, _)| *v);
    newest.map_or_else(|| PathBuf::from(name), |(_, p)| p)
}

/// Runs a PostgreSQL client program and returns its standard output; panics with its error output unless it
/// succeeded.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(pg_program(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the product answers about the organization: its integrations, a page of its incidents, the runbook.
async fn answers(app: &TestApp, token: &str, org: OrgId, runbook: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        format!("/api/v1/orgs/{org}/integrations"),
        format!("/api/v1/orgs/{org}/incidents?limit=100"),
        format!("/api/v1/orgs/{org}/runbooks/{runbook}"),
    ] {
        let r = app.get(&path, token).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        out.push(r.body);
    }
    out
}

#[tokio::test]
async fn a_dump_restored_into_a_new_database_serves_the_same_data_and_opens_its_secrets() {
    let pagerduty =
        FakePagerDuty::start(PD_TOKEN, History::recent(25, chrono::Duration::hours(2))).await;
    let mut app = TestApp::spawn(&[("INSIGHTS_PAGERDUTY_API_URL", &pagerduty.url)])
        .await
        .with_worker()
        .await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let integration = app
        .connect_pagerduty(&owner, org, "PagerDuty (prod)", PD_TOKEN, json!({}))
        .await;
    let r = app
        .post(
            &format!("/api/v1/orgs/{org}/runbooks"),
            &owner.token,
            json!({ "title": "Replica lag", "body": "Reads go stale.",
                    "steps": [{ "title": "Check the lag",
                                "command": { "language": "sql", "text": "SELECT replay_lag FROM pg_stat_replication;" } }],
                    "tags": ["postgres"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let runbook: RunbookOut = r.json();
    let runbook = runbook.id.to_string();
    for job in app.wait_for_jobs(&owner.token, org).await {
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    }
    app.stop_worker().await;
    let before = answers(&app, &owner.token, org, &runbook).await;
    let incidents = before[1]["items"].as_array().unwrap().len();
    assert_eq!(incidents, 25, "{}", before[1]);
    let listed: Vec<IntegrationOut> = serde_json::from_value(before[0]["items"].clone()).unwrap();
    assert_eq!(listed[0].id, integration.id);

    // The backup (docs/operations/backups.md): a custom-format dump of the database by a role that bypasses
    // row-level security (forced on every tenant table, so even the tables' owner could not read them all),
    // and the roles the dump needs.
    let source = app.config.database.url.expose_secret().to_owned();
    let admin = std::env::var("DATABASE_URL").unwrap();
    run(
        "psql",
        &[
            "--no-psqlrc",
            "--set=ON_ERROR_STOP=1",
            "--dbname",
            &admin,
            "--command",
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'insights_backup') THEN \
             CREATE ROLE insights_backup LOGIN BYPASSRLS; END IF; END $$",
            "--command",
            "GRANT pg_read_all_data TO insights_backup",
        ],
    );
    let mut backup_url = url::Url::parse(&source).unwrap();
    backup_url.set_username("insights_backup").unwrap();
    let dir = tempfile_dir();
    let dump = dir.join("insights.dump");
    let dump_arg = dump.to_str().unwrap();
    run(
        "pg_dump",
        &[
            "--format=custom",
            "--file",
            dump_arg,
            "--dbname",
            backup_url.as_str(),
        ],
    );
    let roles = run(
        "pg_dumpall",
        &["--roles-only", "--no-role-passwords", "--dbname", &admin],
    );
    assert!(roles.contains("CREATE ROLE insights_app"), "{roles}");

    // The restore: into a new, empty database of a cluster that has the roles.
    let target = TestDatabase::empty().await;
    run(
        "pg_restore",
        &[
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            target.url(),
            dump_arg,
        ],
    );
    run(
        "psql",
        &[
            "--no-psqlrc",
            "--set=ON_ERROR_STOP=1",
            "--dbname",
            target.url(),
            "--command",
            "ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF",
        ],
    );
    // The restored database has every migration: `insights-api migrate` has nothing to do.
    let applied = |url: String| async move {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(&mut c)
            .await
            .unwrap();
        n
    };
    let migrations = applied(target.url().to_owned()).await;
    insights_core::db::migrate(&target.url().to_owned().into())
        .await
        .expect("migrate the restored database");
    assert_eq!(applied(target.url().to_owned()).await, migrations);
    assert_eq!(applied(source.clone()).await, migrations);

    // A new app on the restored database, with the same secret key and a Redis of its own (an empty one).
    let key = app.config.general.secret_keys.expose_secret()[0];
    let key_b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(key)
    };
    let restored = TestApp::spawn(&[
        ("DATABASE_URL", target.url()),
        ("INSIGHTS_SECRET_KEY", &key_b64),
    ])
    .await;
    let r = restored.login("owner@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let auth: AuthOut = r.json();
    let after = answers(&restored, &auth.access_token, org, &runbook).await;
    assert_eq!(after, before);

    // The sealed PagerDuty key opens with the same INSIGHTS_SECRET_KEY, and with no other.
    let mut tx = restored.state.db.org_tx(org, None).await.unwrap();
    let row = integrations::get(&mut tx, integration.id).await.unwrap();
    tx.commit().await.unwrap();
    let opened = sync::open_credential(&restored.state.secrets, integration.id, &row.credentials)
        .expect("the credential opens with the same key");
    assert_eq!(opened.expose_secret(), PD_TOKEN);
    let other = SecretBox::new(&rand::random::<[u8; 32]>());
    assert!(sync::open_credential(&other, integration.id, &row.credentials).is_err());

    drop(restored);
    drop(target);
    let _ = std::fs::remove_dir_all(&dir);
    drop(app);
    drop(pagerduty);
}

/// A new directory for the dump under the system's temporary directory.
fn tempfile_dir() -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("insights-backup-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
