//! The `insights-api` binary itself: start-up validation, `migrate`, serving, graceful shutdown on SIGTERM, and
//! `openapi`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn base_env(cmd: &mut Command, database_url: &str) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("REDIS_URL", std::env::var("REDIS_URL").unwrap())
        .env(
            "INSIGHTS_SECRET_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env(
            "INSIGHTS_JWT_SECRET",
            "k3P9vQ1xZr7TmW2bYc8HsN4eLd6fAg0jUo5iRq+Mw/Kt",
        )
        .env("INSIGHTS_METRICS_ADDR", "127.0.0.1:0")
        .env(
            "INSIGHTS_REDIS_PREFIX",
            format!("test-{}", uuid::Uuid::new_v4().simple()),
        );
}

#[test]
fn a_missing_setting_stops_start_up_with_one_line_naming_it() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_insights-api"));
    base_env(&mut cmd, "postgres://x@127.0.0.1/x");
    cmd.env_remove("INSIGHTS_SECRET_KEY");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("INSIGHTS_SECRET_KEY"), "{err}");
    assert!(!err.contains("k3P9vQ1x"), "secrets are never printed");
}

#[tokio::test]
async fn migrate_then_serve_then_stop_gracefully_on_sigterm() {
    // A fresh, empty database: `migrate` creates the schema in it.
    let database = insights_testing::TestDatabase::empty().await;
    let url = database.url();

    let mut migrate = Command::new(env!("CARGO_BIN_EXE_insights-api"));
    base_env(&mut migrate, url);
    let out = migrate.arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_insights-api"));
    base_env(&mut serve, url);
    let mut child = serve
        .env("INSIGHTS_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/health/ready");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(&ready).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "the API did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the API did not stop within 10 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    // Logs are JSON lines carrying the request id of each request.
    let mut logs = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut logs).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(!lines.is_empty(), "no JSON log lines: {logs}");
    assert!(
        lines.iter().any(|l| l["span"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())),
        "no log line with a request id: {logs}"
    );
}

#[test]
fn the_openapi_command_prints_the_served_description_without_any_configuration() {
    let out = Command::new(env!("CARGO_BIN_EXE_insights-api"))
        .arg("openapi")
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let served = serde_json::to_value(insights_api::app::api_parts().1).unwrap();
    assert_eq!(printed, served);
}

#[tokio::test]
async fn reset_link_prints_a_working_reset_link_for_an_address() {
    use secrecy::ExposeSecret;
    let app = insights_testing::TestApp::spawn(&[]).await;
    app.signup("ada@example.com", "Acme").await;
    let run = |email: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_insights-api"));
        base_env(&mut cmd, app.config.database.url.expose_secret());
        cmd.env("INSIGHTS_PUBLIC_URL", "https://insights.example.com")
            .args(["reset-link", email])
            .output()
            .unwrap()
    };
    let out = run("Ada@Example.com");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let link = stdout.trim();
    let token = link
        .strip_prefix("https://insights.example.com/reset-password#token=")
        .unwrap_or_else(|| panic!("{stdout}"));
    let r = app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/reset-password",
            None,
            Some(
                serde_json::json!({ "token": token, "new_password": "chosen by the admin's user" }),
            ),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::NO_CONTENT, "{}", r.text);

    let unknown = run("nobody@example.com");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account"));
}

/// A rollback runs the previous release's `migrate` on a database migrated further: the migrations it does not
/// know are left alone and it succeeds; a known migration whose file changed is still refused.
#[tokio::test]
async fn migrate_leaves_newer_migrations_alone_but_refuses_a_changed_one() {
    use sqlx::Connection as _;
    let database = insights_testing::TestDatabase::empty().await;
    let url = database.url();
    let migrate = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_insights-api"));
        base_env(&mut cmd, url);
        cmd.arg("migrate").output().unwrap()
    };
    assert!(migrate().status.success());
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    // What a newer release would have applied.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99991231000001, 'from a newer release', true, '\\x00'::bytea, 1)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let out = migrate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A landed migration edited afterwards.
    sqlx::query(
        "UPDATE _sqlx_migrations SET checksum = '\\x00'::bytea
          WHERE version = (SELECT min(version) FROM _sqlx_migrations)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let out = migrate();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("modified"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
