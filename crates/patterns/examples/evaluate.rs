//! The evaluation report: how the engine's clusters match labelled sets of titles, against the digit-masking
//! baseline.
//!
//! ```text
//! cargo run --release -p insights-patterns --example evaluate -- [--errors] [--predictions FILE] SET.jsonl…
//! ```
//!
//! A set is JSON lines `{"id", "title", "service"?, "group"}` (`crates/patterns/eval/incidents.jsonl` is ours).
//! For each set it prints grouping accuracy, pairwise precision, recall and F1, and the number of clusters
//! against the number of true groups, for:
//! - `engine`: [`insights_patterns::cluster`] over the whole set, with the product's defaults;
//! - `engine online`: the store-time path before any refinement — titles one by one, in the set's order, each
//!   matched with [`Matcher::best`] against the templates so far, or else its own [`Template::of_title`] added;
//! - `baseline`: titles equal after every run of digits is masked;
//! - `predictions`: with `--predictions FILE`, clusters written by `insights-worker cluster` (lines `{"id",
//!   "cluster", "template"}`), matched to the set by id — so the real binary can be checked.
//!
//! With several sets it ends with each method's mean over the sets. `--errors` adds the engine's (and the
//! predictions') worst mistakes: clusters that merge true groups and groups split over clusters, with example
//! titles.
#![allow(clippy::print_stdout)] // a report prints on stdout

#[path = "../eval/dataset.rs"]
mod dataset;
#[path = "../eval/metrics.rs"]
mod metrics;

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::time::Instant;

use dataset::Labelled;
use insights_patterns::{Item, Matcher, Origin, Template, cluster};
use metrics::Scores;

/// How many mistakes of each kind `--errors` shows per method.
const SHOWN_MISTAKES: usize = 12;

struct Args {
    errors: bool,
    predictions: Option<String>,
    sets: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        errors: false,
        predictions: None,
        sets: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--errors" => args.errors = true,
            "--predictions" => {
                args.predictions = Some(it.next().ok_or("--predictions needs a file")?);
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => args.sets.push(a),
        }
    }
    if args.sets.is_empty() {
        return Err("no labelled set given".into());
    }
    if args.predictions.is_some() && args.sets.len() > 1 {
        return Err("--predictions goes with one labelled set".into());
    }
    Ok(args)
}

