//! Recurring patterns at scale (`cargo bench -p insights-api --bench patterns`), against a real PostgreSQL and
//! Redis (`DATABASE_URL`, `REDIS_URL`, as `scripts/test` sets them).
//!
//! 1. **The store pipeline's added cost.** Seeds an organization with `PATTERNS_BENCH_HISTORY` incidents
//!    (default 50,000) with `generate_series`, over a few thousand realistic title templates (40 alert
//!    families × 60 components, values varying per incident; see [`seed`]), and refines it, so the matcher
//!    holds what a real organization's would. Then stores `PATTERNS_BENCH_STORE` new incidents (default
//!    20,000) of the same families through `db::incidents::upsert_batch` in batches of `PATTERNS_BENCH_BATCH`
//!    (default 100, a source's page), and in each batch's transaction runs the assignment step again
//!    (`patterns::assign_stored` on the batch, its assignments cleared first, inside a savepoint rolled back
//!    after): the step's own time per incident against the whole store's.
//! 2. **Refinement of `PATTERNS_BENCH_INCIDENTS` incidents** (default 1,000,000) in one organization, seeded the
//!    same way: the first refinement (every incident assigned and written) and a second one with no new data
//!    (steady state), each with its time and the peak resident memory of this process while it ran (`VmHWM`,
//!    reset before through `/proc/self/clear_refs`; PostgreSQL's own memory is not in it).
//!
//! Everything shares this machine's cores, so the figures are a floor, not a ceiling. The database it creates
//! is dropped at the end.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use chrono::{DateTime, Duration as Days, Utc};
use insights_core::db::{Db, incidents::upsert_batch};
use insights_core::patterns;
use insights_ingest::{NormalizedIncident, SourceRef};
use insights_testing::TestApp;
use insights_types::api::{IncidentSource, IncidentStatus};
use insights_types::{IncidentId, OrgId};
use secrecy::ExposeSecret;
use sqlx::{Connection, Executor, PgConnection};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number"))
    })
}

/// Components named in titles (queues, jobs, checks…): words, not numbers, so each makes templates of its own.
const COMPONENTS: [&str; 60] = [
    "orders",
    "billing",
    "refunds",
    "invoices",
    "search",
    "catalog",
    "pricing",
    "cart",
    "checkout",
    "shipping",
    "inventory",
    "emails",
    "sms",
    "push",
    "webhooks",
    "auth",
    "sessions",
    "profiles",
    "avatars",
    "uploads",
    "thumbnails",
    "reports",
    "exports",
    "imports",
    "ledger",
    "payouts",
    "fraud",
    "risk",
    "ratings",
    "reviews",
    "recommendations",
    "feeds",
    "timeline",
    "chat",
    "presence",
    "geo",
    "maps",
    "routing",
    "dispatch",
    "fleet",
    "telemetry",
    "metrics",
    "logs",
    "traces",
    "alerts",
    "audit",
    "compliance",
    "backup",
    "archive",
    "cdn",
    "assets",
    "fonts",
    "i18n",
    "flags",
    "experiments",
    "ads",
    "coupons",
    "loyalty",
    "gifts",
    "subscriptions",
];

