//! The engine on our labelled set of incident titles (`eval/incidents.jsonl`, see `eval/README.md`): it must beat
//! the digit-masking baseline and keep its grouping accuracy above a floor. Prints the table that
//! `examples/evaluate.rs` prints in full (`cargo test -p insights-patterns --test eval -- --nocapture`).
#![allow(clippy::print_stdout)] // the test prints its table

#[allow(dead_code)] // shared with the report, which reads predictions too
#[path = "../eval/dataset.rs"]
mod dataset;
#[path = "../eval/metrics.rs"]
mod metrics;

use std::collections::{HashMap, HashSet};

use insights_patterns::{Item, cluster};

/// The grouping accuracy the engine must keep on our set: a regression guard below what it reaches (see the
/// figures in `eval/README.md`), not a target.
const GA_FLOOR: f64 = 0.85;

fn labelled_set() -> Vec<dataset::Labelled> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/eval/incidents.jsonl");
    let text = std::fs::read_to_string(path).expect("the labelled set");
    dataset::parse_labelled(&text).expect("a well-formed labelled set")
}

#[test]
fn the_labelled_set_is_what_its_readme_says() {
    let set = labelled_set();
    assert!((600..=1000).contains(&set.len()), "{} titles", set.len());
    let ids: HashSet<&str> = set.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids.len(), set.len(), "ids are unique");
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for l in &set {
        assert!(!l.title.trim().is_empty(), "item {} has a title", l.id);
        assert!(l.source.is_some(), "item {} names its source", l.id);
        *sizes.entry(&l.group).or_default() += 1;
    }
    assert!((60..=120).contains(&sizes.len()), "{} groups", sizes.len());
    assert!(
        sizes.values().any(|&n| n == 1),
        "some groups have one title"
    );
    assert!(sizes.values().all(|&n| n <= 60), "no group over 60 titles");
}

#[test]
fn the_engine_beats_the_digit_masking_baseline_on_the_labelled_set() {
    let set = labelled_set();
    let truth: Vec<&str> = set.iter().map(|l| l.group.as_str()).collect();
    let items: Vec<Item<'_>> = set
        .iter()
        .map(|l| Item {
            title: &l.title,
            service: l.service.as_deref(),
        })
        .collect();

    let clustering = cluster(&items);
    assert_eq!(clustering.assignments.len(), set.len());
    let engine = metrics::score(&truth, &clustering.assignments);
    let baseline = metrics::score(&truth, &metrics::baseline(items.iter().map(|i| i.title)));

    println!("{} titles, {} true groups", set.len(), engine.groups);
    println!("method       GA     P      R      F1     clusters");
    for (method, s) in [("engine", &engine), ("baseline", &baseline)] {
        println!(
            "{method:<10} {:.3}  {:.3}  {:.3}  {:.3}  {}",
            s.grouping_accuracy, s.precision, s.recall, s.f1, s.clusters
        );
    }

    assert!(
        engine.grouping_accuracy > baseline.grouping_accuracy,
        "GA: engine {engine:?} vs baseline {baseline:?}"
    );
    assert!(
        engine.f1 > baseline.f1,
        "F1: engine {engine:?} vs baseline {baseline:?}"
    );
    assert!(
        engine.grouping_accuracy >= GA_FLOOR,
        "the engine's grouping accuracy fell below {GA_FLOOR}: {engine:?}"
    );
}
