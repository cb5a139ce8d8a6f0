//! Automations, pure and deterministic (issue 13): what the API and the worker share to decide what runs and
//! what it sends. No I/O and no configuration: the callers bring the data and the clock.