/// The title of family `f` for component `c`, with `v` (SQL expressions) as its varying values. 40 families.
fn family_sql() -> String {
    let forms = [
        "'High latency on ' || c || '-api (p99 > ' || (1 + v % 4) || 's)'",
        "c || '-api 5xx error rate above ' || (2 + v % 8) || '%'",
        "'Queue ' || c || ' backlog above ' || (1 + v % 50) * 1000 || ' messages'",
        "'Kafka consumer group ' || c || ' lag is ' || (100 + v % 90000)",
        "'Disk usage above ' || (85 + v % 14) || '% on ' || c || '-db-' || (v % 9)",
        "'Pod ' || c || '-worker-' || substr(md5(v::text), 1, 9) || '-' || substr(md5(v::text), 10, 5) || ' is crash looping'",
        "'Node ip-10-0-' || (v % 64) || '-' || (v % 251) || ' NotReady (' || c || ' pool)'",
        "'Certificate for ' || c || '.example.com expires in ' || (1 + v % 30) || ' days'",
        "'HTTP check failed: https://' || c || '.example.com/health returned ' || (500 + v % 5)",
        "'Replication lag ' || (5 + v % 300) || 's on ' || c || '-replica-' || (v % 3)",
        "'Job ' || c || '-nightly failed (run #' || (1000 + v) || ')'",
        "'Memory usage above ' || (80 + v % 19) || '% on ' || c || '-cache'",
        "'CPU throttling on ' || c || '-api: ' || (20 + v % 70) || '% of periods'",
        "'Connection pool exhausted on ' || c || '-api (' || (50 + v % 150) || ' waiting)'",
        "'Error budget burn rate ' || (2 + v % 12) || 'x on ' || c",
        "'Lambda ' || c || '-handler throttled ' || (10 + v % 900) || ' times in 5m'",
        "'SQS ' || c || '-dlq has ' || (1 + v % 500) || ' messages'",
        "'Cron ' || c || '-sync missed its schedule at ' || lpad((v % 24)::text, 2, '0') || ':00'",
        "'Elevated 429s from ' || c || ' provider: ' || (100 + v % 5000) || '/min'",
        "'Synthetic check ' || c || '-login failed from ' || (ARRAY['eu-west-1', 'us-east-1', 'ap-south-1'])[1 + v % 3]",
        "'Redis ' || c || ' evictions above ' || (100 + v % 9000) || '/s'",
        "'Deadlocks detected on ' || c || '-db (' || (1 + v % 40) || ' in 10m)'",
        "'Slow queries on ' || c || '-db: p95 ' || (200 + v % 4000) || 'ms'",
        "'Autoscaling ' || c || '-api at max replicas (' || (10 + v % 40) || ')'",
        "'Load balancer ' || c || '-lb unhealthy hosts: ' || (1 + v % 6)",
        "'DNS resolution failures for ' || c || '.internal (' || (1 + v % 90) || ' in 5m)'",
        "'Feature flag service timeouts for ' || c || ' (' || (10 + v % 300) || 'ms)'",
        "'Backup of ' || c || '-db failed: snapshot ' || substr(md5(v::text), 1, 12)",
        "'Out of memory kill in ' || c || '-worker-' || (v % 30)",
        "'Thread pool saturation in ' || c || '-api (' || (90 + v % 10) || '%)'",
        "'GC pause above ' || (200 + v % 3000) || 'ms on ' || c || '-jvm-' || (v % 12)",
        "'Webhook deliveries to ' || c || ' failing (' || (5 + v % 95) || '% errors)'",
        "'Search index ' || c || ' lag above ' || (5 + v % 55) || ' minutes'",
        "'Stale data in ' || c || ' cache (' || (10 + v % 120) || ' minutes old)'",
        "'Payment provider timeouts for ' || c || ' above ' || (1 + v % 9) || '%'",
        "'Email bounce rate for ' || c || ' above ' || (2 + v % 8) || '%'",
        "'Mobile crash rate for ' || c || ' screen above ' || (1 + v % 5) || '%'",
        "'Frontend errors on /' || c || ' above ' || (10 + v % 500) || '/min'",
        "'Quota usage for ' || c || ' at ' || (80 + v % 20) || '%'",
        "'Clock skew of ' || (1 + v % 30) || 's on ' || c || '-host-' || (v % 50)",
    ];
    let mut sql = String::from("CASE f");
    for (k, form) in forms.iter().enumerate() {
        sql.push_str(&format!(" WHEN {k} THEN {form}"));
    }
    sql.push_str(" END");
    sql
}

/// Seeds `n` incidents of `org` (numbered from `from`) over two years before `end`, as the owner of the
/// tables: 40 families × 60 components (skewed: a few are frequent), each incident of its component's service.
async fn seed(c: &mut PgConnection, org: OrgId, from: usize, n: usize, end: DateTime<Utc>) {
    sqlx::query("SELECT set_config('app.org_id', $1, false)")
        .bind(org.to_string())
        .execute(&mut *c)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO services (id, org_id, source, external_id, name)
         SELECT gen_random_uuid(), $1, 'pagerduty', c, c || '-service' FROM unnest($2::text[]) c
         ON CONFLICT DO NOTHING",
    )
    .bind(org.0)
    .bind(COMPONENTS.to_vec())
    .execute(&mut *c)
    .await
    .unwrap();
    let sql = format!(
        "WITH x AS (
             SELECT g, floor(40 * power(random(), 1.5))::int AS f,
                    $5::text[] AS comps, floor(60 * power(random(), 2))::int AS k,
                    floor(random() * 100000)::int AS v,
                    $4::timestamptz - make_interval(secs => random() * 730 * 86400) AS at
               FROM generate_series($2::int, $2::int + $3::int - 1) g
         ), y AS (SELECT x.*, comps[k + 1] AS c FROM x)
         INSERT INTO incidents (id, org_id, source, external_id, number, title, service_id, status, triggered_at,
                                resolved_at, source_updated_at)
         SELECT gen_random_uuid(), $1, 'pagerduty', 'bench-' || y.g, y.g, {}, s.id, 'resolved', y.at,
                y.at + interval '30 minutes', y.at
           FROM y JOIN services s ON s.org_id = $1 AND s.source = 'pagerduty' AND s.external_id = y.c",
        family_sql()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(from as i32)
        .bind(n as i32)
        .bind(end)
        .bind(COMPONENTS.to_vec())
        .execute(&mut *c)
        .await
        .unwrap();
    c.execute("ANALYZE incidents, services").await.unwrap();
}

