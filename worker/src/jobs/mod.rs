//! Job handlers, one per file, and the bookkeeping every job shares: each attempt moves its `job_runs` row to
//! `running`, then to `succeeded`, `retrying` (with the error), `failed` (after the last attempt) or
//! `cancelled`. While it runs, a heartbeat tells the sweeper the attempt is alive and brings back cancel
//! requests; a long job saves checkpoints through its [`JobCtx`], so a crashed or interrupted attempt is
//! resumed by the next one instead of starting over.
//!
//! Whatever must run again later is a new delivery recorded in `job_runs` before it is pushed (see
//! [`insights_core::jobs::Delivery`]): a retry after its backoff, a job interrupted by a shutdown, and a job of
//! an organization that already runs `INSIGHTS_JOB_ORG_CONCURRENCY` jobs of its kind (deferred, not counted as
//! an attempt: one tenant's backlog cannot hold every worker slot). So no job waits only in Redis or in a
//! worker's memory, and the sweeper recovers each of them if Redis loses it.

// One module per kind of `insights_core::for_each_job!`, each with its handler `run`.
macro_rules! job_modules {
    ($( $(#[$doc:meta])* $kind:ident : $name:ident { $($subject:tt)* } ),* $(,)?) => {
        $( pub mod $kind; )*
    };
}
insights_core::for_each_job!(job_modules);

use crate::WorkerState;
use apalis::prelude::WorkerContext;
use insights_core::db::job_runs::{self, Attempt, Finish, Liveness, Redelivery, Start};
use insights_core::jobs::Delivery;
use insights_types::{JobRunId, OrgId};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// What a job's work says when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Nothing to do any more (e.g. the invitation was revoked before its email went out); recorded as
    /// succeeded with the reason in `progress.skipped`.
    Skipped(&'static str),
    /// Stopped at a safe point because someone cancelled it.
    Cancelled,
    /// Stopped at a safe point because the worker is shutting down or the attempt used up its time slice:
    /// queued again, resumed by the next attempt (elsewhere, or after the jobs that waited).
    Interrupted,
    /// Another attempt took the job over (this one looked dead): write nothing more.
    Lost,
    /// Not finished, and not failed: deliver the job again after this wait, without counting an attempt (the
    /// work keeps its own count — an automation run retrying with its automation's backoff, or waiting for a
    /// free slot on its target).
    Again(Duration),
    /// Failed in a way another attempt cannot fix (a refused credential, a refused request): recorded as
    /// `failed` at once, with this reason, instead of being retried.
    FailedForGood(String),
}

/// How long a job waits when its organization already runs its share of jobs of its kind, per time it was
/// delivered again so far, up to [`ORG_BUSY_MAX_DELAY`]: a large backlog of one organization is looked at less
/// and less often instead of cycling through the queue every second.
pub const ORG_BUSY_DELAY: Duration = Duration::from_secs(1);
pub const ORG_BUSY_MAX_DELAY: Duration = Duration::from_secs(30);
/// How long an automation run waits when its organization already runs its share of runs: no growth.
pub const ORG_BUSY_DELAY_PROMPT: Duration = Duration::from_millis(200);

const RUN_AUTOMATION: &str = <insights_core::jobs::RunAutomation as insights_core::jobs::Job>::KIND;

/// The longest wait before a retry.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

const RUNNING: u8 = 0;
const CANCEL: u8 = 1;
const LOST: u8 = 2;

/// What a running attempt can ask about itself.
#[derive(Clone)]
pub struct JobCtx {
    pub org: OrgId,
    pub attempt: Attempt,
    signal: Arc<AtomicU8>,
    worker: Option<WorkerContext>,
    /// When the attempt should yield its slot (`INSIGHTS_JOB_TIME_SLICE_SECS`).
    yield_at: Instant,
}

impl JobCtx {
    /// Why the work should stop at its next safe point, if it should.
    #[must_use]
    pub fn should_stop(&self) -> Option<Outcome> {
        match self.signal.load(Ordering::Relaxed) {
            LOST => Some(Outcome::Lost),
            CANCEL => Some(Outcome::Cancelled),
            // Shutting down, or the time slice is used up: resumed by the next attempt, from the back of the
            // queue (so that a long job cannot hold a slot while others wait).
            _ if self
                .worker
                .as_ref()
                .is_some_and(WorkerContext::is_shutting_down)
                || Instant::now() >= self.yield_at =>
            {
                Some(Outcome::Interrupted)
            }
            _ => None,
        }
    }

    /// Saves a checkpoint and progress in `db` (the transaction holding the work done up to here) and
    /// returns why to stop, if the work should stop now.
    pub async fn checkpoint(
        &self,
        db: &mut insights_core::db::OrgTx,
        checkpoint: &serde_json::Value,
        progress: &serde_json::Value,
    ) -> anyhow::Result<Option<Outcome>> {
        let live = job_runs::checkpoint(db, self.attempt, checkpoint, progress).await?;
        self.note(live);
        Ok(self.should_stop())
    }

    fn note(&self, live: Liveness) {
        let v = match live {
            Liveness::Continue => RUNNING,
            Liveness::CancelRequested => CANCEL,
            Liveness::Lost => LOST,
        };
        // Never go back from "lost" or "cancel".
        self.signal.fetch_max(v, Ordering::Relaxed);
    }
}

/// Runs one attempt of a tracked job and records its outcome: a failure with attempts left is delivered again
/// after an exponential backoff (`INSIGHTS_JOB_BACKOFF_MS`). An error is returned to apalis only when the
/// outcome could not be recorded (the database is unreachable); the sweeper then takes the job over.
/// `worker` (when given) lets the work notice a shutdown.
///
/// It runs in a `job` span (`kind`, `job_id`, `org_id`): in every log line of the attempt, and the tags of an
/// error reported to Sentry. Each attempt is counted in `job_attempts_total{kind, outcome}` and timed in
/// `job_attempt_duration_seconds{kind}`.
pub async fn tracked<F, Fut>(
    state: &WorkerState,
    org: OrgId,
    job: JobRunId,
    kind: &str,
    worker: Option<WorkerContext>,
    work: F,
) -> Result<(), anyhow::Error>
where
    F: FnOnce(JobCtx) -> Fut,
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    use tracing::Instrument;
    let span = tracing::info_span!("job", kind, job_id = %job, org_id = %org);
    attempt(state, org, job, kind, worker, work)
        .instrument(span)
        .await
}

/// Counts a finished attempt (see [`tracked`]).
fn count_attempt(kind: &str, outcome: &'static str, took: Duration) {
    metrics::counter!("job_attempts_total", "kind" => kind.to_owned(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("job_attempt_duration_seconds", "kind" => kind.to_owned())
        .record(took.as_secs_f64());
}

async fn attempt<F, Fut>(
    state: &WorkerState,
    org: OrgId,
    job: JobRunId,
    kind: &str,
    worker: Option<WorkerContext>,
    work: F,
) -> Result<(), anyhow::Error>
where
    F: FnOnce(JobCtx) -> Fut,
    Fut: Future<Output = anyhow::Result<Outcome>>,
{
    let per_org = i64::from(state.config.jobs.org_concurrency);
    let mut db = state.db.org_tx(org, None).await?;
    let start = job_runs::start_attempt(&mut db, job, kind, per_org).await?;
    let defer_for = match start {
        // Automation runs are waited for by people and incidents (webhook → invoke within a second): they look
        // again soon, without the growing pause meant for long backlogs (their own limits bound how many wait).
        Start::Full { .. } if kind == RUN_AUTOMATION => ORG_BUSY_DELAY_PROMPT,
        Start::Full { deliveries } => ORG_BUSY_DELAY
            .saturating_mul(u32::try_from(deliveries).unwrap_or(0).saturating_add(1))
            .min(ORG_BUSY_MAX_DELAY),
        _ => Duration::ZERO,
    };
    let deferred = match start {
        Start::Full { .. } => job_runs::redeliver(&mut db, job, defer_for).await?,
        _ => None,
    };
    db.commit().await?;
    let attempt = match start {
        Start::Run(a) => a,
        Start::Ended => {
            tracing::info!(%job, kind, "job already ended; duplicate delivery ignored");
            return Ok(());
        }
        Start::Busy => {
            tracing::info!(%job, kind, "job is running elsewhere; duplicate delivery ignored");
            return Ok(());
        }
        Start::Full { .. } => {
            tracing::debug!(%job, kind, %org, "the organization runs its share of jobs of this kind; deferred");
            deliver_again(state, kind, org, job, deferred, defer_for).await;
            return Ok(());
        }
    };
    let ctx = JobCtx {
        org,
        attempt,
        signal: Arc::default(),
        worker,
        yield_at: Instant::now() + state.config.jobs.time_slice,
    };
    // Stops beating when the attempt ends, also when apalis drops it half-way (its worker died): a job whose
    // heartbeat went on without its work would never be taken over.
    let heartbeat = AbortOnDrop(tokio::spawn(beat(state.clone(), ctx.clone())));
    let started = Instant::now();
    let result = work(ctx.clone()).await;
    drop(heartbeat);
    let later = match &result {
        Ok(Outcome::Again(after)) => Some(*after),
        _ => None,
    };
    let (finish, progress) = match result {
        Ok(Outcome::Done) => (Finish::Succeeded, None),
        Ok(Outcome::Skipped(why)) => (
            Finish::Succeeded,
            Some(serde_json::json!({ "skipped": why })),
        ),
        Ok(Outcome::Cancelled) => (Finish::Cancelled, None),
        Ok(Outcome::Interrupted | Outcome::Again(_)) => (Finish::Released, None),
        Ok(Outcome::FailedForGood(error)) => {
            tracing::error!(%job, kind, attempt = attempt.number, %error, "job failed for good; not retried");
            (Finish::FailedForGood { error }, None)
        }
        Ok(Outcome::Lost) => {
            tracing::warn!(%job, kind, attempt = attempt.number, "another attempt took this job over; stopping");
            count_attempt(kind, "lost", started.elapsed());
            return Ok(());
        }
        Err(e) => {
            let error = format!("{e:#}");
            if attempt.is_last() {
                tracing::error!(%job, kind, attempt = attempt.number, %error, "job failed for good");
            } else {
                tracing::warn!(%job, kind, attempt = attempt.number, %error, "job attempt failed; will retry");
            }
            (Finish::Failed { error }, None)
        }
    };
    // When it runs again: at once after an interruption, after a backoff after a failure.
    let again = match &finish {
        Finish::Released => Some(later.unwrap_or(Duration::ZERO)),
        Finish::Failed { .. } if !attempt.is_last() => Some(backoff(state, attempt.number)),
        _ => None,
    };
    let mut db = state.db.org_tx(org, None).await?;
    if let Some(p) = &progress {
        job_runs::set_progress(&mut db, job, p).await?;
    }
    let recorded = job_runs::finish(&mut db, attempt, &finish).await?;
    let redelivery = match again {
        Some(after) if recorded => job_runs::redeliver(&mut db, job, after).await?,
        _ => None,
    };
    db.commit().await?;
    if let Some(after) = again {
        deliver_again(state, kind, org, job, redelivery, after).await;
    }
    let outcome = match &finish {
        Finish::Succeeded => "succeeded",
        Finish::Cancelled => "cancelled",
        Finish::Released => "interrupted",
        Finish::Failed { .. } if !attempt.is_last() => "retrying",
        Finish::Failed { .. } | Finish::FailedForGood { .. } => "failed",
    };
    count_attempt(kind, outcome, started.elapsed());
    tracing::info!(
        %job,
        kind,
        attempt = attempt.number,
        ok = matches!(finish, Finish::Succeeded),
        recorded,
        finish = ?finish,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "job attempt finished"
    );
    Ok(())
}

/// Pushes a delivery recorded in `job_runs` (if one was: the job may have ended meanwhile); a failed push is
/// left to the sweeper, which finds the delivery overdue.
async fn deliver_again(
    state: &WorkerState,
    kind: &str,
    org: OrgId,
    job: JobRunId,
    redelivery: Option<Redelivery>,
    after: Duration,
) {
    let Some(r) = redelivery else { return };
    let delivery = Delivery {
        number: r.number,
        after,
    };
    if let Err(e) = state
        .queue
        .requeue(kind, org, job, r.subject, delivery)
        .await
    {
        tracing::warn!(%job, kind, error = %e, "re-enqueue failed; the sweeper will do it");
    }
}

/// The wait before the attempt after `attempt`: `INSIGHTS_JOB_BACKOFF_MS` doubled per attempt, up to ten
/// minutes, less up to half of it at random (so that jobs failing together do not retry together).
fn backoff(state: &WorkerState, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let full = state
        .config
        .jobs
        .backoff
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF);
    full.mul_f64(rand::random_range(0.5..=1.0))
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Tells the database this attempt is alive, four times per heartbeat timeout, until aborted.
async fn beat(state: WorkerState, ctx: JobCtx) {
    let every = (state.config.jobs.heartbeat_timeout / 4).max(Duration::from_millis(200));
    loop {
        tokio::time::sleep(every).await;
        let live = async {
            let mut db = state.db.org_tx(ctx.org, None).await?;
            let live = job_runs::heartbeat(&mut db, ctx.attempt).await?;
            db.commit().await?;
            anyhow::Ok(live)
        }
        .await;
        match live {
            Ok(l) => ctx.note(l),
            Err(e) => tracing::warn!(job = %ctx.attempt.job, error = %e, "heartbeat failed"),
        }
    }
}
