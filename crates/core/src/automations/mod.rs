//! Automations (issue 13): the database side shared by the API and the worker — the AWS connections the
//! product acts in, the automations and their sealed secrets, rules, schedules, the kill switch, admission of
//! runs and the append-only run log.
//!
//! Each part's owner adds its module line here.

pub mod admission;
pub mod connections;
pub mod context;
pub mod notes;
pub mod runs;
pub mod secrets;
