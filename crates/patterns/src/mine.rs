//! Batch mining ([`crate::cluster`]): titles normalized and deduplicated, mined in a canonical order through a
//! Drain-style fixed-depth parse tree, then refined.
//!
//! 1. Each title becomes its sequence of token keys (literals by their lowercased text, masked values by their
//!    slot kind). Equal sequences are mined once, weighted by how many titles share them.
//! 2. The distinct sequences are mined most frequent first, then by text: the answer never depends on the
//!    order of the input.
//! 3. The tree: root → token count → the first [`DEPTH`] tokens (slots and tokens holding digits go to a
//!    wildcard child, and so does any new token of a node that already has [`MAX_CHILDREN`]) → a leaf of
//!    templates. A sequence joins the most similar template of its leaf when [`similarity`] reaches
//!    [`THRESHOLD`], turning the positions that differ into `<*>`; otherwise it starts a template.
//! 4. Refinement: templates that converged (equal, or one generalizing another) merge.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::normalize::{
    self, DIGIT_BIT, IDENT_BIT, SLOT_BIT, Service, Tok, VAR_KEY, WORD_BIT, key_slot,
};
use crate::{Clustering, Item, Part, Template};

/// How many leading tokens key the tree below the token count.
pub(crate) const DEPTH: usize = 2;
/// The most children a tree node has before new tokens share its wildcard child.
pub(crate) const MAX_CHILDREN: usize = 100;
/// The least [`similarity`] for a sequence to join a template.
pub(crate) const THRESHOLD: f32 = 0.6;

/// A fast deterministic hasher for the engine's maps (keys are already hashes).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The wildcard child's key in the tree.
const WILD: u64 = u64::MAX;

/// How similar a sequence is to a template for joining it: the share of positions where they are equal,
/// the template's `<*>` not counting (a template grown general must not swallow everything of its length).
pub(crate) fn similarity(template: &[u64], seq: &[u64]) -> f32 {
    // Positions where both are values say nothing either way: only words are compared.
    let (mut same, mut words) = (0u32, 0u32);
    for (&t, &s) in template.iter().zip(seq) {
        if t & SLOT_BIT != 0 && s & SLOT_BIT != 0 {
            continue;
        }
        words += 1;
        if t == s {
            same += 1;
        }
    }
    if words == 0 {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)] // token counts are small
    let sim = same as f32 / words as f32;
    sim
}

/// Aligns a sequence with a template whose every `<*>` covers one or more tokens and every other token one
/// (`covers` saying whether it does). Answers where each template position's tokens start, or `None` when
/// they do not align. The classic wildcard matching, backtracking to the last `<*>` only: O(n·m) at worst.
pub(crate) fn align<T>(
    template: &[u64],
    seq: &[T],
    covers: impl Fn(u64, &T) -> bool,
) -> Option<Vec<u32>> {
    let (n_t, n_s) = (template.len(), seq.len());
    if n_t > n_s {
        return None;
    }
    let mut starts = vec![0u32; n_t];
    let (mut p, mut s) = (0usize, 0usize);
    // The last `<*>` passed: its position, and where its tokens end now.
    let mut star: Option<(usize, usize)> = None;
    #[allow(clippy::cast_possible_truncation)]
    while s < n_s {
        if p < n_t && template[p] == VAR_KEY {
            starts[p] = s as u32;
            star = Some((p, s + 1));
            p += 1;
            s += 1;
        } else if p < n_t && covers(template[p], &seq[s]) {
            starts[p] = s as u32;
            p += 1;
            s += 1;
        } else if let Some((sp, end)) = star {
            // The last `<*>` takes one more token.
            star = Some((sp, end + 1));
            p = sp + 1;
            s = end + 1;
            if s > n_s {
                return None;
            }
        } else {
            return None;
        }
    }
    (p == n_t).then_some(starts)
}

/// The share of a sequence's positions that a template covers (its `<*>` covering anything); 1 for a
/// sequence of another length that aligns with it (see [`align`]).
pub(crate) fn fit(template: &[u64], seq: &[u64]) -> f32 {
    if template.is_empty() {
        return 1.0;
    }
    if template.len() != seq.len() {
        return if align(template, seq, |t, s| t == *s).is_some() {
            1.0
        } else {
            0.0
        };
    }
    let same = template
        .iter()
        .zip(seq)
        .filter(|(t, s)| **t == VAR_KEY || t == s)
        .count();
    #[allow(clippy::cast_precision_loss)]
    let fit = same as f32 / template.len() as f32;
    fit
}

