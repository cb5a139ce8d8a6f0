//! Fairness between organizations (issue 9, point 5): one organization's backlog — several long backfills at
//! once — cannot hold every worker slot; another organization's incremental sync starts within seconds.

use crate::sync::{Sync, TOKEN, setup_with};
use insights_testing::{Session, TestApp};
use insights_types::OrgId;
use insights_types::api::{IntegrationOut, JobState, SyncRunOut};
use serde_json::json;
use std::time::{Duration, Instant};

/// The sync run of `org`'s integration `id` once it has ended.
async fn ended(
    app: &TestApp,
    who: &Session,
    org: OrgId,
    id: insights_types::IntegrationId,
) -> SyncRunOut {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let i: IntegrationOut = app
            .get(&format!("/api/v1/orgs/{org}/integrations/{id}"), &who.token)
            .await
            .json();
        if let Some(run) = i.current_run.filter(|r| !r.state.is_active()) {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sync never ended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long organization B's incremental sync takes while organization A runs `backfills` long backfills at
/// once (with `settings`).
async fn b_sync_behind_a_backlog(settings: &[(&str, &str)], backfills: usize) -> Duration {
    let s: Sync = setup_with(10_000, settings).await.with_worker().await;
    s.app.allow_pending_jobs(); // A's backfills are cut off with the test
    let (a_owner, a) = (&s.owner, s.org);
    let (b_owner, b) = s.app.signup("b@example.com", "Beta").await;
    // B's integration, imported (the last day only) before A's backlog arrives.
    let b_int = s
        .app
        .connect_pagerduty(
            &b_owner,
            b,
            "PD",
            TOKEN,
            json!({ "since": chrono::Utc::now() - chrono::Duration::days(1) }),
        )
        .await;
    assert_eq!(
        ended(&s.app, &b_owner, b, b_int.id).await.state,
        JobState::Succeeded
    );

    // A's backlog: backfills of the whole history, each over a minute long at 100 ms a request.
    s.pd.set_delay(Duration::from_millis(100));
    let since =
        chrono::Utc::now() - chrono::Duration::hours(2) - chrono::Duration::minutes(30 * 10_000);
    for n in 0..backfills {
        s.app
            .connect_pagerduty(
                a_owner,
                a,
                &format!("PD {n}"),
                TOKEN,
                json!({ "since": since }),
            )
            .await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // A's backfills have taken what they may

    let asked = Instant::now();
    let r = s
        .app
        .post(
            &format!("/api/v1/orgs/{b}/integrations/{}/sync", b_int.id),
            &b_owner.token,
            json!({}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::ACCEPTED, "{}", r.text);
    let run = ended(&s.app, &b_owner, b, b_int.id).await;
    let waited = asked.elapsed();
    assert_eq!(run.state, JobState::Succeeded, "{run:#?}");
    waited
}

#[tokio::test]
async fn another_organizations_backlog_does_not_delay_an_incremental_sync() {
    // Three sync slots; one organization may use one of them. Without that share, A's backfills would hold
    // all three and B's sync would wait for one of them to end.
    let waited = b_sync_behind_a_backlog(
        &[
            ("INSIGHTS_WORKER_CONCURRENCY", "3"),
            ("INSIGHTS_JOB_ORG_CONCURRENCY", "1"),
        ],
        4,
    )
    .await;
    assert!(
        waited < Duration::from_secs(10),
        "B's incremental sync took {waited:?} behind A's backlog"
    );
}

#[tokio::test]
async fn a_long_backfill_yields_its_slot_at_the_end_of_its_time_slice() {
    // One sync slot, taken by A's backfill: B's sync gets it when the backfill's one-second slice is over
    // (instead of after the whole backfill).
    let waited = b_sync_behind_a_backlog(
        &[
            ("INSIGHTS_WORKER_CONCURRENCY", "1"),
            ("INSIGHTS_JOB_TIME_SLICE_SECS", "1"),
        ],
        1,
    )
    .await;
    assert!(
        waited < Duration::from_secs(10),
        "B's incremental sync took {waited:?} behind A's backfill"
    );
}
