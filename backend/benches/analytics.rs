//! Analytics at scale (`cargo bench -p insights-api --bench analytics`), against a real PostgreSQL and Redis
//! (`DATABASE_URL`, `REDIS_URL`, as `scripts/test` sets them), through the real HTTP API and a worker that keeps
//! the rollups.
//!
//! 1. Seeds one organization with `ANALYTICS_BENCH_INCIDENTS` incidents (default 1,000,000) and two others with
//!    `ANALYTICS_BENCH_OTHERS` each (default 100,000), with `generate_series` straight into the tables: ~40
//!    services in 8 teams, 3 sources, both urgencies, most resolved, log-normal acknowledgement and resolution
//!    delays (some resolved without acknowledgement), repeated titles, over two years. The writes mark the
//!    rollups dirty like any write; the refresher's function (`analytics::refresh::refresh_org`, what the
//!    worker runs every tick) rolls them up, and the time it took is printed.
//! 2. Prints p50/p95 of each analytics endpoint (summary; time series of counts by service per day and per
//!    month; MTTA time series; heatmap; top services) for the last 30 days, the last year and all time, cold
//!    (the organization's cached answers deleted before each request) and warm (served from the answer cache).
//!    Periods are closed (`since` and `until`), as a shared link would be. Targets: p95 < 300 ms cold,
//!    < 100 ms warm.
//! 3. Prints the store pipeline's throughput (`db::incidents::upsert_batch`, batches of
//!    `ANALYTICS_BENCH_BATCH` = 1,000 like a sync, `ANALYTICS_BENCH_STORE` = 100,000 incidents per run) into the
//!    big organization with rollup maintenance off (the analytics triggers on `incidents` disabled) and on (the
//!    triggers, plus the refresher's function rolling up what they marked after each run — all its work),
//!    and the cost in % (target ≤ 10 %), in four rounds alternating which side goes first.
//!
//! Client, server, worker and databases share this machine's cores, so the figures are a floor, not a
//! ceiling. The database it creates is dropped at the end.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[allow(dead_code)] // not every helper is used here
mod support;

use chrono::{DateTime, Duration as Days, DurationRound, TimeDelta, Utc};
use insights_core::analytics::refresh;
use insights_core::db::incidents::upsert_batch;
use insights_ingest::{NormalizedIncident, SourceRef};
use insights_testing::{PASSWORD, TestApp};
use insights_types::OrgId;
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};
use secrecy::ExposeSecret;
use sqlx::{Connection, Executor, PgConnection};
use std::time::{Duration, Instant};
use support::{ms, percentile};

const COLD_RUNS: usize = 15;
const WARM_RUNS: usize = 50;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number"))
    })
}

/// A signed-in owner of a new organization: (email, org).
async fn organization(app: &TestApp, name: &str) -> (String, OrgId) {
    let email = format!("{}@bench.example.com", name.to_lowercase());
    let (_, org) = app.signup(&email, name).await;
    (email, org)
}