/// One distinct token sequence of the input.
struct Uniq {
    keys: Vec<u64>,
    /// How many items have it.
    count: u64,
    /// The item shown for it: the least title (then service), whatever the input order.
    rep: u32,
}

struct Group {
    keys: Vec<u64>,
    size: u64,
    /// Distinct sequences in it, the first one (in mining order) giving the template its text.
    members: Vec<u32>,
}

/// A token's child in the tree: words and punctuation by their key; values, tokens with digits and
/// identifier-like tokens (`reporting-prod`, `a_b`, `x.y`) in the wildcard child, since they vary.
fn tree_key(k: u64) -> u64 {
    if k & (SLOT_BIT | DIGIT_BIT) != 0 || (k & IDENT_BIT != 0) {
        WILD
    } else {
        k
    }
}

/// The Drain-style tree: a map from (parent node, key) to a child node; leaves hold group indexes.
#[derive(Default)]
struct Tree {
    children: FxMap<(u32, u64), u32>,
    /// Per node: its non-wildcard children count.
    counts: Vec<u32>,
    leaves: FxMap<u32, Vec<u32>>,
}

impl Tree {
    fn child(&mut self, node: u32, key: u64, create: bool) -> Option<u32> {
        if let Some(&c) = self.children.get(&(node, key)) {
            return Some(c);
        }
        let key = if key != WILD && self.counts[node as usize] as usize >= MAX_CHILDREN {
            if let Some(&c) = self.children.get(&(node, WILD)) {
                return Some(c);
            }
            WILD
        } else {
            key
        };
        if !create {
            return None;
        }
        #[allow(clippy::cast_possible_truncation)]
        let id = self.counts.len() as u32;
        self.counts.push(0);
        if key != WILD {
            self.counts[node as usize] += 1;
        }
        self.children.insert((node, key), id);
        Some(id)
    }

    fn leaf(&mut self, keys: &[u64], create: bool) -> Option<u32> {
        if self.counts.is_empty() {
            self.counts.push(0);
        }
        let mut node = self.child(0, keys.len() as u64, create)?;
        for &k in keys.iter().take(DEPTH) {
            node = self.child(node, tree_key(k), create)?;
        }
        Some(node)
    }
}

