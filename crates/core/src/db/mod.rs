//! Data access. One pool connects as the configured URL and switches to the application role
//! (`SET ROLE insights_app`), which does not own the tables, so PostgreSQL row-level security applies to every
//! query. Tenant data is only reached through an [`OrgTx`]: a transaction that has set `app.org_id`, whose
//! repository functions also scope every statement by that org id in SQL — two walls, either enough alone.
//! With a read replica (`DATABASE_READ_URL`), a second pool set up the same way serves the reads that tolerate
//! replication lag ([`Db::org_read_tx`]); without one, those reads use the primary pool.

/// A statement on tenant data: `sqlx::query!` of `$sql` (checked at compile time like it) whose `$1` is the
/// organization of the [`OrgTx`] `$db`, and `$arg`s `$2`, `$3`…. PostgreSQL cannot type a parameter a statement
/// does not use, so one that forgets `org_id = $1` does not compile.
macro_rules! org_query {
    ($db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        sqlx::query!($sql, $db.org_id() as insights_types::OrgId $(, $arg)*)
    };
}

/// [`org_query!`] as `sqlx::query_as!` into `$out`.
macro_rules! org_query_as {
    ($db:expr, $out:path, $sql:expr $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!($out, $sql, $db.org_id() as insights_types::OrgId $(, $arg)*)
    };
}

/// [`org_query!`] as `sqlx::query_scalar!`.
macro_rules! org_query_scalar {
    ($db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        sqlx::query_scalar!($sql, $db.org_id() as insights_types::OrgId $(, $arg)*)
    };
}

/// Runs an [`org_query!`] write on the `OrgTx` `$db`; evaluates to the `DbResult` of how many rows it changed.
macro_rules! org_rows_changed {
    ($db:expr, $($query:tt)+) => {
        org_query!($db, $($query)+)
            .execute($db.conn())
            .await
            .map(|done| done.rows_affected())
            .map_err($crate::db::DbError::from)
    };
}

/// [`org_rows_changed!`] of a write whose count does not matter: evaluates to its `DbResult<()>`.
macro_rules! org_execute {
    ($db:expr, $($query:tt)+) => {
        org_rows_changed!($db, $($query)+).map(drop)
    };
}

pub mod account_tokens;
pub mod audit;
pub mod dashboard_layouts;
pub mod feedback;
pub mod incidents;
pub mod integrations;
pub mod invitations;
pub mod job_runs;
pub mod members;
pub mod orgs;
pub mod refresh_tokens;
pub mod sealed;
pub mod security_events;
pub mod users;
pub mod webhooks;

use crate::config::DatabaseConfig;
use anyhow::Context;
use insights_types::{OrgId, UserId};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Embedded migrations (`migrations/` at the repository root). A database may have newer ones than this
/// binary knows — a rollback runs the previous release (and its `migrate`) on the migrated schema, which the
/// expand → contract rule keeps working (`migrations/README.md`) — so those are left alone, not refused; a known
/// migration whose file changed is still refused.
pub static MIGRATOR: sqlx::migrate::Migrator = {
    let mut migrator = sqlx::migrate!("../../migrations");
    migrator.ignore_missing = true;
    migrator
};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    /// A named unique or check constraint refused the write.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The statement ran past the statement timeout and PostgreSQL cancelled it (`57014`), or no connection
    /// came free in time: the database is busy, and this work does not fit its budget.
    #[error("database statement timed out: {0}")]
    TimedOut(sqlx::Error),
    /// A stored value does not parse (say, a spelling no enum variant has): the data is wrong, and is never
    /// read as some default instead.
    #[error("a value stored in {table} does not parse (column {column}): {error}")]
    Unreadable {
        table: &'static str,
        column: String,
        error: sqlx::error::BoxDynError,
    },
    #[error(transparent)]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() || db.is_check_violation() => {
                DbError::Conflict {
                    constraint: db.constraint().unwrap_or("unknown").to_owned(),
                }
            }
            // query_canceled: the statement timeout (or a cancel request) stopped it.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => {
                DbError::TimedOut(e)
            }
            sqlx::Error::PoolTimedOut => DbError::TimedOut(e),
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed => DbError::Unavailable(e),
            _ => DbError::Other(e),
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

/// `NotFound` when a write changed no row.
fn found(changed: DbResult<u64>) -> DbResult<()> {
    match changed? {
        0 => Err(DbError::NotFound),
        _ => Ok(()),
    }
}

/// Reads name their table in errors: a stored value that does not parse becomes [`DbError::Unreadable`].
pub(crate) trait ReadFrom<T> {
    fn read_from(self, table: &'static str) -> DbResult<T>;
}

impl<T> ReadFrom<T> for Result<T, sqlx::Error> {
    fn read_from(self, table: &'static str) -> DbResult<T> {
        self.map_err(|e| match e {
            sqlx::Error::ColumnDecode { index, source } => DbError::Unreadable {
                table,
                column: index,
                error: source,
            },
            e => e.into(),
        })
    }
}

/// The application's connection pools: the primary's and, when configured, the read replica's.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    replica: Option<PgPool>,
}

