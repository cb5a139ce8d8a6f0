//! Imports end to end: the API connects an integration, the worker pulls the history from a PagerDuty that
//! speaks the REST API's wire protocol (`FakePagerDuty`), through the real connector, into PostgreSQL; then
//! incremental syncs, webhooks, cancellation, deletion, rate limits, an unreachable source — and a worker
//! process killed in the middle of a backfill.

use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_testing::{Session, TestApp, config_from, test_env};
use insights_types::api::{
    IncidentOut, IntegrationOut, IntegrationStatus, JobRunOut, JobState, Page, SyncRunOut,
};
use insights_types::{IntegrationId, JobRunId, OrgId};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

pub(crate) const TOKEN: &str = "pd-e2e-token-1";

pub(crate) struct Sync {
    pub(crate) app: TestApp,
    pub(crate) pd: FakePagerDuty,
    pub(crate) vars: HashMap<String, String>,
    pub(crate) owner: Session,
    pub(crate) org: OrgId,
}

/// An API, a fake PagerDuty with `incidents` in its history (one every 30 minutes), and a signed-up owner.
/// The worker is not started: tests start it (in process with [`Sync::with_worker`], or as a process).
async fn setup(incidents: u64) -> Sync {
    setup_with(incidents, &[]).await
}

/// [`setup`] with more settings (or other services: `DATABASE_URL`, `REDIS_URL`).
pub(crate) async fn setup_with(incidents: u64, settings: &[(&str, &str)]) -> Sync {
    let pd = FakePagerDuty::start(
        TOKEN,
        History::recent(incidents, chrono::Duration::minutes(30)),
    )
    .await;
    let mut env = vec![
        ("INSIGHTS_PAGERDUTY_API_URL", pd.url.as_str()),
        ("INSIGHTS_JOB_MAX_ATTEMPTS", "4"),
        ("INSIGHTS_JOB_BACKOFF_MS", "100"),
        ("INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS", "2"),
        ("INSIGHTS_WORKER_TICK_MS", "200"),
        ("INSIGHTS_SOURCE_BACKOFF_MS", "10"),
        ("INSIGHTS_SOURCE_MAX_ATTEMPTS", "3"),
        ("INSIGHTS_SOURCE_TIMEOUT_SECS", "5"),
    ];
    env.extend_from_slice(settings);
    let vars = test_env(&env).await;
    let app = TestApp::spawn_with(config_from(&vars)).await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    Sync {
        app,
        pd,
        vars,
        owner,
        org,
    }
}

impl Sync {
    /// With a worker in this process.
    pub(crate) async fn with_worker(self) -> Sync {
        Sync {
            app: self.app.with_worker().await,
            ..self
        }
    }

    /// Connects PagerDuty, importing the whole history (from 2009: years of empty windows first).
    pub(crate) async fn connect(&self) -> IntegrationOut {
        self.connect_with(json!({})).await
    }

    pub(crate) async fn connect_with(&self, options: serde_json::Value) -> IntegrationOut {
        self.app
            .connect_pagerduty(&self.owner, self.org, "PD", TOKEN, options)
            .await
    }

    pub(crate) async fn integration(&self, id: IntegrationId) -> IntegrationOut {
        self.app
            .get(
                &format!("/api/v1/orgs/{}/integrations/{id}", self.org),
                &self.owner.token,
            )
            .await
            .json()
    }