pub(crate) fn cluster(items: &[Item<'_>]) -> Clustering {
    // 1. Normalize and deduplicate.
    let mut services: FxMap<&str, Service> = FxMap::default();
    let mut index: FxMap<Vec<u64>, u32> = FxMap::default();
    let mut uniqs: Vec<Uniq> = Vec::new();
    let mut item_uniq: Vec<u32> = Vec::with_capacity(items.len());
    let mut toks: Vec<Tok> = Vec::with_capacity(32);
    let mut keys: Vec<u64> = Vec::with_capacity(32);
    for (i, item) in items.iter().enumerate() {
        #[allow(clippy::cast_possible_truncation)]
        let i = i as u32;
        let service = item
            .service
            .map(|s| &*services.entry(s).or_insert_with(|| Service::new(s)));
        normalize::tokenize(item.title, service, &mut toks);
        keys.clear();
        keys.extend(toks.iter().map(|t| t.key));
        let u = if let Some(&u) = index.get(keys.as_slice()) {
            let uniq = &mut uniqs[u as usize];
            uniq.count += 1;
            let rep = &items[uniq.rep as usize];
            if (item.title, item.service) < (rep.title, rep.service) {
                uniq.rep = i;
            }
            u
        } else {
            #[allow(clippy::cast_possible_truncation)]
            let u = uniqs.len() as u32;
            index.insert(keys.clone(), u);
            uniqs.push(Uniq {
                keys: keys.clone(),
                count: 1,
                rep: i,
            });
            u
        };
        item_uniq.push(u);
    }
    drop(index);

    // 2. The canonical order: most frequent first, then by text.
    let rep_text = |u: &Uniq| -> (Template, Vec<Tok>) {
        let item = &items[u.rep as usize];
        let service = item.service.map(Service::new);
        let mut toks = Vec::new();
        normalize::tokenize(item.title, service.as_ref(), &mut toks);
        (normalize::template_of(item.title, &toks, |_| None), toks)
    };
    let texts: Vec<String> = uniqs.iter().map(|u| rep_text(u).0.to_string()).collect();
    let mut order: Vec<u32> = (0..uniqs.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (ua, ub) = (&uniqs[a as usize], &uniqs[b as usize]);
        ub.count
            .cmp(&ua.count)
            .then_with(|| texts[a as usize].cmp(&texts[b as usize]))
            .then_with(|| ua.keys.cmp(&ub.keys))
    });

    // 3. Mining.
    let mut tree = Tree::default();
    let mut groups: Vec<Group> = Vec::new();
    for &u in &order {
        let uniq = &uniqs[u as usize];
        let leaf = tree.leaf(&uniq.keys, true).unwrap_or(0);
        let clusters = tree.leaves.entry(leaf).or_default();
        let mut best: Option<(f32, u32)> = None;
        for &g in clusters.iter() {
            let sim = similarity(&groups[g as usize].keys, &uniq.keys);
            if best.is_none_or(|(s, _)| sim > s) {
                best = Some((sim, g));
            }
        }
        match best {
            Some((sim, g)) if sim >= THRESHOLD => {
                let group = &mut groups[g as usize];
                for (t, s) in group.keys.iter_mut().zip(&uniq.keys) {
                    if t != s {
                        *t = VAR_KEY;
                    }
                }
                group.size += uniq.count;
                group.members.push(u);
            }
            _ => {
                #[allow(clippy::cast_possible_truncation)]
                clusters.push(groups.len() as u32);
                groups.push(Group {
                    keys: uniq.keys.clone(),
                    size: uniq.count,
                    members: vec![u],
                });
            }
        }
    }

    // 4. Refinement.
    let groups = refine(groups, &order);
    let groups = split(groups, &uniqs);
    let groups = merge_equal(groups);
    // Merging changes templates, so that more may merge: until nothing does (a few rounds at most).
    let mut groups = groups;
    for _ in 0..4 {
        let before = groups.len();
        groups = merge_equal(merge_across_lengths(groups, &order));
        if groups.len() == before {
            break;
        }
    }

    // 5. The answer, templates in canonical order.
    let mut built: Vec<(Template, &Group)> = groups
        .iter()
        .map(|g| {
            let (_, toks) = rep_text(&uniqs[g.members[0] as usize]);
            let rep = &items[uniqs[g.members[0] as usize].rep as usize];
            (template_text(&g.keys, rep.title, &toks), g)
        })
        .collect();
    let texts: Vec<String> = built.iter().map(|(t, _)| t.to_string()).collect();
    let mut idx: Vec<usize> = (0..built.len()).collect();
    idx.sort_by(|&a, &b| {
        built[b]
            .1
            .size
            .cmp(&built[a].1.size)
            .then_with(|| texts[a].cmp(&texts[b]))
    });
    let mut uniq_group = vec![0u32; uniqs.len()];
    let mut templates = Vec::with_capacity(built.len());
    let mut group_keys: Vec<&[u64]> = Vec::with_capacity(built.len());
    for (rank, &gi) in idx.iter().enumerate() {
        let g = built[gi].1;
        for &m in &g.members {
            #[allow(clippy::cast_possible_truncation)]
            {
                uniq_group[m as usize] = rank as u32;
            }
        }
        group_keys.push(&g.keys);
    }
    let uniq_score: Vec<f32> = uniqs
        .iter()
        .zip(&uniq_group)
        .map(|(u, &g)| fit(group_keys[g as usize], &u.keys))
        .collect();
    for &gi in &idx {
        templates.push(std::mem::replace(
            &mut built[gi].0,
            Template::from_parts([]),
        ));
    }
    Clustering {
        templates,
        assignments: item_uniq.iter().map(|&u| uniq_group[u as usize]).collect(),
        scores: item_uniq.iter().map(|&u| uniq_score[u as usize]).collect(),
    }
}

/// The template of `keys` written with the words and spacing of `title` (one of its members, tokenized).
fn template_text(keys: &[u64], title: &str, toks: &[Tok]) -> Template {
    let Some(starts) = align(keys, toks, |k, t| k == t.key) else {
        // Every member aligns with its group's template by construction; should one not, its own template
        // is still a true (if narrower) answer rather than a failure.
        debug_assert!(false, "a group's member does not align with its template");
        return normalize::template_of(title, toks, |_| None);
    };
    let mut parts = Vec::with_capacity(keys.len());
    for (i, &k) in keys.iter().enumerate() {
        let tok = &toks[starts[i] as usize];
        if tok.space {
            parts.push(Part::Text(" ".to_owned()));
        }
        parts.push(match key_slot(k) {
            Some(kind) => Part::Slot(kind),
            None => Part::Text(title[tok.start as usize..tok.end as usize].to_owned()),
        });
    }
    Template::from_parts(parts)
}