impl Db {
    /// The pools of a [`DatabaseConfig`]: the primary's and, when `read_url` is set, the replica's (the same
    /// role, size and `statement_timeout`); both connect lazily.
    pub fn connect(
        config: &DatabaseConfig,
        statement_timeout: Option<Duration>,
    ) -> anyhow::Result<Self> {
        let pool = lazy_pool(
            &config.url,
            &config.role,
            config.max_connections,
            statement_timeout,
        )
        .context("DATABASE_URL")?;
        let replica = match &config.read_url {
            Some(url) => Some(
                lazy_pool(url, &config.role, config.max_connections, statement_timeout)
                    .context("DATABASE_READ_URL")?,
            ),
            None => None,
        };
        Ok(Self { pool, replica })
    }

    /// Connects lazily (the first query opens a connection) as `database_role`.
    pub fn connect_lazy(
        url: &secrecy::SecretString,
        role: &str,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        Self::connect_lazy_with(url, role, max_connections, None)
    }

    /// [`Db::connect_lazy`] whose every statement is stopped by PostgreSQL after `statement_timeout` (set on
    /// each connection as it opens): a slow query ends as [`DbError::TimedOut`] instead of holding a
    /// connection and its caller indefinitely.
    pub fn connect_lazy_with(
        url: &secrecy::SecretString,
        role: &str,
        max_connections: u32,
        statement_timeout: Option<Duration>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            pool: lazy_pool(url, role, max_connections, statement_timeout)?,
            replica: None,
        })
    }

    /// The raw pool, for health checks and tables without tenant data.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The read replica's pool, when one is configured.
    #[must_use]
    pub fn replica_pool(&self) -> Option<&PgPool> {
        self.replica.as_ref()
    }

    /// A transaction scoped to one organization (and, when known, the acting user).
    pub async fn org_tx(&self, org_id: OrgId, user_id: Option<UserId>) -> DbResult<OrgTx> {
        let tx = begin_as(&self.pool, "BEGIN", Some(org_id), user_id).await?;
        Ok(OrgTx { tx, org_id })
    }

    /// [`Db::org_tx`] for a read that tolerates replication lag: a `READ ONLY` transaction on the read replica
    /// (the primary without one), under the same role and row-level security. Never for what a write of the
    /// same request depends on, nor for authentication and membership (`docs/ARCHITECTURE.md`, "Read replica").
    pub async fn org_read_tx(&self, org_id: OrgId, user_id: Option<UserId>) -> DbResult<OrgTx> {
        let pool = self.replica.as_ref().unwrap_or(&self.pool);
        let tx = begin_as(pool, "BEGIN READ ONLY", Some(org_id), user_id).await?;
        Ok(OrgTx { tx, org_id })
    }

    /// A transaction acting as one user, outside any organization: it may read that user's memberships and
    /// organizations, nothing of other tenants.
    pub async fn user_tx(&self, user_id: UserId) -> DbResult<Transaction<'static, Postgres>> {
        begin_as(&self.pool, "BEGIN", None, Some(user_id)).await
    }
}

/// A pool connecting lazily (the first query opens a connection) to `url`, each connection switched to `role`
/// (and given `statement_timeout`) as it opens.
fn lazy_pool(
    url: &secrecy::SecretString,
    role: &str,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> anyhow::Result<PgPool> {
    let options =
        PgConnectOptions::from_str(url.expose_secret())?.application_name("incident-insights");
    // List queries take optional filters as `$n IS NULL OR …`: only a plan made for the actual values turns
    // them into index conditions (a deep page's cursor, a text search), so never use a generic plan.
    let mut setup = format!("SET ROLE {role}; SET plan_cache_mode = force_custom_plan");
    if let Some(t) = statement_timeout {
        setup.push_str(&format!(
            "; SET statement_timeout = {}",
            t.as_millis().max(1)
        ));
    }
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _meta| {
            let setup = setup.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(setup)).await?;
                Ok(())
            })
        })
        .connect_lazy_with(options))
}

