//! Assigning one new title to the best of known templates (the store pipeline's path), and explanations.
//!
//! Templates are indexed by token count and first token (a literal's key, or the wildcard for a slot): a title
//! is scored against the templates of its count whose first token is its own or a slot, with the mining's
//! similarity. A template with exactly the title's own token keys answers at once, unless people's rules
//! compete with it.

use crate::mine::{FxHasher, FxMap, THRESHOLD};
use crate::normalize::{self, DIGIT_BIT, SLOT_BIT, Service, Tok, VAR_KEY};
use crate::{Explanation, Match, Origin, SlotValue, Template};
use std::hash::Hasher;

/// The index key of a template's or title's first token.
const WILD: u64 = u64::MAX;

#[derive(Clone, Debug)]
struct Entry<K> {
    key: K,
    template: Template,
    origin: Origin,
    keys: Vec<u64>,
    /// How many of its positions are literals or typed slots (not `<*>`): more is more specific.
    specific: u32,
}

/// Known templates, each with a key (e.g. a pattern id), answering which one a new title belongs to.
#[derive(Clone, Debug)]
pub struct Matcher<K> {
    entries: Vec<Entry<K>>,
    /// Entries by the hash of their whole key sequence.
    exact: FxMap<u64, Vec<u32>>,
    /// Entries by (token count, first token's key or [`WILD`]), rules first, then in insertion order.
    buckets: FxMap<(usize, u64), Bucket>,
}

#[derive(Clone, Debug, Default)]
struct Bucket {
    entries: Vec<u32>,
    rules: bool,
}

fn seq_hash(keys: impl Iterator<Item = u64>) -> u64 {
    let mut h = FxHasher::default();
    for k in keys {
        h.write_u64(k);
    }
    h.finish()
}

fn first_key(keys: &[u64]) -> u64 {
    match keys.first() {
        Some(&k) if k & SLOT_BIT == 0 => k,
        _ => WILD,
    }
}

/// Whether a template's token `t` covers a title's token `tok`: equal keys, the template's `<*>`, or the
/// template's literal spelling the title's masked value (a template mined where that value was a word).
fn covers(t: u64, tok: &Tok) -> bool {
    t == tok.key
        || t == VAR_KEY
        || (t & SLOT_BIT == 0
            && tok.slot.is_some()
            && t & !DIGIT_BIT == tok.text & !(SLOT_BIT | DIGIT_BIT))
}

