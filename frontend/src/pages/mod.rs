//! One module per group of pages.

pub mod account;
pub mod auth;
pub mod automations;
pub mod dashboard;
pub mod incidents;
pub mod integrations;
pub mod patterns;
pub mod profile;
pub mod runbooks;
pub mod settings;