    /// Polls the integration until `done` says yes (or `secs` pass).
    pub(crate) async fn wait_for(
        &self,
        id: IntegrationId,
        secs: u64,
        what: &str,
        done: impl Fn(&IntegrationOut) -> bool,
    ) -> IntegrationOut {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let i = self.integration(id).await;
            if done(&i) {
                return i;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still waiting for {what} after {secs} s: {i:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the sync `run` has ended; returns it.
    pub(crate) async fn finished(&self, id: IntegrationId, run: JobRunId, secs: u64) -> SyncRunOut {
        let i = self
            .wait_for(id, secs, "the sync to end", |i| {
                i.current_run
                    .as_ref()
                    .is_some_and(|r| r.id == run && !r.state.is_active())
            })
            .await;
        i.current_run.unwrap()
    }

    pub(crate) async fn sync_now(&self, id: IntegrationId) -> SyncRunOut {
        let r = self
            .app
            .post(
                &format!("/api/v1/orgs/{}/integrations/{id}/sync", self.org),
                &self.owner.token,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        r.json()
    }

    /// Connects PagerDuty, waits for the backfill, and sets the webhook signing secret `pd-signing-secret`.
    async fn connected_with_webhook_secret(&self) -> IntegrationOut {
        let i = self.connect().await;
        self.finished(i.id, i.current_run.clone().unwrap().id, 30)
            .await;
        self.app
            .patch(
                &format!("/api/v1/orgs/{}/integrations/{}", self.org, i.id),
                &self.owner.token,
                json!({ "webhook_secret": "pd-signing-secret" }),
            )
            .await;
        i
    }

    /// Makes the webhook delivery `key` eight days old and runs the scheduler's pass (which purges what is
    /// past the retention); returns how many deliveries and `process_webhook` jobs are left.
    async fn purge_after_a_week(&self, key: &str) -> (i64, i64) {
        let mut c = self.db().await;
        sqlx::query(
            "UPDATE webhook_deliveries SET created_at = now() - interval '8 days' WHERE delivery_key = $1",
        )
        .bind(key)
        .execute(&mut c)
        .await
        .unwrap();
        let state = insights_worker::Worker::build(config_from(&self.vars))
            .await
            .unwrap();
        insights_worker::scheduler::tick(state.state())
            .await
            .unwrap();
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM webhook_deliveries),
                    (SELECT count(*) FROM job_runs WHERE kind = 'process_webhook')",
        )
        .fetch_one(&mut c)
        .await
        .unwrap()
    }

    /// Posts `body` to the integration's PagerDuty webhook, signed with `pd-signing-secret`, as delivery `id`
    /// when given.
    async fn deliver_signed(
        &self,
        integration: IntegrationId,
        id: Option<&str>,
        body: String,
    ) -> insights_testing::TestResponse {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"pd-signing-secret").unwrap();
        mac.update(body.as_bytes());
        let sig = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        let mut req = self
            .app
            .raw(Method::POST, &format!("/hooks/pagerduty/{integration}"))
            .header("content-type", "application/json")
            .header("x-pagerduty-signature", sig);
        if let Some(id) = id {
            req = req.header("x-webhook-id", id);
        }
        self.app.send(req.body(body)).await
    }

    pub(crate) async fn db(&self) -> sqlx::PgConnection {
        use secrecy::ExposeSecret;
        use sqlx::Connection;
        sqlx::PgConnection::connect(self.app.config.database.url.expose_secret())
            .await
            .unwrap()
    }

    /// (incidents, distinct external ids, timeline entries, incidents with an acknowledgement time).
    /// Disconnects the integration with `?data=` `keep` or `delete`, waits for the job that does it, and checks
    /// that the integration is gone; returns the job.
    async fn disconnect(&self, id: IntegrationId, data: &str) -> JobRunOut {
        let path = format!("/api/v1/orgs/{}/integrations/{id}", self.org);
        let r = self
            .app
            .delete(&format!("{path}?data={data}"), &self.owner.token)
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let job: JobRunOut = r.json();
        let job = self
            .app
            .wait_for_job(&self.owner.token, self.org, job.id)
            .await;
        assert_eq!(job.state, JobState::Succeeded, "{job:#?}");
        let r = self.app.get(&path, &self.owner.token).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        job
    }

    pub(crate) async fn counts(&self) -> (i64, i64, i64, i64) {
        let mut c = self.db().await;
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM incidents), (SELECT count(DISTINCT external_id) FROM incidents),
                    (SELECT count(*) FROM incident_events),
                    (SELECT count(*) FROM incidents WHERE acknowledged_at IS NOT NULL)",
        )
        .fetch_one(&mut c)
        .await
        .unwrap()
    }

    pub(crate) async fn incident(&self, external_id: &str) -> IncidentOut {
        let page: Page<IncidentOut> = self
            .app
            .get(
                &format!("/api/v1/orgs/{}/incidents?limit=200", self.org),
                &self.owner.token,
            )
            .await
            .json();
        page.items
            .into_iter()
            .find(|i| i.external_id == external_id)
            .unwrap_or_else(|| panic!("incident {external_id} not stored"))
    }
}

