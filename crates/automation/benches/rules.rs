//! Rule evaluation throughput: 1,000 realistic rules of one organization, 100,000 incident changes, through
//! the indexed [`RuleSet`] (and, for comparison, every rule evaluated alone). Prints incidents/s and µs per
//! evaluation. Runs only with `INSIGHTS_BENCH=1` (`cargo test --all-targets` runs benches too):
//!
//! ```sh
//! INSIGHTS_BENCH=1 cargo bench -p insights-automation --bench rules
//! ```

use std::hint::black_box;
use std::time::Instant;

use insights_automation::rules::{CompiledRule, IncidentFacts, RuleSet};
use insights_types::api::{IncidentSource, RuleConditions, Transition, Urgency};
use insights_types::ids::{PatternId, ServiceId, TeamId};
use uuid::Uuid;

const RULES: usize = 1_000;
const CHANGES: usize = 100_000;
const SERVICES: u64 = 300;
const TEAMS: u64 = 25;
const PATTERNS: u64 = 400;
const TAGS: [&str; 8] = ["db", "prod", "staging", "network", "k8s", "payments", "edge", "batch"];
const TITLES: [&str; 8] = [
    "Disk usage above 95% on db-7",
    "High CPU on checkout-api pod checkout-5f9c",
    "Latency p99 above 2s for /api/orders",
    "5xx rate above 5% on edge-lb-2",
    "Replication lag 340s on pg-replica-3",
    "Certificate expires in 7 days for api.example.com",
    "OOMKilled: payments-worker restarted 12 times",
    "Kafka consumer lag above 100k on orders topic",
];

/// A small deterministic generator (no dependency, same figures every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn service(i: u64) -> ServiceId {
    ServiceId(Uuid::from_u128(u128::from(i) + 1))
}
fn team(i: u64) -> TeamId {
    TeamId(Uuid::from_u128(u128::from(i) + 10_000))
}
fn pattern(i: u64) -> PatternId {
    PatternId(Uuid::from_u128(u128::from(i) + 20_000))
}

/// Rules as organizations write them: most scoped to a service or a pattern, some to a team or a source,
/// a few organization-wide on urgency, priority, tags or a title pattern; most react to `triggered`.
fn rule(rng: &mut Rng) -> RuleConditions {
    let mut c = RuleConditions::default();
    if rng.below(10) < 2 {
        c.transitions = vec![Transition::Triggered, Transition::Reopened];
    } else if rng.below(10) == 0 {
        c.transitions = vec![Transition::Resolved];
    }
    match rng.below(100) {
        0..=49 => c.service_ids = (0..1 + rng.below(3)).map(|_| service(rng.below(SERVICES))).collect(),
        50..=69 => c.pattern_ids = vec![pattern(rng.below(PATTERNS))],
        70..=79 => c.team_ids = vec![team(rng.below(TEAMS))],
        80..=89 => c.sources = vec![[IncidentSource::Pagerduty, IncidentSource::Opsgenie][rng.below(2) as usize]],
        _ => {}
    }
    if rng.below(2) == 0 {
        c.urgencies = vec![Urgency::High];
    }
    if rng.below(4) == 0 {
        c.priorities = vec!["P1".into(), "P2".into()];
    }
    if rng.below(5) == 0 {
        c.tags_any = vec![TAGS[rng.below(8) as usize].into()];
    }
    if rng.below(4) == 0 {
        c.title_regex = Some(
            ["disk usage above 9\\d%", "^high cpu", "latency p99", "(5xx|error) rate", "lag \\d+s"]
                [rng.below(5) as usize]
                .into(),
        );
    }
    c
}

fn incident(rng: &mut Rng) -> (IncidentFacts, Transition) {
    let facts = IncidentFacts {
        source: [IncidentSource::Pagerduty, IncidentSource::Opsgenie][rng.below(2) as usize],
        service_id: Some(service(rng.below(SERVICES))),
        team_id: Some(team(rng.below(TEAMS))),
        urgency: Some([Urgency::High, Urgency::Low][rng.below(2) as usize]),
        priority: Some(format!("P{}", 1 + rng.below(5))),
        pattern_id: (rng.below(5) > 0).then(|| pattern(rng.below(PATTERNS))),
        tags: (0..rng.below(4)).map(|_| TAGS[rng.below(8) as usize].to_owned()).collect(),
        title: TITLES[rng.below(8) as usize].to_owned(),
    };
    let transition = match rng.below(10) {
        0..=4 => Transition::Triggered,
        5..=6 => Transition::Acknowledged,
        7..=8 => Transition::Resolved,
        _ => Transition::Updated,
    };
    (facts, transition)
}

// The figures are the point of a bench.
#[allow(clippy::print_stdout)]
fn main() {
    if std::env::var("INSIGHTS_BENCH").as_deref() != Ok("1") {
        return;
    }
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let started = Instant::now();
    let rules: Vec<CompiledRule> = (0..RULES)
        .map(|i| CompiledRule::compile(Uuid::from_u128(i as u128), &rule(&mut rng)).expect("rule compiles"))
        .collect();
    let set = RuleSet::new(rules.clone());
    let build = started.elapsed();
    let changes: Vec<(IncidentFacts, Transition)> = (0..CHANGES).map(|_| incident(&mut rng)).collect();

    let started = Instant::now();
    let mut matched = 0usize;
    for (facts, t) in &changes {
        matched += black_box(set.matching(black_box(facts), *t)).len();
    }
    let indexed = started.elapsed();

    let started = Instant::now();
    let mut matched_alone = 0usize;
    for (facts, t) in changes.iter().take(CHANGES / 10) {
        matched_alone += rules.iter().filter(|r| r.matches(black_box(facts), *t)).count();
    }
    let alone = started.elapsed() * 10;

    let per_s = CHANGES as f64 / indexed.as_secs_f64();
    println!("rule evaluation: {RULES} rules (compiled and indexed in {build:.1?}), {CHANGES} incident changes");
    println!(
        "  indexed RuleSet: {:.0} incidents/s, {:.2} µs per incident change, {} matches ({:.2} per change)",
        per_s,
        indexed.as_secs_f64() * 1e6 / CHANGES as f64,
        matched,
        matched as f64 / CHANGES as f64
    );
    println!(
        "  each rule alone: {:.0} incidents/s, {:.2} µs per incident change ({} matches in the first {})",
        CHANGES as f64 / alone.as_secs_f64(),
        alone.as_secs_f64() * 1e6 / CHANGES as f64,
        matched_alone,
        CHANGES / 10
    );
}
