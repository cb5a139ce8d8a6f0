//! The runbook index at scale (`cargo bench -p insights-index --bench search`), on the embedded qdrant-edge
//! shard on disk:
//!
//! 1. indexes `INDEX_BENCH_CHUNKS` chunks (default 100,000) of runbook-like text in one organization, plus a
//!    tenth as many in each of three others, subject by subject (20 chunks each, as the worker writes a
//!    runbook), and prints the throughput (chunks/s, sparse vectors and dense ones included), then the time
//!    `optimize()` takes to build the shard's indexes;
//! 2. prints search p50/p95/p99 in the big organization over `INDEX_BENCH_QUERIES` queries (default 300), lexical
//!    and hybrid (lexical + dense fused by reciprocal rank), limit 10, with a filter-free and a filtered mix.
//!    Target: p95 < 50 ms.
//!
//! Dense vectors here come from a stand-in (hashed character trigrams, 384 dimensions), not a model: they cost
//! what a real model's vectors of that size cost to store and search, and say nothing about quality. The
//! text is generated from an operations vocabulary (services, components, symptoms, actions, commands), so
//! term statistics look like a real library's: many shared words, long tails of identifiers.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it returns at once.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use insights_index::{ChunkKind, EdgeIndex, Filter, Query, Subject, VectorIndex};
use insights_retrieval::{Chunk, ChunkSource};
use std::time::{Duration, Instant};
use uuid::Uuid;

const DIMS: usize = 384;
const CHUNKS_PER_SUBJECT: usize = 20;

const SERVICES: &[&str] = &[
    "payments-api",
    "checkout",
    "orders-consumer",
    "postgres-main",
    "redis-cache",
    "kafka",
    "ingress-nginx",
    "auth-service",
    "search-indexer",
    "billing-worker",
    "notifications",
    "inventory",
    "gateway",
    "cdn-edge",
    "user-profile",
    "reporting-etl",
    "scheduler",
    "mailer",
    "s3-uploader",
    "ml-scoring",
];
const SYMPTOMS: &[&str] = &[
    "high latency",
    "error rate above 5%",
    "replication lag",
    "consumer lag growing",
    "disk almost full",
    "OOMKilled pods",
    "CrashLoopBackOff",
    "certificate expiring",
    "connection pool exhausted",
    "5xx spike",
    "queue backlog",
    "slow queries",
    "CPU throttling",
    "DNS resolution failures",
    "timeouts to upstream",
    "memory leak",
    "stuck deployment",
    "rate limited by provider",
    "node not ready",
    "TLS handshake errors",
];
const ACTIONS: &[&str] = &[
    "Restart the pods",
    "Scale out the deployment",
    "Roll back the last release",
    "Fail over to the replica",
    "Flush the cache",
    "Rotate the certificate",
    "Increase the pool size",
    "Drain the node",
    "Vacuum the table",
    "Raise the memory limit",
    "Purge the dead-letter queue",
    "Reindex the table",
    "Pause the consumers",
    "Clear the disk of old logs",
    "Renew the lease",
    "Bump the replica count",
    "Kill long-running queries",
    "Re-run the failed job",
    "Disable the feature flag",
    "Open an incident with the provider",
];
const COMMANDS: &[&str] = &[
    "kubectl -n {svc} rollout restart deploy/{svc}",
    "kubectl -n {svc} scale deploy/{svc} --replicas=6",
    "kubectl -n {svc} rollout undo deploy/{svc}",
    "psql -c 'select pid, now() - query_start from pg_stat_activity order by 2 desc limit 20'",
    "redis-cli -h {svc} --scan --pattern 'session:*' | head",
    "aws rds failover-db-cluster --db-cluster-identifier {svc}",
    "kafka-consumer-groups --bootstrap-server kafka:9092 --describe --group {svc}",
    "df -h /var/lib/{svc} && du -sh /var/log/{svc}/*",
    "kubectl top pods -n {svc} --sort-by=memory",
    "openssl s_client -connect {svc}:443 -servername {svc} </dev/null | openssl x509 -noout -dates",
];
const FILLER: &[&str] = &[
    "Check the dashboard first and note the time the alert fired.",
    "If the on-call lead agrees, continue; otherwise escalate to the owning team.",
    "Expect the metric to recover within five minutes.",
    "Write what you did in the incident timeline.",
    "This is safe to run during business hours.",
    "Watch the error budget while doing this.",
    "Confirm with the database team before touching the primary.",
    "Keep the previous version's image tag at hand.",
];

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

fn chunk_text(rng: &mut Rng, svc: &str) -> (String, String) {
    let action = rng.pick(ACTIONS);
    let symptom = rng.pick(SYMPTOMS);
    let command = rng.pick(COMMANDS).replace("{svc}", svc);
    let mut text = format!("{action} of {svc} when you see {symptom}.\n{command}\n");
    for _ in 0..(1 + rng.next() % 3) {
        text.push_str(rng.pick(FILLER));
        text.push(' ');
    }
    text.push_str(&format!(
        "ticket OPS-{} build {}",
        rng.next() % 100_000,
        rng.next() % 10_000
    ));
    (format!("{action} ({svc})"), text)
}

