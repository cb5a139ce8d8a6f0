//! Helpers shared by the API benchmarks: latency percentiles and a `/health/live` probe.

use std::time::{Duration, Instant};

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Probes `/health/live` every 10 ms for `secs`; returns the sorted latencies.
pub async fn probe_live(client: &reqwest::Client, base: &str, secs: u64) -> Vec<Duration> {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut lat = Vec::new();
    while Instant::now() < end {
        let t = Instant::now();
        let r = client
            .get(format!("{base}/health/live"))
            .send()
            .await
            .expect("live");
        assert!(r.status().is_success());
        let _ = r.bytes().await;
        lat.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    lat.sort();
    lat
}
