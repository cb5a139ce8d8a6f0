//! Cross-tenant latency under heavy searches (`cargo bench -p insights-api --bench budgets`), against a real
//! PostgreSQL and Redis (`DATABASE_URL`, `REDIS_URL`, as `scripts/test` sets them). One organization holds
//! 1,000,000 incidents (seeded with `generate_series` straight into the table, under its org id); 15 clients
//! search it without pause for text no incident contains, while another organization lists its incidents
//! every 20 ms. Prints that request's p50/p99 latency (target: under 100 ms), alone and under the searches,
//! and the searches' own latency.
//!
//! Client and server share this machine's cores, so the figures are a floor, not a ceiling.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use insights_testing::TestApp;
use insights_types::OrgId;
use secrecy::ExposeSecret;
use sqlx::{Connection, Executor, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const INCIDENTS: i32 = 1_000_000;
const SEARCHERS: usize = 15;
const SECONDS: u64 = 10;

/// Seeds `n` incidents into `org` as the owner of the tables. The trigram indexes are dropped and built again
/// around the insert (as a bulk load would), and the table analyzed.
async fn seed(app: &TestApp, org: OrgId, n: i32) {
    let mut c = PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    c.execute("DROP INDEX incidents_title_trgm_idx, incidents_description_trgm_idx")
        .await
        .unwrap();
    insights_testing::seed_incidents(app, org, n, chrono::Duration::minutes(1)).await;
    c.execute(
        "CREATE INDEX incidents_title_trgm_idx ON incidents USING gin (title gin_trgm_ops);
         CREATE INDEX incidents_description_trgm_idx ON incidents USING gin (description gin_trgm_ops);
         ANALYZE incidents;",
    )
    .await
    .unwrap();
}

/// `GET path` with `token`, every `every` (or back to back when zero) until `stop`; the sorted latencies.
async fn probe(
    client: reqwest::Client,
    url: String,
    token: String,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> Vec<Duration> {
    let mut lat = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
        let status = r.status();
        let _ = r.bytes().await;
        assert!(status.is_success(), "{url}: {status}");
        lat.push(t.elapsed());
        tokio::time::sleep(every).await;
    }
    lat.sort();
    lat
}

/// "p50 … ms, p99 … ms (n requests)" of sorted latencies.
fn summary(lat: &[Duration]) -> String {
    let at = |p: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    format!(
        "p50 {:.1} ms, p99 {:.1} ms ({} requests)",
        at(0.5),
        at(0.99),
        lat.len()
    )
}

/// Probes the small organization for `SECONDS`, alongside `searchers` clients searching the big one.
async fn measure(
    client: &reqwest::Client,
    small_url: &str,
    small_token: &str,
    search_url: &str,
    big_token: &str,
    searchers: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let stop = Arc::new(AtomicBool::new(false));
    let searches: Vec<_> = (0..searchers)
        .map(|_| {
            tokio::spawn(probe(
                client.clone(),
                search_url.to_owned(),
                big_token.to_owned(),
                Duration::ZERO,
                stop.clone(),
            ))
        })
        .collect();
    let other = tokio::spawn(probe(
        client.clone(),
        small_url.to_owned(),
        small_token.to_owned(),
        Duration::from_millis(20),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut search_lat = Vec::new();
    for s in searches {
        search_lat.extend(s.await.unwrap());
    }
    search_lat.sort();
    (other.await.unwrap(), search_lat)
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let app = TestApp::spawn(&[("INSIGHTS_DATABASE_MAX_CONNECTIONS", "20")]).await;
    let (big, big_org) = app.signup("big@example.com", "Big").await;
    let (small, small_org) = app.signup("small@example.com", "Small").await;
    let started = Instant::now();
    seed(&app, big_org, INCIDENTS).await;
    seed(&app, small_org, 2_000).await;
    println!(
        "Query budgets benchmark ({} cores): {INCIDENTS} incidents seeded in {:.0} s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        started.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let small_url = format!("{}/api/v1/orgs/{small_org}/incidents?limit=50", app.base);
    let search_url = format!(
        "{}/api/v1/orgs/{big_org}/incidents?q=no-such-incident-zq&limit=50",
        app.base
    );
    let (alone, _) = measure(
        &client,
        &small_url,
        &small.token,
        &search_url,
        &big.token,
        0,
    )
    .await;
    println!(
        "  other org's incident list, alone:                 {}",
        summary(&alone)
    );
    let (loaded, searches) = measure(
        &client,
        &small_url,
        &small.token,
        &search_url,
        &big.token,
        SEARCHERS,
    )
    .await;
    println!(
        "  other org's incident list, {SEARCHERS} searches running: {}",
        summary(&loaded)
    );
    println!(
        "  the non-matching searches on 1M incidents:        {}",
        summary(&searches)
    );
}
