//! Scale-out (`cargo bench -p insights-worker --bench scale`; the release `insights-api` binary beside the
//! worker's is used, built when missing — rebuild it after changing the API): API and worker replicas share
//! nothing but PostgreSQL and Redis. `insights_testing::scale_out` starts `insights-api` and `insights-worker` processes
//! (JSON logs on) against one PostgreSQL and Redis and a fake PagerDuty, and runs at once a big organization's
//! backfill (`SCALE_BENCH_INCIDENTS`, default 100,000 — one job: its pages follow each other), the backfills
//! of `SCALE_BENCH_ORGS` other organizations (default 6 × `SCALE_BENCH_ORG_INCIDENTS` = 10,000: the work that
//! spreads over workers), a storm of `SCALE_BENCH_WEBHOOKS` webhook deliveries (default 3,000) into the APIs
//! round-robin over those organizations, and dashboard reads (analytics summary, incident list) through every
//! API. Its checks are assertions (exact counts, no job run twice, pages read once).
//!
//! First the proof: 2 APIs and 3 workers, and the worker running the big backfill is killed with SIGKILL
//! once a third is stored (another takes it over after `INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS`, here 5 s).
//! Then throughput with 2 APIs and each of `SCALE_BENCH_WORKERS` workers (default `1,2,3`), no kill:
//! incidents backfilled per second (all organizations), the big backfill's own time, webhook deliveries
//! applied per second, dashboard reads, and where the machine's CPU went. `SCALE_BENCH_SOURCE_DELAY_MS`
//! (default 0) delays every answer of the fake PagerDuty, as a real API's latency does: then backfills wait on
//! the source rather than on the CPU, and more workers (more job slots) finish independent organizations
//! sooner. Timings are printed, never asserted. Needs DATABASE_URL and REDIS_URL, like the tests.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use insights_testing::scale_out::{Figures, Load, run};
use std::time::Duration;

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).map_or(default, |v| {
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number"))
    })
}

fn print(what: &str, f: &Figures) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {what}: {} incidents in {:.1} s = {:.0} incidents/s (the big backfill alone {:.1} s; the other \
         organizations' {} in {:.1} s = {:.0}/s); {} webhooks applied in {:.1} s = {:.0}/s; {} dashboard reads, \
         {:.0}/s, p50 {:.0} ms, p99 {:.0} ms",
        f.backfilled,
        f.backfill_secs,
        f.incidents_per_sec(),
        f.big_secs,
        f.others,
        f.others_secs,
        f.others_per_sec(),
        f.webhooks,
        f.webhook_secs,
        f.webhooks_per_sec(),
        f.reads,
        f.reads_per_sec,
        ms(f.read_p50),
        ms(f.read_p99),
    );
    let spread: Vec<String> = f
        .per_worker
        .iter()
        .map(|(name, syncs, hooks, other)| {
            format!("{name} {syncs} syncs + {hooks} webhooks + {other} other")
        })
        .collect();
    println!(
        "    recorded attempts per worker: {}; {} pages served by the fake, {} read twice; {} duplicate deliveries \
         ignored",
        spread.join(", "),
        f.pages,
        f.pages_read_again,
        f.duplicates_ignored,
    );
    let c = &f.cpu;
    let share = |secs: f64| 100.0 * secs / c.busy_secs.max(1e-9);
    println!(
        "    CPU over {:.0} s: {:.2} of {} cores busy; of the busy time workers {:.0}%, APIs {:.0}%, this bench (fake \
         PagerDuty, storm, readers) {:.0}%, the rest (PostgreSQL, Redis, other) {:.0}%",
        c.wall_secs,
        c.busy_cores(),
        c.cores,
        share(c.workers_secs),
        share(c.apis_secs),
        share(c.bench_secs),
        share(c.rest_secs()),
    );
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let workers: Vec<usize> = std::env::var("SCALE_BENCH_WORKERS")
        .unwrap_or_else(|_| "1,2,3".into())
        .split(',')
        .map(|s| s.trim().parse().expect("SCALE_BENCH_WORKERS: numbers"))
        .collect();
    let load = Load {
        apis: env_num("SCALE_BENCH_APIS", 2),
        workers: 3,
        big: env_num("SCALE_BENCH_INCIDENTS", 100_000),
        orgs: env_num("SCALE_BENCH_ORGS", 6),
        per_org: env_num("SCALE_BENCH_ORG_INCIDENTS", 10_000),
        webhooks: env_num("SCALE_BENCH_WEBHOOKS", 3_000),
        readers: env_num("SCALE_BENCH_READERS", 4),
        kill_at: Some(1.0 / 3.0),
        source_delay: Duration::from_millis(env_num("SCALE_BENCH_SOURCE_DELAY_MS", 0)),
        deadline: Duration::from_secs(1_800),
        settings: vec![("INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS".into(), "5".into())],
    };
    println!(
        "Scale-out: {} API + {} worker processes, one PostgreSQL and Redis; a {}-incident backfill, {} other \
         organizations × {}, {} webhooks and {} dashboard readers at once; the source answers after {} ms",
        load.apis,
        load.workers,
        load.big,
        load.orgs,
        load.per_org,
        load.webhooks,
        load.readers,
        load.source_delay.as_millis()
    );
    let f = run(&load, env!("CARGO_BIN_EXE_insights-worker")).await;
    print("with a worker killed (SIGKILL) mid-backfill", &f);
    let taken: Vec<String> = f
        .taken_over
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    println!(
        "    taken over by other workers: {} (every job running on the killed worker); the big backfill resumed {:.1} s \
         after the kill; every count exact, one recorded success per job",
        taken.join(", "),
        f.takeover.map_or(f64::NAN, |d| d.as_secs_f64()),
    );
    println!(
        "Throughput by number of workers ({} APIs, no kill):",
        load.apis
    );
    for n in workers {
        let f = run(
            &Load {
                workers: n,
                kill_at: None,
                ..load.clone()
            },
            env!("CARGO_BIN_EXE_insights-worker"),
        )
        .await;
        print(&format!("{n} worker(s)"), &f);
    }
}
