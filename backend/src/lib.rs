//! The Incident Insights HTTP API: the app and its middleware, extractors, errors, authentication, and one
//! module per resource under `routes/`. `insights-api` (this crate's binary) serves it; the shared parts
//! (configuration, database, jobs) are in `insights-core`, the sources in `insights-ingest`.

pub mod app;
pub mod auth;
pub mod cache;
pub mod error;
pub mod http;
pub mod routes;
pub mod state;

pub use app::App;
pub use insights_core::Config;
