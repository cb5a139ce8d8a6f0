//! What every request handler shares.

use crate::auth::password::PasswordHasher;
use crate::auth::tokens::TokenKeys;
use crate::cache::ReadCache;
use insights_core::config::ApiConfig;
use insights_core::crypto::SecretBox;
use insights_core::db::Db;
use insights_core::jobs::JobQueue;
use redis::aio::ConnectionManager;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<ApiConfig>,
    pub db: Db,
    pub redis: ConnectionManager,
    /// For requests that need a connection of their own (a blocking wait for a worker's search answer).
    pub redis_client: redis::Client,
    pub jobs: JobQueue,
    pub hasher: PasswordHasher,
    pub tokens: TokenKeys,
    pub secrets: SecretBox,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Sessions, roles and `/me` answers, kept until PostgreSQL notifies a change (off until `run` listens).
    pub cache: ReadCache,
}

impl AppState {
    /// A Redis key under this deployment's prefix.
    #[must_use]
    pub fn redis_key(&self, parts: &[&str]) -> String {
        let mut k = self.config.jobs.redis_prefix.clone();
        for p in parts {
            k.push(':');
            k.push_str(p);
        }
        k
    }
}
