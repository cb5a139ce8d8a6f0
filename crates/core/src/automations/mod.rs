//! Automations (issue 13): the database side of what the API and the worker share.

pub mod context;