/// One method's answer: a cluster label per item, and a readable name per label.
struct Run {
    method: String,
    labels: Vec<String>,
    names: HashMap<String, String>,
    millis: f64,
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("evaluate: {e}");
            }
            eprintln!("usage: evaluate [--errors] [--predictions FILE] SET.jsonl…");
            return ExitCode::from(2);
        }
    };
    let mut totals: BTreeMap<String, Vec<Scores>> = BTreeMap::new();
    for path in &args.sets {
        let set = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| dataset::parse_labelled(&t))
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("evaluate: {path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut runs = vec![engine(&set), engine_online(&set), baseline(&set)];
        if let Some(p) = &args.predictions {
            match predictions(&set, p) {
                Ok(run) => runs.push(run),
                Err(e) => {
                    eprintln!("evaluate: {p}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        for (run, s) in runs.iter().zip(report(path, &set, &runs, args.errors)) {
            totals.entry(run.method.clone()).or_default().push(s);
        }
    }
    if args.sets.len() > 1 {
        println!(
            "\nmean over {} sets (each set weighs the same)",
            args.sets.len()
        );
        println!(
            "  {:<14} {:>6} {:>6} {:>6} {:>6}",
            "method", "GA", "P", "R", "F1"
        );
        for (method, scores) in &totals {
            let mean =
                |f: fn(&Scores) -> f64| scores.iter().map(f).sum::<f64>() / scores.len() as f64;
            println!(
                "  {method:<14} {:>6.3} {:>6.3} {:>6.3} {:>6.3}",
                mean(|s| s.grouping_accuracy),
                mean(|s| s.precision),
                mean(|s| s.recall),
                mean(|s| s.f1)
            );
        }
    }
    ExitCode::SUCCESS
}

fn items(set: &[Labelled]) -> Vec<Item<'_>> {
    set.iter()
        .map(|l| Item {
            title: &l.title,
            service: l.service.as_deref(),
        })
        .collect()
}

fn engine(set: &[Labelled]) -> Run {
    let items = items(set);
    let start = Instant::now();
    let c = cluster(&items);
    let millis = start.elapsed().as_secs_f64() * 1e3;
    Run {
        method: "engine".into(),
        labels: c.assignments.iter().map(u32::to_string).collect(),
        names: c
            .templates
            .iter()
            .enumerate()
            .map(|(i, t)| (i.to_string(), t.to_string()))
            .collect(),
        millis,
    }
}

fn engine_online(set: &[Labelled]) -> Run {
    let start = Instant::now();
    let mut matcher = Matcher::new();
    let mut templates: Vec<Template> = Vec::new();
    let mut labels = Vec::with_capacity(set.len());
    for l in set {
        let service = l.service.as_deref();
        let key = match matcher.best(&l.title, service) {
            Some(m) => m.key,
            None => {
                let t = Template::of_title(&l.title, service);
                matcher.insert(templates.len(), t.clone(), Origin::Mined);
                templates.push(t);
                templates.len() - 1
            }
        };
        labels.push(key.to_string());
    }
    let millis = start.elapsed().as_secs_f64() * 1e3;
    Run {
        method: "engine online".into(),
        labels,
        names: templates
            .iter()
            .enumerate()
            .map(|(i, t)| (i.to_string(), t.to_string()))
            .collect(),
        millis,
    }
}

fn baseline(set: &[Labelled]) -> Run {
    let start = Instant::now();
    let labels = metrics::baseline(set.iter().map(|l| l.title.as_str()));
    let millis = start.elapsed().as_secs_f64() * 1e3;
    let names = labels.iter().map(|k| (k.clone(), k.clone())).collect();
    Run {
        method: "baseline".into(),
        labels,
        names,
        millis,
    }
}

/// The clusters of a predictions file, for the items of `set`; every item must have one.
fn predictions(set: &[Labelled], path: &str) -> Result<Run, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut by_id = HashMap::new();
    let mut names = HashMap::new();
    for p in dataset::parse_predictions(&text)? {
        if let Some(t) = &p.template {
            names.entry(p.cluster.clone()).or_insert_with(|| t.clone());
        }
        by_id.insert(p.id, p.cluster);
    }
    let labels = set
        .iter()
        .map(|l| {
            by_id
                .get(&l.id)
                .cloned()
                .ok_or_else(|| format!("no prediction for id {}", l.id))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Run {
        method: "predictions".into(),
        labels,
        names,
        millis: f64::NAN,
    })
}

/// Prints the table of one set (and its mistakes with `errors`); answers each run's scores.
fn report(path: &str, set: &[Labelled], runs: &[Run], errors: bool) -> Vec<Scores> {
    let truth: Vec<&str> = set.iter().map(|l| l.group.as_str()).collect();
    println!("\n{path}: {} titles", set.len());
    println!(
        "  {:<14} {:>6} {:>6} {:>6} {:>6}   {:>17} {:>9}",
        "method", "GA", "P", "R", "F1", "clusters / groups", "time"
    );
    let scores: Vec<Scores> = runs
        .iter()
        .map(|r| metrics::score(&truth, &r.labels))
        .collect();
    for (run, s) in runs.iter().zip(&scores) {
        println!("  {}", row(&run.method, s, run.millis));
    }
    if errors {
        for run in runs
            .iter()
            .filter(|r| r.method == "engine" || r.method == "predictions")
        {
            mistakes(set, run);
        }
    }
    scores
}

fn row(method: &str, s: &Scores, millis: f64) -> String {
    let time = if millis.is_nan() {
        "-".to_owned()
    } else {
        format!("{millis:.1} ms")
    };
    format!(
        "{method:<14} {:>6.3} {:>6.3} {:>6.3} {:>6.3}   {:>8} / {:<6} {time:>9}",
        s.grouping_accuracy, s.precision, s.recall, s.f1, s.clusters, s.groups
    )
}

/// Prints the clusters holding several true groups and the true groups spread over several clusters, the
/// largest first, with an example title for each part.
fn mistakes(set: &[Labelled], run: &Run) {
    // cluster → group → items, and group → cluster → items (BTreeMaps: a stable, readable order).
    let mut by_cluster: BTreeMap<&str, BTreeMap<&str, Vec<&Labelled>>> = BTreeMap::new();
    let mut by_group: BTreeMap<&str, BTreeMap<&str, Vec<&Labelled>>> = BTreeMap::new();
    for (l, c) in set.iter().zip(&run.labels) {
        by_cluster
            .entry(c)
            .or_default()
            .entry(&l.group)
            .or_default()
            .push(l);
        by_group
            .entry(&l.group)
            .or_default()
            .entry(c)
            .or_default()
            .push(l);
    }
    let size = |m: &BTreeMap<&str, Vec<&Labelled>>| m.values().map(Vec::len).sum::<usize>();
    let mut merged: Vec<_> = by_cluster.iter().filter(|(_, g)| g.len() > 1).collect();
    merged.sort_by_key(|(_, g)| std::cmp::Reverse(size(g)));
    let mut split: Vec<_> = by_group.iter().filter(|(_, c)| c.len() > 1).collect();
    split.sort_by_key(|(_, c)| std::cmp::Reverse(size(c)));

    let name = |c: &str| run.names.get(c).map_or(c, String::as_str).to_owned();
    println!(
        "\n  {}: {} clusters merge true groups, {} true groups are split",
        run.method,
        merged.len(),
        split.len()
    );
    for (cluster, groups) in merged.iter().take(SHOWN_MISTAKES) {
        println!("  merged  [{}] {}", size(groups), name(cluster));
        for (group, items) in *groups {
            let l = items[0];
            let source = l.source.as_deref().unwrap_or("-");
            println!(
                "            {group} ({}, {source}): {}",
                items.len(),
                l.title
            );
        }
    }
    for (group, clusters) in split.iter().take(SHOWN_MISTAKES) {
        println!(
            "  split   {group} ({}) over {} clusters",
            size(clusters),
            clusters.len()
        );
        for (cluster, items) in *clusters {
            println!(
                "            ({}) {}  ← {}",
                items.len(),
                name(cluster),
                items[0].title
            );
        }
    }
}
