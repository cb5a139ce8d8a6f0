//! What the API and the worker share: typed configuration ([`config`]), secrets at rest ([`crypto`]), the
//! database — pool, tenant transactions, one repository per table, embedded migrations ([`db`]) — the producer
//! side of background jobs ([`jobs`]), logging and process signals ([`telemetry`]), and the integration
//! service that starts syncs, seals credentials and builds connectors ([`sync`]), and the domain rules that
//! span tables ([`orgs`], [`invitations`], [`accounts`]), and the rotation of the key of secrets at rest ([`secrets`]).

// First, so that its statement macros (`org_query!` & co.) are in scope of the modules below.
#[macro_use]
pub mod db;

pub mod accounts;
pub mod analytics;
pub mod automations;
pub mod config;
pub mod crypto;
pub mod invitations;
pub mod jobs;
pub mod orgs;
pub mod patterns;
pub mod runbooks;
pub mod search;
pub mod secrets;
pub mod sync;
pub mod telemetry;

pub use config::Config;
