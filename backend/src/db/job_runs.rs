//! Tracked background jobs: the row the API creates when it enqueues work, and that the worker moves through
//! `queued → running → (retrying →)* succeeded | failed`, so progress and failures are visible to users.

use super::{DbResult, OrgTx, cursor};
use chrono::{DateTime, Utc};
use insights_types::{
    JobRunId, OrgId,
    api::{JobRunOut, JobState},
};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    kind: String,
    state: String,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    progress: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<Row> for JobRunOut {
    fn from(r: Row) -> Self {
        JobRunOut {
            id: JobRunId(r.id),
            kind: r.kind,
            state: JobState::parse(&r.state).unwrap_or(JobState::Failed),
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            last_error: r.last_error,
            progress: r.progress,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        }
    }
}

macro_rules! select {
    () => {
        "SELECT id, kind, state, attempts, max_attempts, last_error, progress, created_at, updated_at,
                             finished_at FROM job_runs WHERE org_id = $1"
    };
}

pub async fn create(
    db: &mut OrgTx,
    id: JobRunId,
    kind: &str,
    subject: Option<Uuid>,
    max_attempts: i32,
) -> DbResult<()> {
    let org = db.org_id();
    sqlx::query("INSERT INTO job_runs (id, org_id, kind, subject_id, max_attempts) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.0)
        .bind(org.0)
        .bind(kind)
        .bind(subject)
        .bind(max_attempts)
        .execute(db.conn())
        .await?;
    Ok(())
}

pub async fn get(db: &mut OrgTx, id: JobRunId) -> DbResult<JobRunOut> {
    let org = db.org_id();
    let row: Row = sqlx::query_as(concat!(select!(), " AND id = $2"))
        .bind(org.0)
        .bind(id.0)
        .fetch_one(db.conn())
        .await?;
    Ok(row.into())
}

pub async fn list(
    db: &mut OrgTx,
    after: Option<cursor::Position>,
    state: Option<JobState>,
    limit: i64,
) -> DbResult<(Vec<JobRunOut>, Option<String>)> {
    let org = db.org_id();
    let (at, id) = after.unzip();
    let rows: Vec<Row> = sqlx::query_as(concat!(
        select!(),
        " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
                  AND ($4::text IS NULL OR state = $4)
         ORDER BY created_at DESC, id DESC LIMIT $5"
    ))
    .bind(org.0)
    .bind(at)
    .bind(id)
    .bind(state.map(JobState::as_str))
    .bind(limit + 1)
    .fetch_all(db.conn())
    .await?;
    let items: Vec<JobRunOut> = rows.into_iter().map(Into::into).collect();
    Ok(cursor::page(items, limit, |j| (j.created_at, j.id.0)))
}

/// Records the start of an attempt and returns `(attempt, max_attempts)`; `None` when the job already ended
/// (a duplicate delivery), in which case the worker must not run it again.
pub async fn start_attempt(db: &mut OrgTx, id: JobRunId) -> DbResult<Option<(i32, i32)>> {
    let org = db.org_id();
    Ok(sqlx::query_as(
        "UPDATE job_runs SET state = 'running', attempts = attempts + 1, updated_at = now()
          WHERE org_id = $1 AND id = $2 AND state NOT IN ('succeeded', 'failed')
          RETURNING attempts, max_attempts",
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(db.conn())
    .await?)
}

/// Replaces the job's progress document (what the UI shows while it runs, or why it was skipped).
pub async fn set_progress(
    db: &mut OrgTx,
    id: JobRunId,
    progress: &serde_json::Value,
) -> DbResult<()> {
    let org = db.org_id();
    sqlx::query(
        "UPDATE job_runs SET progress = $3, updated_at = now() WHERE org_id = $1 AND id = $2",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(progress)
    .execute(db.conn())
    .await?;
    Ok(())
}

pub async fn succeed(db: &mut OrgTx, id: JobRunId) -> DbResult<()> {
    let org = db.org_id();
    sqlx::query(
        "UPDATE job_runs SET state = 'succeeded', last_error = NULL, finished_at = now(), updated_at = now()
          WHERE org_id = $1 AND id = $2",
    )
    .bind(org.0)
    .bind(id.0)
    .execute(db.conn())
    .await?;
    Ok(())
}

/// Records a failed attempt: `retrying` while attempts remain, `failed` (final) otherwise.
pub async fn fail_attempt(
    db: &mut OrgTx,
    id: JobRunId,
    error: &str,
    is_final: bool,
) -> DbResult<()> {
    let org = db.org_id();
    sqlx::query(
        "UPDATE job_runs SET state = CASE WHEN $4 THEN 'failed' ELSE 'retrying' END, last_error = $3,
                finished_at = CASE WHEN $4 THEN now() END, updated_at = now()
          WHERE org_id = $1 AND id = $2",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(error.chars().take(2000).collect::<String>())
    .bind(is_final)
    .execute(db.conn())
    .await?;
    Ok(())
}

/// Marks a queued job as re-enqueued (so the sweeper does not pick it again at once).
pub async fn touch(db: &mut OrgTx, id: JobRunId) -> DbResult<()> {
    let org = db.org_id();
    sqlx::query(
        "UPDATE job_runs SET updated_at = now() WHERE org_id = $1 AND id = $2 AND state = 'queued'",
    )
    .bind(org.0)
    .bind(id.0)
    .execute(db.conn())
    .await?;
    Ok(())
}

/// A job recorded as queued whose enqueue seems lost.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaleJob {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub subject_id: Option<Uuid>,
}

impl StaleJob {
    #[must_use]
    pub fn ids(&self) -> (OrgId, JobRunId) {
        (OrgId(self.org_id), JobRunId(self.id))
    }
}

/// Jobs queued for longer than `queued_for` (their enqueue was lost) or running without a heartbeat for
/// longer than `silent_for` (their worker died), across tenants, through a narrow SECURITY DEFINER function.
pub async fn stale(
    conn: &mut PgConnection,
    queued_for: std::time::Duration,
    silent_for: std::time::Duration,
    limit: i32,
) -> DbResult<Vec<StaleJob>> {
    Ok(sqlx::query_as(
        "SELECT id, org_id, kind, subject_id
           FROM stale_jobs(make_interval(secs => $1::double precision), make_interval(secs => $2::double precision), $3)",
    )
    .bind(queued_for.as_secs_f64())
    .bind(silent_for.as_secs_f64())
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Job counts by kind and state across tenants, for `/metrics`.
pub async fn counts(conn: &mut PgConnection) -> DbResult<Vec<(String, String, i64)>> {
    Ok(
        sqlx::query_as("SELECT kind, state, count FROM job_run_counts()")
            .fetch_all(conn)
            .await?,
    )
}
