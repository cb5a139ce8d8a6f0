//! Tracked background jobs: the row the API creates when it enqueues work, and that the worker moves through
//! `queued → running → (retrying →)* succeeded | failed`, so progress and failures are visible to users.

use super::{DbResult, OrgTx, ReadFrom, cursor};
use insights_types::{
    JobRunId, OrgId,
    api::{JobRunOut, JobState},
};
use sqlx::PgConnection;
use uuid::Uuid;

/// The jobs of the organization (`$1`) matching `$tail`.
macro_rules! select_jobs {
    ($db:expr, $tail:literal $(, $arg:expr)* $(,)?) => {
        org_query_as!(
            $db,
            JobRunOut,
            r#"SELECT id AS "id: JobRunId", kind, state AS "state: JobState", attempts, max_attempts, last_error,
                      progress, created_at, updated_at, finished_at
                 FROM job_runs WHERE org_id = $1"# + $tail
            $(, $arg)*
        )
    };
}

/// Inserts a job run, with `$tail` after the statement (a conflict clause); evaluates to how many rows it wrote.
macro_rules! insert_job {
    ($tail:literal, $db:expr, $id:expr, $kind:expr, $subject:expr, $max_attempts:expr) => {
        org_rows_changed!(
            $db,
            "INSERT INTO job_runs (org_id, id, kind, subject_id, max_attempts) VALUES ($1, $2, $3, $4, $5)" + $tail,
            $id as JobRunId,
            $kind,
            $subject as Option<Uuid>,
            $max_attempts,
        )?
    };
}

pub async fn create(
    db: &mut OrgTx,
    id: JobRunId,
    kind: &str,
    subject: Option<Uuid>,
    max_attempts: i32,
) -> DbResult<()> {
    insert_job!("", db, id, kind, subject, max_attempts);
    Ok(())
}

/// Like [`create`], but creates nothing (and returns `false`) when a unique index forbids a second active job
/// of this kind for the subject (e.g. one sync per integration).
pub async fn create_exclusive(
    db: &mut OrgTx,
    id: JobRunId,
    kind: &str,
    subject: Uuid,
    max_attempts: i32,
) -> DbResult<bool> {
    let subject = Some(subject);
    Ok(insert_job!(
        " ON CONFLICT DO NOTHING",
        db,
        id,
        kind,
        subject,
        max_attempts
    ) == 1)
}

pub async fn get(db: &mut OrgTx, id: JobRunId) -> DbResult<JobRunOut> {
    select_jobs!(db, " AND id = $2", id as JobRunId)
        .fetch_one(db.conn())
        .await
        .read_from("job_runs")
}

pub async fn list(
    db: &mut OrgTx,
    after: Option<cursor::Position>,
    state: Option<JobState>,
    limit: i64,
) -> DbResult<(Vec<JobRunOut>, Option<String>)> {
    let (at, id) = after.unzip();
    let items = select_jobs!(
        db,
        " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3)) AND ($4::text IS NULL OR state = $4)
         ORDER BY created_at DESC, id DESC LIMIT $5",
        at,
        id,
        state as Option<JobState>,
        limit + 1,
    )
    .fetch_all(db.conn())
    .await
    .read_from("job_runs")?;
    Ok(cursor::page(items, limit, |j| (j.created_at, j.id.0)))
}

/// One attempt at a job. Its number fences every write of the attempt: once a job has been taken over (its
/// worker looked dead and another attempt started), the old attempt's writes change nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub job: JobRunId,
    pub number: i32,
    pub max: i32,
    /// What the job is about (an invitation, an integration…).
    pub subject: Option<Uuid>,
}

impl Attempt {
    #[must_use]
    pub fn is_last(&self) -> bool {
        self.number >= self.max
    }
}

/// Whether a delivered job may run.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    Run(Attempt),
    /// It already ended (succeeded, failed or cancelled): a duplicate delivery.
    Ended,
    /// A live attempt is running it elsewhere.
    Busy,
    /// Its organization already runs its share of jobs of this kind: deliver it again a little later. Carries
    /// how many times the job was delivered again so far (it waits longer each time).
    Full {
        deliveries: i32,
    },
}

