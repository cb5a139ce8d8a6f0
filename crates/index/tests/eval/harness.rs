//! The retrieval evaluation, shared by the test `tests/eval.rs` (floors, so that a regression fails) and the
//! example `examples/retrieval_eval.rs` (the table and the misses): the labelled set in
//! `crates/retrieval/eval/` (see its README), chunked with `insights_retrieval::chunk` exactly as the worker
//! chunks runbooks and resolved incidents, indexed into the real index, and searched in three modes —
//! lexical (sparse only), dense (the `trigram_embedding` stand-in, not a real embeddings model) and hybrid
//! (both, fused by reciprocal rank) — next to a naive baseline (keyword overlap without stemming or
//! equivalents) that gives the figures a context.
//!
//! Relevance, at two levels:
//! - **fix**: a hit is relevant when it is one of the labelled steps of a labelled runbook (a label without
//!   steps accepts any chunk of the runbook), or any chunk of a labelled past fix (an incident's entries);
//! - **runbook**: any chunk of a labelled runbook or of a labelled past fix.
//!
//! Metrics over the first `LIMIT` hits of each query, averaged over queries:
//! - `recall@5`: the share of a query's labelled sources (each labelled runbook, each labelled past fix) that
//!   have a relevant hit in the first 5;
//! - `hit@k`: 1 when any relevant hit is in the first k;
//! - `MRR`: 1 / the rank of the first relevant hit (0 when none in the first `LIMIT`).

#![allow(dead_code)] // the test and the example use different parts

use insights_retrieval::chunk::{self, EventInput, IncidentInput, RunbookInput, StepInput};
use insights_retrieval::{Chunk, ChunkSource};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// How many hits each search asks for.
pub const LIMIT: usize = 10;
/// The dimension of the stand-in embeddings (that of common small sentence-embedding models).
pub const DIMENSIONS: usize = 384;

// ---------------------------------------------------------------------------------------------------------
// The labelled set

