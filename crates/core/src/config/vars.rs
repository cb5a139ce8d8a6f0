//! Every environment variable the configuration reads, one constant each, and each section's list of them:
//! the loaders read these constants, and the unknown-variable check knows exactly the names listed here.

use super::env::Var;

// general
pub const SECRET_KEY: Var = Var::secret("INSIGHTS_SECRET_KEY");
pub const DATA_DIR: Var = Var::new("INSIGHTS_DATA_DIR");
pub const LOG_FORMAT: Var = Var::new("INSIGHTS_LOG_FORMAT");
// server
pub const BIND: Var = Var::new("INSIGHTS_BIND");
pub const PUBLIC_URL: Var = Var::new("INSIGHTS_PUBLIC_URL");
pub const WEB_DIR: Var = Var::new("INSIGHTS_WEB_DIR");
// database
pub const DATABASE_URL: Var = Var::secret("DATABASE_URL");
pub const DATABASE_ROLE: Var = Var::new("INSIGHTS_DATABASE_ROLE");
pub const DATABASE_MAX_CONNECTIONS: Var = Var::new("INSIGHTS_DATABASE_MAX_CONNECTIONS");
// jobs
pub const REDIS_URL: Var = Var::secret("REDIS_URL");
pub const REDIS_PREFIX: Var = Var::new("INSIGHTS_REDIS_PREFIX");
pub const JOB_MAX_ATTEMPTS: Var = Var::new("INSIGHTS_JOB_MAX_ATTEMPTS");
pub const JOB_BACKOFF_MS: Var = Var::new("INSIGHTS_JOB_BACKOFF_MS");
pub const JOB_HEARTBEAT_TIMEOUT_SECS: Var = Var::new("INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS");
pub const WORKER_CONCURRENCY: Var = Var::new("INSIGHTS_WORKER_CONCURRENCY");
pub const WORKER_TICK_MS: Var = Var::new("INSIGHTS_WORKER_TICK_MS");
// auth
pub const JWT_SECRET: Var = Var::secret("INSIGHTS_JWT_SECRET");
pub const ACCESS_TOKEN_TTL_SECS: Var = Var::new("INSIGHTS_ACCESS_TOKEN_TTL_SECS");
pub const REFRESH_TOKEN_TTL_SECS: Var = Var::new("INSIGHTS_REFRESH_TOKEN_TTL_SECS");
pub const INVITATION_TTL_SECS: Var = Var::new("INSIGHTS_INVITATION_TTL_SECS");
pub const AUTH_RATE_LIMIT_PER_IP: Var = Var::new("INSIGHTS_AUTH_RATE_LIMIT_PER_IP");
pub const AUTH_RATE_LIMIT_PER_ACCOUNT: Var = Var::new("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT");
pub const TRUST_FORWARDED_FOR: Var = Var::new("INSIGHTS_TRUST_FORWARDED_FOR");
// sources
pub const PAGERDUTY_API_URL: Var = Var::new("INSIGHTS_PAGERDUTY_API_URL");
pub const OPSGENIE_API_URL: Var = Var::new("INSIGHTS_OPSGENIE_API_URL");
pub const SYNC_INTERVAL_MINUTES: Var = Var::new("INSIGHTS_SYNC_INTERVAL_MINUTES");
pub const SOURCE_MAX_ATTEMPTS: Var = Var::new("INSIGHTS_SOURCE_MAX_ATTEMPTS");
pub const SOURCE_BACKOFF_MS: Var = Var::new("INSIGHTS_SOURCE_BACKOFF_MS");
pub const SOURCE_TIMEOUT_SECS: Var = Var::new("INSIGHTS_SOURCE_TIMEOUT_SECS");
// smtp
pub const SMTP_URL: Var = Var::secret("INSIGHTS_SMTP_URL");
pub const SMTP_FROM: Var = Var::new("INSIGHTS_SMTP_FROM");
// limits
pub const STATEMENT_TIMEOUT_MS: Var = Var::new("INSIGHTS_STATEMENT_TIMEOUT_MS");
pub const REQUEST_TIMEOUT_MS: Var = Var::new("INSIGHTS_REQUEST_TIMEOUT_MS");
pub const WEBHOOK_DELIVERIES_PER_MINUTE: Var = Var::new("INSIGHTS_WEBHOOK_DELIVERIES_PER_MINUTE");
pub const ORGS_PER_USER: Var = Var::new("INSIGHTS_ORGS_PER_USER");
pub const SAMPLE_DATA_LOADS_PER_DAY: Var = Var::new("INSIGHTS_SAMPLE_DATA_LOADS_PER_DAY");
pub const EXPORT_MAX_ROWS: Var = Var::new("INSIGHTS_EXPORT_MAX_ROWS");

pub const GENERAL: &[Var] = &[SECRET_KEY, DATA_DIR, LOG_FORMAT];
pub const SERVER: &[Var] = &[BIND, PUBLIC_URL, WEB_DIR];
pub const DATABASE: &[Var] = &[DATABASE_URL, DATABASE_ROLE, DATABASE_MAX_CONNECTIONS];
pub const JOBS: &[Var] = &[
    REDIS_URL,
    REDIS_PREFIX,
    JOB_MAX_ATTEMPTS,
    JOB_BACKOFF_MS,
    JOB_HEARTBEAT_TIMEOUT_SECS,
    WORKER_CONCURRENCY,
    WORKER_TICK_MS,
];
pub const AUTH: &[Var] = &[
    JWT_SECRET,
    ACCESS_TOKEN_TTL_SECS,
    REFRESH_TOKEN_TTL_SECS,
    INVITATION_TTL_SECS,
    AUTH_RATE_LIMIT_PER_IP,
    AUTH_RATE_LIMIT_PER_ACCOUNT,
    TRUST_FORWARDED_FOR,
];
pub const SOURCES: &[Var] = &[
    PAGERDUTY_API_URL,
    OPSGENIE_API_URL,
    SYNC_INTERVAL_MINUTES,
    SOURCE_MAX_ATTEMPTS,
    SOURCE_BACKOFF_MS,
    SOURCE_TIMEOUT_SECS,
];
pub const SMTP: &[Var] = &[SMTP_URL, SMTP_FROM];
pub const LIMITS: &[Var] = &[
    STATEMENT_TIMEOUT_MS,
    REQUEST_TIMEOUT_MS,
    WEBHOOK_DELIVERIES_PER_MINUTE,
    ORGS_PER_USER,
    SAMPLE_DATA_LOADS_PER_DAY,
    EXPORT_MAX_ROWS,
];

/// Every section's list: all the names the configuration reads.
pub const SECTIONS: &[&[Var]] = &[GENERAL, SERVER, DATABASE, JOBS, AUTH, SOURCES, SMTP, LIMITS];
