//! Job handlers, one per file, and the bookkeeping every job shares: each attempt moves its `job_runs` row to
//! `running`, then to `succeeded`, `retrying` (with the error), `failed` (after the last attempt) or
//! `cancelled`. While it runs, a heartbeat tells the sweeper the attempt is alive and brings back cancel
//! requests; a long job saves checkpoints through its [`JobCtx`], so a crashed or interrupted attempt is
//! resumed by the next one instead of starting over.

// One module per kind of `insights_core::for_each_job!`, each with its handler `run`.
macro_rules! job_modules {
    ($( $(#[$doc:meta])* $kind:ident : $name:ident { $($subject:tt)* } ),* $(,)?) => {
        $( pub mod $kind; )*
    };
}
insights_core::for_each_job!(job_modules);

use crate::WorkerState;
use apalis::prelude::WorkerContext;
use insights_core::db::job_runs::{self, Attempt, Finish, Liveness, Start};
use insights_types::{JobRunId, OrgId};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// What a job's work says when it did not fail.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Nothing to do any more (e.g. the invitation was revoked before its email went out); recorded as
    /// succeeded with the reason in `progress.skipped`.
    Skipped(&'static str),
    /// Stopped at a safe point because someone cancelled it.
    Cancelled,
    /// Stopped at a safe point because the worker is shutting down: queued again, resumed elsewhere.
    Interrupted,
    /// Another attempt took the job over (this one looked dead): write nothing more.
    Lost,
    /// Failed in a way another attempt cannot fix (a refused credential, a refused request): recorded as
    /// `failed` at once, with this reason, instead of being retried.
    FailedForGood(String),
}

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
}

impl JobCtx {
    /// Why the work should stop at its next safe point, if it should.
    #[must_use]
    pub fn should_stop(&self) -> Option<Outcome> {
        match self.signal.load(Ordering::Relaxed) {
            LOST => Some(Outcome::Lost),
            CANCEL => Some(Outcome::Cancelled),
            _ if self
                .worker
                .as_ref()
                .is_some_and(WorkerContext::is_shutting_down) =>
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

/// Runs one attempt of a tracked job and records its outcome. An error is returned to apalis, which retries
/// with backoff until the attempts are used up. `worker` (when given) lets the work notice a shutdown.
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
    let mut db = state.db.org_tx(org, None).await?;
    let start = job_runs::start_attempt(&mut db, job).await?;
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
    };
    let ctx = JobCtx {
        org,
        attempt,
        signal: Arc::default(),
        worker,
    };
    let heartbeat = tokio::spawn(beat(state.clone(), ctx.clone()));
    let started = std::time::Instant::now();
    let result = work(ctx.clone()).await;
    heartbeat.abort();
    let (finish, progress, outcome) = match result {
        Ok(Outcome::Done) => (Finish::Succeeded, None, Ok(())),
        Ok(Outcome::Skipped(why)) => (
            Finish::Succeeded,
            Some(serde_json::json!({ "skipped": why })),
            Ok(()),
        ),
        Ok(Outcome::Cancelled) => (Finish::Cancelled, None, Ok(())),
        Ok(Outcome::Interrupted) => (Finish::Released, None, Ok(())),
        Ok(Outcome::FailedForGood(error)) => {
            tracing::error!(%job, kind, attempt = attempt.number, %error, "job failed for good; not retried");
            (Finish::FailedForGood { error }, None, Ok(()))
        }
        Ok(Outcome::Lost) => {
            tracing::warn!(%job, kind, attempt = attempt.number, "another attempt took this job over; stopping");
            return Ok(());
        }
        Err(e) => {
            let error = format!("{e:#}");
            if attempt.is_last() {
                tracing::error!(%job, kind, attempt = attempt.number, %error, "job failed for good");
            } else {
                tracing::warn!(%job, kind, attempt = attempt.number, %error, "job attempt failed; will retry");
            }
            (Finish::Failed { error }, None, Err(e))
        }
    };
    let mut db = state.db.org_tx(org, None).await?;
    if let Some(p) = &progress {
        job_runs::set_progress(&mut db, job, p).await?;
    }
    let recorded = job_runs::finish(&mut db, attempt, &finish).await?;
    db.commit().await?;
    if finish == Finish::Released {
        // Back on the queue at once, for another worker (or this one, restarted) to resume.
        if let Err(e) = state.queue.requeue(kind, org, job, attempt.subject).await {
            tracing::warn!(%job, kind, error = %e, "re-enqueue after interruption failed; the sweeper will do it");
        }
    }
    tracing::info!(
        %job,
        kind,
        attempt = attempt.number,
        ok = outcome.is_ok(),
        recorded,
        finish = ?finish,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "job attempt finished"
    );
    // An error of a superseded attempt is not worth a retry: the new attempt owns the job.
    if recorded { outcome } else { Ok(()) }
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
