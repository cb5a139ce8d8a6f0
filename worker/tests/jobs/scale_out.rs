//! API and worker replicas share nothing but PostgreSQL and Redis, on every run: 2 `insights-api` and 3
//! `insights-worker` processes backfill four organizations at once (~2,000 incidents) while webhooks arrive
//! through both APIs and dashboards are read through both; the worker running the biggest backfill is killed
//! with SIGKILL and another takes it over. Exact counts, no job run twice, every page read once except the
//! ones the dead worker held (`insights_testing::scale_out` says what is checked). The same run at 100,000
//! incidents, with throughput for 1, 2 and 3 workers: `cargo bench -p insights-worker --bench scale`.

use insights_testing::scale_out::{Load, run};
use std::time::Duration;

#[tokio::test]
async fn two_apis_and_three_workers_share_only_postgres_and_redis_and_survive_a_killed_worker() {
    let load = Load {
        apis: 2,
        workers: 3,
        big: 1_200,
        orgs: 3,
        per_org: 250,
        webhooks: 12,
        readers: 2,
        kill_at: Some(0.25),
        // Slow enough to catch the big backfill in the middle: 12 incident pages and ~36 log-entry pages.
        source_delay: Duration::from_millis(20),
        // A bound on a hung run, not a speed check: on 2 busy cores beside the rest of the suite it takes minutes.
        deadline: Duration::from_secs(300),
        settings: vec![
            ("INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS".into(), "3".into()),
            ("INSIGHTS_WORKER_TICK_MS".into(), "200".into()),
        ],
    };
    // Every check is inside: a count off by one, a job run twice or a failed read fails the test.
    let f = run(&load, env!("CARGO_BIN_EXE_insights-worker")).await;
    eprintln!("{f:#?}");
}
