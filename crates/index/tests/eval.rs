//! Retrieval quality on the labelled set in `crates/retrieval/eval/`, through the real embedded index: each
//! mode's figures must stay above a floor set a little below what was measured when the set was committed
//! (see `crates/retrieval/eval/FINDINGS.md`), so that a change to the analyzer, the chunker, the sparse
//! weights, the fusion or the index that makes retrieval worse fails here. The table itself:
//! `cargo run -p insights-index --example retrieval_eval`.
//!
//! "Dense" is the `trigram_embedding` stand-in for an embeddings model (no weights can be downloaded here).

mod eval {
    pub mod harness;
}
// The stand-in embeddings of the contract, from their one source file (a dependency on `insights-testing`
// would build the API and the worker for this crate's tests).
#[path = "../../testing/src/embedding.rs"]
mod embedding;

use eval::harness::{
    Baseline, Corpus, DIMENSIONS, EvalSet, IndexEngine, LIMIT, Level, Mode, Run, Scores,
};
use std::collections::HashMap;

fn embed(text: &str) -> Vec<f32> {
    embedding::trigram_embedding(text, DIMENSIONS)
}

/// Searches every query of the set in every mode, through the index (and the baseline in memory).
fn run(set: &EvalSet, corpus: &Corpus) -> Run {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let engine = runtime.block_on(IndexEngine::build(corpus, embed));
    let baseline = Baseline::new(&corpus.chunks);
    let mut found = HashMap::new();
    Run::new(set, corpus, &Mode::ALL, |mode, text| {
        if mode == Mode::Baseline {
            return baseline.search(text, LIMIT);
        }
        found
            .entry((mode, text.to_owned()))
            .or_insert_with(|| runtime.block_on(engine.search(mode, text, LIMIT)))
            .clone()
    })
}

#[track_caller]
fn floor(what: &str, s: Scores, recall_at_5: f64, hit_at_5: f64, mrr: f64) {
    assert!(
        s.recall_at_5 >= recall_at_5 && s.hit_at_5 >= hit_at_5 && s.mrr >= mrr,
        "{what}: recall@5 {:.3} (floor {recall_at_5}), hit@5 {:.3} (floor {hit_at_5}), MRR {:.3} (floor {mrr})",
        s.recall_at_5,
        s.hit_at_5,
        s.mrr
    );
}

#[test]
fn retrieval_quality_stays_above_its_floors() {
    let set = EvalSet::load();
    assert!(set.runbooks.len() >= 60 && set.query_sets[0].1.len() >= 200);
    let corpus = Corpus::build(&set);
    let run = run(&set, &corpus);

    // The main set (incidents as monitors and people word them), at the level of the labelled steps.
    floor(
        "main, hybrid",
        run.scores("main", Mode::Hybrid, Level::Fix),
        0.84,
        0.94,
        0.72,
    );
    floor(
        "main, lexical",
        run.scores("main", Mode::Lexical, Level::Fix),
        0.85,
        0.95,
        0.74,
    );
    floor(
        "main, dense (stand-in)",
        run.scores("main", Mode::Dense, Level::Fix),
        0.79,
        0.89,
        0.68,
    );
    // The right runbook (any of its sections or steps) or past fix.
    floor(
        "main, hybrid, runbook level",
        run.scores("main", Mode::Hybrid, Level::Runbook),
        0.87,
        0.95,
        0.93,
    );
    // Alert names only: much harder for a keyword match, which the analyzer must beat by far.
    floor(
        "terse, lexical",
        run.scores("terse", Mode::Lexical, Level::Fix),
        0.72,
        0.86,
        0.53,
    );
    floor(
        "terse, hybrid",
        run.scores("terse", Mode::Hybrid, Level::Fix),
        0.63,
        0.77,
        0.48,
    );
    // Business symptoms without a technology named: the hardest style (and a small set: ±0.15 at 95 %).
    floor(
        "support, hybrid",
        run.scores("support", Mode::Hybrid, Level::Fix),
        0.44,
        0.62,
        0.50,
    );
    let naive = run.scores("terse", Mode::Baseline, Level::Fix);
    let lexical = run.scores("terse", Mode::Lexical, Level::Fix);
    assert!(
        lexical.hit_at_5 >= naive.hit_at_5 + 0.2,
        "on alert names, lexical search ({:.3}) must beat keyword overlap ({:.3}) by far",
        lexical.hit_at_5,
        naive.hit_at_5
    );
}

