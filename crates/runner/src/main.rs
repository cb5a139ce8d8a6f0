//! The runner's Lambda entry point (see the library for the handler).

fn main() {}
