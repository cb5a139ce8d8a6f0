//! The sources section: where PagerDuty's and Opsgenie's APIs are, how calls to them are retried, and how
//! often new integrations sync.

use super::ConfigError;
use super::env::Env;
use super::vars;
use insights_ingest::client::HttpPolicy;
use insights_ingest::connector::SourceEndpoints;
use std::time::Duration;
use url::Url;

/// Read by both binaries: the API checks credentials when an integration is connected, the worker syncs.
#[derive(Debug, Clone)]
pub struct SourcesConfig {
    /// PagerDuty's REST API.
    pub pagerduty_api_url: Url,
    /// Opsgenie's REST API for every region (default: `api.opsgenie.com` or `api.eu.opsgenie.com`).
    pub opsgenie_api_url: Option<Url>,
    /// Minutes between incremental syncs of a new integration.
    pub sync_interval_minutes: u32,
    /// Retry policy of calls to PagerDuty and Opsgenie.
    pub max_attempts: u32,
    pub backoff: Duration,
    pub timeout: Duration,
}

impl SourcesConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let sync_interval_minutes = env.positive(vars::SYNC_INTERVAL_MINUTES, 15)?;
        if sync_interval_minutes > 1440 {
            return Err(vars::SYNC_INTERVAL_MINUTES.err("must be at most 1440 (a day)"));
        }
        Ok(SourcesConfig {
            pagerduty_api_url: env
                .http_url(vars::PAGERDUTY_API_URL)?
                .unwrap_or_else(|| Url::parse("https://api.pagerduty.com").expect("valid URL")),
            opsgenie_api_url: env.http_url(vars::OPSGENIE_API_URL)?,
            sync_interval_minutes,
            max_attempts: env.positive(vars::SOURCE_MAX_ATTEMPTS, 5)?,
            backoff: env.millis(vars::SOURCE_BACKOFF_MS, 500)?,
            timeout: env.secs(vars::SOURCE_TIMEOUT_SECS, 30)?,
        })
    }

    /// Where the sources' APIs are.
    #[must_use]
    pub fn endpoints(&self) -> SourceEndpoints {
        SourceEndpoints {
            pagerduty: self.pagerduty_api_url.clone(),
            opsgenie: self.opsgenie_api_url.clone(),
        }
    }

    /// How calls to the sources are retried.
    #[must_use]
    pub fn policy(&self) -> HttpPolicy {
        HttpPolicy {
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            max_backoff: (self.backoff * 60).min(Duration::from_secs(60)),
            timeout: self.timeout,
            ..HttpPolicy::default()
        }
    }
}
