//! Helpers shared by the API benchmarks: latency percentiles, a `/health/live` probe, and a large seeded
//! history.

use secrecy::ExposeSecret;
use sqlx::{Connection, Executor, PgConnection};
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

/// Seeds `n` incidents over two years (the analytics and patterns benchmarks' history: ~40 services in 8 teams, 3
/// sources, five alerts per service, log-normal delays; see `analytics.rs`) before `end` into `org`, as the owner of the tables, with the
/// organization set as a write through `OrgTx` would (so triggers see the same context).
#[allow(dead_code)] // the analytics and patterns benchmarks seed one; the others do not
pub async fn seed_history(
    app: &insights_testing::TestApp,
    org: insights_types::OrgId,
    n: usize,
    end: chrono::DateTime<chrono::Utc>,
) {
    let mut c = PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    sqlx::query("SELECT set_config('app.org_id', $1, false)")
        .bind(org.to_string())
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO teams (id, org_id, source, external_id, name)
         SELECT gen_random_uuid(), $1, 'pagerduty', 't' || t, 'Team ' || t FROM generate_series(0, 7) t;
         ",
    )
    .bind(org.0)
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO services (id, org_id, source, external_id, name)
         SELECT gen_random_uuid(), $1, (ARRAY['pagerduty', 'opsgenie', 'sample'])[1 + s % 3], 's' || s, 'service-' || s
           FROM generate_series(0, 39) s",
    )
    .bind(org.0)
    .execute(&mut c)
    .await
    .unwrap();
    // Per incident: a service (skewed: a few noisy ones; each of one source, as services are), its team (service
    // mod 8), one of five alerts of the
    // service (so titles repeat), a log-normal time to acknowledge (median 2 min) and to resolve (median 25
    // min), 93 % resolved (a fifth of those never acknowledged), 3 % acknowledged, the rest open.
    sqlx::query(
        "WITH x AS (
             SELECT g,
                    floor(40 * power(random(), 2))::int AS s,
                    floor(5 * random())::int AS k,
                    CASE WHEN random() < 0.7 THEN 'high' ELSE 'low' END AS urg,
                    random() AS st, random() AS noack,
                    $3::timestamptz - make_interval(secs => (($2 - g)::float8 / $2) * 730 * 86400
                                                             + random() * 3600) AS at,
                    make_interval(secs => exp(ln(120) + 1.2 * sqrt(-2 * ln(1 - random()))
                                                 * cos(2 * pi() * random()))) AS tta,
                    make_interval(secs => exp(ln(1500) + 1.0 * sqrt(-2 * ln(1 - random()))
                                                 * cos(2 * pi() * random()))) AS ttr
               FROM generate_series(1, $2) g
         )
         INSERT INTO incidents (id, org_id, source, external_id, number, title, service_id, team_id, urgency,
                                status, triggered_at, acknowledged_at, resolved_at, source_updated_at)
         SELECT gen_random_uuid(), $1, svc.source, 'bench-' || x.g, x.g,
                'Alert ' || x.k || ' on service-' || x.s, svc.id, team.id, x.urg,
                CASE WHEN x.st < 0.93 THEN 'resolved' WHEN x.st < 0.96 THEN 'acknowledged' ELSE 'triggered' END,
                x.at,
                CASE WHEN (x.st < 0.93 AND x.noack >= 0.2) OR (x.st >= 0.93 AND x.st < 0.96)
                     THEN x.at + x.tta END,
                CASE WHEN x.st < 0.93 THEN x.at + x.tta + x.ttr END,
                x.at + x.tta + x.ttr
           FROM x
           JOIN services svc ON svc.org_id = $1 AND svc.external_id = 's' || x.s
           JOIN teams team ON team.org_id = $1 AND team.source = 'pagerduty' AND team.external_id = 't' || (x.s % 8)",
    )
    .bind(org.0)
    .bind(n as i32)
    .bind(end)
    .execute(&mut c)
    .await
    .unwrap();
    c.execute("ANALYZE incidents, services, teams")
        .await
        .unwrap();
}
