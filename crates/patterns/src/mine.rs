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

use crate::normalize::{self, DIGIT_BIT, SLOT_BIT, Service, Tok, VAR_KEY, key_slot};
use crate::{Clustering, Item, Template};

/// How many leading tokens key the tree below the token count.
pub(crate) const DEPTH: usize = 2;
/// The most children a tree node has before new tokens share its wildcard child.
pub(crate) const MAX_CHILDREN: usize = 100;
/// The least [`similarity`] for a sequence to join a template.
pub(crate) const THRESHOLD: f32 = 0.5;

/// A fast deterministic hasher for the engine's maps (keys are already hashes).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7cc1_b727_220a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7cc1_b727_220a_95);
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
    if template.is_empty() {
        return 1.0;
    }
    let same = template
        .iter()
        .zip(seq)
        .filter(|(t, s)| **t != VAR_KEY && t == s)
        .count();
    #[allow(clippy::cast_precision_loss)] // token counts are small
    let sim = same as f32 / template.len() as f32;
    sim
}

/// The share of a sequence's positions that a template covers (its `<*>` covering anything).
pub(crate) fn fit(template: &[u64], seq: &[u64]) -> f32 {
    if template.is_empty() {
        return 1.0;
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

fn tree_key(k: u64) -> u64 {
    if k & (SLOT_BIT | DIGIT_BIT) != 0 {
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

    // 5. The answer, templates in canonical order.
    let mut built: Vec<(Template, &Group)> = groups
        .iter()
        .map(|g| {
            let (_, toks) = rep_text(&uniqs[g.members[0] as usize]);
            let rep = &items[uniqs[g.members[0] as usize].rep as usize];
            let t = normalize::template_of(rep.title, &toks, |i| {
                key_slot(g.keys[i]).filter(|k| toks[i].slot != Some(*k))
            });
            (t, g)
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

/// Whether template `a` covers everything `b` does: equal length, and at each position equal or `<*>`.
fn generalizes(a: &[u64], b: &[u64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y || *x == VAR_KEY)
}

/// Merges groups that converged: equal templates, and templates another one generalizes (into the largest
/// such). Members keep the mining order, so the template's text comes from the same sequence whatever the
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
    for list in by_len.values() {
        for &b in list {
            // The largest group (then the first mined) that generalizes `b`.
            let mut target: Option<usize> = None;
            for &a in list {
                if a == b || into[a] != a || !generalizes(&groups[a].keys, &groups[b].keys) {
                    continue;
                }
                if groups[a].keys == groups[b].keys && a > b {
                    // Equal templates: the earlier one absorbs the later one only.
                    continue;
                }
                let better = target.is_none_or(|t| {
                    (groups[a].size, std::cmp::Reverse(a)) > (groups[t].size, std::cmp::Reverse(t))
                });
                if better {
                    target = Some(a);
                }
            }
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