#[tokio::test]
async fn a_backfill_imports_every_incident_and_its_timeline_then_syncs_changes() {
    let mut s = setup(1_500).await.with_worker().await;
    let i = s.connect().await;
    let run = s.finished(i.id, i.current_run.unwrap().id, 60).await;
    assert_eq!(run.state, JobState::Succeeded, "{run:#?}");
    let p = &run.progress;
    assert_eq!(
        (p.fetched, p.stored, p.events, p.errors),
        (1_500, 1_500, 4_500, 0),
        "{p:#?}"
    );
    assert_eq!(p.percent, Some(100.0));
    assert!(
        p.pages >= 60,
        "15 incident pages and 45 log-entry pages at least: {p:#?}"
    );
    assert_eq!(s.counts().await, (1_500, 1_500, 4_500, 1_500));
    let i = s.integration(i.id).await;
    assert_eq!((i.status, i.incidents), (IntegrationStatus::Active, 1_500));
    assert!(i.synced_until.is_some() && i.next_sync_at.is_some());
    // Times come from the source; the acknowledgement from the timeline (PagerDuty clears it on resolve).
    let first = s.incident("Q0001499").await;
    assert_eq!(
        (first.acknowledged_at.unwrap() - first.triggered_at).num_minutes(),
        10
    );
    assert_eq!(
        (first.resolved_at.unwrap() - first.triggered_at).num_minutes(),
        20
    );
    assert_eq!(
        first.source_url.as_deref(),
        Some("https://acme.pagerduty.com/incidents/Q0001499")
    );

    // Incremental: a new incident, then its acknowledgement and resolution, each picked up by "sync now".
    let live = s.pd.trigger("Checkout is down", 0);
    let run = s.sync_now(i.id).await;
    assert_eq!(run.mode, insights_types::api::SyncMode::Incremental);
    assert_eq!(
        s.finished(i.id, run.id, 30).await.state,
        JobState::Succeeded
    );
    assert_eq!(
        s.incident(&live).await.status,
        insights_types::api::IncidentStatus::Triggered
    );
    s.pd.change(&live, "acknowledged");
    let run = s.sync_now(i.id).await;
    s.finished(i.id, run.id, 30).await;
    let acked = s.incident(&live).await;
    assert_eq!(
        acked.status,
        insights_types::api::IncidentStatus::Acknowledged
    );
    assert!(acked.acknowledged_at.is_some());
    s.pd.change(&live, "resolved");
    let run = s.sync_now(i.id).await;
    let done = s.finished(i.id, run.id, 30).await;
    assert_eq!(
        done.progress.fetched, 1,
        "only what changed is read again: {done:#?}"
    );
    let resolved = s.incident(&live).await;
    assert_eq!(
        resolved.status,
        insights_types::api::IncidentStatus::Resolved
    );
    assert_eq!(
        resolved.acknowledged_at, acked.acknowledged_at,
        "the first acknowledgement stays"
    );
    assert_eq!(s.counts().await.0, 1_501);
    s.app.stop_worker().await;
}