/// The harness itself: relevance at both levels and the metrics on a hand-made ranking.
#[test]
fn metrics_count_what_the_labels_say() {
    use eval::harness::{Ids, Judgement, Label, Query};
    use insights_retrieval::ChunkSource;
    use uuid::Uuid;
    let (rb, other, inc) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    let ids = Ids {
        runbooks: [("rb".to_owned(), rb), ("other".to_owned(), other)].into(),
        incidents: [("INC-1".to_owned(), inc)].into(),
        services: Default::default(),
    };
    let query = Query {
        id: "q".into(),
        title: "t".into(),
        service: None,
        description: None,
        relevant: vec![
            Label::Runbook {
                runbook: "rb".into(),
                steps: Some(vec![2]),
            },
            Label::PastFix {
                past_fix: "INC-1".into(),
            },
        ],
    };
    let j = Judgement::new(&query, &ids);
    let step = |id, s| ChunkSource::Runbook {
        runbook_id: id,
        version: 1,
        section: None,
        step: Some(s),
    };
    let section = ChunkSource::Runbook {
        runbook_id: rb,
        version: 1,
        section: Some(0),
        step: None,
    };
    let fix = ChunkSource::PastFix {
        incident_id: inc,
        event_id: None,
    };
    let hits = vec![
        step(other, 2),
        section.clone(),
        step(rb, 0),
        step(rb, 2),
        fix.clone(),
    ];
    // Fix level: the other runbook's step 2, a section and step 0 of the labelled runbook do not count.
    assert_eq!(j.first_relevant(&hits, Level::Fix), Some(4));
    assert_eq!(j.first_relevant(&hits, Level::Runbook), Some(2));
    assert!((j.recall_at(&hits, 4, Level::Fix) - 0.5).abs() < 1e-9);
    assert!((j.recall_at(&hits, 5, Level::Fix) - 1.0).abs() < 1e-9);
    let s = Scores::of(&[j], &[hits], Level::Fix);
    assert!((s.mrr - 0.25).abs() < 1e-9 && s.hit_at_1 == 0.0 && s.hit_at_5 == 1.0);
}

/// The set is what its README says: enough runbooks over enough kinds of problems, enough queries, unique ids,
/// and every label pointing at a step the runbook has (`build.py` checks the sources; this checks the JSONL
/// files the runner reads).
#[test]
fn the_set_is_consistent() {
    use eval::harness::Label;
    use std::collections::{BTreeSet, HashMap};
    let set = EvalSet::load();
    let steps: HashMap<&str, usize> = set
        .runbooks
        .iter()
        .map(|r| (r.id.as_str(), r.steps.len()))
        .collect();
    assert_eq!(steps.len(), set.runbooks.len(), "runbook ids are unique");
    assert!(set.runbooks.len() >= 60);
    let services: BTreeSet<&str> = set
        .runbooks
        .iter()
        .flat_map(|r| r.services.iter().map(String::as_str))
        .collect();
    assert!(services.len() >= 15, "{} services", services.len());
    let incidents: BTreeSet<&str> = set.past_fixes.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        incidents.len(),
        set.past_fixes.len(),
        "incident ids are unique"
    );
    let mut ids = BTreeSet::new();
    for (name, queries) in &set.query_sets {
        assert!(!queries.is_empty(), "{name} has queries");
        for q in queries {
            assert!(ids.insert(q.id.clone()), "{} twice", q.id);
            assert!(!q.relevant.is_empty(), "{} has a label", q.id);
            for label in &q.relevant {
                match label {
                    Label::Runbook { runbook, steps: s } => {
                        let n = *steps
                            .get(runbook.as_str())
                            .unwrap_or_else(|| panic!("{}: no runbook {runbook}", q.id));
                        for &i in s.iter().flatten() {
                            assert!((i as usize) < n, "{}: {runbook} has no step {i}", q.id);
                        }
                    }
                    Label::PastFix { past_fix } => {
                        assert!(
                            incidents.contains(past_fix.as_str()),
                            "{}: no {past_fix}",
                            q.id
                        );
                    }
                }
            }
        }
    }
    assert!(set.query_sets[0].1.len() >= 200);
}
