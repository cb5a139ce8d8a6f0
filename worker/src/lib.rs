//! The worker: one apalis worker per job kind (one file per job in `jobs/`), fed from Redis queues, plus the
//! scheduler that starts incremental syncs when they are due, the sweeper that re-enqueues tracked jobs
//! whose enqueue was lost or whose worker died, and the refresher that rolls changed incidents up into the
//! analytics rollups. Every attempt is recorded in `job_runs`, so
//! users see state, attempts and the last error; failures retry with exponential backoff (see [`jobs`]).
//! Its Prometheus metrics (job attempts by kind and outcome, their durations) are served on
//! `INSIGHTS_METRICS_ADDR` at `/metrics`.

pub mod analytics;
pub mod automations;
pub mod index;
pub mod jobs;
pub mod mail;
pub mod scheduler;
pub mod sweeper;

use anyhow::Context;
use apalis::prelude::*;
use insights_core::config::WorkerConfig;
use insights_core::crypto::SecretBox;
use insights_core::db::Db;
use insights_core::jobs::{Job, JobQueue, storage};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How often an idle worker asks Redis for new jobs.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// What job handlers share.
#[derive(Clone)]
pub struct WorkerState {
    pub config: Arc<WorkerConfig>,
    pub db: Db,
    pub secrets: SecretBox,
    /// Present when `INSIGHTS_SMTP_URL` is set.
    pub mailer: Option<AsyncSmtpTransport<Tokio1Executor>>,
    pub queue: JobQueue,
    /// The product's AWS identity (the standard chain) and its cache of assumed-role sessions: what
    /// automation runs invoke Lambda functions and verifications check connections with.
    pub aws: Arc<insights_aws::AwsClients>,
    /// The runbook index, once the worker runs (see [`index`]): what the generation job retrieves with.
    pub index: Arc<std::sync::OnceLock<Arc<index::Index>>>,
}

