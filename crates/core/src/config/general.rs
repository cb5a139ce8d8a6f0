//! The general section: what every process reads whatever it does.

use super::ConfigError;
use super::env::Env;
use super::vars;
use base64::Engine;
use secrecy::{ExposeSecret, SecretBox};
use std::path::PathBuf;
use std::sync::Arc;

/// Local state, the key of secrets at rest, the log format.
#[derive(Debug, Clone)]
pub struct GeneralConfig {
    pub data_dir: PathBuf,
    /// 32 bytes that encrypt stored secrets (AES-256-GCM).
    pub secret_key: Arc<SecretBox<[u8; 32]>>,
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl GeneralConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let raw = env.required(vars::SECRET_KEY)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|_| vars::SECRET_KEY.err("must be base64 (e.g. `openssl rand -base64 32`)"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            vars::SECRET_KEY.err(format!("must decode to 32 bytes, not {}", b.len()))
        })?;
        let log_format = match env.value(vars::LOG_FORMAT)?.as_deref().map(str::trim) {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(vars::LOG_FORMAT.err(format!("must be json or pretty, not {other:?}")));
            }
        };
        Ok(GeneralConfig {
            data_dir: PathBuf::from(env.string(vars::DATA_DIR, ".data")?),
            secret_key: Arc::new(SecretBox::new(Box::new(key))),
            log_format,
        })
    }

    /// The 32-byte key that encrypts stored secrets.
    #[must_use]
    pub fn secret_key_bytes(&self) -> &[u8; 32] {
        self.secret_key.expose_secret()
    }
}
