//! The patterns API at scale (`cargo bench -p insights-api --bench patterns_api`), against a real PostgreSQL and
//! Redis (`DATABASE_URL`, `REDIS_URL`, as `scripts/test` sets them), through the real HTTP API.
//!
//! 1. Seeds one organization with the analytics benchmark's history (`PATTERNS_API_BENCH_INCIDENTS`, default
//!    1,000,000 incidents over two years) and assigns them to `PATTERNS_API_BENCH_PATTERNS` patterns (default
//!    10,000; skewed: a few large, a long tail), as refinement would leave them, with counts, first and last
//!    seen, examples and co-occurring pairs. Mining itself is the engine's and refinement's benchmark.
//! 2. Prints p50/p95 of the pattern list (by count and by cost) for the last 30 days, the last year and all
//!    time; of one large pattern's detail for 30 days and all time; of the incident detail (its why, similar and
//!    related incidents); and of the analytics grouped and filtered by pattern (answer cache emptied before each
//!    request). Periods are closed, as a shared link would be.
//!
//! Client, server and database share this machine's cores, so the figures are a floor, not a ceiling. The
//! database it creates is dropped at the end.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[allow(dead_code)] // not every helper is used here
mod support;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use insights_testing::{PASSWORD, TestApp};
use insights_types::OrgId;
use secrecy::ExposeSecret;
use sqlx::{Connection, Executor, PgConnection};
use std::time::{Duration, Instant};
use support::{ms, percentile};

const RUNS: usize = 9;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number"))
    })
}

/// `n` patterns for `org`'s incidents, as refinement leaves them: each incident in one (a skewed choice), the
/// figures the store pipeline keeps, and pairs of neighbouring large patterns that co-occur.
async fn assign_patterns(app: &TestApp, org: OrgId, n: usize) {
    let mut c = PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    sqlx::query("SELECT set_config('app.org_id', $1, false)")
        .bind(org.to_string())
        .execute(&mut c)
        .await
        .unwrap();
    for statement in [
        "INSERT INTO patterns (id, org_id, template)
         SELECT gen_random_uuid(), $1, 'Alert <num> of kind ' || p || ' on <service>' FROM generate_series(1, $2) p",
        "WITH a AS (SELECT array_agg(id ORDER BY id) AS ids FROM patterns WHERE org_id = $1)
         UPDATE incidents i SET pattern_id = a.ids[1 + floor($2 * power(random(), 3))::int], pattern_score = 0.9
           FROM a WHERE i.org_id = $1",
        "UPDATE patterns p SET incident_count = s.n, first_seen = s.first, last_seen = s.last,
                               examples = to_jsonb(s.examples)
           FROM (SELECT pattern_id, count(*) AS n, min(triggered_at) AS first, max(triggered_at) AS last,
                        (array_agg(DISTINCT title))[1:5] AS examples
                   FROM incidents WHERE org_id = $1 AND pattern_id IS NOT NULL GROUP BY pattern_id) s
          WHERE p.org_id = $1 AND p.id = s.pattern_id AND $2 > 0",
        "INSERT INTO pattern_templates (id, org_id, pattern_id, template, origin)
         SELECT gen_random_uuid(), $1, id, template, 'mined' FROM patterns WHERE org_id = $1 AND $2 > 0",
        "WITH big AS (SELECT id, row_number() OVER (ORDER BY incident_count DESC, id) AS r FROM patterns
                       WHERE org_id = $1 AND $2 > 0)
         INSERT INTO pattern_pairs (org_id, pattern_a, pattern_b, together, last_at)
         SELECT $1, LEAST(a.id, b.id), GREATEST(a.id, b.id), 100 - a.r, now()
           FROM big a JOIN big b ON b.r = a.r + 1 WHERE a.r < 50",
    ] {
        sqlx::query(statement)
            .bind(org.0)
            .bind(n as i32)
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.execute("ANALYZE incidents, patterns, pattern_templates, pattern_pairs")
        .await
        .unwrap();
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
async fn timed(client: &reqwest::Client, url: &str, token: &str) -> (Duration, serde_json::Value) {
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
    (elapsed, serde_json::from_slice(&body).unwrap_or_default())
}

fn enc(t: DateTime<Utc>) -> String {
    url::form_urlencoded::byte_serialize(t.to_rfc3339().as_bytes()).collect()
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let incidents = env_usize("PATTERNS_API_BENCH_INCIDENTS", 1_000_000);
    let patterns = env_usize("PATTERNS_API_BENCH_PATTERNS", 10_000);
    let app = TestApp::spawn(&[("INSIGHTS_ANALYTICS_REFRESH_MS", "86400000")]).await;
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let email = "big@bench.example.com";
    let (_, org) = app.signup(email, "Big").await;
    let t = Instant::now();
    support::seed_history(&app, org, incidents, now).await;
    assign_patterns(&app, org, patterns).await;
    println!(
        "seeded {incidents} incidents in {patterns} patterns in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let r = app.login(email, PASSWORD).await;
    let token = r.body["access_token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let base = format!("{}/api/v1/orgs/{org}", app.base);

    let periods = [
        (
            "30 days",
            format!(
                "since={}&until={}&",
                enc(now - TimeDelta::days(30)),
                enc(now)
            ),
        ),
        (
            "a year",
            format!(
                "since={}&until={}&",
                enc(now - TimeDelta::days(365)),
                enc(now)
            ),
        ),
        ("all time", format!("until={}&", enc(now))),
    ];
    let (_, top) = timed(&client, &format!("{base}/patterns?limit=1"), &token).await;
    let big = top["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, incident) = timed(
        &client,
        &format!("{base}/incidents?pattern={big}&limit=1"),
        &token,
    )
    .await;
    let incident = incident["items"][0]["id"].as_str().unwrap().to_owned();
    let mut reads: Vec<(String, String)> = Vec::new();
    for (name, period) in &periods {
        reads.push((
            format!("patterns by count, {name}"),
            format!("patterns?{period}"),
        ));
        reads.push((
            format!("patterns by cost, {name}"),
            format!("patterns?{period}sort=cost"),
        ));
    }
    for (name, period) in [&periods[0], &periods[2]] {
        reads.push((
            format!("a large pattern's detail, {name}"),
            format!("patterns/{big}?{period}"),
        ));
        reads.push((
            format!("top patterns (analytics), {name}"),
            format!("analytics/top?dimension=pattern&{period}"),
        ));
        reads.push((
            format!("summary of one pattern (analytics), {name}"),
            format!("analytics/summary?pattern={big}&{period}"),
        ));
    }
    reads.push((
        "count by pattern per day (analytics), 30 days".to_owned(),
        format!(
            "analytics/timeseries?group_by=pattern&bucket=day&{}",
            periods[0].1
        ),
    ));
    reads.push((
        "incident detail with its pattern".to_owned(),
        format!("incidents/{incident}"),
    ));
    reads.push((
        "incidents of one pattern".to_owned(),
        format!("incidents?pattern={big}"),
    ));
    println!("p50 / p95 of {RUNS} requests each (analytics answers uncached):");
    for (name, path) in reads {
        let mut lat = Vec::new();
        for _ in 0..RUNS {
            flush_cache(&app, org).await;
            lat.push(timed(&client, &format!("{base}/{path}"), &token).await.0);
        }
        lat.sort();
        println!(
            "  {name}: {} / {}",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.95))
        );
    }
}