#[derive(Debug, Deserialize)]
pub struct Runbook {
    pub id: String,
    pub title: String,
    pub tags: Vec<String>,
    pub services: Vec<String>,
    pub body: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
pub struct Step {
    pub title: String,
    pub why: String,
    pub command: Option<Command>,
    pub expected: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Command {
    pub text: String,
}

#[derive(Debug, Deserialize)]
pub struct PastFix {
    pub id: String,
    pub title: String,
    pub service: String,
    pub tags: Vec<String>,
    pub timeline: Vec<Event>,
}

#[derive(Debug, Deserialize)]
pub struct Event {
    pub kind: String,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Query {
    pub id: String,
    pub title: String,
    pub service: Option<String>,
    pub description: Option<String>,
    pub relevant: Vec<Label>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Runbook {
        runbook: String,
        #[serde(default)]
        steps: Option<Vec<u32>>,
    },
    PastFix {
        past_fix: String,
    },
}

impl Query {
    /// The search text of an incident, as the product builds it: its title, its service's name and its
    /// description, one per line.
    #[must_use]
    pub fn text(&self) -> String {
        [
            Some(&self.title),
            self.service.as_ref(),
            self.description.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// The search text without the service's name (title and description only).
    #[must_use]
    pub fn text_without_service(&self) -> String {
        [Some(&self.title), self.description.as_ref()]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The evaluation set: the corpus and its query sets.
pub struct EvalSet {
    pub runbooks: Vec<Runbook>,
    pub past_fixes: Vec<PastFix>,
    /// Named query sets: `main` (incidents as monitors and people word them), `terse` (alert names only) and
    /// `support` (business symptoms, no technology named).
    pub query_sets: Vec<(&'static str, Vec<Query>)>,
}

/// `crates/retrieval/eval/`.
#[must_use]
pub fn eval_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../retrieval/eval")
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Vec<T> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

impl EvalSet {
    /// Loads the JSONL files (built by `build.py` from the hand-written sources).
    #[must_use]
    pub fn load() -> Self {
        let dir = eval_dir();
        EvalSet {
            runbooks: read_jsonl(&dir.join("runbooks.jsonl")),
            past_fixes: read_jsonl(&dir.join("past_fixes.jsonl")),
            query_sets: vec![
                ("main", read_jsonl(&dir.join("queries.jsonl"))),
                ("terse", read_jsonl(&dir.join("queries_terse.jsonl"))),
                ("support", read_jsonl(&dir.join("queries_support.jsonl"))),
            ],
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The corpus as the index sees it

/// Stable ids for the set's string ids (the crate knows no database): runbooks, incidents, events and services
/// each get their own range.
pub struct Ids {
    pub runbooks: HashMap<String, Uuid>,
    pub incidents: HashMap<String, Uuid>,
    pub services: BTreeMap<String, Uuid>,
}

/// The corpus chunked as the worker chunks it, with the ids that map chunks back to the labels.
pub struct Corpus {
    pub chunks: Vec<Chunk>,
    pub ids: Ids,
    /// Runbook and incident UUIDs → the set's ids and titles, for reports.
    pub names: HashMap<Uuid, (String, String)>,
}

fn numbered(range: u128, n: usize) -> Uuid {
    Uuid::from_u128((range << 64) | n as u128)
}

impl Corpus {
    #[must_use]
    pub fn build(set: &EvalSet) -> Self {
        let mut services = BTreeMap::new();
        for name in set
            .runbooks
            .iter()
            .flat_map(|r| r.services.iter())
            .chain(set.past_fixes.iter().map(|p| &p.service))
        {
            let n = services.len();
            services
                .entry(name.clone())
                .or_insert_with(|| numbered(3, n));
        }
        let mut ids = Ids {
            runbooks: HashMap::new(),
            incidents: HashMap::new(),
            services,
        };
        let mut names = HashMap::new();
        let mut chunks = Vec::new();
        for (i, r) in set.runbooks.iter().enumerate() {
            let id = numbered(1, i);
            ids.runbooks.insert(r.id.clone(), id);
            names.insert(id, (r.id.clone(), r.title.clone()));
            chunks.extend(chunk::runbook(&RunbookInput {
                runbook_id: id,
                version: 1,
                title: r.title.clone(),
                body: r.body.clone(),
                steps: r
                    .steps
                    .iter()
                    .map(|s| StepInput {
                        title: s.title.clone(),
                        why: s.why.clone(),
                        command: s.command.as_ref().map(|c| c.text.clone()),
                        expected: s.expected.clone(),
                    })
                    .collect(),
                tags: r.tags.clone(),
                service_ids: r.services.iter().map(|s| ids.services[s]).collect(),
                pattern_ids: vec![],
            }));
        }
        for (i, p) in set.past_fixes.iter().enumerate() {
            let id = numbered(2, i);
            ids.incidents.insert(p.id.clone(), id);
            names.insert(id, (p.id.clone(), p.title.clone()));
            chunks.extend(chunk::past_fix(&IncidentInput {
                incident_id: id,
                title: p.title.clone(),
                events: p
                    .timeline
                    .iter()
                    .enumerate()
                    .map(|(j, e)| EventInput {
                        event_id: numbered(4, i * 1000 + j),
                        kind: e.kind.clone(),
                        at: format!("2026-10-{:02}T10:{:02}:00Z", 1 + i % 28, j % 60),
                        message: e.message.clone(),
                    })
                    .collect(),
                tags: p.tags.clone(),
                service_ids: vec![ids.services[&p.service]],
                pattern_ids: vec![],
            }));
        }
        Corpus { chunks, ids, names }
    }

    /// The runbook or incident a chunk belongs to.
    #[must_use]
    pub fn owner(source: &ChunkSource) -> Uuid {
        match source {
            ChunkSource::Runbook { runbook_id, .. } => *runbook_id,
            ChunkSource::PastFix { incident_id, .. } => *incident_id,
        }
    }

    /// A short label of a chunk for reports: `runbook-id#3` (step 3 as numbered in the source), `runbook-id§0`
    /// (a body section) or `INC-1234`.
    #[must_use]
    pub fn describe(&self, source: &ChunkSource) -> String {
        let name = self
            .names
            .get(&Self::owner(source))
            .map_or("?", |(n, _)| n.as_str());
        match source {
            ChunkSource::Runbook { step: Some(s), .. } => format!("{name}#{}", s + 1),
            ChunkSource::Runbook {
                section: Some(s), ..
            } => format!("{name}§{s}"),
            ChunkSource::Runbook { .. } => name.to_owned(),
            ChunkSource::PastFix { .. } => name.to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Relevance and metrics

/// What counts as relevant for one query: per labelled source (a runbook or an incident), the steps accepted
/// (`None`: any chunk of it).
pub struct Judgement {
    sources: BTreeMap<Uuid, Option<BTreeSet<u32>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The labelled steps (or past fix).
    Fix,
    /// Any chunk of the labelled runbook (or past fix).
    Runbook,
}

impl Judgement {
    #[must_use]
    pub fn new(query: &Query, ids: &Ids) -> Self {
        let mut sources = BTreeMap::new();
        for label in &query.relevant {
            match label {
                Label::Runbook { runbook, steps } => {
                    let id = *ids
                        .runbooks
                        .get(runbook)
                        .unwrap_or_else(|| panic!("{}: unknown runbook {runbook}", query.id));
                    sources.insert(id, steps.as_ref().map(|s| s.iter().copied().collect()));
                }
                Label::PastFix { past_fix } => {
                    let id = *ids
                        .incidents
                        .get(past_fix)
                        .unwrap_or_else(|| panic!("{}: unknown past fix {past_fix}", query.id));
                    sources.insert(id, None);
                }
            }
        }
        assert!(!sources.is_empty(), "{}: no label", query.id);
        Judgement { sources }
    }

    /// The labelled source a hit is relevant for, if any.
    #[must_use]
    pub fn matches(&self, hit: &ChunkSource, level: Level) -> Option<Uuid> {
        let owner = Corpus::owner(hit);
        let accepted = self.sources.get(&owner)?;
        match (level, accepted, hit) {
            (Level::Runbook, _, _) | (Level::Fix, None, _) => Some(owner),
            (Level::Fix, Some(steps), ChunkSource::Runbook { step: Some(s), .. }) => {
                steps.contains(s).then_some(owner)
            }
            (Level::Fix, Some(_), _) => None,
        }
    }

    /// The rank (from 1) of the first relevant hit.
    #[must_use]
    pub fn first_relevant(&self, hits: &[ChunkSource], level: Level) -> Option<usize> {
        hits.iter()
            .position(|h| self.matches(h, level).is_some())
            .map(|p| p + 1)
    }

    /// The share of labelled sources with a relevant hit in the first `k`.
    #[must_use]
    pub fn recall_at(&self, hits: &[ChunkSource], k: usize, level: Level) -> f64 {
        let found: BTreeSet<Uuid> = hits
            .iter()
            .take(k)
            .filter_map(|h| self.matches(h, level))
            .collect();
        found.len() as f64 / self.sources.len() as f64
    }
}

/// The averages of one mode over one query set at one level.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scores {
    pub queries: usize,
    pub recall_at_5: f64,
    pub hit_at_1: f64,
    pub hit_at_5: f64,
    pub mrr: f64,
    /// How many different runbooks and incidents the first 5 hits come from (5: no two from one source).
    pub sources_in_5: f64,
}

impl Scores {
    #[must_use]
    pub fn of(judgements: &[Judgement], results: &[Vec<ChunkSource>], level: Level) -> Self {
        assert_eq!(judgements.len(), results.len());
        let n = judgements.len().max(1) as f64;
        let mut s = Scores {
            queries: judgements.len(),
            ..Scores::default()
        };
        for (j, hits) in judgements.iter().zip(results) {
            let hits = &hits[..hits.len().min(LIMIT)];
            let first = j.first_relevant(hits, level);
            s.recall_at_5 += j.recall_at(hits, 5, level) / n;
            s.hit_at_1 += f64::from(u8::from(first == Some(1))) / n;
            s.hit_at_5 += f64::from(u8::from(first.is_some_and(|r| r <= 5))) / n;
            s.mrr += first.map_or(0.0, |r| 1.0 / r as f64) / n;
            let owners: BTreeSet<Uuid> = hits.iter().take(5).map(Corpus::owner).collect();
            s.sources_in_5 += owners.len() as f64 / n;
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------------------
// The naive baseline

/// A few English function words, so that "the" and "is" do not decide the baseline's ranking.
const BASELINE_STOP: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its",
    "of", "on", "or", "that", "the", "this", "to", "was", "were", "with",
];

fn baseline_terms(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !BASELINE_STOP.contains(&w.as_str()))
        .collect()
}

/// Keyword overlap: each chunk scores the number of distinct query words (lower-cased, split on anything but
/// letters and digits, no stemming, no equivalents) found in its title, heading and text; ties keep the
/// corpus order. What a `LIKE`-style search gives.
pub struct Baseline {
    docs: Vec<(ChunkSource, BTreeSet<String>)>,
}

impl Baseline {
    #[must_use]
    pub fn new(chunks: &[Chunk]) -> Self {
        Baseline {
            docs: chunks
                .iter()
                .map(|c| {
                    let text = format!(
                        "{}\n{}\n{}",
                        c.title,
                        c.heading.as_deref().unwrap_or(""),
                        c.text
                    );
                    (c.source.clone(), baseline_terms(&text))
                })
                .collect(),
        }
    }

    #[must_use]
    pub fn search(&self, query: &str, limit: usize) -> Vec<ChunkSource> {
        let q = baseline_terms(query);
        let mut scored: Vec<(usize, usize)> = self
            .docs
            .iter()
            .enumerate()
            .map(|(i, (_, terms))| (q.intersection(terms).count(), i))
            .filter(|(s, _)| *s > 0)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(limit)
            .map(|(_, i)| self.docs[i].0.clone())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Runs and the report

/// How a query set is searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// The keyword-overlap baseline (in memory, not the index).
    Baseline,
    /// The index's sparse (BM25-style) vectors only.
    Lexical,
    /// The index's dense vectors only (the trigram stand-in).
    Dense,
    /// Both, fused by reciprocal rank.
    Hybrid,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Baseline, Mode::Lexical, Mode::Dense, Mode::Hybrid];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mode::Baseline => "naive overlap",
            Mode::Lexical => "lexical",
            Mode::Dense => "dense (stand-in)",
            Mode::Hybrid => "hybrid (RRF)",
        }
    }
}

/// The hits of every query of every set in every mode.
pub struct Run {
    /// (set, mode) → the hits of each query, in the set's order.
    pub hits: BTreeMap<(&'static str, Mode), Vec<Vec<ChunkSource>>>,
    /// set → the judgement of each query.
    pub judgements: BTreeMap<&'static str, Vec<Judgement>>,
}

impl Run {
    /// Searches every query with `search(mode, text)` (which answers the first `LIMIT` hits, best first).
    pub fn new(
        set: &EvalSet,
        corpus: &Corpus,
        modes: &[Mode],
        search: impl FnMut(Mode, &str) -> Vec<ChunkSource>,
    ) -> Self {
        Self::with_text(set, corpus, modes, Query::text, search)
    }

    /// As [`Run::new`], with the search text of a query made by `text`.
    pub fn with_text(
        set: &EvalSet,
        corpus: &Corpus,
        modes: &[Mode],
        text: impl Fn(&Query) -> String,
        mut search: impl FnMut(Mode, &str) -> Vec<ChunkSource>,
    ) -> Self {
        let mut hits = BTreeMap::new();
        let mut judgements = BTreeMap::new();
        for (name, queries) in &set.query_sets {
            judgements.insert(
                *name,
                queries
                    .iter()
                    .map(|q| Judgement::new(q, &corpus.ids))
                    .collect(),
            );
            for &mode in modes {
                let lists = queries.iter().map(|q| search(mode, &text(q))).collect();
                hits.insert((*name, mode), lists);
            }
        }
        Run { hits, judgements }
    }

    #[must_use]
    pub fn scores(&self, set: &str, mode: Mode, level: Level) -> Scores {
        let (key, results) = self
            .hits
            .iter()
            .find(|((s, m), _)| *s == set && *m == mode)
            .unwrap_or_else(|| panic!("no run of {set} in {mode:?}"));
        Scores::of(&self.judgements[key.0], results, level)
    }

    /// The table of every set × level × mode, in Markdown.
    #[must_use]
    pub fn table(&self, set: &EvalSet) -> String {
        let mut out = String::from(
            "| set | level | mode | queries | recall@5 | hit@1 | hit@5 | MRR@10 | sources in top 5 |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for (name, _) in &set.query_sets {
            for level in [Level::Fix, Level::Runbook] {
                for mode in Mode::ALL {
                    if !self.hits.contains_key(&(*name, mode)) {
                        continue;
                    }
                    let s = self.scores(name, mode, level);
                    out.push_str(&format!(
                        "| {name} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} |\n",
                        match level {
                            Level::Fix => "fix",
                            Level::Runbook => "runbook",
                        },
                        mode.name(),
                        s.queries,
                        s.recall_at_5,
                        s.hit_at_1,
                        s.hit_at_5,
                        s.mrr,
                        s.sources_in_5
                    ));
                }
            }
        }
        out
    }

    /// The queries of `set` without a relevant hit in the first 5 in `mode` at `level`, with what came first.
    #[must_use]
    pub fn misses(
        &self,
        set: &EvalSet,
        corpus: &Corpus,
        name: &str,
        mode: Mode,
        level: Level,
    ) -> String {
        let queries = &set
            .query_sets
            .iter()
            .find(|(n, _)| *n == name)
            .expect("a query set")
            .1;
        let (key, results) = self
            .hits
            .iter()
            .find(|((s, m), _)| *s == name && *m == mode)
            .expect("a run");
        let mut out = String::new();
        for ((q, j), hits) in queries.iter().zip(&self.judgements[key.0]).zip(results) {
            let rank = j.first_relevant(hits, level);
            if rank.is_some_and(|r| r <= 5) {
                continue;
            }
            let wanted: Vec<String> = q
                .relevant
                .iter()
                .map(|l| match l {
                    Label::Runbook { runbook, steps } => match steps {
                        Some(s) => format!(
                            "{runbook}#{}",
                            s.iter()
                                .map(|x| (x + 1).to_string())
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                        None => runbook.clone(),
                    },
                    Label::PastFix { past_fix } => past_fix.clone(),
                })
                .collect();
            let got: Vec<String> = hits.iter().take(5).map(|h| corpus.describe(h)).collect();
            out.push_str(&format!(
                "- {} `{}` — wanted {} — first relevant at {} — top 5: {}\n",
                q.id,
                q.title,
                wanted.join(" "),
                rank.map_or("none in 10".to_owned(), |r| r.to_string()),
                got.join(", ")
            ));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------------------
// A brute-force reference (no index)

/// The same scoring computed in memory over every chunk, without the index: sparse dot products weighted by
/// an IDF over the corpus (Qdrant's `ln(1 + (N − n + 0.5) / (n + 0.5))`), cosine of the stand-in embeddings,
/// and RRF of the two top-50 lists. A cross-check of the index's figures (they should agree closely; ties
/// may be broken differently).
pub struct BruteForce {
    sources: Vec<ChunkSource>,
    sparse: Vec<insights_retrieval::sparse::SparseVector>,
    dense: Vec<Vec<f32>>,
    idf: HashMap<u32, f32>,
    embed: fn(&str) -> Vec<f32>,
}

pub use insights_index::indexed_text;

impl BruteForce {
    #[must_use]
    pub fn new(chunks: &[Chunk], embed: fn(&str) -> Vec<f32>) -> Self {
        use insights_retrieval::sparse;
        let sparse: Vec<_> = chunks
            .iter()
            .map(|c| sparse::document(&indexed_text(c)))
            .collect();
        let mut df: HashMap<u32, usize> = HashMap::new();
        for v in &sparse {
            for &i in &v.indices {
                *df.entry(i).or_default() += 1;
            }
        }
        let n = chunks.len() as f32;
        let idf = df
            .into_iter()
            .map(|(t, d)| (t, (1.0 + (n - d as f32 + 0.5) / (d as f32 + 0.5)).ln()))
            .collect();
        BruteForce {
            sources: chunks.iter().map(|c| c.source.clone()).collect(),
            dense: chunks.iter().map(|c| embed(&indexed_text(c))).collect(),
            sparse,
            idf,
            embed,
        }
    }

    fn ranked(&self, scores: Vec<f32>, limit: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..scores.len()).filter(|&i| scores[i] > 0.0).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        order.truncate(limit);
        order
    }

    fn lexical(&self, query: &str, limit: usize) -> Vec<usize> {
        let q = insights_retrieval::sparse::query(query);
        let scores = self
            .sparse
            .iter()
            .map(|d| {
                let (mut i, mut j, mut s) = (0, 0, 0.0);
                while i < q.indices.len() && j < d.indices.len() {
                    match q.indices[i].cmp(&d.indices[j]) {
                        std::cmp::Ordering::Less => i += 1,
                        std::cmp::Ordering::Greater => j += 1,
                        std::cmp::Ordering::Equal => {
                            s += q.values[i] * d.values[j] * self.idf[&q.indices[i]];
                            i += 1;
                            j += 1;
                        }
                    }
                }
                s
            })
            .collect();
        self.ranked(scores, limit)
    }

    fn dense(&self, query: &str, limit: usize) -> Vec<usize> {
        let q = (self.embed)(query);
        let scores = self
            .dense
            .iter()
            .map(|d| d.iter().zip(&q).map(|(a, b)| a * b).sum())
            .collect();
        self.ranked(scores, limit)
    }

    #[must_use]
    pub fn search(&self, mode: Mode, query: &str, limit: usize) -> Vec<ChunkSource> {
        let order = match mode {
            Mode::Lexical => self.lexical(query, limit),
            Mode::Dense => self.dense(query, limit),
            Mode::Hybrid => {
                let (l, d) = (self.lexical(query, 50), self.dense(query, 50));
                insights_retrieval::fuse::rrf(&[(&l, 1.0), (&d, 1.0)], insights_retrieval::fuse::K)
                    .into_iter()
                    .take(limit)
                    .map(|(i, _)| i)
                    .collect()
            }
            Mode::Baseline => panic!("the baseline is not a brute-force mode"),
        };
        order.into_iter().map(|i| self.sources[i].clone()).collect()
    }
}

// ---------------------------------------------------------------------------------------------------------
// The real index

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    #[must_use]
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("insights-eval-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The corpus in the real embedded index (qdrant-edge on disk, in a temporary directory), one organization,
/// every subject upserted as the worker upserts it, with the stand-in embeddings of each chunk's indexed text.
pub struct IndexEngine {
    pub index: insights_index::VectorIndex,
    pub org: Uuid,
    embed: fn(&str) -> Vec<f32>,
    _dir: TempDir,
}

impl IndexEngine {
    pub async fn build(corpus: &Corpus, embed: fn(&str) -> Vec<f32>) -> Self {
        use insights_index::{EdgeIndex, Subject, VectorIndex};
        let dir = TempDir::new();
        let index = VectorIndex::Edge(
            EdgeIndex::open(&dir.0, Some(DIMENSIONS))
                .await
                .expect("the embedded index opens"),
        );
        let org = Uuid::from_u128(0xe7a1);
        let mut subjects: Vec<(Subject, Vec<Chunk>)> = Vec::new();
        for c in &corpus.chunks {
            let subject = Subject::of(c);
            match subjects.last_mut() {
                Some((s, chunks)) if *s == subject => chunks.push(c.clone()),
                _ => subjects.push((subject, vec![c.clone()])),
            }
        }
        for (subject, chunks) in &subjects {
            let dense: Vec<Vec<f32>> = chunks.iter().map(|c| embed(&indexed_text(c))).collect();
            index
                .upsert(org, *subject, chunks, Some(&dense))
                .await
                .expect("upsert");
        }
        index.optimize().await.expect("optimize");
        let count = index.count(org).await.expect("count");
        assert_eq!(count, corpus.chunks.len(), "every chunk is in the index");
        IndexEngine {
            index,
            org,
            embed,
            _dir: dir,
        }
    }

    /// The first `limit` hits for `text` in `mode` (lexical: the sparse query alone; dense: the embedding
    /// alone; hybrid: both, fused by the index).
    pub async fn search(&self, mode: Mode, text: &str, limit: usize) -> Vec<ChunkSource> {
        let sparse = Some(insights_retrieval::sparse::query(text));
        let dense = Some((self.embed)(text));
        let query = match mode {
            Mode::Lexical => insights_index::Query {
                sparse,
                dense: None,
            },
            Mode::Dense => insights_index::Query {
                sparse: None,
                dense,
            },
            Mode::Hybrid => insights_index::Query { sparse, dense },
            Mode::Baseline => panic!("the baseline does not use the index"),
        };
        self.index
            .search(self.org, &query, &insights_index::Filter::default(), limit)
            .await
            .expect("search")
            .into_iter()
            .map(|h| h.chunk.source)
            .collect()
    }
}

impl Run {
    /// Of the queries whose first hit belongs to a labelled source but is not itself relevant at fix level,
    /// how many first hits are a body section and how many another step: `(queries, sections, steps)`.
    #[must_use]
    pub fn right_source_wrong_part(&self, name: &str, mode: Mode) -> (usize, usize, usize) {
        let (key, results) = self
            .hits
            .iter()
            .find(|((s, m), _)| *s == name && *m == mode)
            .expect("a run");
        let (mut sections, mut steps) = (0, 0);
        for (j, hits) in self.judgements[key.0].iter().zip(results) {
            let Some(first) = hits.first() else { continue };
            if j.matches(first, Level::Runbook).is_some() && j.matches(first, Level::Fix).is_none()
            {
                match first {
                    ChunkSource::Runbook { step: Some(_), .. } => steps += 1,
                    _ => sections += 1,
                }
            }
        }
        (results.len(), sections, steps)
    }
}

/// At most `per_source` hits of each runbook or incident, in order, cut to `limit`: what collapsing the hits
/// by subject would give (an experiment on the crowding of the first hits by one source).
#[must_use]
pub fn collapse(hits: &[ChunkSource], per_source: usize, limit: usize) -> Vec<ChunkSource> {
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    hits.iter()
        .filter(|h| {
            let n = seen.entry(Corpus::owner(h)).or_default();
            *n += 1;
            *n <= per_source
        })
        .take(limit)
        .cloned()
        .collect()
}
