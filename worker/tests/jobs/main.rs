//! The worker end to end: the API enqueues through Redis, the worker runs the job against a real SMTP
//! conversation, and the job's state, attempts and last error are visible through the API.

mod accounts;
mod analytics;
mod automation_actions;
mod automations;
mod cluster;
mod fairness;
mod generate_runbook;
mod index;
mod monitoring;
mod patterns;
mod recovery;
mod scale_out;
mod sync;
mod verify_aws_connection;

use insights_core::jobs::Delivery;
use insights_testing::smtp::SmtpSink;
use insights_testing::{TestApp, test_config, token_of};
use insights_types::Role;
use insights_types::api::{InvitationOut, JobRunOut, JobState, Page};
use std::time::Duration;

/// An API and its worker (sharing the database, Redis prefix and SMTP), with an SMTP server on `smtp_port`.
async fn start(smtp_port: u16) -> TestApp {
    let url = format!("smtp://127.0.0.1:{smtp_port}");
    let config = test_config(&[
        ("INSIGHTS_SMTP_URL", url.as_str()),
        ("INSIGHTS_SMTP_FROM", "insights@example.com"),
        ("INSIGHTS_JOB_MAX_ATTEMPTS", "3"),
        ("INSIGHTS_JOB_BACKOFF_MS", "50"),
    ])
    .await;
    TestApp::spawn_with(config).await.with_worker().await
}

/// Signs up `owner@example.com` with the organization Acme and waits until its verification email job has
/// ended (sent, or failed when the SMTP server refuses), so that a test's own jobs and emails come after it.
async fn signup_owner(app: &TestApp) -> (insights_testing::Session, insights_types::OrgId) {
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let jobs = app.wait_for_jobs(&owner.token, org).await;
    assert_eq!(jobs[0].kind, "send_account_email");
    (owner, org)
}

/// Records an invitation and its email job exactly as the API does, without pushing the job to Redis;
/// optionally revokes the invitation right away.
async fn record_unpushed_invitation(
    app: &TestApp,
    owner: &insights_testing::Session,
    org: insights_types::OrgId,
    email: &str,
    revoke: bool,
) -> (insights_types::JobRunId, insights_types::InvitationId) {
    use insights_core::{crypto, db};
    let job = insights_types::JobRunId::new();
    let id = insights_types::InvitationId::new();
    let token = crypto::random_token();
    let mut tx = app.state.db.org_tx(org, Some(owner.user_id)).await.unwrap();
    db::job_runs::create(&mut tx, job, "send_invitation_email", Some(id.0), 3)
        .await
        .unwrap();
    let new = db::invitations::NewInvitation {
        id,
        email,
        role: Role::Member,
        token_hash: &crypto::token_hash(&token),
        token_ciphertext: Some(
            app.state
                .secrets
                .seal(&crypto::columns::INVITATION_TOKEN.row(id), token.as_bytes()),
        ),
        invited_by: owner.user_id,
        expires_at: chrono::Utc::now() + chrono::Duration::days(7),
        delivery_job_id: Some(job),
    };
    db::invitations::create(&mut tx, new).await.unwrap();
    if revoke {
        db::invitations::revoke(&mut tx, id).await.unwrap();
    }
    tx.commit().await.unwrap();
    (job, id)
}

#[tokio::test]
async fn an_invitation_email_is_sent_by_the_worker_with_the_accept_link() {
    let sink = SmtpSink::start(0).await;
    let mut app = start(sink.port).await;
    let (owner, org) = signup_owner(&app).await;
    let inv = app
        .invite(&owner, org, "teammate@example.com", Role::Member)
        .await;
    let delivery = inv
        .delivery
        .clone()
        .expect("a delivery job when SMTP is configured");
    assert_eq!(delivery.state, JobState::Queued);

    let job = app.wait_for_job(&owner.token, org, delivery.job_id).await;
    assert_eq!(
        (job.state, job.attempts, job.kind.as_str()),
        (JobState::Succeeded, 1, "send_invitation_email")
    );
    let mail = sink.messages_to("teammate@example.com").await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].rcpt, vec!["<teammate@example.com>".to_owned()]);
    // The link carries the token in its fragment (never sent to a server), exactly as the API showed it.
    assert_eq!(mail[0].link_to("join"), inv.accept_url.clone());
    assert_eq!(mail[0].token_for("join"), Some(token_of(&inv)));
    assert!(!mail[0].text().contains("?token="), "{}", mail[0].text());
    assert!(mail[0].data.contains("Acme"));

    // The encrypted copy of the token is gone once sent; the listing shows the delivery.
    let page: Page<InvitationOut> = app
        .get(&format!("/api/v1/orgs/{org}/invitations"), &owner.token)
        .await
        .json();
    assert_eq!(
        page.items[0].delivery.as_ref().unwrap().state,
        JobState::Succeeded
    );
    {
        use secrecy::ExposeSecret;
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(app.config.database.url.expose_secret())
            .await
            .unwrap();
        let left: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT token_ciphertext FROM invitations WHERE id = $1")
                .bind(inv.id.0)
                .fetch_one(&mut c)
                .await
                .unwrap();
        assert!(left.is_none());
    }
    app.stop_worker().await;
}

