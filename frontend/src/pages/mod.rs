//! One module per group of pages.

pub mod auth;
pub mod incidents;
pub mod integrations;
pub mod org;
pub mod profile;