/// A fresh access token (they last 15 minutes; seeding takes longer).
async fn token(app: &TestApp, email: &str) -> String {
    let r = app.login(email, PASSWORD).await;
    assert!(r.status.is_success(), "{}", r.text);
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// Rolls up every change marked in `org`, through the refresher's own function (one transaction per pass, as
/// the worker runs it); returns how long that took.
async fn refresh_all(app: &TestApp, org: OrgId) -> Duration {
    let t = Instant::now();
    loop {
        let mut db = app.state.db.org_tx(org, None).await.unwrap();
        let done = refresh::refresh_org(&mut db).await.unwrap();
        db.commit().await.unwrap();
        match done {
            refresh::Refreshed::Days { more: false, .. } => return t.elapsed(),
            refresh::Refreshed::Days { more: true, .. } => {}
            refresh::Refreshed::Busy => panic!("nothing else refreshes here"),
        }
    }
}

/// Deletes every cached analytics answer of `org`.
async fn flush_cache(app: &TestApp, org: OrgId) {
    let mut redis = app.state.redis.clone();
    let pattern = app.state.redis_key(&["analytics", &org.to_string(), "*"]);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(&pattern)
        .query_async(&mut redis)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
}

/// One timed GET; panics unless 200.
async fn timed(client: &reqwest::Client, url: &str, token: &str) -> Duration {
    let t = Instant::now();
    let r = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status();
    let body = r.bytes().await.unwrap();
    let elapsed = t.elapsed();
    assert!(
        status.is_success(),
        "{url}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    elapsed
}

fn p50_p95(mut lat: Vec<Duration>) -> (Duration, Duration) {
    lat.sort();
    (percentile(&lat, 0.5), percentile(&lat, 0.95))
}

fn enc(t: DateTime<Utc>) -> String {
    url::form_urlencoded::byte_serialize(t.to_rfc3339().as_bytes()).collect()
}

/// An incident of the throughput runs: resolved, with a service and team of the seeded ones.
fn incident(run: &str, n: usize, now: DateTime<Utc>) -> NormalizedIncident {
    let at = now - TimeDelta::minutes((n % 100_000) as i64 * 3);
    let s = n % 40;
    NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: format!("{run}-{n:08}"),
        number: Some(n as i64),
        title: format!("Alert {} on service-{s}", n % 5),
        description: Some("Latency SLO burn rate above 14.4 for 5 minutes".into()),
        service: Some(SourceRef {
            external_id: format!("s{s}"),
            name: format!("service-{s}"),
        }),
        team: Some(SourceRef {
            external_id: format!("t{}", s % 8),
            name: format!("Team {}", s % 8),
        }),
        urgency: Some(if n.is_multiple_of(4) {
            Urgency::Low
        } else {
            Urgency::High
        }),
        priority: Some("P2".into()),
        status: IncidentStatus::Resolved,
        triggered_at: at,
        acknowledged_at: Some(at + TimeDelta::minutes(4)),
        resolved_at: Some(at + TimeDelta::minutes(38)),
        assignees: vec!["oncall-primary".into()],
        tags: vec!["latency".into()],
        source_url: None,
        source_updated_at: at + TimeDelta::minutes(38),
        raw: serde_json::json!({ "id": n }),
        timeline: vec![],
    }
}

/// Stores `total` incidents into `org` in batches of `batch`, each in its own transaction; the elapsed time.
async fn store(app: &TestApp, org: OrgId, run: &str, total: usize, batch: usize) -> Duration {
    let now = Utc::now();
    let mut spent = Duration::ZERO;
    let mut n = 0;
    while n < total {
        let items: Vec<NormalizedIncident> = (n..(n + batch).min(total))
            .map(|i| incident(run, i, now))
            .collect();
        let t = Instant::now();
        let mut tx = app.state.db.org_tx(org, None).await.unwrap();
        upsert_batch(&mut tx, None, &items).await.unwrap();
        tx.commit().await.unwrap();
        spent += t.elapsed();
        n += items.len();
    }
    spent
}

/// The user triggers on `incidents` that keep analytics (every one but the integrations' incident counts,
/// which are not analytics and stay on in both runs).
async fn analytics_triggers(c: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT tgname::text FROM pg_trigger
          WHERE tgrelid = 'incidents'::regclass AND NOT tgisinternal AND tgname NOT LIKE 'incidents_count_%'
          ORDER BY 1",
    )
    .fetch_all(c)
    .await
    .unwrap()
}

