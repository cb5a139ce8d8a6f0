//! The engine's throughput on one core (`INSIGHTS_BENCH=1 cargo bench -p insights-patterns`; without the
//! variable it returns at once, since `cargo test --all-targets` runs benches too).
//!
//! Titles are short (6–10 tokens), drawn from a few thousand realistic alert shapes with random values
//! (services, hosts, ids, addresses, numbers, durations). Prints:
//! - (a) `Template::of_title` (normalization) in titles/s;
//! - (b) `Matcher::best` against 2,000 and 20,000 templates, in titles/s (the store pipeline's added cost
//!   per incident is its inverse);
//! - (c) `cluster()` of 1,000,000 titles (the engine's part of refining 1,000,000 incidents): time, titles/s,
//!   templates found, and peak memory (the process's peak resident set, reset before each step where Linux
//!   allows it).
//!
//! Each figure is the best of three runs, in this thread's CPU time (the machine may be shared: wall time
//! would count other processes' turns). Timings are printed, never asserted.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use insights_patterns::{Item, Matcher, Origin, Template, cluster};
use std::hint::black_box;
use std::time::Instant;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("small")
    }
}

const ADJECTIVES: &[&str] = &[
    "High",
    "Low",
    "Elevated",
    "Abnormal",
    "Sustained",
    "Rising",
    "Degraded",
    "Excessive",
    "Unusual",
    "Stalled",
    "Spiking",
    "Dropping",
    "Missing",
    "Delayed",
    "Failing",
    "Saturated",
    "Throttled",
    "Noisy",
    "Slow",
    "Stuck",
    "Flapping",
    "Blocked",
    "Leaking",
    "Exhausted",
    "Overloaded",
    "Lagging",
    "Broken",
    "Corrupted",
    "Expired",
    "Rejected",
    "Skipped",
    "Orphaned",
    "Pending",
    "Paused",
    "Reset",
    "Retried",
    "Dropped",
    "Starved",
    "Frozen",
    "Unbalanced",
];
const METRICS: &[&str] = &[
    "latency",
    "error-rate",
    "CPU",
    "memory",
    "disk",
    "throughput",
    "connections",
    "replication",
    "queue",
    "heap",
    "GC",
    "IOPS",
    "bandwidth",
    "consumer-lag",
    "retries",
    "timeouts",
    "handshakes",
    "evictions",
    "checkpoints",
    "compactions",
    "deadlocks",
    "cache-misses",
    "file-descriptors",
    "threads",
    "sockets",
    "requests",
    "5xx",
    "4xx",
    "p99",
    "p95",
    "backlog",
    "inodes",
    "swap",
    "load",
    "jobs",
    "cron",
    "DNS",
    "TLS",
    "webhooks",
    "snapshots",
    "backups",
    "restores",
    "migrations",
    "leases",
    "locks",
    "partitions",
    "shards",
    "replicas",
    "pods",
    "nodes",
];
/// Shapes: `{a}` adjective, `{m}` metric, `{s}` service, `{h}` host, `{i}` id, `{p}` address, `{n}` number,
/// `{d}` duration.
const SHAPES: &[&str] = &[
    "{a} {m} on {s} (p99 > {d})",
    "{a} {m} on {h}",
    "{m} {a} for {s}: {n}%",
    "[FIRING:{n}] {a}{m} ({s} {i})",
    "{a} {m} from {p} to {s}",
    "{s} {m} is {a} ({n} over {d})",
    "Alert: {a} {m} in {s} after {d}",
    "{a} {m} detected on {i}",
    "{m} {a} on node {h} for {d}",
    "{s}: {a} {m} ({n} events)",
    "Monitor {a} {m} on {s} failed",
    "{a} {m} for job {i} exceeded {n}",
];

/// A shape's template id: adjective × metric × shape, a few thousand distinct alerts.
fn shape(id: usize) -> (&'static str, &'static str, &'static str) {
    let a = ADJECTIVES[id % ADJECTIVES.len()];
    let m = METRICS[(id / ADJECTIVES.len()) % METRICS.len()];
    let s = SHAPES[(id / (ADJECTIVES.len() * METRICS.len())) % SHAPES.len()];
    (a, m, s)
}

const SERVICES: &[&str] = &[
    "kafka",
    "postgres-main",
    "checkout",
    "billing-worker",
    "search",
    "gateway",
    "auth",
];

fn title(rng: &mut Rng, id: usize) -> (String, &'static str) {
    let (a, m, s) = shape(id);
    let svc = SERVICES[rng.below(SERVICES.len())];
    let mut out = String::with_capacity(64);
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let key = &rest[open + 1..open + 2];
        rest = &rest[open + 3..];
        match key {
            "a" => out.push_str(a),
            "m" => out.push_str(m),
            "s" => out.push_str(svc),
            "h" => out.push_str(&format!("db-{}.prod.example.com", rng.below(50))),
            "i" => out.push_str(&format!("i-{:x}", rng.next() % 0xffff_ffff)),
            "p" => out.push_str(&format!("10.0.{}.{}", rng.below(255), rng.below(255))),
            "n" => out.push_str(&rng.below(1000).to_string()),
            "d" => out.push_str(&format!("{}s", 1 + rng.below(90))),
            _ => unreachable!("a shape's key"),
        }
    }
    out.push_str(rest);
    (out, svc)
}