/// Begins a transaction with `begin` (`BEGIN`, or `BEGIN READ ONLY`) whose tenant settings (`app.org_id`,
/// `app.user_id`, transaction-local) travel with it in one simple-protocol message: one round trip instead of
/// two. The values are typed ids, whose text form is a UUID, so formatting them into the statement cannot
/// inject anything.
async fn begin_as(
    pool: &PgPool,
    begin: &str,
    org_id: Option<OrgId>,
    user_id: Option<UserId>,
) -> DbResult<Transaction<'static, Postgres>> {
    let setting = |name: &str, value: Option<String>| {
        format!(
            "set_config('{name}', '{}', true)",
            value.unwrap_or_default()
        )
    };
    let begin = format!(
        "{begin}; SELECT {}, {}",
        setting("app.org_id", org_id.map(|o| o.0.to_string())),
        setting("app.user_id", user_id.map(|u| u.0.to_string())),
    );
    Ok(pool.begin_with(sqlx::AssertSqlSafe(begin)).await?)
}

/// Runs the migrations with the URL's own role (the owner of the tables), then returns.
pub async fn migrate(url: &secrecy::SecretString) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(url.expose_secret())
        .await?;
    MIGRATOR.run(&pool).await?;
    pool.close().await;
    Ok(())
}

/// A transaction in which `app.org_id` is set: the only way to reach tenant data. Repository functions read
/// the org id from it and put it in their `WHERE` clauses.
#[derive(Debug)]
pub struct OrgTx {
    tx: Transaction<'static, Postgres>,
    org_id: OrgId,
}

impl OrgTx {
    #[must_use]
    pub fn org_id(&self) -> OrgId {
        self.org_id
    }

    /// The connection, for repository functions.
    pub fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> DbResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Decodes and encodes the opaque `(created_at, id)` cursors of list endpoints.
pub mod cursor {
    use base64::Engine;
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    /// Where a page ends: the `(created_at, id)` of its last item.
    pub type Position = (DateTime<Utc>, Uuid);

