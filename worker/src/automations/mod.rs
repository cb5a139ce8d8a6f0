//! Automations in the worker (issue 13).

pub mod actions;
