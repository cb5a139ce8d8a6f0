//! Assigning one new title to the best of known templates (the store pipeline's path), and explanations.
//!
//! Templates are indexed like the mining tree's leaves, by token count and first two tokens (a literal's key,
//! or the wildcard for a slot): a title is scored, with the mining's similarity, against the templates of its
//! count whose first two tokens are its own or slots. A template with exactly the title's own token keys
//! answers at once, unless people's rules compete with it. Templates with a `<*>` are also indexed by their
//! first literal, for longer titles whose values take several tokens where the `<*>` is.

use crate::mine::{FxHasher, FxMap, THRESHOLD, align};
use crate::normalize::{self, SLOT_BIT, Service, Tok, VAR_KEY};
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
    /// Entries by (token count, first and second tokens' keys or [`WILD`] for slots), rules first, then in
    /// insertion order: the mining tree's leaves.
    buckets: FxMap<(usize, u64, u64), Bucket>,
    /// Entries with a `<*>` (which may cover several tokens of a longer title) by their first literal's key,
    /// in insertion order.
    globs: FxMap<u64, Vec<u32>>,
    /// Whether a rule is among `globs`.
    glob_rules: bool,
    /// A filter of the keys of `globs` (a one-hash Bloom filter of 1,024 bits): most of a title's tokens are
    /// ruled out without a lookup.
    glob_filter: [u64; 16],
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

/// The word and bit of `key` in the glob filter.
fn filter_bit(key: u64) -> (usize, u64) {
    let h = key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54;
    ((h >> 6) as usize, 1 << (h & 63))
}

/// The key of an absent token in a bucket's key.
const NONE: u64 = u64::MAX - 1;

/// A template's bucket: its token count and its first two tokens (literals by key, slots as [`WILD`]).
fn bucket_key(keys: &[u64]) -> (usize, u64, u64) {
    let at = |i: usize| match keys.get(i) {
        Some(&k) if k & SLOT_BIT == 0 => k,
        Some(_) => WILD,
        None => NONE,
    };
    (keys.len(), at(0), at(1))
}

/// Whether a template's token `t` covers a title's token `tok`: equal keys, the template's `<*>`, or the
/// template's literal spelling the title's masked value (a template mined where that value was a word).
fn covers(t: u64, tok: &Tok) -> bool {
    t == tok.key || t == VAR_KEY || t == tok.text
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
            globs: FxMap::default(),
            glob_rules: false,
            glob_filter: [0; 16],
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
        let bucket = self.buckets.entry(bucket_key(&keys)).or_default();
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
        if keys.contains(&VAR_KEY) {
            let first = keys
                .iter()
                .copied()
                .find(|k| k & SLOT_BIT == 0)
                .unwrap_or(WILD);
            self.globs.entry(first).or_default().push(id);
            self.glob_rules |= origin == Origin::Rule;
            let (word, bit) = filter_bit(first);
            self.glob_filter[word] |= bit;
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
        normalize::with_tokens(title, service, |toks| self.best_tokens(toks))
    }

    fn best_tokens(&self, toks: &[Tok]) -> Option<Match<K>> {
        let n = toks.len();
        // The buckets a title may be in: each of its first two tokens by its text (a masked value may also
        // be spelled by a template's literal) or under the wildcard.
        let at = |i: usize| toks.get(i).map_or((NONE, NONE), |t| (t.text, WILD));
        let ((a0, w0), (a1, w1)) = (at(0), at(1));
        let mut keys = [(n, a0, a1), (n, a0, w1), (n, w0, a1), (n, w0, w1)];
        if n < 2 {
            keys[1] = keys[0];
            keys[3] = keys[2];
        }
        let mut found: [Option<&Bucket>; 4] = [None; 4];
        for (i, k) in keys.iter().enumerate() {
            if !keys[..i].contains(k) {
                found[i] = self.buckets.get(k);
            }
        }
        let rules = found.iter().flatten().any(|b| b.rules);
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
        for bucket in found.into_iter().flatten() {
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
        if best.is_none_or(|(rule, fit, ..)| fit < 1.0 || (self.glob_rules && !rule)) {
            // Templates whose `<*>` may cover several of the title's tokens: those of a shorter length, found
            // by their first literal (one of the title's tokens) or, without any literal, under the wildcard.
            let mut seen: Vec<u64> = Vec::with_capacity(n + 1);
            for first in toks.iter().map(|t| t.text).chain([WILD]) {
                let (word, bit) = filter_bit(first);
                if self.glob_filter[word] & bit == 0 || seen.contains(&first) {
                    continue;
                }
                seen.push(first);
                let Some(ids) = self.globs.get(&first) else {
                    continue;
                };
                for &id in ids {
                    let e = &self.entries[id as usize];
                    let rule = e.origin == Origin::Rule;
                    if e.keys.len() >= n || best.is_some_and(|(r, ..)| r && !rule) {
                        continue;
                    }
                    if align(&e.keys, toks, covers).is_none() {
                        continue;
                    }
                    let better = best.is_none_or(|(r, f, s, b)| {
                        (rule, 1.0, e.specific, std::cmp::Reverse(id))
                            > (r, f, s, std::cmp::Reverse(b))
                    });
                    if better {
                        best = Some((rule, 1.0, e.specific, id));
                    }
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
    // Where each template token's tokens of the title start: one each for the same length, else a `<*>`
    // may cover several.
    let (fit, starts): (f32, Vec<u32>) = if keys.len() == toks.len() {
        #[allow(clippy::cast_possible_truncation)]
        (score(&keys, &toks).1, (0..keys.len() as u32).collect())
    } else {
        (1.0, align(&keys, &toks, covers)?)
    };
    if fit <= 0.0 && !keys.is_empty() {
        return None;
    }
    let slots = keys
        .iter()
        .enumerate()
        .filter_map(|(i, &k)| {
            let kind = normalize::key_slot(k)?;
            let first = &toks[starts[i] as usize];
            let last = starts.get(i + 1).map_or(toks.len(), |&s| s as usize) - 1;
            Some(SlotValue {
                part: parts[i] as usize,
                kind,
                value: title[first.start as usize..toks[last].end as usize].to_owned(),
            })
        })
        .collect();
    Some(Explanation { score: fit, slots })
}
