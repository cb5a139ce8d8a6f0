//! Password-guessing load (`cargo bench -p insights-api --bench login`), against a real API server on
//! PostgreSQL and Redis (`DATABASE_URL`, `REDIS_URL`, as `scripts/test` sets them). Prints, for a flood of
//! concurrent wrong passwords against one account and then spread over many accounts:
//! - login throughput: answers per second, and how many were verified (401: an argon2id verification ran)
//!   versus refused by the per-account limit before hashing (429);
//! - `GET /health/live` p50/p99 measured at the same time (and idle, for comparison);
//! - whether the owner's browser, with its device cookie, still logs in during the attack.
//!
//! The per-IP limit is lifted: the attacker is modelled as a botnet with an address per request, so only the
//! per-account limit (`INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT`, default 10 per minute) holds it back. Client and
//! server share this machine's cores, so the figures are a floor, not a ceiling. Nothing is asserted about
//! timings.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

mod support;

use insights_testing::{PASSWORD, TestApp};
use reqwest::StatusCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use support::{ms, percentile, probe_live};

const GUESSERS: usize = 64;
const ACCOUNTS: usize = 20;
const SECONDS: u64 = 8;

#[derive(Default)]
struct Counts {
    verified: AtomicU64,
    limited: AtomicU64,
    other: AtomicU64,
}

/// `GUESSERS` clients send wrong passwords for `SECONDS` against `accounts` in turn, while `/health/live` is
/// probed; prints the figures.
async fn flood(client: &reqwest::Client, base: &str, label: &str, accounts: &[String]) {
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let accounts = Arc::new(accounts.to_vec());
    let mut guessers = Vec::new();
    for g in 0..GUESSERS {
        let (client, base, stop, counts, accounts) = (
            client.clone(),
            base.to_owned(),
            stop.clone(),
            counts.clone(),
            accounts.clone(),
        );
        guessers.push(tokio::spawn(async move {
            let mut n = g;
            while !stop.load(Ordering::Relaxed) {
                let email = &accounts[n % accounts.len()];
                n += GUESSERS;
                let r = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&serde_json::json!({ "email": email, "password": format!("guess {n}") }))
                    .send()
                    .await
                    .expect("login");
                let counter = match r.status() {
                    StatusCode::UNAUTHORIZED => &counts.verified,
                    StatusCode::TOO_MANY_REQUESTS => &counts.limited,
                    _ => &counts.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let _ = r.bytes().await;
            }
        }));
    }
    let started = Instant::now();
    let live = probe_live(client, base, SECONDS).await;
    stop.store(true, Ordering::Relaxed);
    for g in guessers {
        g.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (verified, limited, other) = (
        counts.verified.load(Ordering::Relaxed),
        counts.limited.load(Ordering::Relaxed),
        counts.other.load(Ordering::Relaxed),
    );
    println!(
        "{label}: {:.0} answers/s ({} answers in {elapsed:.1} s: {verified} verified (401), {limited} refused before hashing (429), {other} other)",
        (verified + limited + other) as f64 / elapsed,
        verified + limited + other,
    );
    println!(
        "  GET /health/live meanwhile: p50 {}, p99 {} ({} probes)",
        ms(percentile(&live, 0.5)),
        ms(percentile(&live, 0.99)),
        live.len()
    );
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let app = TestApp::spawn(&[
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_IP", "1000000000"),
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", "10"),
        ("INSIGHTS_DATABASE_MAX_CONNECTIONS", "20"),
    ])
    .await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .unwrap();
    let base = app.base.clone();
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let email = format!("user{i}@example.com");
        app.signup(&email, &format!("Org {i}")).await;
        accounts.push(email);
    }
    // The owner of the first account signs in from their browser before the attack.
    let owner = app
        .send(
            app.raw(reqwest::Method::POST, "/api/v1/auth/login")
                .json(&serde_json::json!({ "email": accounts[0], "password": PASSWORD })),
        )
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text);
    let device = owner
        .headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("insights_device="))
        .and_then(|c| c.split(';').next())
        .expect("a device cookie")
        .to_owned();

    println!(
        "Incident Insights login under password guessing ({} cores, {GUESSERS} concurrent guessers, per-account limit 10/min)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let idle = probe_live(&client, &base, 3).await;
    println!(
        "GET /health/live idle: p50 {}, p99 {}",
        ms(percentile(&idle, 0.5)),
        ms(percentile(&idle, 0.99))
    );
    flood(&client, &base, "one account", &accounts[..1]).await;

    let with_cookie = app
        .send(
            app.raw(reqwest::Method::POST, "/api/v1/auth/login")
                .header(reqwest::header::COOKIE, format!("insights_device={device}"))
                .json(&serde_json::json!({ "email": accounts[0], "password": PASSWORD })),
        )
        .await;
    let without = app
        .send(
            app.raw(reqwest::Method::POST, "/api/v1/auth/login")
                .json(&serde_json::json!({ "email": accounts[0], "password": PASSWORD })),
        )
        .await;
    println!(
        "  the owner right after: with their device cookie {}, from a new browser {}",
        with_cookie.status, without.status
    );

    // Fresh accounts for the spread attack: the first one's window is still exhausted.
    let mut many = Vec::new();
    for i in 0..ACCOUNTS {
        let email = format!("spread{i}@example.com");
        app.signup(&email, &format!("Spread {i}")).await;
        many.push(email);
    }
    flood(&client, &base, &format!("{ACCOUNTS} accounts"), &many).await;
}
