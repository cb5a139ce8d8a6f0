//! Automations (issue 13): the AWS connections the product acts in, the automations and their sealed secrets,
//! rules, schedules, the kill switch, and the append-only run log — the API side (create, change, list, decide
//! approvals, ask for runs) and what the worker shares with it.
//!
//! Each part's owner adds its module line here.

pub mod connections;
pub mod secrets;