/// New incidents like the seeded ones (titles rendered by the same SQL), as a source would deliver them.
async fn fresh(c: &mut PgConnection, n: usize, now: DateTime<Utc>) -> Vec<NormalizedIncident> {
    let sql = format!(
        "WITH x AS (
             SELECT g, floor(40 * power(random(), 1.5))::int AS f, floor(60 * power(random(), 2))::int AS k,
                    floor(random() * 100000)::int AS v FROM generate_series(1, $1) g
         ), y AS (SELECT x.*, ($2::text[])[k + 1] AS c FROM x)
         SELECT g, c, {} FROM y ORDER BY g",
        family_sql()
    );
    let rows: Vec<(i32, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(n as i32)
        .bind(COMPONENTS.to_vec())
        .fetch_all(&mut *c)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(g, comp, title)| {
            let at = now - Days::seconds(i64::from(g));
            NormalizedIncident {
                source: IncidentSource::Pagerduty,
                external_id: format!("new-{g}"),
                number: Some(i64::from(g)),
                title,
                description: None,
                service: Some(SourceRef {
                    external_id: comp.clone(),
                    name: format!("{comp}-service"),
                }),
                team: None,
                urgency: None,
                priority: None,
                status: IncidentStatus::Triggered,
                triggered_at: at,
                acknowledged_at: None,
                resolved_at: None,
                assignees: Vec::new(),
                tags: Vec::new(),
                source_url: None,
                source_updated_at: at,
                raw: serde_json::json!({}),
                timeline: Vec::new(),
            }
        })
        .collect()
}

/// Resets this process's peak resident memory (Linux), so the next [`peak_rss_mib`] covers what runs between.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident memory since the last reset, in MiB (0 where `/proc` is not there).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn refine(db: &Db, org: OrgId, what: &str) {
    reset_peak_rss();
    let t = Instant::now();
    let mut tx = db.org_tx(org, None).await.unwrap();
    let stats = patterns::refine(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    println!(
        "refinement, {what}: {:.1} s, peak RSS {:.0} MiB — {} incidents, {} patterns ({} new, {} merged away), {} reassigned",
        t.elapsed().as_secs_f64(),
        peak_rss_mib(),
        stats.incidents,
        stats.patterns,
        stats.created,
        stats.merged,
        stats.reassigned
    );
}

async fn store_cost(
    app: &TestApp,
    db: &Db,
    c: &mut PgConnection,
    history: usize,
    stored: usize,
    batch: usize,
) {
    let (_, org) = app.signup("store@bench.example.com", "Store").await;
    let now = Utc::now();
    seed(c, org, 1, history, now - Days::days(1)).await;
    refine(
        db,
        org,
        &format!("{history} incidents (before the store runs)"),
    )
    .await;
    let templates: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pattern_templates WHERE org_id = $1")
            .bind(org.0)
            .fetch_one(&mut *c)
            .await
            .unwrap();
    let incidents = fresh(c, stored, now).await;
    let (mut store, mut assign) = (Duration::ZERO, Duration::ZERO);
    for chunk in incidents.chunks(batch) {
        let mut tx = db.org_tx(org, None).await.unwrap();
        let t = Instant::now();
        upsert_batch(&mut tx, None, chunk).await.unwrap();
        store += t.elapsed();
        let ext: Vec<String> = chunk.iter().map(|i| i.external_id.clone()).collect();
        tx.conn().execute("SAVEPOINT again").await.unwrap();
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE incidents SET pattern_id = NULL, pattern_score = NULL
              WHERE org_id = $1 AND external_id = ANY($2) RETURNING id",
        )
        .bind(org.0)
        .bind(&ext)
        .fetch_all(tx.conn())
        .await
        .unwrap();
        let ids: Vec<IncidentId> = ids.into_iter().map(IncidentId).collect();
        let t = Instant::now();
        patterns::assign_stored(&mut tx, &ids).await.unwrap();
        assign += t.elapsed();
        tx.conn()
            .execute("ROLLBACK TO SAVEPOINT again")
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let (patterns_after, unassigned): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM patterns WHERE org_id = $1),
                (SELECT count(*) FROM incidents WHERE org_id = $1 AND pattern_id IS NULL)",
    )
    .bind(org.0)
    .fetch_one(&mut *c)
    .await
    .unwrap();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / stored as f64;
    println!(
        "store pipeline: {stored} incidents in batches of {batch} over {history} stored ({templates} templates): \
         store {:.0} µs/incident with assignment, of which the assignment step {:.1} µs/incident ({:.1} %); \
         {patterns_after} patterns after, {unassigned} incidents without one",
        per(store),
        per(assign),
        100.0 * assign.as_secs_f64() / store.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let history = env_usize("PATTERNS_BENCH_HISTORY", 50_000);
    let stored = env_usize("PATTERNS_BENCH_STORE", 20_000);
    let batch = env_usize("PATTERNS_BENCH_BATCH", 100);
    let big = env_usize("PATTERNS_BENCH_INCIDENTS", 1_000_000);
    let app = TestApp::spawn(&[]).await;
    // A pool of its own without the API's statement timeout, as the worker's.
    let db = Db::connect_lazy(&app.config.database.url, &app.config.database.role, 4).unwrap();
    let mut c = PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();

    store_cost(&app, &db, &mut c, history, stored, batch).await;

    let (_, org) = app.signup("big@bench.example.com", "Big").await;
    let t = Instant::now();
    seed(&mut c, org, 1, big, Utc::now()).await;
    println!(
        "seeded {big} incidents in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    refine(&db, org, &format!("first of {big} incidents")).await;
    refine(&db, org, &format!("again, {big} incidents, no new data")).await;
    db.pool().close().await;
}