/// Starts an attempt of a queued or retrying job (one whose cancellation was asked for ends `cancelled`),
/// unless its organization already runs `per_org` jobs of the same kind: one tenant's backlog cannot take
/// every worker slot. Starts of one organization and kind are serialized (a transaction-scoped advisory lock,
/// taken before the count's snapshot), so concurrent workers never exceed the share; the caller commits.
pub async fn start_attempt(
    db: &mut OrgTx,
    id: JobRunId,
    kind: &str,
    per_org: i64,
) -> DbResult<Start> {
    org_query_scalar!(
        db,
        r#"SELECT 1 AS "locked!" FROM (SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2, 0))) l"#,
        kind,
    )
    .fetch_one(db.conn())
    .await?;
    let started = org_query!(
        db,
        "UPDATE job_runs SET state = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now()),
                heartbeat_at = now(), run_after = NULL, updated_at = now()
          WHERE org_id = $1 AND id = $2 AND state IN ('queued', 'retrying') AND cancel_requested_at IS NULL
            AND (SELECT count(*) FROM job_runs r WHERE r.org_id = $1 AND r.kind = $3 AND r.state = 'running') < $4
          RETURNING attempts, max_attempts, subject_id",
        id as JobRunId,
        kind,
        per_org,
    )
    .fetch_optional(db.conn())
    .await?;
    if let Some(r) = started {
        return Ok(Start::Run(Attempt {
            job: id,
            number: r.attempts,
            max: r.max_attempts,
            subject: r.subject_id,
        }));
    }
    let row = org_query!(
        db,
        r#"UPDATE job_runs
              SET state = CASE WHEN state IN ('queued', 'retrying') AND cancel_requested_at IS NOT NULL
                               THEN 'cancelled' ELSE state END,
                  finished_at = CASE WHEN state IN ('queued', 'retrying') AND cancel_requested_at IS NOT NULL
                                     THEN now() ELSE finished_at END
            WHERE org_id = $1 AND id = $2 RETURNING state AS "state: JobState", deliveries"#,
        id as JobRunId,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("job_runs")?;
    Ok(match row.map(|r| (r.state, r.deliveries)) {
        Some((JobState::Running, _)) => Start::Busy,
        Some((JobState::Queued | JobState::Retrying, deliveries)) => Start::Full { deliveries },
        _ => Start::Ended,
    })
}

/// A new delivery of a job, to push once its transaction committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// Its number (`job_runs.deliveries`).
    pub number: i32,
    pub subject: Option<Uuid>,
}

/// Makes a new delivery of a waiting (queued or retrying) job, due `after` from now; `None` when the job is
/// not waiting any more.
pub async fn redeliver(
    db: &mut OrgTx,
    id: JobRunId,
    after: std::time::Duration,
) -> DbResult<Option<Redelivery>> {
    Ok(org_query!(
        db,
        "UPDATE job_runs SET deliveries = deliveries + 1, updated_at = now(),
                run_after = now() + make_interval(secs => $3::double precision)
          WHERE org_id = $1 AND id = $2 AND state IN ('queued', 'retrying')
          RETURNING deliveries, subject_id",
        id as JobRunId,
        after.as_secs_f64(),
    )
    .fetch_optional(db.conn())
    .await?
    .map(|r| Redelivery {
        number: r.deliveries,
        subject: r.subject_id,
    }))
}

/// What a live attempt learns when it reports in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Continue,
    /// Someone asked to cancel the job: stop at the next safe point.
    CancelRequested,
    /// Another attempt took the job over: stop now, write nothing more.
    Lost,
}

fn liveness(row: Option<bool>) -> Liveness {
    match row {
        None => Liveness::Lost,
        Some(true) => Liveness::CancelRequested,
        Some(false) => Liveness::Continue,
    }
}