fn subject_chunks(rng: &mut Rng, runbook: Uuid, service: Uuid) -> Vec<Chunk> {
    let svc = rng.pick(SERVICES);
    let title = format!("{} on {svc}", rng.pick(SYMPTOMS));
    (0..CHUNKS_PER_SUBJECT)
        .map(|i| {
            let (heading, text) = chunk_text(rng, svc);
            Chunk {
                source: ChunkSource::Runbook {
                    runbook_id: runbook,
                    version: 1,
                    section: None,
                    step: Some(i as u32),
                },
                title: title.clone(),
                heading: Some(heading),
                text,
                tags: vec![svc.to_owned()],
                service_ids: vec![service],
                pattern_ids: vec![],
            }
        })
        .collect()
}

/// The stand-in embedding (hashed character trigrams of the words, unit length).
fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; DIMS];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let padded: Vec<char> = std::iter::once('^')
            .chain(word.chars().flat_map(char::to_lowercase))
            .chain(std::iter::once('$'))
            .collect();
        for gram in padded.windows(3) {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for c in gram {
                h ^= u64::from(*c as u32);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            v[(h % DIMS as u64) as usize] += sign;
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn fill(
    index: &VectorIndex,
    org: Uuid,
    chunks: usize,
    services: &[Uuid],
    rng: &mut Rng,
) -> Duration {
    let started = Instant::now();
    for _ in 0..chunks.div_ceil(CHUNKS_PER_SUBJECT) {
        let service = services[(rng.next() % services.len() as u64) as usize];
        let chunks = subject_chunks(rng, Uuid::new_v4(), service);
        let dense: Vec<Vec<f32>> = chunks
            .iter()
            .map(|c| embed(&insights_index::indexed_text(c)))
            .collect();
        let subject = Subject::of(&chunks[0]);
        index
            .upsert(org, subject, &chunks, Some(&dense))
            .await
            .unwrap();
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("not measuring: run it with `cargo bench`");
        return;
    }
    let chunks = env("INDEX_BENCH_CHUNKS", 100_000);
    let queries = env("INDEX_BENCH_QUERIES", 300);
    let dir = std::env::temp_dir().join(format!("insights-index-bench-{}", Uuid::new_v4()));
    let index = VectorIndex::Edge(EdgeIndex::open(&dir, Some(DIMS)).await.unwrap());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let org = Uuid::new_v4();
    let services: Vec<Uuid> = (0..SERVICES.len()).map(|_| Uuid::new_v4()).collect();

    let took = fill(&index, org, chunks, &services, &mut rng).await;
    println!(
        "indexing: {chunks} chunks in one organization in {:.1} s = {:.0} chunks/s (sparse + {DIMS}-d dense, flushed per runbook of {CHUNKS_PER_SUBJECT})",
        took.as_secs_f64(),
        chunks as f64 / took.as_secs_f64()
    );
    let mut others = 0;
    for _ in 0..3 {
        others += chunks / 10;
        fill(&index, Uuid::new_v4(), chunks / 10, &services, &mut rng).await;
    }
    println!("plus {others} chunks in three other organizations");
    let started = Instant::now();
    index.optimize().await.unwrap();
    println!(
        "optimize (build the shard's indexes): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        index.count(org).await.unwrap(),
        chunks.div_ceil(CHUNKS_PER_SUBJECT) * CHUNKS_PER_SUBJECT
    );

    let texts: Vec<String> = (0..queries)
        .map(|i| match i % 3 {
            0 => format!("{} {}", rng.pick(SYMPTOMS), rng.pick(SERVICES)),
            1 => format!(
                "how to {} {}",
                rng.pick(ACTIONS).to_lowercase(),
                rng.pick(SERVICES)
            ),
            _ => format!(
                "{} after the release, {}",
                rng.pick(SYMPTOMS),
                rng.pick(SYMPTOMS)
            ),
        })
        .collect();
    let filtered = Filter {
        kinds: vec![ChunkKind::Runbook],
        service_ids: vec![services[0], services[1]],
        ..Filter::default()
    };
    for (label, filter) in [
        ("no filter", Filter::default()),
        ("kind + 2 services", filtered),
    ] {
        for hybrid in [false, true] {
            let mut times = Vec::with_capacity(texts.len());
            let mut empty = 0;
            for t in &texts {
                let q = if hybrid {
                    Query::hybrid(t, embed(t))
                } else {
                    Query::lexical(t)
                };
                let started = Instant::now();
                let hits = index.search(org, &q, &filter, 10).await.unwrap();
                times.push(started.elapsed());
                empty += usize::from(hits.is_empty());
            }
            times.sort();
            println!(
                "search {:7} ({label}): p50 {}  p95 {}  p99 {}  ({} queries, {empty} without hits)",
                if hybrid { "hybrid" } else { "lexical" },
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.95)),
                ms(percentile(&times, 0.99)),
                times.len()
            );
        }
    }
    drop(index);
    let _ = std::fs::remove_dir_all(&dir);
}