/// The template covering two templates of possibly different lengths, if they are one: their longest common
/// subsequence of tokens anchors them, and each stretch between anchors must be non-empty on both sides, only
/// values on one side and only values or value-like literals (with digits or separators) on the other
/// (`Disk full on <*> <*>` and `Disk full on worker-6`): the same value written with other tokens. It becomes
/// one `<*>` that covers one or more tokens. The anchors must be at least [`THRESHOLD`] of the longer one.
/// Every plain word and punctuation of both sides stays: words on either side (`VM Started` / `VM Paused`,
/// `for <*>` / `for invalid user <*>`, `<*>` / `Disk space is low`) or an extra clause on one side only keep
/// them apart.
fn merge_keys(a: &[u64], b: &[u64], dp: &mut Vec<u16>) -> Option<Vec<u64>> {
    let (n, m) = (a.len(), b.len());
    // LCS lengths of the suffixes.
    dp.clear();
    dp.resize((n + 1) * (m + 1), 0);
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            // Only literals anchor: values are what the stretches between anchors are made of.
            dp[at(i, j)] = if a[i] == b[j] && a[i] & SLOT_BIT == 0 {
                dp[at(i + 1, j + 1)] + 1
            } else {
                dp[at(i + 1, j)].max(dp[at(i, j + 1)])
            };
        }
    }
    let anchors = usize::from(dp[at(0, 0)]);
    #[allow(clippy::cast_precision_loss)]
    if (anchors as f32) < THRESHOLD * n.max(m) as f32 || anchors == 0 {
        return None;
    }
    let values = |s: &[u64]| s.iter().all(|k| k & SLOT_BIT != 0);
    // Literals that look like values (names with digits or separators: `worker-6`, `eu-west`); plain words
    // and punctuation are the template's own and are never covered.
    let value_like = |s: &[u64]| {
        s.iter()
            .all(|k| k & SLOT_BIT == 0 && k & (DIGIT_BIT | IDENT_BIT) != 0)
    };
    let mut out = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (0, 0);
    let (mut gi, mut gj) = (0, 0);
    // Words that key the mining tree (among the first DEPTH tokens) are never covered by a `<*>`.
    let keyed = |s: &[u64], from: usize| {
        s.iter()
            .enumerate()
            .any(|(k, &w)| from + k < DEPTH && tree_key(w) != WILD)
    };
    let gap = |out: &mut Vec<u64>, (ga, fa): (&[u64], usize), (gb, fb): (&[u64], usize)| -> bool {
        if keyed(ga, fa) || keyed(gb, fb) {
            return false;
        }
        match (ga.is_empty(), gb.is_empty()) {
            (true, true) => true,
            (false, false)
                if (values(ga) && (values(gb) || value_like(gb)))
                    || (values(gb) && value_like(ga)) =>
            {
                // The same single value on both sides keeps its kind.
                out.push(if ga.len() == 1 && ga == gb {
                    ga[0]
                } else {
                    VAR_KEY
                });
                true
            }
            _ => false,
        }
    };
    while i < n && j < m {
        if a[i] == b[j] && a[i] & SLOT_BIT == 0 && dp[at(i, j)] == dp[at(i + 1, j + 1)] + 1 {
            if !gap(&mut out, (&a[gi..i], gi), (&b[gj..j], gj)) {
                return None;
            }
            out.push(a[i]);
            i += 1;
            j += 1;
            gi = i;
            gj = j;
        } else if dp[at(i + 1, j)] >= dp[at(i, j + 1)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    if !gap(&mut out, (&a[gi..], gi), (&b[gj..], gj)) {
        return None;
    }
    Some(out)
}

/// A template's literals, sorted.
fn literals(keys: &[u64]) -> Vec<u64> {
    let mut l: Vec<u64> = keys.iter().copied().filter(|k| k & SLOT_BIT == 0).collect();
    l.sort_unstable();
    l
}

/// The size of the multiset intersection of two sorted lists (a bound on their common subsequence).
fn common(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The first literal of a template (its block for [`merge_across_lengths`]).
fn first_literal(keys: &[u64]) -> u64 {
    keys.iter()
        .copied()
        .find(|k| k & SLOT_BIT == 0)
        .unwrap_or(WILD)
}

/// Merges groups whose templates are one with values of different lengths (see [`merge_keys`]), each into the
/// largest earlier group it merges with. Only groups with the same first literal are compared, each with the
/// [`MAX_CANDIDATES`] largest of its block at most.
fn merge_across_lengths(mut groups: Vec<Group>, order: &[u32]) -> Vec<Group> {
    let mut rank = vec![0u32; order.len()];
    for (r, &u) in order.iter().enumerate() {
        #[allow(clippy::cast_possible_truncation)]
        {
            rank[u as usize] = r as u32;
        }
    }
    // Largest first, then by the mining rank of the first member.
    groups.sort_by_key(|g| (std::cmp::Reverse(g.size), rank[g.members[0] as usize]));
    let mut out: Vec<Group> = Vec::with_capacity(groups.len());
    // Per group of `out`: its literals, sorted.
    let mut out_lits: Vec<Vec<u64>> = Vec::with_capacity(groups.len());
    let mut blocks: FxMap<u64, Vec<usize>> = FxMap::default();
    let mut dp = Vec::new();
    for g in groups {
        let block = blocks.entry(first_literal(&g.keys)).or_default();
        let mut merged = false;
        let lits = literals(&g.keys);
        for &t in block.iter().take(MAX_CANDIDATES) {
            // The anchors are common literals: too few in common, no need to align.
            let longer = out[t].keys.len().max(g.keys.len());
            #[allow(clippy::cast_precision_loss)]
            if (common(&out_lits[t], &lits) as f32) < THRESHOLD * longer as f32 {
                continue;
            }
            if let Some(keys) = merge_keys(&out[t].keys, &g.keys, &mut dp) {
                out_lits[t] = literals(&keys);
                let target = &mut out[t];
                target.keys = keys;
                target.size += g.size;
                target.members.extend(&g.members);
                target.members.sort_by_key(|&m| rank[m as usize]);
                merged = true;
                break;
            }
        }
        if !merged {
            block.push(out.len());
            out.push(g);
            out_lits.push(lits);
        }
    }
    out
}

/// Whether template `a` covers everything `b` does: equal length, and at each position equal, both values
/// (of any kinds), or `<*>` — but not over a word that keys the mining tree (one of the first [`DEPTH`]
/// tokens): the tree kept those apart on purpose.
fn generalizes(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).enumerate().all(|(i, (x, y))| {
            x == y
                || (x & y & SLOT_BIT != 0)
                || (*x == VAR_KEY && (i >= DEPTH || tree_key(*y) == WILD))
        })
}

/// The most distinct words at a position for which a template is split by that position's value.
const SPLIT_MAX_VALUES: usize = 6;

/// The position a group is split at: a `<*>` where every member has a word (letters only), of a few distinct
/// values, each of them shared by several titles. Such a position names what happened (`VM Started` / `VM
/// Paused`, `CPU` / `Memory usage is high`), not a value of it; names and ids (with digits, dashes, dots) and
/// words seen once stay values.
fn split_position(g: &Group, uniqs: &[Uniq]) -> Option<usize> {
    if g.members.len() < 2 {
        return None;
    }
    let mut values: Vec<(u64, u64)> = Vec::new();
    'positions: for p in 0..g.keys.len() {
        if g.keys[p] != VAR_KEY {
            continue;
        }
        values.clear();
        for &m in &g.members {
            let u = &uniqs[m as usize];
            let k = u.keys[p];
            if k & SLOT_BIT != 0 || k & WORD_BIT == 0 {
                continue 'positions;
            }
            match values.iter_mut().find(|(v, _)| *v == k) {
                Some((_, c)) => *c += u.count,
                None => {
                    if values.len() == SPLIT_MAX_VALUES {
                        continue 'positions;
                    }
                    values.push((k, u.count));
                }
            }
        }
        if values.len() >= 2 && values.iter().all(|&(_, c)| c >= 2) {
            return Some(p);
        }
    }
    None
}