/// The process's peak resident memory in MiB (VmHWM), if readable.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak to the current resident set (Linux ≥ 4.0), so each step's peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0} MiB"))
}

fn main() {
    if std::env::var("INSIGHTS_BENCH").as_deref() != Ok("1") {
        eprintln!("not measuring: set INSIGHTS_BENCH=1");
        return;
    }
    let shapes = ADJECTIVES.len() * METRICS.len() * SHAPES.len();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let n_short = 1_000_000;
    let titles: Vec<(String, &str)> = (0..n_short)
        .map(|_| {
            let id = rng.below(shapes);
            title(&mut rng, id)
        })
        .collect();
    let tokens: usize = titles
        .iter()
        .map(|(t, _)| t.split_whitespace().count())
        .sum();
    println!(
        "engine benchmark: {n_short} titles from {shapes} shapes, {:.1} words per title on average, one core",
        tokens as f64 / n_short as f64
    );
    println!(
        "{:<48} {:>14} {:>12} {:>12}",
        "step", "titles/s", "µs/title", "peak memory"
    );

    // (a) Normalization.
    reset_peak();
    let secs = best_of(|| {
        for (t, s) in &titles {
            black_box(Template::of_title(black_box(t), Some(s)));
        }
    });
    row("(a) Template::of_title", n_short, secs, peak_mib());

    // (b) The matcher, against the templates of 2,000 and 20,000 shapes (all shapes, many more by service).
    for n_templates in [2_000, 20_000] {
        let mut m = Matcher::new();
        let mut seen = std::collections::HashSet::new();
        let mut shape_rng = Rng(7);
        let mut id = 0;
        assert!(shapes >= n_templates, "more templates than shapes");
        while m.len() < n_templates {
            // A template per shape: the shape's title with its values masked.
            let (t, s) = title(&mut shape_rng, id % shapes);
            let template = Template::of_title(&t, Some(s));
            if seen.insert(template.to_string()) {
                m.insert(id, template, Origin::Mined);
            }
            id += 1;
        }
        reset_peak();
        let mut hits = 0usize;
        let secs = best_of(|| {
            hits = 0;
            for (t, s) in &titles {
                hits += usize::from(black_box(m.best(black_box(t), Some(s))).is_some());
            }
        });
        row(
            &format!(
                "(b) Matcher::best, {n_templates} templates ({:.0}% hit)",
                100.0 * hits as f64 / n_short as f64
            ),
            n_short,
            secs,
            peak_mib(),
        );
    }

    // (c) Mining a million titles of 3,000 shapes.
    let mining_shapes = 3_000;
    drop(titles);
    let titles: Vec<(String, &str)> = (0..n_short)
        .map(|_| {
            let id = rng.below(mining_shapes);
            title(&mut rng, id)
        })
        .collect();
    let items: Vec<Item<'_>> = titles
        .iter()
        .map(|(t, s)| Item {
            title: t,
            service: Some(s),
        })
        .collect();
    reset_peak();
    let before = peak_mib();
    let mut c = None;
    let secs = best_of(|| c = Some(cluster(&items)));
    let c = c.expect("clustered");
    row(
        "(c) cluster() of 1,000,000 titles",
        n_short,
        secs,
        peak_mib(),
    );
    println!(
        "    {} templates found ({mining_shapes} shapes); {:.2} s; peak {} (resident with the input: {})",
        c.templates.len(),
        secs,
        mib(peak_mib()),
        mib(before)
    );
    for (i, t) in c.templates.iter().take(5).enumerate() {
        let n = c.assignments.iter().filter(|&&a| a as usize == i).count();
        println!("    {n:>8}  {t}");
    }
}

/// The CPU time this thread has used, in seconds (`/proc/thread-self/stat`, user + system, in the kernel's
/// 100 Hz ticks), if readable.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The least time of [`RUNS`] runs of `f`, in seconds: CPU time where the system tells it (on a shared
/// machine, what one core spends), else wall time.
fn best_of(mut f: impl FnMut()) -> f64 {
    (0..RUNS)
        .map(|_| {
            let (start, cpu) = (Instant::now(), cpu_secs());
            f();
            match (cpu, cpu_secs()) {
                (Some(a), Some(b)) if b > a => b - a,
                _ => start.elapsed().as_secs_f64(),
            }
        })
        .fold(f64::INFINITY, f64::min)
}

const RUNS: usize = 3;

fn row(step: &str, n: usize, secs: f64, peak: Option<f64>) {
    println!(
        "{step:<48} {:>14.0} {:>12.3} {:>12}",
        n as f64 / secs,
        secs * 1e6 / n as f64,
        mib(peak)
    );
}
