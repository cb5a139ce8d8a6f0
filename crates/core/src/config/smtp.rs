//! The smtp section (optional): the relay invitation emails are sent through.

use super::ConfigError;
use super::env::{Env, check_scheme};
use super::vars;
use secrecy::SecretString;

/// Read by both binaries: the API enqueues invitation emails only when it is set, the worker sends them.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, for a local relay), `smtp://host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465`; lettre's URL format.
    pub url: SecretString,
    pub from: String,
}

impl SmtpConfig {
    /// `None` when `INSIGHTS_SMTP_URL` is unset.
    pub fn from_env(env: &Env<'_>) -> Result<Option<Self>, ConfigError> {
        let Some(url) = env.value(vars::SMTP_URL)? else {
            return Ok(None);
        };
        check_scheme(vars::SMTP_URL, &url, &["smtp", "smtps"])?;
        let from = env
            .value(vars::SMTP_FROM)?
            .ok_or_else(|| vars::SMTP_FROM.err("is required when INSIGHTS_SMTP_URL is set"))?;
        insights_types::domain::Email::parse_field(vars::SMTP_FROM.name, &from)
            .map_err(|e| vars::SMTP_FROM.err(e.message))?;
        Ok(Some(SmtpConfig {
            url: url.into(),
            from,
        }))
    }
}
