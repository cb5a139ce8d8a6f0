//! The test cluster's streaming replica (`INSIGHTS_TEST_REPLICA_URL`, started by `scripts/test`): it replays
//! the whole cluster, so each test database made on the primary appears there too, once replayed.

use crate::TestApp;
use crate::database::{admin_url, with_database};
use sqlx::{Connection, PgConnection};
use std::time::Duration;

/// How long [`wait_for_replay`] waits.
const REPLAY_WAIT: Duration = Duration::from_secs(60);

/// The replica's admin URL, or `None` (saying that the test is skipped) when `INSIGHTS_TEST_REPLICA_URL` is
/// unset: `scripts/test` runs these tests in a step of their own with the replica started
/// (`scripts/lib/replica.sh`), which fails when none of them ran.
#[must_use]
pub fn replica_url() -> Option<String> {
    match std::env::var("INSIGHTS_TEST_REPLICA_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipped: INSIGHTS_TEST_REPLICA_URL is unset (scripts/test runs these tests against a streaming replica in a step of their own)"
            );
            None
        }
    }
}

/// `database` (a URL on the primary) as the same database on the replica.
#[must_use]
pub fn on_replica(replica: &str, database: &str) -> String {
    let name = url::Url::parse(database)
        .expect("a database URL")
        .path()
        .trim_start_matches('/')
        .to_owned();
    with_database(replica, &name)
}

/// Waits until the replica has replayed everything the primary had written when this was called.
pub async fn wait_for_replay(replica: &str) {
    let mut primary = PgConnection::connect(&admin_url())
        .await
        .expect("connect to the primary");
    // The insert position, not `pg_current_wal_lsn()` (what is written out): with `synchronous_commit=off` (as
    // scripts/test runs it) a commit returns before its record is written, and would be missed.
    let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(&mut primary)
        .await
        .expect("the primary's WAL position");
    primary.close().await.ok();
    let mut standby = PgConnection::connect(replica)
        .await
        .expect("connect to the replica");
    let deadline = tokio::time::Instant::now() + REPLAY_WAIT;
    loop {
        let replayed: bool =
            sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn")
                .bind(&lsn)
                .fetch_one(&mut standby)
                .await
                .expect("the replica's replay position");
        if replayed {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replica did not replay {lsn} within {REPLAY_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    standby.close().await.ok();
}

impl TestApp {
    /// An app (with the test configuration plus `overrides`) whose reads that tolerate replication lag go to
    /// the streaming replica (`DATABASE_READ_URL` = its test database there, replayed before it starts); `None`
    /// when there is no replica (see [`replica_url`]).
    pub async fn with_read_replica(overrides: &[(&str, &str)]) -> Option<TestApp> {
        let replica = replica_url()?;
        let database = crate::fresh_database().await;
        wait_for_replay(&replica).await;
        let read = on_replica(&replica, &database);
        let mut all = vec![
            ("DATABASE_URL", database.as_str()),
            ("DATABASE_READ_URL", read.as_str()),
        ];
        all.extend_from_slice(overrides);
        Some(TestApp::spawn(&all).await)
    }

    /// This app's database on the replica, as the cluster's superuser (past row-level security until a
    /// `SET ROLE`).
    #[must_use]
    pub fn replica_database_url(&self) -> Option<String> {
        let replica = replica_url()?;
        let database = secrecy::ExposeSecret::expose_secret(&self.config.database.url).to_owned();
        Some(on_replica(&replica, &database))
    }
}
