//! Test databases: a migrated template (created once per migration set), a fresh copy of it per test, and what
//! a [`TestApp`](crate::TestApp) does with its copy when it ends (check for unfinished jobs, then drop it).

use sqlx::{Connection, Executor, PgConnection};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The prefix of every per-test database (the template's is `insights_tpl_`).
const TEST_DATABASE_PREFIX: &str = "insights_test_";

/// The environment variable holding the test cluster's admin URL.
pub(crate) fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at the test PostgreSQL (run scripts/test)")
}

/// `url` with its database name replaced.
pub(crate) fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("DATABASE_URL is a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// A migrated template database, created once per migration set (its name carries a digest of them).
async fn template() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            for m in insights_core::db::MIGRATOR.iter() {
                h.update(m.version.to_le_bytes());
                h.update(&*m.checksum);
            }
            let name = format!("insights_tpl_{}", &hex::encode(h.finalize())[..16]);
            let mut admin = PgConnection::connect(&admin_url())
                .await
                .expect("connect to test PostgreSQL");
            // Serialize template creation across test processes.
            admin
                .execute("SELECT pg_advisory_lock(424242)")
                .await
                .expect("lock");
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut admin)
                    .await
                    .expect("query");
            if !exists {
                let building = format!("{name}_building");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {building}"
                    )))
                    .await
                    .expect("drop");
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
                    .await
                    .expect("create template");
                insights_core::db::migrate(&with_database(&admin_url(), &building).into())
                    .await
                    .expect("migrate template");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "ALTER DATABASE {building} RENAME TO {name}"
                    )))
                    .await
                    .expect("rename template");
            }
            admin
                .execute("SELECT pg_advisory_unlock(424242)")
                .await
                .expect("unlock");
            admin.close().await.ok();
            name
        })
        .await
}

/// Creates a database named `insights_test_<uuid>`, a copy of `template` when given; returns its name.
async fn create(template: Option<&str>) -> String {
    let name = format!("{TEST_DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("connect to test PostgreSQL");
    let sql = match template {
        Some(tpl) => format!("CREATE DATABASE {name} TEMPLATE {tpl}"),
        None => format!("CREATE DATABASE {name}"),
    };
    admin
        .execute(sqlx::AssertSqlSafe(sql))
        .await
        .expect("create test database");
    admin.close().await.ok();
    name
}

/// A new, migrated database for one test; returns its URL. The [`TestApp`](crate::TestApp) started on it owns
/// it and drops it when it ends; a database no app is started on stays behind (see [`TestDatabase`]).
pub async fn fresh_database() -> String {
    with_database(&admin_url(), &create(Some(template().await)).await)
}

/// A database of the test's own, dropped when this value is (also when the test panics), for tests that use
/// a database without a [`TestApp`](crate::TestApp).
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// A new database with the schema (a copy of the migrated template).
    pub async fn migrated() -> TestDatabase {
        Self::named(create(Some(template().await)).await)
    }

    /// A new, empty database (for what migrates it itself).
    pub async fn empty() -> TestDatabase {
        Self::named(create(None).await)
    }

    fn named(name: String) -> TestDatabase {
        TestDatabase {
            url: with_database(&admin_url(), &name),
            name,
        }
    }

    /// Its URL (as the test cluster's admin).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        Teardown {
            pool: None,
            check_jobs: false,
            drop_database: Some(self.name.clone()),
        }
        .run();
    }
}

/// The test databases owned by a live app of this process.
static OWNED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The database `pool` connects to, when it is a test database and no other live app owns it: the caller then
/// owns it (and a [`Teardown`] drops it).
pub(crate) fn claim(pool: &sqlx::PgPool) -> Option<String> {
    let name = pool
        .connect_options()
        .get_database()
        .filter(|n| n.starts_with(TEST_DATABASE_PREFIX))?
        .to_owned();
    let mut owned = OWNED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if owned.contains(&name) {
        return None;
    }
    owned.push(name.clone());
    Some(name)
}

fn release(name: &str) {
    OWNED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|n| n != name);
}

/// A job run that had not ended when its test did.
#[derive(sqlx::FromRow)]
pub(crate) struct Unfinished {
    id: uuid::Uuid,
    org_id: uuid::Uuid,
    kind: String,
    state: String,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
}

impl std::fmt::Display for Unfinished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} (org {}, attempt {}/{})",
            self.kind, self.id, self.state, self.org_id, self.attempts, self.max_attempts
        )?;
        if let Some(e) = &self.last_error {
            write!(f, ", last error: {e}")?;
        }
        Ok(())
    }
}

/// What an ending app does with its database, on a thread of its own: a dropped value cannot await on the
/// test's runtime (and the runtime may be unwinding).
pub(crate) struct Teardown {
    /// The app's pool, closed first so that only strays are left for `WITH (FORCE)` to cut off.
    pub pool: Option<sqlx::PgPool>,
    /// Whether to list the unfinished jobs (connecting as the pool does, before its `SET ROLE`: the
    /// superuser, on the test database).
    pub check_jobs: bool,
    /// The database to drop, when the app owns it.
    pub drop_database: Option<String>,
}

impl Teardown {
    /// Runs to the end (on its own thread and runtime) and returns the unfinished jobs found.
    pub fn run(self) -> Vec<Unfinished> {
        let owned = self.drop_database.clone();
        let outcome = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the teardown")
                .block_on(self.run_async())
        })
        .join();
        if let Some(name) = owned {
            release(&name);
        }
        outcome.unwrap_or_else(|_| {
            eprintln!("the test database teardown panicked");
            Vec::new()
        })
    }

    async fn run_async(self) -> Vec<Unfinished> {
        let mut unfinished = Vec::new();
        if let Some(pool) = &self.pool {
            // Closed at once for new work; its connections close gracefully unless one is still out. A
            // connection released just before the end is returned to the pool by a task of the test's runtime,
            // which is blocked on this thread: not worth waiting for, `WITH (FORCE)` ends it.
            let _ = tokio::time::timeout(Duration::from_millis(100), pool.close()).await;
            if self.check_jobs {
                unfinished = unfinished_jobs(&pool.connect_options())
                    .await
                    .unwrap_or_else(|e| {
                        eprintln!("cannot list the unfinished jobs: {e}");
                        Vec::new()
                    });
            }
        }
        if let Some(name) = &self.drop_database
            && let Err(e) = drop_database(name).await
        {
            eprintln!("cannot drop the test database {name}: {e}");
        }
        unfinished
    }
}

/// The job runs of every organization that have not ended, read as the superuser (no row-level security).
async fn unfinished_jobs(
    options: &sqlx::postgres::PgConnectOptions,
) -> Result<Vec<Unfinished>, sqlx::Error> {
    let mut c = PgConnection::connect_with(options).await?;
    let rows = sqlx::query_as(
        "SELECT id, org_id, kind, state, attempts, max_attempts, last_error FROM job_runs
          WHERE state IN ('queued', 'running', 'retrying') ORDER BY created_at, id",
    )
    .fetch_all(&mut c)
    .await?;
    c.close().await.ok();
    Ok(rows)
}

async fn drop_database(name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(&admin_url()).await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await?;
    admin.close().await.ok();
    Ok(())
}
