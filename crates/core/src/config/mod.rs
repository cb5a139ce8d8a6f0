//! Typed configuration from the environment, in sections, validated at start-up. A missing or malformed
//! setting stops the process with one line that names it. Secrets are wrapped so `Debug` never prints them;
//! each secret may also be given as a file with the `_FILE` suffix (Kubernetes secrets).
//!
//! A section ([`GeneralConfig`], [`ServerConfig`], [`DatabaseConfig`], [`JobsConfig`], [`AuthConfig`],
//! [`SourcesConfig`], [`SmtpConfig`], [`LimitsConfig`], [`VectorConfig`], [`LlmConfig`]) is one struct with its own `from_env` loader; every loader reads
//! through the shared reader [`Env`], by the constants of [`vars`], which also lists each section's
//! variables. Each binary loads only the sections it reads: [`ApiConfig`] (every section) and
//! [`WorkerConfig`] (no server section but its public URL and metrics address, no auth or limits section). [`Config`] holds every section; the test harness builds
//! one and hands it to both. Any `INSIGHTS_*` variable that [`vars`] does not list is reported at start-up
//! ([`warn_unknown_variables`]).
//!
//! Sections still to come follow the same pattern (a file here with a struct and its `from_env`, its
//! variables in [`vars`], a field in the configuration of each binary that reads it): `aws` (the SDK reads
//! its own `AWS_*` variables) and `events`.

mod auth;
mod automations;
mod database;
mod env;
mod general;
mod jobs;
mod limits;
mod llm;
mod proxies;
mod sentry;
mod server;
mod smtp;
mod sources;
pub mod strength;
mod unknown;
pub mod vars;
mod vector;

pub use auth::AuthConfig;
pub use automations::AutomationsConfig;
pub use database::DatabaseConfig;
pub use env::{Env, Var};
pub use general::{GeneralConfig, LogFormat};
pub use jobs::JobsConfig;
pub use limits::LimitsConfig;
pub use llm::LlmConfig;
pub use proxies::TrustedProxies;
pub use sentry::SentryConfig;
pub use server::{DOCS_BASE_URL, HelpUrls, PublicUrl, ServerConfig};
pub use smtp::SmtpConfig;
pub use sources::SourcesConfig;
pub use unknown::{UnknownVariable, unknown_variables, warn_unknown_variables};
pub use vector::VectorConfig;

/// A setting that could not be used: names the variable and says why.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

/// Every section: what the API reads ([`ApiConfig`]), and what the test harness builds to run the API and
/// the worker from one environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub general: GeneralConfig,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub jobs: JobsConfig,
    pub auth: AuthConfig,
    pub sources: SourcesConfig,
    pub smtp: Option<SmtpConfig>,
    pub limits: LimitsConfig,
    pub vector: VectorConfig,
    pub llm: LlmConfig,
    pub automations: AutomationsConfig,
}

/// What `insights-api` reads: every section (the sources to check credentials, the smtp section to know
/// whether to enqueue invitation emails). It becomes a struct of its own when a section comes that the API
/// does not read.
pub type ApiConfig = Config;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&Env::process())
    }

    /// Reads settings through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::load(&Env::new(get))
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let WorkerConfig {
            general,
            public_url: _,
            metrics_bind: _,
            database,
            jobs,
            sources,
            smtp,
            vector,
            llm,
            automations,
        } = WorkerConfig::load(env)?;
        Ok(Config {
            server: ServerConfig::from_env(env)?,
            auth: AuthConfig::from_env(env)?,
            limits: LimitsConfig::from_env(env)?,
            general,
            database,
            jobs,
            sources,
            smtp,
            vector,
            llm,
            automations,
        })
    }
}

/// What `insights-worker` reads: no server section but its public URL (for the links it mails), and no auth
/// section, so a missing `INSIGHTS_JWT_SECRET` does not stop it.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub general: GeneralConfig,
    pub public_url: PublicUrl,
    /// The internal address that serves the worker's `/metrics` (`INSIGHTS_METRICS_ADDR`, as the API's).
    pub metrics_bind: std::net::SocketAddr,
    pub database: DatabaseConfig,
    pub jobs: JobsConfig,
    pub sources: SourcesConfig,
    pub smtp: Option<SmtpConfig>,
    pub vector: VectorConfig,
    pub llm: LlmConfig,
    pub automations: AutomationsConfig,
}

impl WorkerConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&Env::process())
    }

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(WorkerConfig {
            general: GeneralConfig::from_env(env)?,
            public_url: PublicUrl::from_env(env)?,
            metrics_bind: ServerConfig::metrics_bind(env)?,
            database: DatabaseConfig::from_env(env)?,
            jobs: JobsConfig::from_env(env)?,
            sources: SourcesConfig::from_env(env)?,
            smtp: SmtpConfig::from_env(env)?,
            vector: VectorConfig::from_env(env)?,
            llm: LlmConfig::from_env(env)?,
            automations: AutomationsConfig::from_env(env)?,
        })
    }
}

/// The worker's part of the whole configuration (tests run the API and the worker from one).
impl From<Config> for WorkerConfig {
    fn from(c: Config) -> Self {
        WorkerConfig {
            general: c.general,
            public_url: c.server.public_url,
            metrics_bind: c.server.metrics_bind,
            database: c.database,
            jobs: c.jobs,
            sources: c.sources,
            smtp: c.smtp,
            vector: c.vector,
            llm: c.llm,
            automations: c.automations,
        }
    }
}

#[cfg(test)]
mod tests;
