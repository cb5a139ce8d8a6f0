//! Normalize-and-store throughput (`cargo bench -p insights-api --bench ingest`): incidents per second
//! into PostgreSQL through the batch pipeline every source uses (`db::incidents::upsert_batch`), each incident
//! with two timeline entries, over a dozen services and three teams.
//!
//! It stores a history of `INGEST_BENCH_TOTAL` incidents (default 1,000,000) in batches of `INGEST_BENCH_BATCH`
//! (default 1,000) and reports the rate of the first 100,000 and of the last 100,000, when the tables already
//! hold the rest: a store whose cost grows with the history shows here. Then it stores the last 100,000 again,
//! every row an update, as an incremental sync would. Batches are generated one at a time, outside the timed
//! part, so memory stays flat whatever the size (the peak is printed).
//!
//! Besides wall-clock rates it prints the CPU time per 1,000 incidents of this process (building and encoding
//! batches) and of the PostgreSQL backends serving it, when they run on this machine: on a shared machine wall
//! time is noisy, CPU time much less so. Needs DATABASE_URL and REDIS_URL; the database it creates is dropped
//! at the end.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use chrono::{Duration, TimeZone, Utc};
use insights_core::db::incidents::upsert_batch;
use insights_ingest::{NormalizedEvent, NormalizedIncident, SourceRef};
use insights_testing::{TestApp, fresh_database};
use insights_types::OrgId;
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};
use sqlx::{Connection, Executor, PgConnection};
use std::time::Instant;

/// The size of the windows compared: the first and the last of the history, and the re-sync.
const WINDOW: usize = 100_000;
const EVENTS_PER_INCIDENT: usize = 2;

fn incident(n: usize) -> NormalizedIncident {
    let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(n as i64 * 7);
    NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: format!("Q{n:08}"),
        number: Some(n as i64),
        title: format!("High latency on checkout-{} (p99 > 2s)", n % 12),
        description: Some("Latency SLO burn rate above 14.4 for 5 minutes".into()),
        service: Some(SourceRef {
            external_id: format!("PSVC{}", n % 12),
            name: format!("checkout-{}", n % 12),
        }),
        team: Some(SourceRef {
            external_id: format!("PTEAM{}", n % 3),
            name: format!("team-{}", n % 3),
        }),
        urgency: Some(if n.is_multiple_of(4) {
            Urgency::Low
        } else {
            Urgency::High
        }),
        priority: Some("P2".into()),
        status: IncidentStatus::Resolved,
        triggered_at: at,
        acknowledged_at: Some(at + Duration::minutes(4)),
        resolved_at: Some(at + Duration::minutes(38)),
        assignees: vec!["oncall-primary".into()],
        tags: vec!["latency".into(), "slo".into()],
        source_url: Some(format!("https://acme.pagerduty.com/incidents/Q{n:08}")),
        source_updated_at: at + Duration::minutes(38),
        raw: serde_json::json!({ "id": format!("Q{n:08}"), "type": "incident", "incident_number": n }),
        timeline: vec![
            NormalizedEvent {
                external_id: "t".into(),
                kind: "trigger".into(),
                at,
                actor: None,
                message: None,
                raw: serde_json::json!({}),
            },
            NormalizedEvent {
                external_id: "r".into(),
                kind: "resolve".into(),
                at: at + Duration::minutes(38),
                actor: Some("oncall-primary".into()),
                message: None,
                raw: serde_json::json!({}),
            },
        ],
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number"))
    })
}

