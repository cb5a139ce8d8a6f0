//! Automations (issue 13): the database side shared by the API and the worker.

pub mod admission;
pub mod runs;