/// A group of these members (in mining order): the template is their common tokens, `<*>` elsewhere.
fn group_of(members: Vec<u32>, uniqs: &[Uniq]) -> Group {
    let mut keys = uniqs[members[0] as usize].keys.clone();
    let mut size = 0;
    for &m in &members {
        let u = &uniqs[m as usize];
        for (t, s) in keys.iter_mut().zip(&u.keys) {
            if t != s {
                *t = VAR_KEY;
            }
        }
        size += u.count;
    }
    Group {
        keys,
        size,
        members,
    }
}

/// Splits the groups that are over-broad (see [`split_position`]), until none is.
fn split(groups: Vec<Group>, uniqs: &[Uniq]) -> Vec<Group> {
    let mut out = Vec::with_capacity(groups.len());
    let mut stack: Vec<Group> = groups.into_iter().rev().collect();
    while let Some(g) = stack.pop() {
        let Some(p) = split_position(&g, uniqs) else {
            out.push(g);
            continue;
        };
        let mut parts: Vec<(u64, Vec<u32>)> = Vec::new();
        for &m in &g.members {
            let k = uniqs[m as usize].keys[p];
            match parts.iter_mut().find(|(v, _)| *v == k) {
                Some((_, list)) => list.push(m),
                None => parts.push((k, vec![m])),
            }
        }
        for (_, members) in parts.into_iter().rev() {
            stack.push(group_of(members, uniqs));
        }
    }
    out
}

