//! The Incident Insights backend: configuration, domain rules, data access, the HTTP API and the payloads of
//! background jobs. `insights-api` (this crate's binary) serves it; `insights-worker` runs the jobs.

pub mod app;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod routes;
pub mod state;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use app::App;
pub use config::Config;