#[tokio::test]
async fn a_transient_smtp_failure_is_retried_with_backoff_and_then_succeeds() {
    let sink = SmtpSink::start(0).await;
    let mut app = start(sink.port).await;
    let (owner, org) = signup_owner(&app).await;
    sink.refuse_next(1); // the invitation's first conversation
    let inv = app
        .invite(&owner, org, "mate@example.com", Role::Viewer)
        .await;
    let job = app
        .wait_for_job(&owner.token, org, inv.delivery.unwrap().job_id)
        .await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!(job.attempts, 2);
    assert!(job.last_error.is_none(), "a success clears the error");
    assert_eq!(sink.messages_to("mate@example.com").await.len(), 1);
    app.stop_worker().await;
}

#[tokio::test]
async fn a_job_that_keeps_failing_ends_failed_with_its_error_visible() {
    // Nothing listens on this port: every attempt fails to connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut app = start(closed).await;
    let (owner, org) = signup_owner(&app).await;
    let inv = app
        .invite(&owner, org, "mate@example.com", Role::Member)
        .await;
    let job_id = inv.delivery.unwrap().job_id;
    let job = app.wait_for_job(&owner.token, org, job_id).await;
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert_eq!((job.attempts, job.max_attempts), (3, 3));
    let err = job.last_error.clone().unwrap();
    assert!(err.contains("SMTP delivery"), "{err}");
    assert!(job.finished_at.is_some());
    // Visible on the invitation and in the failed-jobs filter.
    let page: Page<InvitationOut> = app
        .get(&format!("/api/v1/orgs/{org}/invitations"), &owner.token)
        .await
        .json();
    let d = page.items[0].delivery.clone().unwrap();
    assert_eq!((d.state, d.attempts), (JobState::Failed, 3));
    let failed: Page<JobRunOut> = app
        .get(
            &format!("/api/v1/orgs/{org}/jobs?state=failed"),
            &owner.token,
        )
        .await
        .json();
    let failed_invitations = failed
        .items
        .iter()
        .filter(|j| j.kind == "send_invitation_email");
    assert_eq!(failed_invitations.count(), 1);
    // And counted in the metrics.
    let m = app.metrics().await;
    assert!(
        m.text
            .contains(r#"jobs{kind="send_invitation_email",state="failed"}"#),
        "{}",
        m.text
    );
    app.stop_worker().await;
}

#[tokio::test]
async fn a_lost_enqueue_is_recovered_by_the_sweeper() {
    let sink = SmtpSink::start(0).await;
    let mut app = start(sink.port).await;
    let (owner, org) = signup_owner(&app).await;
    // Record a job as the API does, but never push it (as if Redis had dropped the enqueue).
    let (job, inv_id) =
        record_unpushed_invitation(&app, &owner, org, "lost@example.com", false).await;
    let worker = insights_worker::Worker::build(app.config.clone())
        .await
        .unwrap();
    assert_eq!(
        insights_worker::sweeper::sweep_once(worker.state(), Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    let done = app.wait_for_job(&owner.token, org, job).await;
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(sink.messages_to("lost@example.com").await.len(), 1);
    // A second delivery of a finished job is ignored: no second email.
    app.state
        .jobs
        .requeue(
            "send_invitation_email",
            org,
            job,
            Some(inv_id.0),
            Delivery::FIRST,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages_to("lost@example.com").await.len(), 1);
    app.stop_worker().await;
}

#[tokio::test]
async fn a_revoked_invitation_is_not_mailed() {
    // A working sink, so that "nothing arrived" means the job skipped the email.
    let sink = SmtpSink::start(0).await;
    let mut app = start(sink.port).await;
    let (owner, org) = signup_owner(&app).await;
    let (job, inv_id) =
        record_unpushed_invitation(&app, &owner, org, "revoked@example.com", true).await;
    let state = app.state.clone();
    state
        .jobs
        .requeue(
            "send_invitation_email",
            org,
            job,
            Some(inv_id.0),
            Delivery::FIRST,
        )
        .await
        .unwrap();
    let done = app.wait_for_job(&owner.token, org, job).await;
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(
        done.progress["skipped"],
        "the invitation is no longer pending"
    );
    assert!(sink.messages_to("revoked@example.com").await.is_empty());
    app.stop_worker().await;
}

/// Every incident of the organization, counted through the paginated list.
async fn count_incidents(app: &TestApp, token: &str, org: insights_types::OrgId) -> u64 {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/orgs/{org}/incidents?limit=200&cursor={c}"),
            None => format!("/api/v1/orgs/{org}/incidents?limit=200"),
        };
        let page: Page<insights_types::api::IncidentOut> = app.get(&path, token).await.json();
        n += page.items.len() as u64;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return n,
        }
    }
}

#[tokio::test]
async fn sample_data_loads_months_of_incidents_once() {
    let sink = SmtpSink::start(0).await;
    let mut app = start(sink.port).await;
    let (owner, org) = signup_owner(&app).await;
    let job = app.load_sample_data(&owner.token, org).await;
    let done = app.wait_for_job(&owner.token, org, job.id).await;
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    let total = done.progress["total"].as_u64().unwrap();
    assert!(total > 500, "{total}");
    assert_eq!(done.progress["inserted"].as_u64(), Some(total));
    assert_eq!(count_incidents(&app, &owner.token, org).await, total);
    // Loading again stores nothing twice.
    let again = app.load_sample_data(&owner.token, org).await;
    let done = app.wait_for_job(&owner.token, org, again.id).await;
    assert_eq!(done.progress["inserted"].as_u64(), Some(0));
    assert_eq!(count_incidents(&app, &owner.token, org).await, total);
    app.stop_worker().await;
}