/// Merges groups with equal templates (one template text is one pattern).
fn merge_equal(groups: Vec<Group>) -> Vec<Group> {
    let mut index: FxMap<Vec<u64>, usize> = FxMap::default();
    let mut out: Vec<Group> = Vec::with_capacity(groups.len());
    for g in groups {
        if let Some(&i) = index.get(&g.keys) {
            let t = &mut out[i];
            t.size += g.size;
            t.members.extend(g.members);
        } else {
            index.insert(g.keys.clone(), out.len());
            out.push(g);
        }
    }
    out
}

/// How many of the largest groups of a length (or of a first literal) a group is compared with in refinement:
/// merges go into large groups, and refinement stays linear in the number of groups.
const MAX_CANDIDATES: usize = 256;

/// Merges groups that converged: equal templates, and templates another one generalizes (into the largest
/// such, among the [`MAX_CANDIDATES`] largest of their length). Members keep the mining order, so the template's text comes from the same sequence whatever the
/// input order.
fn refine(groups: Vec<Group>, order: &[u32]) -> Vec<Group> {
    let mut rank = vec![0u32; order.len()];
    for (r, &u) in order.iter().enumerate() {
        #[allow(clippy::cast_possible_truncation)]
        {
            rank[u as usize] = r as u32;
        }
    }
    let mut by_len: FxMap<usize, Vec<usize>> = FxMap::default();
    for (i, g) in groups.iter().enumerate() {
        by_len.entry(g.keys.len()).or_default().push(i);
    }
    let mut into: Vec<usize> = (0..groups.len()).collect();
    for list in by_len.values_mut() {
        // Candidates largest first (then first mined): the first that generalizes `b` is the one.
        list.sort_by_key(|&i| (std::cmp::Reverse(groups[i].size), i));
        for &b in list.iter() {
            let target = list.iter().take(MAX_CANDIDATES).copied().find(|&a| {
                a != b
                    && into[a] == a
                    // Equal templates: the earlier one absorbs the later one only.
                    && !(groups[a].keys == groups[b].keys && a > b)
                    && generalizes(&groups[a].keys, &groups[b].keys)
            });
            if let Some(t) = target {
                into[b] = t;
            }
        }
    }
    // Follow chains to their end.
    let root = |mut i: usize| {
        while into[i] != i {
            i = into[i];
        }
        i
    };
    let roots: Vec<usize> = (0..groups.len()).map(root).collect();
    let mut slots: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        let r = roots[i];
        if r != i {
            let g = slots[i].take().expect("merged once");
            let t = slots[r].as_mut().expect("a root stays");
            for (k, o) in t.keys.iter_mut().zip(&g.keys) {
                if k != o {
                    *k = VAR_KEY;
                }
            }
            t.size += g.size;
            t.members.extend(g.members);
        }
    }
    let mut out: Vec<Group> = slots.into_iter().flatten().collect();
    for g in &mut out {
        g.members.sort_by_key(|&m| rank[m as usize]);
    }
    out
}