    #[must_use]
    pub fn encode(at: DateTime<Utc>, id: Uuid) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.to_rfc3339()))
    }

    /// One page out of the `limit + 1` rows a list query fetched: the first `limit`, and the cursor after the
    /// last of them when there was more.
    pub fn page<T>(
        mut items: Vec<T>,
        limit: i64,
        position: impl Fn(&T) -> Position,
    ) -> (Vec<T>, Option<String>) {
        let more = items.len() as i64 > limit;
        items.truncate(limit as usize);
        let next = more
            .then(|| {
                items.last().map(|i| {
                    let (at, id) = position(i);
                    encode(at, id)
                })
            })
            .flatten();
        (items, next)
    }

    /// `None` when the cursor was not produced by [`encode`].
    #[must_use]
    pub fn decode(s: &str) -> Option<Position> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (at, id) = raw.split_once('|')?;
        Some((
            DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
            Uuid::parse_str(id).ok()?,
        ))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn cursors_round_trip_and_garbage_is_refused() {
            let at = chrono::Utc::now();
            let id = uuid::Uuid::now_v7();
            assert_eq!(super::decode(&super::encode(at, id)), Some((at, id)));
            assert_eq!(super::decode("nope"), None);
            assert_eq!(super::decode(""), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insights_types::IntegrationId;
    use sqlx::{Connection, PgConnection};

    /// A new, migrated database on the test cluster (`DATABASE_URL`, as `scripts/test` sets it): its URL, and
    /// the cluster's admin URL to drop it with.
    async fn fresh_database() -> (String, String) {
        let admin = std::env::var("DATABASE_URL")
            .expect("DATABASE_URL must point at the test PostgreSQL (run scripts/test)");
        let name = format!("insights_core_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin).await.expect("connect");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create database");
        let mut url = url::Url::parse(&admin).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        migrate(&url.to_string().into()).await.expect("migrate");
        (url.to_string(), admin)
    }

    /// Drops a database made by [`fresh_database`].
    async fn drop_database(url: &str, admin: &str) {
        let name = url.rsplit('/').next().expect("database name");
        let mut conn = PgConnection::connect(admin).await.expect("connect");
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .await
        .expect("drop database");
    }

    /// Inserts the organization `org` (as the owner of the tables, past row-level security).
    async fn insert_org(owner: &mut PgConnection, org: OrgId) {
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', 'acme')")
            .bind(org.0)
            .execute(owner)
            .await
            .expect("insert organization");
    }

    /// The plan of the statement prepared on `conn` whose text contains `marker`, executed with `args` (SQL
    /// literals): what this connection really runs, with its own settings.
    async fn plan_of(conn: &mut PgConnection, marker: &str, args: &str) -> String {
        let name: String = sqlx::query_scalar(
            "SELECT name FROM pg_prepared_statements WHERE strpos(statement, $1) > 0 ORDER BY prepare_time DESC LIMIT 1",
        )
        .bind(marker)
        .fetch_one(&mut *conn)
        .await
        .expect("the statement was prepared");
        let lines: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN EXECUTE {name}({args})"
        )))
        .fetch_all(&mut *conn)
        .await
        .expect("explain");
        lines.join("\n")
    }

    #[tokio::test]
    async fn incident_text_search_and_deep_pages_stay_index_conditions() {
        let (url, admin) = fresh_database().await;
        let org = OrgId::new();
        let mut owner = PgConnection::connect(&url).await.expect("connect");
        insert_org(&mut owner, org).await;
        sqlx::query(
            "INSERT INTO incidents (id, org_id, source, external_id, title, description, status, triggered_at,
                                    source_updated_at)
             SELECT gen_random_uuid(), $1, 'sample', 'x' || g,
                    (ARRAY['Database latency', 'Disk full', 'Payment timeouts', 'Queue backlog'])[g % 4 + 1]
                        || ' on host-' || (g % 1000),
                    'Threshold crossed in region ' || (g % 7), 'resolved', now() - make_interval(mins => g), now()
               FROM generate_series(1, 60000) g",
        )
        .bind(org.0)
        .execute(&mut owner)
        .await
        .expect("insert incidents");
        owner.execute("ANALYZE incidents").await.expect("analyze");

        let db = Db::connect_lazy_with(&url.clone().into(), "insights_app", 1, None).expect("pool");
        let mut tx = db.org_tx(org, None).await.expect("org tx");
        let search = incidents::IncidentFilter {
            text: Some("zzqx".into()),
            ..Default::default()
        };
        let all = incidents::IncidentFilter::default();
        let deep_at = chrono::Utc::now() - chrono::Duration::minutes(50_000);
        let deep = (deep_at, uuid::Uuid::max());
        // More executions than PostgreSQL makes custom plans for before it may switch to a generic one.
        for _ in 0..8 {
            let (found, _) = incidents::list(&mut tx, &search, None, 50)
                .await
                .expect("search");
            assert!(found.is_empty());
            let (page, _) = incidents::list(&mut tx, &all, Some(deep), 50)
                .await
                .expect("deep page");
            assert_eq!(page.len(), 50);
        }
        let marker = "LIMIT $13";
        // On a table this small a sequential scan is cheaper: what matters is that the trigram indexes are
        // usable as index conditions under row-level security at all (the bench shows them chosen on 1M).
        tx.conn()
            .execute("SET LOCAL enable_seqscan = off")
            .await
            .expect("set");
        let search_plan = plan_of(
            tx.conn(),
            marker,
            &format!(
                "'{org}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '%zzqx%', NULL, NULL, NULL, 51"
            ),
        )
        .await;
        tx.conn()
            .execute("SET LOCAL enable_seqscan = on")
            .await
            .expect("set");
        let deep_plan = plan_of(
            tx.conn(),
            marker,
            &format!(
                "'{org}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', '{}', 51",
                deep_at.to_rfc3339(),
                uuid::Uuid::max()
            ),
        )
        .await;
        drop(tx);
        db.pool().close().await;
        owner.close().await.ok();

        for index in ["incidents_title_trgm_idx", "incidents_description_trgm_idx"] {
            assert!(
                search_plan.contains(index),
                "search does not use {index}:\n{search_plan}"
            );
        }
        assert!(
            deep_plan
                .lines()
                .any(|l| l.contains("Index Cond") && l.contains("triggered_at")),
            "the cursor of a deep page is not an index condition:\n{deep_plan}"
        );
        drop_database(&url, &admin).await;
    }

    #[tokio::test]
    async fn an_unknown_stored_integration_kind_is_an_error_naming_the_table_and_the_value() {
        let (url, admin) = fresh_database().await;
        let (org, id) = (OrgId::new(), IntegrationId::new());
        // As the owner, past the checks: a kind this build does not know, as a newer one could store.
        let mut owner = PgConnection::connect(&url).await.expect("connect");
        owner
            .execute(
                "ALTER TABLE integrations DROP CONSTRAINT integrations_kind_check, \
                 DROP CONSTRAINT integrations_region_check",
            )
            .await
            .expect("drop the checks");
        insert_org(&mut owner, org).await;
        sqlx::query(
            "INSERT INTO integrations (id, org_id, kind, name, credentials) VALUES ($1, $2, 'servicenow', 'Ops', '')",
        )
        .bind(id.0)
        .bind(org.0)
        .execute(&mut owner)
        .await
        .expect("insert integration");

        let db = Db::connect_lazy(&url.clone().into(), "insights_app", 1).expect("pool");
        let mut tx = db.org_tx(org, None).await.expect("org tx");
        let err = integrations::get(&mut tx, id)
            .await
            .expect_err("an unknown kind is an error, not some default kind");
        drop(tx);
        db.pool().close().await;
        owner.close().await.ok();

        assert!(
            matches!(
                err,
                DbError::Unreadable {
                    table: "integrations",
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("integrations") && message.contains("\"servicenow\""),
            "{message}"
        );
        drop_database(&url, &admin).await;
    }
}
