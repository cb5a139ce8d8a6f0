//! API benchmark (`cargo bench -p insights-api --bench api`), against a real PostgreSQL and Redis
//! (`DATABASE_URL`, `REDIS_URL`, as `scripts/test` sets them). Prints:
//! 1. authenticated `GET /api/v1/me`: requests per second and p50/p99 latency, 16 concurrent clients;
//! 2. p99 of `GET /health/live` alone, then while 4 clients hammer `POST /auth/login` (argon2id each) —
//!    password hashing runs on the blocking pool, bounded, so the async runtime keeps answering.
//!
//! Client and server share this machine's cores, so the figures are a floor, not a ceiling.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

mod support;

use insights_testing::{PASSWORD, TestApp};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{ms, percentile, probe_live};

const ME_CLIENTS: usize = 16;
const ME_SECONDS: u64 = 8;
const LOGIN_CLIENTS: usize = 4;
const LOGIN_SECONDS: u64 = 8;

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let app = TestApp::spawn(&[
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_IP", "1000000"),
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", "1000000"),
        ("INSIGHTS_DATABASE_MAX_CONNECTIONS", "20"),
    ])
    .await;
    let (session, _) = app.signup("bench@example.com", "Bench Org").await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let base = app.base.clone();
    println!(
        "Incident Insights API benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. GET /api/v1/me
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..ME_CLIENTS {
        let (client, base, token, stop) = (
            client.clone(),
            base.clone(),
            session.token.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = client
                    .get(format!("{base}/api/v1/me"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("me");
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(ME_SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat: Vec<Duration> = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort();
    println!(
        "GET /api/v1/me (authenticated, {ME_CLIENTS} clients, {ME_SECONDS} s): {:.0} req/s, p50 {}, p99 {} ({} requests)",
        lat.len() as f64 / elapsed,
        ms(percentile(&lat, 0.50)),
        ms(percentile(&lat, 0.99)),
        lat.len()
    );

    // 2. /health/live, idle and under a login flood.
    let idle = probe_live(&client, &base, 3).await;
    println!(
        "GET /health/live idle: p50 {}, p99 {}",
        ms(percentile(&idle, 0.5)),
        ms(percentile(&idle, 0.99))
    );
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicU64::new(0));
    let mut flood = Vec::new();
    for _ in 0..LOGIN_CLIENTS {
        let (client, base, stop, logins) =
            (client.clone(), base.clone(), stop.clone(), logins.clone());
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(
                        &serde_json::json!({ "email": "bench@example.com", "password": PASSWORD }),
                    )
                    .send()
                    .await
                    .expect("login");
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await;
                logins.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let busy = probe_live(&client, &base, LOGIN_SECONDS).await;
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.await.unwrap();
    }
    println!(
        "GET /health/live while {LOGIN_CLIENTS} clients hammer /auth/login ({:.1} logins/s): p50 {}, p99 {}",
        logins.load(Ordering::Relaxed) as f64 / LOGIN_SECONDS as f64,
        ms(percentile(&busy, 0.5)),
        ms(percentile(&busy, 0.99))
    );
}