/// Tells that `attempt` is alive (see `INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS`).
pub async fn heartbeat(db: &mut OrgTx, attempt: Attempt) -> DbResult<Liveness> {
    let row = org_query_scalar!(
        db,
        r#"UPDATE job_runs SET heartbeat_at = now()
            WHERE org_id = $1 AND id = $2 AND attempts = $3 AND state = 'running'
            RETURNING cancel_requested_at IS NOT NULL AS "cancel_requested!""#,
        attempt.job as JobRunId,
        attempt.number,
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(liveness(row))
}

/// Saves where `attempt` stands (resumed from after a crash) and its progress, in the caller's transaction —
/// the one that stores the work done up to here.
pub async fn checkpoint(
    db: &mut OrgTx,
    attempt: Attempt,
    checkpoint: &serde_json::Value,
    progress: &serde_json::Value,
) -> DbResult<Liveness> {
    let row = org_query_scalar!(
        db,
        r#"UPDATE job_runs SET checkpoint = $4, progress = $5, heartbeat_at = now(), updated_at = now()
            WHERE org_id = $1 AND id = $2 AND attempts = $3 AND state = 'running'
            RETURNING cancel_requested_at IS NOT NULL AS "cancel_requested!""#,
        attempt.job as JobRunId,
        attempt.number,
        checkpoint,
        progress,
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(liveness(row))
}

/// The saved checkpoint and progress of a job (`None` before its first checkpoint).
pub async fn saved_checkpoint(
    db: &mut OrgTx,
    id: JobRunId,
) -> DbResult<(Option<serde_json::Value>, serde_json::Value)> {
    let row = org_query!(
        db,
        "SELECT checkpoint, progress FROM job_runs WHERE org_id = $1 AND id = $2",
        id as JobRunId,
    )
    .fetch_one(db.conn())
    .await?;
    Ok((row.checkpoint, row.progress))
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    Succeeded,
    Cancelled,
    /// Failed: `retrying` while attempts remain, `failed` after the last.
    Failed {
        error: String,
    },
    /// Failed for good at once: another attempt could not help (e.g. a revoked credential).
    FailedForGood {
        error: String,
    },
    /// Interrupted by a worker shutting down: back to `queued`, the attempt not counted.
    Released,
}

/// Records how `attempt` ended; `false` when the job had been taken over (nothing was written).
pub async fn finish(db: &mut OrgTx, attempt: Attempt, how: &Finish) -> DbResult<bool> {
    let (state, error) = match how {
        Finish::Succeeded => (JobState::Succeeded, None),
        Finish::Cancelled => (JobState::Cancelled, None),
        Finish::Failed { error } if attempt.is_last() => (JobState::Failed, Some(error)),
        Finish::FailedForGood { error } => (JobState::Failed, Some(error)),
        Finish::Failed { error } => (JobState::Retrying, Some(error)),
        Finish::Released => (JobState::Queued, None),
    };
    Ok(org_rows_changed!(
        db,
        "UPDATE job_runs SET state = $4,
                last_error = CASE WHEN $4 IN ('failed', 'retrying') THEN $5 WHEN $4 = 'succeeded' THEN NULL
                                  ELSE last_error END,
                attempts = CASE WHEN $4 = 'queued' THEN attempts - 1 ELSE attempts END,
                finished_at = CASE WHEN $4 IN ('succeeded', 'failed', 'cancelled') THEN now() END,
                updated_at = now()
          WHERE org_id = $1 AND id = $2 AND attempts = $3 AND state = 'running'",
        attempt.job as JobRunId,
        attempt.number,
        state as JobState,
        error.map(|e| e.chars().take(2000).collect::<String>()),
    )? == 1)
}

/// Asks a job to stop: a queued or retrying one is cancelled at once, a running one at its next checkpoint.
/// Returns its state after the request, or `None` when it had already ended.
pub async fn request_cancel(db: &mut OrgTx, id: JobRunId) -> DbResult<Option<JobState>> {
    org_query_scalar!(
        db,
        r#"UPDATE job_runs SET cancel_requested_at = coalesce(cancel_requested_at, now()),
                  state = CASE WHEN state = 'running' THEN state ELSE 'cancelled' END,
                  finished_at = CASE WHEN state = 'running' THEN finished_at ELSE now() END, updated_at = now()
            WHERE org_id = $1 AND id = $2 AND state IN ('queued', 'running', 'retrying')
            RETURNING state AS "state: JobState""#,
        id as JobRunId,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("job_runs")
}

/// Sets a new job's first checkpoint (what it should start from), in the transaction that creates it.
pub async fn set_checkpoint(
    db: &mut OrgTx,
    id: JobRunId,
    checkpoint: &serde_json::Value,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE job_runs SET checkpoint = $3 WHERE org_id = $1 AND id = $2",
        id as JobRunId,
        checkpoint,
    )
}

/// Replaces the job's progress document (what the UI shows while it runs, or why it was skipped).
pub async fn set_progress(
    db: &mut OrgTx,
    id: JobRunId,
    progress: &serde_json::Value,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE job_runs SET progress = $3, updated_at = now() WHERE org_id = $1 AND id = $2",
        id as JobRunId,
        progress,
    )
}

/// Marks a stale job as re-enqueued and returns the delivery to push (`None` if it is not stale any more). A
/// waiting (queued or retrying) one is touched, so the sweeper does not pick it again at once, and keeps its
/// delivery: pushing it again is a no-op if it is still in the queue. A running one whose heartbeat stopped
/// `silent_for` ago goes back to `queued` with a new delivery.
pub async fn requeued(
    db: &mut OrgTx,
    id: JobRunId,
    silent_for: std::time::Duration,
) -> DbResult<Option<i32>> {
    Ok(org_query_scalar!(
        db,
        "UPDATE job_runs SET state = CASE WHEN state = 'running' THEN 'queued' ELSE state END, updated_at = now(),
                deliveries = CASE WHEN state = 'running' THEN deliveries + 1 ELSE deliveries END,
                run_after = CASE WHEN state = 'running' THEN NULL ELSE run_after END
          WHERE org_id = $1 AND id = $2
            AND (state IN ('queued', 'retrying')
                 OR (state = 'running'
                     AND coalesce(heartbeat_at, updated_at) < now() - make_interval(secs => $3::double precision)))
          RETURNING deliveries",
        id as JobRunId,
        silent_for.as_secs_f64(),
    )
    .fetch_optional(db.conn())
    .await?)
}

/// Replaces delivery `number` of a waiting job by a new one, due at once, when the queue has consumed it without
/// the job starting (e.g. the database was unreachable for every try the queue made); `None` when the job
/// moved on meanwhile (or another sweeper replaced it first).
pub async fn replace_spent_delivery(
    db: &mut OrgTx,
    id: JobRunId,
    number: i32,
) -> DbResult<Option<i32>> {
    Ok(org_query_scalar!(
        db,
        "UPDATE job_runs SET deliveries = deliveries + 1, run_after = NULL, updated_at = now()
          WHERE org_id = $1 AND id = $2 AND deliveries = $3 AND state IN ('queued', 'retrying')
          RETURNING deliveries",
        id as JobRunId,
        number,
    )
    .fetch_optional(db.conn())
    .await?)
}

/// A job whose delivery seems lost (see [`stale`]).
#[derive(Debug, Clone)]
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

/// Jobs waiting (queued, or retrying) for longer than `queued_for` past the time they were due (their
/// delivery may be lost: the enqueue failed, or Redis lost its data) or running without a heartbeat for longer
/// than `silent_for` (their worker died), across tenants, through a narrow SECURITY DEFINER function.
pub async fn stale(
    conn: &mut PgConnection,
    queued_for: std::time::Duration,
    silent_for: std::time::Duration,
    limit: i32,
) -> DbResult<Vec<StaleJob>> {
    Ok(sqlx::query_as!(
        StaleJob,
        r#"SELECT id AS "id!", org_id AS "org_id!", kind AS "kind!", subject_id
             FROM stale_jobs(make_interval(secs => $1::double precision),
                             make_interval(secs => $2::double precision), $3)"#,
        queued_for.as_secs_f64(),
        silent_for.as_secs_f64(),
        limit,
    )
    .fetch_all(conn)
    .await?)
}

/// The backlog of one job kind across tenants, for `/metrics`: jobs waiting for a worker (queued or retrying)
/// whose delivery is due, and how long the oldest of them has been due.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub kind: String,
    pub waiting: i64,
    pub oldest_seconds: f64,
}

/// The due backlog by kind across tenants (kinds with nothing due are absent), for `/metrics`.
pub async fn backlog(conn: &mut PgConnection) -> DbResult<Vec<Backlog>> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind!", count AS "count!", oldest_seconds AS "oldest_seconds!" FROM job_backlog()"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Backlog {
            kind: r.kind,
            waiting: r.count,
            oldest_seconds: r.oldest_seconds.max(0.0),
        })
        .collect())
}

/// Job counts by kind and state across tenants, for `/metrics`.
pub async fn counts(conn: &mut PgConnection) -> DbResult<Vec<(String, String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind!", state AS "state!", count AS "count!" FROM job_run_counts()"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.kind, r.state, r.count))
        .collect())
}
