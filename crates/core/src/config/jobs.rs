//! The jobs section: Redis, which holds the job queues (and the API's rate-limit counters), and how jobs are
//! run and retried.

use super::ConfigError;
use super::env::Env;
use super::vars;
use secrecy::SecretString;
use std::time::Duration;

/// Read by both binaries: the API enqueues jobs (with their attempt limit) and counts rate limits in Redis;
/// the worker runs the jobs.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub redis_url: SecretString,
    /// Prefix of every Redis key (job queues, rate limits); tests use a random one.
    pub redis_prefix: String,
    /// Jobs of one kind a worker runs at once.
    pub worker_concurrency: usize,
    /// Jobs of one kind one organization runs at once, across all workers: the others wait (are delivered
    /// again a moment later), so one tenant's backlog leaves slots to the rest.
    pub org_concurrency: u32,
    /// How long a long job (a backfill, a deletion) holds its worker slot before it yields it: it stops at its
    /// next checkpoint and goes to the back of the queue, so the jobs waiting behind it get their turn.
    pub time_slice: Duration,
    pub max_attempts: u32,
    /// First retry delay; doubles on each attempt (with jitter), up to 10 minutes.
    pub backoff: Duration,
    /// A running job that has not sent a heartbeat for this long is taken to be dead (its worker crashed) and
    /// is run again from its last checkpoint.
    pub heartbeat_timeout: Duration,
    /// How often the worker looks for due syncs and lost or dead jobs.
    pub worker_tick: Duration,
    /// How often the worker rolls up the incidents that writes marked dirty into the analytics rollups.
    pub analytics_refresh: Duration,
    /// The least time between two refinements of an organization's patterns (when incidents arrived since).
    pub patterns_refine_interval: Duration,
}

impl JobsConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let redis_url = env.required_url(vars::REDIS_URL, &["redis", "rediss"])?;
        let redis_prefix = env.word(
            vars::REDIS_PREFIX,
            "insights",
            |c| c.is_ascii_alphanumeric() || "-_:".contains(c),
            "letters, digits, '-', '_' and ':'",
        )?;
        Ok(JobsConfig {
            redis_url: redis_url.into(),
            redis_prefix,
            worker_concurrency: env.positive(vars::WORKER_CONCURRENCY, 4)? as usize,
            org_concurrency: env.positive(vars::JOB_ORG_CONCURRENCY, 2)?,
            time_slice: env.secs(vars::JOB_TIME_SLICE_SECS, 300)?,
            max_attempts: env.positive(vars::JOB_MAX_ATTEMPTS, 5)?,
            backoff: env.millis(vars::JOB_BACKOFF_MS, 2000)?,
            heartbeat_timeout: env.secs(vars::JOB_HEARTBEAT_TIMEOUT_SECS, 120)?,
            worker_tick: env.millis(vars::WORKER_TICK_MS, 15_000)?,
            analytics_refresh: env.millis(vars::ANALYTICS_REFRESH_MS, 2_000)?,
            patterns_refine_interval: env.secs(vars::PATTERNS_REFINE_INTERVAL_S, 600)?,
        })
    }
}