/// The similarity (positions equal, `<*>` not counting) and the fit (positions covered) of a title's tokens
/// to a template's keys of the same length.
fn score(keys: &[u64], toks: &[Tok]) -> (f32, f32) {
    if keys.is_empty() {
        return (1.0, 1.0);
    }
    let (mut same, mut covered) = (0u32, 0u32);
    for (&t, tok) in keys.iter().zip(toks) {
        if covers(t, tok) {
            covered += 1;
            if t != VAR_KEY {
                same += 1;
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let n = keys.len() as f32;
    #[allow(clippy::cast_precision_loss)]
    (same as f32 / n, covered as f32 / n)
}

impl<K: Clone> Default for Matcher<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone> Matcher<K> {
    #[must_use]
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            exact: FxMap::default(),
            buckets: FxMap::default(),
        }
    }

    /// Adds a template under `key`.
    pub fn insert(&mut self, key: K, template: Template, origin: Origin) {
        let mut keys = Vec::new();
        let mut parts = Vec::new();
        normalize::template_keys(&template, &mut keys, &mut parts);
        #[allow(clippy::cast_possible_truncation)]
        let id = self.entries.len() as u32;
        self.exact
            .entry(seq_hash(keys.iter().copied()))
            .or_default()
            .push(id);
        let bucket = self
            .buckets
            .entry((keys.len(), first_key(&keys)))
            .or_default();
        if origin == Origin::Rule {
            // Rules first, in insertion order.
            let at = bucket
                .entries
                .iter()
                .position(|&e| self.entries[e as usize].origin != Origin::Rule)
                .unwrap_or(bucket.entries.len());
            bucket.entries.insert(at, id);
            bucket.rules = true;
        } else {
            bucket.entries.push(id);
        }
        #[allow(clippy::cast_possible_truncation)]
        let specific = keys.iter().filter(|&&k| k != VAR_KEY).count() as u32;
        self.entries.push(Entry {
            key,
            template,
            origin,
            keys,
            specific,
        });
    }

    /// How many templates it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The templates, with their keys and origins, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Template, Origin)> {
        self.entries.iter().map(|e| (&e.key, &e.template, e.origin))
    }

    /// The template `title` belongs to, if one is similar enough: a rule template that matches wins over any
    /// mined one; among equals the most similar, then the most specific, then the first inserted.
    #[must_use]
    pub fn best(&self, title: &str, service: Option<&str>) -> Option<Match<K>> {
        let service = service.map(Service::new);
        let mut toks = Vec::with_capacity(16);
        normalize::tokenize(title, service.as_ref(), &mut toks);
        self.best_tokens(&toks)
    }

    fn best_tokens(&self, toks: &[Tok]) -> Option<Match<K>> {
        let n = toks.len();
        let first = match toks.first() {
            Some(t) if t.slot.is_none() => t.key,
            _ => WILD,
        };
        let own = self.buckets.get(&(n, first));
        let wild = if first == WILD {
            None
        } else {
            self.buckets.get(&(n, WILD))
        };
        let rules = own.is_some_and(|b| b.rules) || wild.is_some_and(|b| b.rules);
        if !rules {
            // Fast path: a template with exactly the title's keys is the most similar and most specific.
            if let Some(ids) = self.exact.get(&seq_hash(toks.iter().map(|t| t.key))) {
                for &id in ids {
                    let e = &self.entries[id as usize];
                    if e.keys.len() == n && e.keys.iter().zip(toks).all(|(k, t)| *k == t.key) {
                        return Some(self.answer(id, 1.0));
                    }
                }
            }
        }
        // (rule, fit, specificity, -id) of the best so far.
        let mut best: Option<(bool, f32, u32, u32)> = None;
        for bucket in [own, wild].into_iter().flatten() {
            for &id in &bucket.entries {
                let e = &self.entries[id as usize];
                let rule = e.origin == Origin::Rule;
                if best.is_some_and(|(r, ..)| r && !rule) {
                    // Rules come first in a bucket: nothing mined can beat a matching rule.
                    break;
                }
                let (sim, fit) = score(&e.keys, toks);
                if !(sim >= THRESHOLD || fit >= 1.0) {
                    continue;
                }
                let better = best.is_none_or(|(r, f, s, b)| {
                    (rule, fit, e.specific, std::cmp::Reverse(id)) > (r, f, s, std::cmp::Reverse(b))
                });
                if better {
                    best = Some((rule, fit, e.specific, id));
                }
            }
        }
        best.map(|(_, fit, _, id)| self.answer(id, fit))
    }

    fn answer(&self, id: u32, score: f32) -> Match<K> {
        let e = &self.entries[id as usize];
        Match {
            key: e.key.clone(),
            origin: e.origin,
            score,
        }
    }
}

pub(crate) fn explain(
    template: &Template,
    title: &str,
    service: Option<&str>,
) -> Option<Explanation> {
    let mut keys = Vec::new();
    let mut parts = Vec::new();
    normalize::template_keys(template, &mut keys, &mut parts);
    let service = service.map(Service::new);
    let mut toks = Vec::with_capacity(16);
    normalize::tokenize(title, service.as_ref(), &mut toks);
    if keys.len() != toks.len() {
        return None;
    }
    let (_, fit) = score(&keys, &toks);
    if fit <= 0.0 && !keys.is_empty() {
        return None;
    }
    let slots = keys
        .iter()
        .zip(&parts)
        .zip(&toks)
        .filter_map(|((&k, &part), tok)| {
            normalize::key_slot(k).map(|kind| SlotValue {
                part: part as usize,
                kind,
                value: title[tok.start as usize..tok.end as usize].to_owned(),
            })
        })
        .collect();
    Some(Explanation { score: fit, slots })
}
