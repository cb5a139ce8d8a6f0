//! The engine on our labelled set of incident titles (`eval/incidents.jsonl`, see `eval/README.md`): it must beat
//! the digit-masking baseline and keep its grouping accuracy above a floor. Prints the table that
//! `examples/evaluate.rs` prints in full (`cargo test -p insights-patterns --test eval -- --nocapture`).
#![allow(clippy::print_stdout)] // the test prints its table

#[allow(dead_code)] // shared with the report, which reads more of it
#[path = "../eval/dataset.rs"]
mod dataset;
#[path = "../eval/metrics.rs"]
mod metrics;

use std::collections::{HashMap, HashSet};

use insights_patterns::{Item, cluster};

/// The grouping accuracy the engine must keep on our set: a regression guard below what it reaches (see the
/// figures in `eval/README.md`), not a target.
const GA_FLOOR: f64 = 0.85;

const SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/eval/incidents.jsonl");

fn labelled_set() -> Vec<dataset::Labelled> {
    let text = std::fs::read_to_string(SET).expect("the labelled set");
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

#[test]
fn the_cluster_command_groups_the_labelled_set_as_the_library_does() {
    // The report scores `insights-worker cluster` output with `--predictions`: the command's lines, read the
    // way the report reads them, must give the library's clustering (the set's extra fields are ignored).
    let text = std::fs::read_to_string(SET).expect("the labelled set");
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let bad =
        insights_patterns::run(text.as_bytes(), &mut out, &mut errors).expect("in-memory I/O");
    assert_eq!(bad, 0, "{}", String::from_utf8_lossy(&errors));

    let set = labelled_set();
    let predictions = dataset::parse_predictions(&String::from_utf8(out).expect("UTF-8 lines"))
        .expect("the command's lines");
    let by_id: HashMap<&str, &str> = predictions
        .iter()
        .map(|p| (p.id.as_str(), p.cluster.as_str()))
        .collect();
    let from_command: Vec<&str> = set.iter().map(|l| by_id[l.id.as_str()]).collect();

    let items: Vec<Item<'_>> = set
        .iter()
        .map(|l| Item {
            title: &l.title,
            service: l.service.as_deref(),
        })
        .collect();
    let truth: Vec<&str> = set.iter().map(|l| l.group.as_str()).collect();
    assert_eq!(
        metrics::score(&truth, &from_command),
        metrics::score(&truth, &cluster(&items).assignments)
    );
    assert!(
        predictions.iter().all(|p| p.template.is_some()),
        "every line names its template"
    );
}
