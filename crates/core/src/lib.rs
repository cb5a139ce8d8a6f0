//! What the API and the worker share: typed configuration ([`config`]), secrets at rest ([`crypto`]), the
//! database — pool, tenant transactions, one repository per table, embedded migrations ([`db`]) — the producer
//! side of background jobs ([`jobs`]), logging and process signals ([`telemetry`]), and the integration
//! service that starts syncs, seals credentials and builds connectors ([`sync`]).

pub mod config;
pub mod crypto;
pub mod db;
pub mod jobs;
pub mod sync;
pub mod telemetry;

pub use config::Config;
