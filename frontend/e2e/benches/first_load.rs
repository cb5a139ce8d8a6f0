//! First-load benchmark of the web app (`cargo bench -p insights-e2e --bench first_load`): the release build
//! served by the API on loopback, opened in headless Chromium with an empty cache, then reloaded with a warm
//! cache. Prints the median time from navigation start to the app's first render (the `insights:mounted`
//! performance mark), and the bytes transferred for the WASM module. Needs DATABASE_URL and REDIS_URL (as for
//! the tests) and `scripts/build-frontend --release`.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[path = "../tests/browser/harness.rs"]
#[allow(dead_code)]
mod harness;

const RUNS: usize = 7;
const MEASURE: &str = "const nav = performance.getEntriesByType('navigation')[0];
    const mark = performance.getEntriesByName('insights:mounted')[0];
    const wasm = performance.getEntriesByType('resource').find(r => r.name.endsWith('.wasm'));
    return { mounted: mark ? mark.startTime : null, load: nav.loadEventEnd,
             wasm_transfer: wasm ? wasm.transferSize : null, wasm_decoded: wasm ? wasm.decodedBodySize : null };";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let e2e = harness::E2e::start(&[]).await;
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut transfer = 0.0;
    let mut decoded = 0.0;
    for i in 0..RUNS {
        let (c, w, t, d) = e2e
            .run(&format!("first-load-{i}"), |b| async move {
                b.goto("/login").await;
                b.wait_text("main h1", "Log in").await;
                let first = b.execute(MEASURE).await;
                b.reload().await;
                b.wait_text("main h1", "Log in").await;
                let second = b.execute(MEASURE).await;
                (
                    first["mounted"].as_f64().expect("mounted mark"),
                    second["mounted"].as_f64().expect("mounted mark"),
                    first["wasm_transfer"].as_f64().unwrap_or(0.0),
                    first["wasm_decoded"].as_f64().unwrap_or(0.0),
                )
            })
            .await;
        cold.push(c);
        warm.push(w);
        transfer = t;
        decoded = d;
    }
    println!("Web app first load on loopback (headless Chromium, {RUNS} runs, median):");
    println!(
        "  empty cache: first render {:.0} ms after navigation start",
        median(cold)
    );
    println!(
        "  warm cache:  first render {:.0} ms after navigation start",
        median(warm)
    );
    println!(
        "  WASM transferred: {:.0} KiB (gzip), {:.0} KiB decoded",
        transfer / 1024.0,
        decoded / 1024.0
    );
}
