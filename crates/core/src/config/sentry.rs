//! The sentry section (optional): where errors and panics are reported (see `telemetry`).

use super::ConfigError;
use super::env::Env;
use super::vars;
use secrecy::{ExposeSecret, SecretString};

/// Read by both binaries; `None` (nothing is sent anywhere) when `SENTRY_DSN` is unset.
#[derive(Debug, Clone)]
pub struct SentryConfig {
    /// The project's DSN, `https://<public key>@<host>/<project id>`: a secret (it lets anyone send events).
    pub dsn: SecretString,
    /// `SENTRY_ENVIRONMENT`, default `production`.
    pub environment: String,
}

impl SentryConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Option<Self>, ConfigError> {
        let Some(dsn) = env.value(vars::SENTRY_DSN)? else {
            return Ok(None);
        };
        let dsn = SecretString::from(dsn.trim().to_owned());
        // Checked now, so that a mistyped DSN stops start-up instead of silently sending nothing; the error
        // never repeats the value.
        dsn.expose_secret()
            .parse::<sentry::types::Dsn>()
            .map_err(|e| {
                vars::SENTRY_DSN.err(format!(
                    "must be a Sentry DSN such as https://<key>@<host>/<project> ({e})"
                ))
            })?;
        let environment = env.string(vars::SENTRY_ENVIRONMENT, "production")?;
        if environment.is_empty() || environment.len() > 64 || environment.contains(['/', '\n']) {
            return Err(vars::SENTRY_ENVIRONMENT
                .err("must be a name of at most 64 characters without `/` or a line break"));
        }
        Ok(Some(SentryConfig { dsn, environment }))
    }
}
