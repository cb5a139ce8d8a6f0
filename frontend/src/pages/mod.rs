//! One module per group of pages.

pub mod auth;
pub mod incidents;
pub mod org;
pub mod profile;