/// A worker running in the background (see [`Worker::spawn`]); dropping it asks it to stop.
pub struct RunningWorker {
    /// Where its `/metrics` is served.
    pub metrics_addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl RunningWorker {
    /// Stops gracefully (running jobs finish) and returns how the worker ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Whether the monitor restarts a worker that ended with `error`: yes, after a pause (so that a Redis that is
/// down is not hammered), unless it panicked or the process is stopping.
fn restart_after_queue_failure(worker: &WorkerContext, error: &WorkerError) -> bool {
    if matches!(error, WorkerError::PanicError(_)) || worker.is_shutting_down() {
        return false;
    }
    tracing::warn!(
        worker = worker.name(),
        ?error,
        "job worker failed; restarting it"
    );
    // Called from the monitor's poll: a short blocking pause is the only way to space the restarts out.
    std::thread::sleep(RESTART_PAUSE);
    true
}

/// How long the monitor waits before restarting a failed job worker.
const RESTART_PAUSE: Duration = Duration::from_millis(500);

pub struct Worker {
    state: WorkerState,
    redis: apalis_redis::ConnectionManager,
    /// The internal address for Prometheus (`INSIGHTS_METRICS_ADDR`).
    metrics_listener: tokio::net::TcpListener,
}

impl Worker {
    /// Takes a [`WorkerConfig`], or the whole [`insights_core::Config`] (tests).
    pub async fn build(config: impl Into<WorkerConfig>) -> anyhow::Result<Self> {
        let config = config.into();
        let metrics_listener = tokio::net::TcpListener::bind(config.metrics_bind)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on INSIGHTS_METRICS_ADDR={}",
                    config.metrics_bind
                )
            })?;
        let db = Db::connect(&config.database, None)?;
        let redis = tokio::time::timeout(
            Duration::from_secs(10),
            apalis_redis::connect(config.jobs.redis_url.expose_secret().to_owned()),
        )
        .await
        .context("REDIS_URL: Redis did not answer within 10 s")?
        .context("REDIS_URL: cannot connect to Redis")?;
        let mailer = match &config.smtp {
            Some(smtp) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.url.expose_secret())
                    .context("INSIGHTS_SMTP_URL")?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => None,
        };
        // Incident changes older than this never start rules (a backfill of history fires nothing).
        insights_core::automations::changes::set_max_event_age(config.automations.max_event_age);
        let queue = JobQueue::new(
            redis.clone(),
            &config.jobs.redis_prefix,
            config.jobs.max_attempts,
        );
        let aws = Arc::new(
            insights_aws::AwsClients::from_env(
                config.automations.aws_session,
                config.automations.aws_principal.clone(),
            )
            .await,
        );
        Ok(Self {
            state: WorkerState {
                secrets: config.general.secrets(),
                config: Arc::new(config),
                db,
                mailer,
                queue,
                aws,
                index: Arc::default(),
            },
            redis,
            metrics_listener,
        })
    }

    /// Uses these AWS clients instead of the standard chain's (tests: explicit endpoints of moto or the fake
    /// Lambda, static credentials).
    #[must_use]
    pub fn with_aws(mut self, aws: insights_aws::AwsClients) -> Self {
        self.state.aws = Arc::new(aws);
        self
    }

    #[must_use]
    pub fn state(&self) -> &WorkerState {
        &self.state
    }

    /// Where `/metrics` is served.
    #[must_use]
    pub fn metrics_addr(&self) -> std::net::SocketAddr {
        self.metrics_listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Runs on the current runtime in the background until the returned handle is stopped (or dropped):
    /// for embedding the worker in another process, such as a test.
    #[must_use]
    pub fn spawn(self) -> RunningWorker {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_addr = self.metrics_addr();
        let task = tokio::spawn(self.run_until(async move {
            let _ = stopped.await;
        }));
        RunningWorker {
            metrics_addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Runs every worker and the sweeper until `shutdown` completes; in-flight jobs finish first (up to 30 s).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let prefix = state.config.jobs.redis_prefix.clone();
        let conn = self.redis.clone();
        let concurrency = state.config.jobs.worker_concurrency;
        // Each process registers its workers under its own names: apalis refuses a second live worker of the
        // same name, so replicas (or a restart after a crash) would otherwise fail to start.
        let instance = format!(
            "{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into()),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        // The index first: with the embedded one, a second worker on the same directory stops here.
        let opened = Arc::new(index::Index::open(&state.config).await?);
        let vectors = state.index.get_or_init(|| opened.clone()).clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let indexer = tokio::spawn(index::indexer::run(
            vectors.clone(),
            state.db.clone(),
            stop_rx.clone(),
        ));
        let searches = {
            let redis = redis::Client::open(state.config.jobs.redis_url.expose_secret())
                .context("REDIS_URL")?;
            let mut stopped = stop_rx.clone();
            tokio::spawn(index::serve_searches(
                vectors,
                state.db.clone(),
                redis,
                prefix.clone(),
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            ))
        };
        tracing::info!(metrics_addr = %self.metrics_addr(), "insights-worker serves /metrics");
        let metrics = tokio::spawn(serve_metrics(self.metrics_listener, stop_rx.clone()));
        let sweeper = tokio::spawn(sweeper::run(state.clone(), stop_rx.clone()));
        let scheduler = tokio::spawn(scheduler::run(state.clone(), stop_rx.clone()));
        let dispatcher = tokio::spawn(automations::dispatch(state.clone(), stop_rx.clone()));
        let schedules = tokio::spawn(automations::schedule(state.clone(), stop_rx.clone()));
        let refresher = tokio::spawn(analytics::run(state.clone(), stop_rx));

        // One apalis worker per job kind, all with the same polling and concurrency (retries are deliveries of
        // their own, see `jobs::tracked`). A worker whose queue failed (Redis restarted, or lost its data and
        // with it the worker's registration) is restarted under a new name; the jobs it was running are taken
        // over by the sweeper.
        macro_rules! job_worker {
            ($job:ty, $handler:path) => {{
                let (state, conn, prefix) = (state.clone(), conn.clone(), prefix.clone());
                let name = format!("{}@{instance}", <$job>::KIND);
                move |restarts| {
                    WorkerBuilder::new(format!("{name}.{restarts}"))
                        .backend(
                            storage::<$job>(conn.clone(), &prefix, <$job>::KIND)
                                .poll_with_interval(POLL_INTERVAL),
                        )
                        .data(state.clone())
                        .concurrency(concurrency)
                        .build($handler)
                }
            }};
        }
        // Every kind of `for_each_job!`, each handled by `jobs::<kind>::run`.
        macro_rules! register_jobs {
            ($( $(#[$doc:meta])* $kind:ident : $name:ident { $($subject:tt)* } ),* $(,)?) => {
                Monitor::new()
                    .shutdown_timeout(Duration::from_secs(30))
                    .should_restart(restart_after_queue_failure)
                    $( .register(job_worker!(insights_core::jobs::$name, jobs::$kind::run)) )*
            };
        }
        let monitor = insights_core::for_each_job!(register_jobs);
        tracing::info!(%instance, "insights-worker started");
        let asked_to_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let asked = asked_to_stop.clone();
        let result = monitor
            .run_with_signal(async move {
                shutdown.await;
                asked.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            })
            .await;
        let _ = stop_tx.send(true);
        let _ = indexer.await;
        let _ = searches.await;
        let _ = sweeper.await;
        let _ = scheduler.await;
        let _ = refresher.await;
        let _ = dispatcher.await;
        let _ = schedules.await;
        let _ = metrics.await;
        result.map_err(|e| anyhow::anyhow!("worker monitor: {e}"))?;
        if !asked_to_stop.load(std::sync::atomic::Ordering::Relaxed) {
            anyhow::bail!("the job workers stopped on their own (see the errors logged above)");
        }
        tracing::info!("insights-worker stopped");
        Ok(())
    }
}

/// Serves `/metrics` (the process's Prometheus metrics) on `listener` until `stop` turns true.
async fn serve_metrics(
    listener: tokio::net::TcpListener,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let handle = insights_core::telemetry::prometheus();
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "the metrics listener failed");
    }
}

/// How the model client reaches the configured OpenAI-compatible endpoint (for drafts and embeddings alike).
#[must_use]
pub fn llm_settings(llm: &insights_core::config::LlmConfig) -> insights_llm::LlmSettings {
    use secrecy::ExposeSecret;
    insights_llm::LlmSettings {
        base_url: llm.base_url.as_str().trim_end_matches('/').to_owned(),
        api_key: llm.api_key.as_ref().map(|k| k.expose_secret().to_owned()),
        timeout: llm.timeout,
        max_attempts: llm.max_attempts,
        backoff: llm.backoff,
    }
}