/// CPU seconds (user + system) of the processes whose /proc/PID/stat is given; None when one is unreadable.
fn cpu_seconds(pids: &[i32]) -> Option<f64> {
    let mut ticks = 0u64;
    for pid in pids {
        let path = if *pid == 0 {
            "/proc/self/stat".to_owned()
        } else {
            format!("/proc/{pid}/stat")
        };
        let stat = std::fs::read_to_string(path).ok()?;
        // Fields after the command name (which may hold spaces): state is the 1st, utime the 12th, stime the 13th.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        ticks += fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    }
    Some(ticks as f64 / 100.0) // USER_HZ, 100 on Linux
}

/// Peak resident memory of this process in MB (VmHWM).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Where the time of a run of batches went.
#[derive(Default)]
struct Meter {
    incidents: usize,
    events: u64,
    secs: f64,
    client_cpu: f64,
    server_cpu: Option<f64>,
}

impl Meter {
    fn report(&self, what: &str) {
        let per_k = |cpu: f64| format!("{:.1} ms", cpu * 1000.0 / (self.incidents as f64 / 1000.0));
        println!(
            "  {what}: {:.0} incidents/s, {:.0} rows/s with new timeline entries ({} in {:.1} s); CPU per 1,000: client {}, server {}",
            self.incidents as f64 / self.secs,
            (self.incidents as u64 + self.events) as f64 / self.secs,
            self.incidents,
            self.secs,
            per_k(self.client_cpu),
            self.server_cpu.map_or("n/a".into(), per_k),
        );
    }
}

struct Bench {
    app: TestApp,
    org: OrgId,
    admin: PgConnection,
    database: String,
    batch: usize,
}

impl Bench {
    /// CPU seconds of the backends connected to the bench database (None when they run elsewhere).
    async fn server_cpu(&mut self) -> Option<f64> {
        let pids: Vec<i32> =
            sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'")
                .bind(&self.database)
                .fetch_all(&mut self.admin)
                .await
                .ok()?;
        cpu_seconds(&pids)
    }

    /// Stores incidents `range` batch by batch; `expect_new` tells whether each must be inserted or updated.
    async fn store(&mut self, range: std::ops::Range<usize>, expect_new: bool) -> Meter {
        let mut meter = Meter::default();
        let server_before = self.server_cpu().await;
        for start in range.clone().step_by(self.batch) {
            let batch: Vec<NormalizedIncident> = (start..(start + self.batch).min(range.end))
                .map(incident)
                .collect();
            let (cpu_before, started) = (cpu_seconds(&[0]), Instant::now());
            let mut db = self.app.state.db.org_tx(self.org, None).await.unwrap();
            let stats = upsert_batch(&mut db, None, &batch).await.unwrap();
            db.commit().await.unwrap();
            meter.secs += started.elapsed().as_secs_f64();
            meter.client_cpu += cpu_seconds(&[0]).unwrap_or(0.0) - cpu_before.unwrap_or(0.0);
            let stored = if expect_new {
                stats.inserted
            } else {
                stats.updated
            };
            assert_eq!(stored as usize, batch.len(), "{stats:?}");
            meter.incidents += batch.len();
            meter.events += stats.events_inserted;
        }
        meter.server_cpu = match (server_before, self.server_cpu().await) {
            (Some(before), Some(after)) => Some(after - before),
            _ => None,
        };
        meter
    }
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let total = env_usize("INGEST_BENCH_TOTAL", 1_000_000);
    let batch = env_usize("INGEST_BENCH_BATCH", 1_000);
    let url = fresh_database().await;
    let database = url.rsplit('/').next().unwrap().to_owned();
    let app = TestApp::spawn(&[("DATABASE_URL", url.as_str())]).await;
    let (_, org) = app.signup("bench@example.com", "Bench").await;
    let admin_url = std::env::var("DATABASE_URL").unwrap();
    let admin = PgConnection::connect(&admin_url).await.unwrap();
    let mut bench = Bench {
        app,
        org,
        admin,
        database,
        batch,
    };
    println!(
        "Normalize-and-store benchmark: {total} incidents in batches of {batch}, {EVENTS_PER_INCIDENT} timeline entries each"
    );

    let first = WINDOW.min(total);
    bench
        .store(0..first, true)
        .await
        .report(&format!("insert, first {first}"));
    let rss_first = peak_rss_mb();
    if total > first {
        let last = total - WINDOW.min(total - first);
        let middle = bench.store(first..last, true).await;
        if middle.incidents > 0 {
            middle.report(&format!("insert, incidents {first}..{last}"));
        }
        bench.store(last..total, true).await.report(&format!(
            "insert, last {} (table holds {last} before)",
            total - last
        ));
    }
    let resync = total - WINDOW.min(total);
    bench.store(resync..total, false).await.report(&format!(
        "re-sync of the last {} (same versions again)",
        total - resync
    ));
    println!(
        "  peak RSS: {rss_first:.0} MB after the first {first}, {:.0} MB at the end",
        peak_rss_mb()
    );

    // Drop the (large) database.
    let Bench {
        app,
        mut admin,
        database,
        ..
    } = bench;
    app.state.db.pool().close().await;
    drop(app);
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {database} WITH (FORCE)"
        )))
        .await
        .unwrap();
}
