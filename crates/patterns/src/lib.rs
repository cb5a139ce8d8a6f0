//! Recurring patterns in incident titles. Pure and deterministic: no I/O, no clock, no configuration — the
//! defaults are the product's, the same for every organization and for `insights-worker cluster`.
//!
//! - [`Template`]: a title with its variable parts replaced by typed slots (`High latency on <service> (p99 >
//!   <duration>)`), with a text form that round-trips ([`Template::parse`] of its `Display`).
//! - [`Template::of_title`]: one title, normalized (numbers, ids, hex, UUIDs, IPs, host names, paths, URLs,
//!   emails, durations, quoted values, timestamps and the incident's own service masked).
//! - [`cluster`]: batch mining of many titles into templates (a fixed-depth parse tree keyed by token count and
//!   leading tokens, a similarity threshold, variable slots), then refinement (merging templates that converged,
//!   splitting over-broad ones). Deterministic and independent of the input order.
//! - [`Matcher`]: assigns one new title to the best of known templates (the store pipeline's path), people's
//!   corrections ([`Origin::Rule`]) first.
//! - [`explain`]: why a title belongs to a template: the slots and their values, and the similarity.

mod cli;
mod matcher;
mod mine;
mod normalize;
mod template;

pub use cli::run;
pub use template::{ParseError, Part, SlotKind, Template};

/// One title to cluster, with its service's name when it has one (used as context: the service's name in the
/// title becomes a `<service>` slot).
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub title: &'a str,
    pub service: Option<&'a str>,
}

/// The answer of [`cluster`]: the templates found, and for each input item the index of its template and the
/// similarity of its title to it (0..=1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Clustering {
    /// In a canonical order (most items first, then by text), so equal inputs in any order give equal answers.
    pub templates: Vec<Template>,
    /// Per input item, in input order: an index into `templates`.
    pub assignments: Vec<u32>,
    /// Per input item: the similarity of its title to its template.
    pub scores: Vec<f32>,
}

/// Mines `items` into templates with the product's defaults. Deterministic, independent of the order of
/// `items`.
#[must_use]
pub fn cluster(items: &[Item<'_>]) -> Clustering {
    mine::cluster(items)
}

/// Where a template of a [`Matcher`] comes from: the engine's mining, or a person's correction (a merge, an
/// incident moved by hand), which is matched before any mined one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    Mined,
    Rule,
}

/// The best template of a [`Matcher`] for a title.
#[derive(Clone, Debug, PartialEq)]
pub struct Match<K> {
    pub key: K,
    pub origin: Origin,
    /// The similarity of the title to the template (0..=1); at least the engine's threshold.
    pub score: f32,
}

pub use matcher::Matcher;

/// Why a title belongs to a template.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The similarity of the title to the template (0..=1).
    pub score: f32,
    /// The template's slots with the title's values in them, in order.
    pub slots: Vec<SlotValue>,
}

/// One slot of a template and the value a title has there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotValue {
    /// The index of the slot's part in [`Template::parts`].
    pub part: usize,
    pub kind: SlotKind,
    pub value: String,
}

/// Explains how `title` fills `template`: the title's tokens aligned with the template's, each slot's value the
/// title's original text there. `None` when it does not fit it at all (another token count, or nothing in
/// common).
#[must_use]
pub fn explain(template: &Template, title: &str, service: Option<&str>) -> Option<Explanation> {
    matcher::explain(template, title, service)
}
