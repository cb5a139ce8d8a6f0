//! The general section: what every process reads whatever it does (with the sentry section).

use super::ConfigError;
use super::env::{Env, Var};
use super::sentry::SentryConfig;
use super::vars;
use crate::crypto;
use base64::Engine;
use secrecy::{ExposeSecret, SecretBox};
use std::path::PathBuf;
use std::sync::Arc;

/// Local state, the keys of secrets at rest, the log format.
#[derive(Debug, Clone)]
pub struct GeneralConfig {
    pub data_dir: PathBuf,
    /// The current key and then the previous keys (AES-256-GCM, 32 bytes each): the first seals, every one
    /// opens what it sealed.
    pub secret_keys: Arc<SecretBox<Vec<[u8; 32]>>>,
    pub log_format: LogFormat,
    /// Where errors are reported; `None` without `SENTRY_DSN`.
    pub sentry: Option<SentryConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl GeneralConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let mut keys = vec![secret_key(
            vars::SECRET_KEY,
            &env.required(vars::SECRET_KEY)?,
        )?];
        if let Some(list) = env.value(vars::SECRET_KEY_PREVIOUS)? {
            for raw in list.split(',').filter(|k| !k.trim().is_empty()) {
                let key = secret_key(vars::SECRET_KEY_PREVIOUS, raw)?;
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        let log_format = match env.value(vars::LOG_FORMAT)?.as_deref().map(str::trim) {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(vars::LOG_FORMAT.err(format!("must be json or pretty, not {other:?}")));
            }
        };
        Ok(GeneralConfig {
            data_dir: PathBuf::from(env.string(vars::DATA_DIR, ".data")?),
            secret_keys: Arc::new(SecretBox::new(Box::new(keys))),
            log_format,
            sentry: SentryConfig::from_env(env)?,
        })
    }

    /// What seals and opens stored secrets, with the current key and the previous ones.
    #[must_use]
    pub fn secrets(&self) -> crypto::SecretBox {
        let keys = self.secret_keys.expose_secret();
        crypto::SecretBox::with_previous(&keys[0], &keys[1..])
    }
}

/// A key: base64 of 32 bytes.
fn secret_key(var: Var, raw: &str) -> Result<[u8; 32], ConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| var.err("must be base64 (e.g. `openssl rand -base64 32`)"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| var.err(format!("must decode to 32 bytes, not {}", b.len())))
}
