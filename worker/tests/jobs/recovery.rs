//! Job recovery (issue 9, point 7), with the real worker binary: Redis losing its data in the middle of a
//! backfill (`FLUSHALL`), and PostgreSQL restarting, lose no job — running, queued or waiting to retry — and
//! the backfill ends with every incident stored exactly once. And the sweeper never multiplies a job: the
//! same delivery pushed twice is queued once.

use crate::sync::{Sync, TOKEN, setup_with, worker_process};
use insights_core::db::job_runs;
use insights_core::jobs::{Delivery, GenerateSampleData, Job, queue_name};
use insights_testing::TestApp;
use insights_testing::services::{OwnPostgres, OwnRedis};
use insights_testing::smtp::SmtpSink;
use insights_types::Role;
use insights_types::api::{IntegrationOut, JobState};
use serde_json::json;

/// The tasks waiting in the queue of `kind` (due now or later).
async fn queued_tasks(app: &TestApp, kind: &str) -> usize {
    use secrecy::ExposeSecret;
    let queue =
        apalis_redis::Config::default().queue(queue_name(&app.config.jobs.redis_prefix, kind));
    let client = redis::Client::open(app.config.jobs.redis_url.expose_secret()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (now, later): (usize, usize) = redis::pipe()
        .cmd("LLEN")
        .arg(queue.active_jobs_list())
        .cmd("ZCARD")
        .arg(queue.scheduled_jobs_set())
        .query_async(&mut conn)
        .await
        .unwrap();
    now + later
}

#[tokio::test]
async fn pushing_the_same_delivery_twice_queues_the_job_once() {
    let app = TestApp::spawn(&[]).await; // no worker: what is pushed stays in the queue
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let mut tx = app.state.db.org_tx(org, Some(owner.user_id)).await.unwrap();
    let pending = app
        .state
        .jobs
        .record::<GenerateSampleData>(&mut tx, ())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let job = pending.job_run_id();
    app.state.jobs.push(pending).await;
    // The sweeper, unsure whether the push was lost, pushes it again (twice).
    for _ in 0..2 {
        app.state
            .jobs
            .requeue(GenerateSampleData::KIND, org, job, None, Delivery::FIRST)
            .await
            .unwrap();
    }
    assert_eq!(queued_tasks(&app, GenerateSampleData::KIND).await, 1);
    // A new delivery (a retry, a job taken over from a dead worker) is queued.
    app.state
        .jobs
        .requeue(GenerateSampleData::KIND, org, job, None, Delivery::now(1))
        .await
        .unwrap();
    assert_eq!(queued_tasks(&app, GenerateSampleData::KIND).await, 2);
    app.allow_pending_jobs();
}

/// Cancels the verification email that signing up the owner queued (SMTP is configured), so that the jobs
/// and emails a test counts are only its own.
async fn without_the_owners_verification_email(
    app: &TestApp,
    owner: &insights_testing::Session,
    org: insights_types::OrgId,
) {
    let jobs = app.jobs(&owner.token, org).await;
    let mail = jobs
        .iter()
        .find(|j| j.kind == "send_account_email")
        .expect("signing up queued a verification email");
    let mut tx = app.state.db.org_tx(org, None).await.unwrap();
    job_runs::request_cancel(&mut tx, mail.id).await.unwrap();
    tx.commit().await.unwrap();
}

/// Connects a PagerDuty integration named `name`, importing from `since`.
async fn connect(s: &Sync, name: &str, since: chrono::DateTime<chrono::Utc>) -> IntegrationOut {
    s.app
        .connect_pagerduty(&s.owner, s.org, name, TOKEN, json!({ "since": since }))
        .await
}

/// The state and attempts of a job, read from its row.
async fn job_state(s: &Sync, job: insights_types::JobRunId) -> (JobState, i32) {
    let mut tx = s.app.state.db.org_tx(s.org, None).await.unwrap();
    let j = job_runs::get(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    (j.state, j.attempts)
}

/// How many times a job was delivered again (deferred, retried, taken over).
async fn deliveries(s: &Sync, job: insights_types::JobRunId) -> i32 {
    sqlx::query_scalar("SELECT deliveries FROM job_runs WHERE id = $1")
        .bind(job.0)
        .fetch_one(&mut s.db().await)
        .await
        .unwrap()
}

/// Polls the state and attempts of a job until `done` says yes (panics after `secs`).
async fn job_until(
    s: &Sync,
    job: insights_types::JobRunId,
    secs: u64,
    done: impl Fn((JobState, i32)) -> bool,
) -> (JobState, i32) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let j = job_state(s, job).await;
        if done(j) {
            return j;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {job} is still {j:?} after {secs} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits until the backfill of integration `id` has stored a fifth of the fake's history.
async fn under_way(s: &Sync, id: insights_types::IntegrationId) {
    s.wait_for(id, 60, "the backfill to be under way", |i| {
        i.current_run
            .as_ref()
            .is_some_and(|r| r.progress.stored >= 1_000)
    })
    .await;
}

/// From where the fake's history starts (5,000 incidents, one every 30 minutes), so every page holds some.
fn history_start() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::hours(2) - chrono::Duration::minutes(30 * 5_000)
}

#[tokio::test]
async fn redis_losing_its_data_mid_backfill_loses_no_job_and_stores_every_incident_once() {
    let redis = OwnRedis::start();
    let sink = SmtpSink::start(2); // refuses two conversations: the email waits to retry twice
    let sink = sink.await;
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let s = setup_with(
        5_000,
        &[
            ("REDIS_URL", &redis.url),
            ("INSIGHTS_SMTP_URL", &smtp),
            ("INSIGHTS_SMTP_FROM", "insights@example.com"),
            ("INSIGHTS_JOB_BACKOFF_MS", "3000"),
            // One sync at a time per organization: the second integration's backfill waits in the queue.
            ("INSIGHTS_JOB_ORG_CONCURRENCY", "1"),
        ],
    )
    .await;
    without_the_owners_verification_email(&s.app, &s.owner, s.org).await;
    s.pd.set_delay(std::time::Duration::from_millis(25));
    let mut worker = worker_process(&s.vars);
    let first = connect(&s, "PD", history_start()).await;
    let run1 = first.current_run.unwrap().id;
    under_way(&s, first.id).await;
    // Slow the source down until Redis is flushed, so the first backfill is still running then (on a busy
    // machine it could otherwise end first).
    s.pd.set_delay(std::time::Duration::from_millis(400));
    // Running, queued (deferred: the organization's one sync slot is taken) and waiting to retry, all at once.
    let second = connect(
        &s,
        "PD recent",
        chrono::Utc::now() - chrono::Duration::days(2),
    )
    .await;
    let run2 = second.current_run.unwrap().id;
    let mail = s
        .app
        .invite(&s.owner, s.org, "mate@example.com", Role::Member)
        .await
        .delivery
        .expect("an email job")
        .job_id;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while deliveries(&s, run2).await < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second backfill was never deferred"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    job_until(&s, mail, 30, |(state, _)| state == JobState::Retrying).await;
    assert_eq!(
        job_state(&s, run2).await,
        (JobState::Queued, 0),
        "the second backfill waits its turn"
    );
    redis.flush_all().await;
    s.pd.set_delay(std::time::Duration::from_millis(25));

    let done = s.finished(first.id, run1, 180).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:#?}");
    let done2 = s.finished(second.id, run2, 120).await;
    assert_eq!(done2.state, JobState::Succeeded, "{done2:#?}");
    let mail_done = job_until(&s, mail, 60, |(state, _)| !state.is_active()).await;
    worker.kill().ok();
    worker.wait().ok();
    assert_eq!(
        mail_done,
        (JobState::Succeeded, 3),
        "retried after the flush"
    );
    assert_eq!(sink.messages().await.len(), 1, "one email");
    assert_eq!(
        s.counts().await,
        (5_000, 5_000, 15_000, 5_000),
        "every incident and timeline entry, each once"
    );
}

#[tokio::test]
async fn a_postgres_restart_mid_backfill_is_survived_with_every_incident_stored_once() {
    let pg = OwnPostgres::start().await;
    let s = setup_with(5_000, &[("DATABASE_URL", &pg.url)]).await;
    s.pd.set_delay(std::time::Duration::from_millis(25));
    let mut worker = worker_process(&s.vars);
    let i = connect(&s, "PD", history_start()).await;
    let run = i.current_run.unwrap().id;
    under_way(&s, i.id).await;
    pg.restart();
    let done = s.finished(i.id, run, 180).await;
    worker.kill().ok();
    worker.wait().ok();
    assert_eq!(done.state, JobState::Succeeded, "{done:#?}");
    assert_eq!(
        s.counts().await,
        (5_000, 5_000, 15_000, 5_000),
        "every incident and timeline entry, each once"
    );
}

#[tokio::test]
async fn a_delivery_the_queue_consumed_without_the_job_starting_is_replaced_by_the_sweeper() {
    let sink = SmtpSink::start(0).await;
    let smtp = format!("smtp://127.0.0.1:{}", sink.port);
    let mut app = TestApp::spawn_with(
        insights_testing::test_config(&[
            ("INSIGHTS_SMTP_URL", smtp.as_str()),
            ("INSIGHTS_SMTP_FROM", "insights@example.com"),
        ])
        .await,
    )
    .await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    without_the_owners_verification_email(&app, &owner, org).await;
    let (job, inv) =
        crate::record_unpushed_invitation(&app, &owner, org, "late@example.com", false).await;
    let kind = "send_invitation_email";
    app.state
        .jobs
        .requeue(kind, org, job, Some(inv.0), Delivery::FIRST)
        .await
        .unwrap();
    // The queue hands the delivery out and records it done, but the job never started (as when every try
    // the queue made met an unreachable database).
    {
        use secrecy::ExposeSecret;
        let queue =
            apalis_redis::Config::default().queue(queue_name(&app.config.jobs.redis_prefix, kind));
        let id = Delivery::FIRST.task_id(job).to_string();
        let client = redis::Client::open(app.config.jobs.redis_url.expose_secret()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let () = redis::pipe()
            .zrem(queue.scheduled_jobs_set(), &id)
            .lrem(queue.active_jobs_list(), 0, &id)
            .hset(format!("{}:{id}", queue.job_meta_hash()), "status", "Done")
            .ignore()
            .ignore()
            .ignore()
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(queued_tasks(&app, kind).await, 0);
    let worker = insights_worker::Worker::build(app.config.clone())
        .await
        .unwrap();
    let swept = insights_worker::sweeper::sweep_once(worker.state(), std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    assert_eq!(
        queued_tasks(&app, kind).await,
        1,
        "a new delivery is queued"
    );
    app.start_worker().await;
    let done = app.wait_for_job(&owner.token, org, job).await;
    assert_eq!((done.state, done.attempts), (JobState::Succeeded, 1));
    assert_eq!(sink.messages().await.len(), 1);
    app.stop_worker().await;
}