async fn set_triggers(c: &mut PgConnection, names: &[String], enabled: bool) {
    for name in names {
        let verb = if enabled { "ENABLE" } else { "DISABLE" };
        c.execute(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE incidents {verb} TRIGGER {name}"
        )))
        .await
        .unwrap();
    }
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let big = env_usize("ANALYTICS_BENCH_INCIDENTS", 1_000_000);
    let others = env_usize("ANALYTICS_BENCH_OTHERS", 100_000);
    let stored = env_usize("ANALYTICS_BENCH_STORE", 100_000);
    let batch = env_usize("ANALYTICS_BENCH_BATCH", 1_000);
    // The bench runs the refresher's function itself, after each write phase: its work is measured alone (not
    // the wait for a tick, nor a tick competing with the writes it measures), and all of it is counted. The
    // worker's own refresher never ticks here.
    let app = TestApp::spawn(&[("INSIGHTS_ANALYTICS_REFRESH_MS", "86400000")])
        .await
        .with_worker()
        .await;
    app.allow_pending_jobs();
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();

    // 1. The history.
    let (email, org) = organization(&app, "Big").await;
    let t = Instant::now();
    support::seed_history(&app, org, big, now).await;
    for name in ["Beside", "Other"] {
        let (_, o) = organization(&app, name).await;
        support::seed_history(&app, o, others, now).await;
        refresh_all(&app, o).await;
    }
    println!(
        "seeded {big} incidents (+ 2 × {others} in two other organizations) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let took = refresh_all(&app, org).await;
    println!(
        "rollups built by the refresher's function in {:.1} s",
        took.as_secs_f64()
    );

    // 2. The endpoints.
    let client = reqwest::Client::new();
    let tok = token(&app, &email).await;
    let endpoints = [
        ("summary", "analytics/summary?"),
        (
            "count by service per day",
            "analytics/timeseries?metric=count&bucket=day&group_by=service&",
        ),
        (
            "count by service per month",
            "analytics/timeseries?metric=count&bucket=month&group_by=service&",
        ),
        (
            "mtta (p90) per week",
            "analytics/timeseries?metric=mtta&stat=p90&bucket=week&",
        ),
        ("heatmap", "analytics/heatmap?"),
        (
            "top services by mttr",
            "analytics/top?dimension=service&sort=mttr&",
        ),
    ];
    let ranges = [
        ("30 days", Some(now - Days::days(30))),
        ("1 year", Some(now - Days::days(365))),
        ("all time", None),
    ];
    println!();
    println!(
        "{:<30} {:<9} {:>22} {:>22}",
        "endpoint", "range", "cold p50 / p95", "warm p50 / p95"
    );
    let (mut worst_cold, mut worst_warm) = (Duration::ZERO, Duration::ZERO);
    for (name, path) in endpoints {
        for (range, since) in ranges {
            let period = match since {
                Some(s) => format!("since={}&until={}", enc(s), enc(now)),
                None => format!("until={}", enc(now)),
            };
            let url = format!("{}/api/v1/orgs/{org}/{path}{period}", app.base);
            let mut cold = Vec::new();
            for _ in 0..COLD_RUNS {
                flush_cache(&app, org).await;
                cold.push(timed(&client, &url, &tok).await);
            }
            let mut warm = Vec::new();
            for _ in 0..WARM_RUNS {
                warm.push(timed(&client, &url, &tok).await);
            }
            let (c50, c95) = p50_p95(cold);
            let (w50, w95) = p50_p95(warm);
            worst_cold = worst_cold.max(c95);
            worst_warm = worst_warm.max(w95);
            println!(
                "{name:<30} {range:<9} {:>22} {:>22}",
                format!("{} / {}", ms(c50), ms(c95)),
                format!("{} / {}", ms(w50), ms(w95)),
            );
        }
    }
    println!(
        "worst p95: cold {} (target < 300 ms), warm {} (target < 100 ms); {COLD_RUNS} cold and {WARM_RUNS} warm requests each",
        ms(worst_cold),
        ms(worst_warm)
    );

    // 3. The store pipeline with rollup maintenance off and on.
    let mut c = PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    let triggers = analytics_triggers(&mut c).await;
    println!();
    println!(
        "store pipeline: {stored} incidents in batches of {batch}; analytics triggers on incidents: {triggers:?}"
    );
    let busy = format!(
        "into the organization of {big} (days already holding ~{} incidents each)",
        big / 730
    );
    maintenance_cost(&app, &mut c, &triggers, Some(org), stored, batch, &busy).await;
    let first = "into empty organizations (a first backfill)";
    maintenance_cost(&app, &mut c, &triggers, None, stored, batch, first).await;
}

/// Stores `stored` incidents with rollup maintenance off and on — into `org`, or each run into a new
/// organization — and prints the throughputs and the cost. Four rounds of a quarter each, off and on alternating
/// which goes first: the table grows as the runs go, and the machine's other work comes and goes, and neither
/// may favour one side.
async fn maintenance_cost(
    app: &TestApp,
    c: &mut PgConnection,
    triggers: &[String],
    org: Option<OrgId>,
    stored: usize,
    batch: usize,
    what: &str,
) {
    let (mut off, mut on_store, mut on) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let quarter = stored.div_ceil(4);
    for round in 0..4 {
        for maintained in [round % 2 == 1, round % 2 == 0] {
            set_triggers(c, triggers, maintained).await;
            let run = format!("{}{round}", if maintained { "on" } else { "off" });
            let org = match org {
                Some(org) => org,
                None => organization(app, &format!("Fresh-{run}")).await.1,
            };
            let spent = store(app, org, &run, quarter, batch).await;
            if maintained {
                on_store += spent;
                on += spent + refresh_all(app, org).await;
            } else {
                off += spent;
            }
        }
    }
    set_triggers(c, triggers, true).await;
    let stored = quarter * 4;
    let rate = |d: Duration| stored as f64 / d.as_secs_f64();
    println!("{what}:");
    println!(
        "  rollup maintenance off: {:.0} incidents/s ({:.1} s)",
        rate(off),
        off.as_secs_f64()
    );
    println!(
        "  on, in the store transaction (the triggers' dirty marks): {:.0} incidents/s ({:.1} s): cost {:.1} % (target ≤ 10 %)",
        rate(on_store),
        on_store.as_secs_f64(),
        (1.0 - rate(on_store) / rate(off)) * 100.0
    );
    println!(
        "  plus the refresher's work rolling the marks up (asynchronous in the worker; here run after each write phase, on the same cores): {:.1} s — {:.0} incidents/s overall: cost {:.1} % counting it all",
        (on - on_store).as_secs_f64(),
        rate(on),
        (1.0 - rate(on) / rate(off)) * 100.0
    );
}