#[tokio::test]
async fn the_scheduler_starts_due_syncs_by_itself() {
    let mut s = setup(30).await.with_worker().await;
    let i = s.connect().await;
    s.finished(i.id, i.current_run.clone().unwrap().id, 30)
        .await;
    let live = s.pd.trigger("Queue depth above threshold", 3);
    // Due now (as if fifteen minutes had passed).
    let mut c = s.db().await;
    sqlx::query("UPDATE integrations SET next_sync_at = now() - interval '1 second'")
        .execute(&mut c)
        .await
        .unwrap();
    let before = i.current_run.unwrap().id;
    let i = s
        .wait_for(i.id, 20, "a scheduled sync to succeed", |i| {
            i.current_run
                .as_ref()
                .is_some_and(|r| r.id != before && r.state == JobState::Succeeded)
        })
        .await;
    assert_eq!(
        i.current_run.unwrap().mode,
        insights_types::api::SyncMode::Incremental
    );
    assert_eq!(s.incident(&live).await.title, "Queue depth above threshold");
    assert!(i.next_sync_at.unwrap() > chrono::Utc::now() + chrono::Duration::minutes(14));
    s.app.stop_worker().await;
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_an_unreachable_source_fails_the_sync_visibly() {
    let mut s = setup(400).await.with_worker().await;
    s.pd.throttle_every(Some(3));
    let i = s.connect().await;
    let run = s.finished(i.id, i.current_run.unwrap().id, 60).await;
    assert_eq!(run.state, JobState::Succeeded, "{run:#?}");
    assert_eq!(s.counts().await.0, 400);
    assert!(
        run.progress.requests > run.progress.pages,
        "the 429s were retried: {:#?}",
        run.progress
    );

    // PagerDuty goes away: the sync retries with backoff, then fails with the reason, visible to the user.
    s.pd.stop();
    let r = s
        .app
        .post(
            &format!("/api/v1/orgs/{}/integrations/{}/sync", s.org, i.id),
            &s.owner.token,
            json!({}),
        )
        .await;
    let run: SyncRunOut = r.json();
    let failed = s.finished(i.id, run.id, 60).await;
    assert_eq!(
        (failed.state, failed.attempts),
        (JobState::Failed, 4),
        "{failed:#?}"
    );
    let i = s.integration(i.id).await;
    assert_eq!(i.status, IntegrationStatus::Failing);
    let why = i.last_error.unwrap();
    assert!(why.contains("PagerDuty is unavailable"), "{why}");
    assert_eq!(s.counts().await.0, 400, "nothing lost");
    s.app.stop_worker().await;
}

#[tokio::test]
async fn a_backfill_that_failed_in_an_outage_resumes_where_it_stopped_on_the_next_sync() {
    let mut s = setup(3_000).await.with_worker().await;
    s.pd.set_delay(Duration::from_millis(10));
    let since =
        chrono::Utc::now() - chrono::Duration::hours(2) - chrono::Duration::minutes(30 * 3_000);
    let i = s.connect_with(json!({ "since": since })).await;
    s.wait_for(i.id, 60, "a third of the incidents", |i| {
        i.current_run
            .as_ref()
            .is_some_and(|r| r.progress.stored >= 1_000)
    })
    .await;
    s.pd.set_down(true);
    let failed = s.finished(i.id, i.current_run.unwrap().id, 60).await;
    assert_eq!(failed.state, JobState::Failed, "{failed:#?}");
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("503"),
        "{failed:#?}"
    );
    let before = failed.progress.pages;
    s.pd.set_down(false);
    let run = s.sync_now(i.id).await;
    assert_eq!(run.mode, insights_types::api::SyncMode::Backfill);
    let done = s.finished(i.id, run.id, 60).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:#?}");
    assert_eq!(s.counts().await, (3_000, 3_000, 9_000, 3_000));
    // 30 incident pages and 90 log-entry pages in all: the second sync read only what the first had not.
    assert_eq!(before + done.progress.pages, 120, "{failed:#?} {done:#?}");
    s.app.stop_worker().await;
}

#[tokio::test]
async fn a_revoked_key_fails_the_sync_at_once_with_the_reason_instead_of_retrying() {
    let mut s = setup(20).await.with_worker().await;
    let i = s.connect().await;
    s.finished(i.id, i.current_run.unwrap().id, 30).await;
    s.pd.set_token("a-new-key-nobody-gave-us");
    let run = s.sync_now(i.id).await;
    let failed = s.finished(i.id, run.id, 30).await;
    assert_eq!(
        (failed.state, failed.attempts),
        (JobState::Failed, 1),
        "{failed:#?}"
    );
    let i = s.integration(i.id).await;
    assert_eq!(i.status, IntegrationStatus::Failing);
    let why = i.last_error.unwrap();
    assert!(
        why.contains("PagerDuty refused the credential (HTTP 401)"),
        "{why}"
    );
    s.app.stop_worker().await;
}

