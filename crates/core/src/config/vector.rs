//! The vector section: where the index of runbook chunks and past fixes lives. By default an embedded
//! qdrant-edge shard under `$INSIGHTS_DATA_DIR/vectors`, owned by one worker process; with `QDRANT_URL`, a
//! Qdrant server shared by every worker.

use super::ConfigError;
use super::env::Env;
use super::vars;
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

/// Read by both binaries: the worker owns the index, the API asks the worker to search it and waits at most
/// `search_timeout`.
#[derive(Debug, Clone)]
pub struct VectorConfig {
    /// A Qdrant server (its gRPC URL, e.g. `http://qdrant:6334`); `None`: the embedded shard.
    pub qdrant_url: Option<Url>,
    pub qdrant_api_key: Option<SecretString>,
    /// The collection's name prefix on a Qdrant server.
    pub collection: String,
    /// How long the API waits for a search answered by a worker.
    pub search_timeout: Duration,
}

impl VectorConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(VectorConfig {
            qdrant_url: env.http_url(vars::QDRANT_URL)?,
            qdrant_api_key: env.value(vars::QDRANT_API_KEY)?.map(SecretString::from),
            collection: env.word(
                vars::QDRANT_COLLECTION,
                "insights",
                |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
                "letters, digits, '_' and '-'",
            )?,
            search_timeout: env.millis(vars::SEARCH_TIMEOUT_MS, 3000)?,
        })
    }
}
