//! Automations, pure and deterministic (issue 13): what the API and the worker share to decide what runs and
//! what it sends. No I/O and no configuration: the callers bring the data and the clock.
//!
//! - [`template`]: the sandboxed payload and message template language.
//! - [`context`]: what templates see (`incident`, `pattern`, `step`, `params`, `run`, `targets`).
//! - [`rules`]: rule conditions compiled once and evaluated against many incident changes.
//! - [`schedule`]: cron expressions in IANA time zones, daylight-saving correct.
//! - [`admission`]: whether a run may start (kill switch, breaker, rate, cool-down, rule cap).
//! - [`outbound`]: the guard on outbound addresses and URLs (no private destinations).
//! - [`signature`]: Standard Webhooks signatures.
//! - [`payload`]: the hash of the exact bytes sent and the redaction of what is stored.

pub mod admission;
pub mod context;
pub mod outbound;
pub mod payload;
pub mod rules;
pub mod schedule;
pub mod signature;
pub mod template;