#[tokio::test]
async fn a_cancelled_backfill_stops_after_its_current_page_and_keeps_what_it_stored() {
    let mut s = setup(3_000).await.with_worker().await;
    s.pd.set_delay(Duration::from_millis(150));
    let i = s.connect().await;
    s.wait_for(i.id, 60, "a few pages of incidents", |i| {
        i.current_run
            .as_ref()
            .is_some_and(|r| r.progress.stored >= 300)
    })
    .await;
    let r = s
        .app
        .post(
            &format!("/api/v1/orgs/{}/integrations/{}/cancel", s.org, i.id),
            &s.owner.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let run = s.finished(i.id, i.current_run.unwrap().id, 30).await;
    assert_eq!(run.state, JobState::Cancelled);
    let stored = s.counts().await.0;
    assert!(stored > 0 && stored < 3_000, "{stored}");
    assert_eq!(stored as u64, run.progress.stored);
    let i = s.integration(i.id).await;
    assert_eq!(i.status, IntegrationStatus::Active);
    assert!(
        i.synced_until.is_none(),
        "a cancelled backfill has not synced anything yet"
    );
    s.app.stop_worker().await;
}

#[tokio::test]
async fn webhooks_update_incidents_within_seconds_and_late_events_never_move_them_back() {
    let mut s = setup(10).await.with_worker().await;
    let i = s.connected_with_webhook_secret().await;
    let live = s.pd.trigger("Payment provider timeouts", 1);
    let event = |id: &str, kind: &str, at: &str| {
        let mut data = s.pd.incident(&live);
        data["status"] = json!(kind);
        json!({ "event": { "id": id, "event_type": format!("incident.{kind}"), "resource_type": "incident",
                           "occurred_at": at, "data": data } })
        .to_string()
    };
    let deliver = |body: String| async {
        let r = s.deliver_signed(i.id, None, body).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    };
    let now = chrono::Utc::now();
    let t = |secs: i64| (now + chrono::Duration::seconds(secs)).to_rfc3339();
    deliver(event("e1", "triggered", &t(0))).await;
    deliver(event("e3", "resolved", &t(20))).await;
    // Delivered late: the acknowledgement happened before the resolution.
    deliver(event("e2", "acknowledged", &t(10))).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let incident = loop {
        let page: Page<IncidentOut> = s
            .app
            .get(
                &format!("/api/v1/orgs/{}/incidents?q=Payment", s.org),
                &s.owner.token,
            )
            .await
            .json();
        let done = page
            .items
            .first()
            .is_some_and(|i| i.status == insights_types::api::IncidentStatus::Resolved);
        let pending = s
            .app
            .jobs(&s.owner.token, s.org)
            .await
            .iter()
            .any(|j| j.kind == "process_webhook" && j.state.is_active());
        if done && !pending {
            break page.items[0].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhooks not applied: {page:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        incident.status,
        insights_types::api::IncidentStatus::Resolved,
        "the late event lost"
    );
    assert!(incident.resolved_at.is_some());
    assert_eq!(s.counts().await.0, 11);

    // Deliveries are kept a week (to recognize redeliveries), then go with their jobs.
    let (deliveries, jobs) = s.purge_after_a_week("event:e1").await;
    assert_eq!((deliveries, jobs), (2, 2));
    s.app.stop_worker().await;
}

#[tokio::test]
async fn deleting_an_integration_with_its_data_removes_exactly_its_incidents() {
    let mut s = setup(250).await.with_worker().await;
    let i = s.connect().await;
    s.finished(i.id, i.current_run.unwrap().id, 30).await;
    // The sample history is not the integration's: it stays.
    let sample = s.app.load_sample_data(&s.owner.token, s.org).await;
    let sample = s.app.wait_for_job(&s.owner.token, s.org, sample.id).await;
    assert_eq!(sample.state, JobState::Succeeded, "{sample:#?}");
    let samples = sample.progress["inserted"].as_i64().unwrap();
    assert!(samples > 0, "{sample:#?}");
    s.disconnect(i.id, "delete").await;
    let mut c = s.db().await;
    let (pd, sample): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE source = 'pagerduty'), count(*) FILTER (WHERE source = 'sample') FROM incidents",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!((pd, sample), (0, samples));
    s.app.stop_worker().await;
}

#[tokio::test]
async fn disconnecting_and_keeping_the_data_unlinks_every_incident_in_the_background() {
    let mut s = setup(250).await.with_worker().await;
    let i = s.connect().await;
    s.finished(i.id, i.current_run.unwrap().id, 30).await;
    let before = s.counts().await;
    assert_eq!(before.0, 250);
    let job = s.disconnect(i.id, "keep").await;
    assert_eq!(job.progress["kept"], 250, "{job:#?}");
    // Every incident and its timeline stays, no longer linked to the integration.
    assert_eq!(s.counts().await, before);
    let linked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM incidents WHERE integration_id IS NOT NULL")
            .fetch_one(&mut s.db().await)
            .await
            .unwrap();
    assert_eq!(linked, 0);
    s.app.stop_worker().await;
}

/// The worker binary, run as its own process with the test's environment.
pub(crate) fn worker_process(vars: &HashMap<String, String>) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_insights-worker"))
        .env_clear()
        .envs(vars)
        .env("INSIGHTS_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the worker binary starts")
}

#[tokio::test]
async fn a_worker_killed_in_the_middle_of_a_backfill_resumes_and_stores_every_incident_exactly_once()
 {
    let s = setup(5_000).await;
    // Slow enough to be caught in the middle: ~50 incident pages and ~150 log-entry pages.
    s.pd.set_delay(Duration::from_millis(25));
    let mut first = worker_process(&s.vars);
    // From where the history starts, so that every page holds incidents (no empty windows to count).
    let since =
        chrono::Utc::now() - chrono::Duration::hours(2) - chrono::Duration::minutes(30 * 5_000);
    let i = s.connect_with(json!({ "since": since })).await;
    let run = i.current_run.unwrap().id;
    s.wait_for(i.id, 60, "the backfill to be under way", |i| {
        i.current_run
            .as_ref()
            .is_some_and(|r| r.progress.stored >= 1_500)
    })
    .await;
    first.kill().expect("SIGKILL"); // no graceful shutdown: the process just dies
    first.wait().unwrap();
    let at_kill = s.integration(i.id).await.current_run.unwrap();
    assert_eq!(
        at_kill.state,
        JobState::Running,
        "dead, but nobody knows yet"
    );
    assert!(at_kill.progress.stored < 5_000, "{at_kill:#?}");

    let mut second = worker_process(&s.vars);
    let done = s.finished(i.id, run, 120).await;
    second.kill().ok();
    second.wait().ok();
    assert_eq!(done.state, JobState::Succeeded, "{done:#?}");
    assert_eq!(done.attempts, 2, "the second attempt resumed the first");
    assert_eq!(
        s.counts().await,
        (5_000, 5_000, 15_000, 5_000),
        "every incident and timeline entry, each once"
    );
    // 50 incident pages and about 150 log-entry pages in all (two windows of ~7,500 entries, each rounded up
    // to whole pages): a restart from the beginning would also count the 15 or more pages the first attempt
    // had stored.
    assert!(
        done.progress.pages <= 203,
        "resumed from the checkpoint, not from the start: {:#?}",
        done.progress
    );
}

#[tokio::test]
async fn an_unreadable_delivery_fails_for_good_at_once_and_is_purged_with_the_rest() {
    let mut s = setup(1).await.with_worker().await;
    let i = s.connected_with_webhook_secret().await;
    // JSON, signed, but not a PagerDuty v3 event: it will never read differently.
    let body = r#"{"messages":[{"event":"incident.trigger"}]}"#;
    let r = s
        .deliver_signed(i.id, Some("unreadable-1"), body.into())
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let jobs = s.app.jobs(&s.owner.token, s.org).await;
    let job = jobs
        .iter()
        .find(|j| j.kind == "process_webhook")
        .expect("the delivery's job");
    let job = s.app.wait_for_job(&s.owner.token, s.org, job.id).await;
    assert_eq!(
        (job.state, job.attempts),
        (JobState::Failed, 1),
        "failed at once, not retried: {job:#?}"
    );
    let error = job.last_error.unwrap_or_default();
    assert!(error.contains("cannot be read"), "{error}");

    // A week later it goes with the processed ones, and its job with it.
    let (deliveries, jobs) = s.purge_after_a_week("unreadable-1").await;
    assert_eq!((deliveries, jobs), (0, 0));
    s.app.stop_worker().await;
}
