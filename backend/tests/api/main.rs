//! Integration tests of the HTTP API against a real PostgreSQL and Redis (see `insights_testing`).

mod analytics;
mod auth;
mod automations;
mod backup;
mod bad_input;
mod binary;
mod budgets;
mod client_ip;
mod incidents;
mod integrations;
mod invitations;
mod isolation;
mod members;
mod monitoring;
mod operations;
mod orgs;
mod patterns;
mod read_cache;
mod recovery;
mod replica;
mod runbooks;
mod secrets;
mod sessions;
