//! The limits section: budgets that keep one request, one tenant or one integration from taking more than its
//! share — how long a statement or a request may run, how many webhook deliveries an integration may send per
//! minute — and the quotas on what a user or an organization may create.

use super::ConfigError;
use super::env::Env;
use super::vars;
use std::time::Duration;

/// Read by the API only (the worker's long statements are its own: batches it sizes itself).
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Longest a single SQL statement of the API may run (PostgreSQL's `statement_timeout` on each of its
    /// connections); a statement stopped by it answers 503.
    pub statement_timeout: Duration,
    /// Longest the API works on a request before answering 504 (the head of the response: a download that
    /// has started streams on).
    pub request_timeout: Duration,
    /// Webhook deliveries accepted per integration per minute; beyond it, 429 with `Retry-After`.
    pub webhook_deliveries_per_minute: u32,
    /// Organizations one user may own.
    pub orgs_per_user: u32,
    /// Sample-data loads per organization per day.
    pub sample_data_loads_per_day: u32,
    /// Invitations one organization may create per rolling 24 hours (revoked ones count).
    pub invitations_per_day: u32,
    /// Rows in one CSV or JSON-lines export; a larger history is refused (409) — narrow the filters.
    pub export_max_rows: u32,
    /// Memory each API process may give to incident-list pages it served lately (0: none kept).
    pub page_cache_bytes: usize,
}

impl LimitsConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(LimitsConfig {
            statement_timeout: env.millis(vars::STATEMENT_TIMEOUT_MS, 5_000)?,
            request_timeout: env.millis(vars::REQUEST_TIMEOUT_MS, 10_000)?,
            webhook_deliveries_per_minute: env
                .positive(vars::WEBHOOK_DELIVERIES_PER_MINUTE, 600)?,
            orgs_per_user: env.positive(vars::ORGS_PER_USER, 10)?,
            sample_data_loads_per_day: env.positive(vars::SAMPLE_DATA_LOADS_PER_DAY, 5)?,
            invitations_per_day: env.positive(vars::INVITATIONS_PER_DAY, 100)?,
            export_max_rows: env.positive(vars::EXPORT_MAX_ROWS, 100_000)?,
            page_cache_bytes: env
                .parse::<usize>(vars::PAGE_CACHE_MB, 64)?
                .saturating_mul(1 << 20),
        })
    }
}
