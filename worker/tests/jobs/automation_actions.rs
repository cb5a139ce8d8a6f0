//! The actions beside Lambda (issue 13) against real HTTP servers (wiremock; loopback allowed by
//! `INSIGHTS_OUTBOUND_ALLOWED_NETWORKS`): a Standard Webhooks delivery a receiver verifies, a Slack message,
//! refusals of the outbound guard (a private address, a redirect, a name resolving to loopback, the answer's
//! cap), and posting back — on a sample incident's own timeline, and as a note on the PagerDuty incident it
//! was imported from (the `From` header; a read-only key told so).

use insights_automation::signature;
use insights_core::crypto::SecretBox;
use insights_testing::{Session, TestApp, test_config};
use insights_types::api::{AutomationAction, RunStatus};
use insights_types::{AutomationRunId, IncidentId, OrgId};
use insights_worker::WorkerState;
use insights_worker::automations::actions::{
    ActionCall, ActionError, ActionSecrets, RunReport, outbound, perform, post_back, result_note,
};
use serde_json::json;
use sqlx::Connection;
use std::time::Duration;
use uuid::Uuid;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Setup {
    app: TestApp,
    state: WorkerState,
    #[allow(dead_code)]
    owner: Session,
    org: OrgId,
}

async fn setup(extra: &[(&str, &str)]) -> Setup {
    let mut env = vec![
        ("INSIGHTS_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1,::1"),
        ("INSIGHTS_SOURCE_BACKOFF_MS", "10"),
        ("INSIGHTS_SOURCE_MAX_ATTEMPTS", "2"),
        ("INSIGHTS_SOURCE_TIMEOUT_SECS", "5"),
    ];
    env.extend_from_slice(extra);
    let app = TestApp::spawn_with(test_config(&env).await).await;
    // The signup's email job is not this test's business.
    app.allow_pending_jobs();
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let state = insights_worker::Worker::build(app.config.clone())
        .await
        .expect("worker builds")
        .state()
        .clone();
    Setup {
        app,
        state,
        owner,
        org,
    }
}

fn call(org: OrgId, action: AutomationAction, body: &str, secrets: ActionSecrets) -> ActionCall {
    ActionCall {
        org,
        run_id: AutomationRunId(Uuid::new_v4()),
        action,
        incident_id: None,
        body: body.to_owned(),
        subject: None,
        recipients: Vec::new(),
        secrets,
        timeout: Duration::from_secs(5),
    }
}

fn webhook_secrets(url: &str) -> ActionSecrets {
    ActionSecrets {
        slack_url: None,
        webhook_url: Some(url.to_owned().into()),
        signing_secret: Some(SECRET.to_owned().into()),
    }
}

async fn db(app: &TestApp) -> sqlx::PgConnection {
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    sqlx::PgConnection::connect(&url).await.expect("connect")
}

#[tokio::test]
async fn a_webhook_delivery_is_signed_so_that_a_receiver_verifies_it() {
    let s = setup(&[]).await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/incident"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"accepted": true})))
        .expect(1)
        .mount(&server)
        .await;
    // By name: resolved by the worker, checked, and connected to as resolved.
    let url = format!(
        "http://localhost:{}/hooks/incident",
        server.address().port()
    );
    let body = r#"{"incident":{"title":"Disk \"full\""},"n":1}"#;
    let c = call(
        s.org,
        AutomationAction::Webhook,
        body,
        webhook_secrets(&url),
    );
    let run = c.run_id;
    let done = perform(&s.state, c).await.unwrap();
    assert_eq!(done.status, Some(200));
    assert_eq!(done.response, Some(json!({"accepted": true})));

    let got = server.received_requests().await.unwrap().remove(0);
    assert_eq!(got.body, body.as_bytes(), "the exact rendered bytes");
    let h = |n: &str| got.headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("webhook-id"), format!("msg_{}", run.0.simple()));
    let now = chrono::Utc::now().timestamp();
    let ts: i64 = h("webhook-timestamp").parse().unwrap();
    assert!((now - ts).abs() < 60);
    signature::verify(
        SECRET,
        &h("webhook-id"),
        &h("webhook-timestamp"),
        &h("webhook-signature"),
        &got.body,
        now,
    )
    .expect("the receiver verifies the delivery");
    assert!(
        signature::verify(
            SECRET,
            &h("webhook-id"),
            &h("webhook-timestamp"),
            &h("webhook-signature"),
            b"{}",
            now
        )
        .is_err(),
        "a changed body does not verify"
    );
}

#[tokio::test]
async fn a_slack_message_is_posted_as_text_and_slacks_refusal_is_explained() {
    let s = setup(&[]).await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T000/B000/XXXX"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/T000/B000/GONE"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no_service"))
        .mount(&server)
        .await;
    let secrets = |p: &str| ActionSecrets {
        slack_url: Some(format!("{}/services/T000/B000/{p}", server.uri()).into()),
        ..ActionSecrets::default()
    };
    let done = perform(
        &s.state,
        call(
            s.org,
            AutomationAction::Slack,
            "Disk full on *db-1*",
            secrets("XXXX"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(done.response, Some(json!("ok")));
    let got = server.received_requests().await.unwrap().remove(0);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&got.body).unwrap(),
        json!({"text": "Disk full on *db-1*"})
    );
    let err = perform(
        &s.state,
        call(s.org, AutomationAction::Slack, "x", secrets("GONE")),
    )
    .await
    .unwrap_err();
    let ActionError::Permanent(m) = err else {
        panic!("{err:?}")
    };
    assert!(
        m.contains("no_service") && m.contains("create a new incoming webhook"),
        "{m}"
    );
    assert!(
        !m.contains("GONE"),
        "the URL (a secret) is never shown: {m}"
    );
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed_and_nothing_is_sent() {
    let s = setup(&[]).await;
    for (url, expected) in [
        (
            "http://10.0.0.5/hook",
            "10.0.0.5 is a private address; allow it with INSIGHTS_OUTBOUND_ALLOWED_NETWORKS",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local (cloud metadata) address",
        ),
        (
            "http://[::ffff:10.1.2.3]/hook",
            "allow it with INSIGHTS_OUTBOUND_ALLOWED_NETWORKS",
        ),
        ("ftp://example.com/hook", "only https and http"),
        ("https://user:pw@example.com/hook", "user name or password"),
    ] {
        let err = perform(
            &s.state,
            call(s.org, AutomationAction::Webhook, "{}", webhook_secrets(url)),
        )
        .await
        .unwrap_err();
        let ActionError::Permanent(m) = &err else {
            panic!("{url}: {err:?}")
        };
        assert!(m.contains(expected), "{url}: {m}");
    }
    // Loopback, by name, when only other networks are allowed: the guard refuses before connecting.
    let server = MockServer::start().await;
    let guarded =
        outbound::Outbound::new(vec!["10.9.0.0/16".parse().unwrap()], Duration::from_secs(2));
    let url = format!("http://localhost:{}/hook", server.address().port());
    let err = guarded
        .post("the webhook", &url, &[], b"{}".to_vec())
        .await
        .unwrap_err();
    let ActionError::Permanent(m) = &err else {
        panic!("{err:?}")
    };
    assert!(
        m.contains("loopback") && m.contains("INSIGHTS_OUTBOUND_ALLOWED_NETWORKS"),
        "{m}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_answers_are_capped_and_classified() {
    let s = setup(&[]).await;
    let server = MockServer::start().await;
    let target = MockServer::start().await;
    Mock::given(path("/redirect"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "http://10.0.0.5/inside"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/redirect-loopback"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/x", target.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_string("z".repeat(200 * 1024)))
        .mount(&server)
        .await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(503).set_body_string("try later"))
        .mount(&server)
        .await;
    Mock::given(path("/bad"))
        .respond_with(ResponseTemplate::new(400).set_body_string("missing field"))
        .mount(&server)
        .await;
    let out = outbound::Outbound::new(
        s.state.config.automations.outbound_allowed.clone(),
        Duration::from_secs(5),
    );
    let base = server.uri();
    let post = |p: &'static str| {
        let url = format!("{base}{p}");
        let out = out.clone();
        async move { out.post("the webhook", &url, &[], b"{}".to_vec()).await }
    };

    let ActionError::Permanent(m) = post("/redirect").await.unwrap_err() else {
        panic!()
    };
    assert!(
        m.contains("redirect") && m.contains("10.0.0.5") && m.contains("not followed"),
        "{m}"
    );
    let ActionError::Permanent(m) = post("/redirect-loopback").await.unwrap_err() else {
        panic!()
    };
    assert!(m.contains("not followed"), "{m}");
    assert!(
        target.received_requests().await.unwrap().is_empty(),
        "the redirect went nowhere"
    );

    let big = post("/big").await.unwrap();
    assert_eq!(big.body.len(), outbound::MAX_RESPONSE);
    assert!(big.truncated);

    assert!(
        matches!(post("/busy").await.unwrap_err(), ActionError::Retryable(m) if m.contains("503"))
    );
    assert!(
        matches!(post("/bad").await.unwrap_err(), ActionError::Permanent(m) if m.contains("missing field"))
    );
    // Nothing listens: a network failure, worth another attempt.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = out
        .post(
            "the webhook",
            &format!("http://127.0.0.1:{closed}/"),
            &[],
            Vec::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

/// Inserts an incident (and returns its id), from `source` with `integration`.
async fn insert_incident(
    app: &TestApp,
    org: OrgId,
    source: &str,
    external_id: &str,
    integration: Option<Uuid>,
    tags: &[&str],
) -> IncidentId {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO incidents (id, org_id, source, external_id, title, status, triggered_at, source_updated_at,
                                integration_id, tags)
         VALUES ($1, $2, $3, $4, 'Disk full on db-1', 'triggered', now(), now(), $5, $6)",
    )
    .bind(id)
    .bind(org.0)
    .bind(source)
    .bind(external_id)
    .bind(integration)
    .bind(tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>())
    .execute(&mut db(app).await)
    .await
    .unwrap();
    IncidentId(id)
}

/// The automation notes on an incident's timeline.
async fn timeline_notes(app: &TestApp, incident: IncidentId) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT actor, message FROM incident_events WHERE incident_id = $1 AND kind = 'note' ORDER BY at",
    )
    .bind(incident.0)
    .fetch_all(&mut db(app).await)
    .await
    .unwrap()
}

fn report(run: AutomationRunId) -> RunReport<'static> {
    RunReport {
        run_id: run,
        automation_name: "Restart pods",
        status: RunStatus::Succeeded,
        duration: Some(chrono::Duration::milliseconds(1200)),
        reason: None,
        function_error: None,
        response: None,
        log_tail: Some("restarted 3 pods"),
    }
}

#[tokio::test]
async fn a_result_is_posted_back_to_a_sample_incidents_own_timeline_once() {
    let s = setup(&[("INSIGHTS_PUBLIC_URL", "https://insights.example.com")]).await;
    let incident = insert_incident(&s.app, s.org, "sample", "sample-1", None, &[]).await;
    let run = AutomationRunId(Uuid::new_v4());
    let text = result_note(&s.state, s.org, &report(run));
    assert!(
        text.ends_with(&format!(
            "https://insights.example.com/orgs/{}/automations/runs/{}",
            s.org, run.0
        )),
        "{text}"
    );
    assert!(
        text.contains("“Restart pods” succeeded in 1.2 s") && text.contains("restarted 3 pods"),
        "{text}"
    );
    let done = post_back(&s.state, s.org, incident, &text).await.unwrap();
    assert!(done.summary.contains("timeline"), "{}", done.summary);
    // Posted again (a retry): still one entry.
    post_back(&s.state, s.org, incident, &text).await.unwrap();
    let notes = timeline_notes(&s.app, incident).await;
    assert_eq!(
        notes,
        vec![("Incident Insights automation".to_owned(), text)]
    );

    // Another organization's incident is not found.
    let (_, other) = s.app.signup("other@example.com", "Other").await;
    let err = post_back(&s.state, other, incident, "x").await.unwrap_err();
    assert!(matches!(err, ActionError::Permanent(m) if m.contains("does not exist")));
    assert_eq!(timeline_notes(&s.app, incident).await.len(), 1);
}

#[tokio::test]
async fn a_result_is_posted_as_a_note_on_the_pagerduty_incident_and_a_read_only_key_is_told_so() {
    let pd = MockServer::start().await;
    let s = setup(&[("INSIGHTS_PAGERDUTY_API_URL", pd.uri().as_str())]).await;
    let integration = Uuid::new_v4();
    let secrets: SecretBox = s.app.config.general.secrets();
    let sealed = insights_core::sync::seal_credential(
        &secrets,
        insights_types::IntegrationId(integration),
        "pd-write-key",
    );
    sqlx::query(
        "INSERT INTO integrations (id, org_id, kind, name, credentials, options)
         VALUES ($1, $2, 'pagerduty', 'PD', $3, $4)",
    )
    .bind(integration)
    .bind(s.org.0)
    .bind(sealed)
    .bind(json!({"note_author_email": "oncall@example.com"}))
    .execute(&mut db(&s.app).await)
    .await
    .unwrap();
    let incident = insert_incident(
        &s.app,
        s.org,
        "pagerduty",
        "PT4KHLK",
        Some(integration),
        &[],
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/incidents/PT4KHLK/notes"))
        .and(header("authorization", "Token token=pd-write-key"))
        .and(header("from", "oncall@example.com"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"note": {"id": "PWL7QXS"}})))
        .up_to_n_times(1)
        .mount(&pd)
        .await;
    let done = post_back(
        &s.state,
        s.org,
        incident,
        "Automation “Restart pods” succeeded.",
    )
    .await
    .unwrap();
    assert!(
        done.summary.contains("PagerDuty incident PT4KHLK"),
        "{}",
        done.summary
    );
    let sent = pd.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&sent[0].body).unwrap(),
        json!({"note": {"content": "Automation “Restart pods” succeeded."}})
    );

    // The key became read-only: the note is refused for good, said so; the timeline still shows it.
    Mock::given(method("POST"))
        .and(path("/incidents/PT4KHLK/notes"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": {"message": "Access Denied"}})),
        )
        .mount(&pd)
        .await;
    let err = post_back(&s.state, s.org, incident, "second result")
        .await
        .unwrap_err();
    let ActionError::Permanent(m) = &err else {
        panic!("{err:?}")
    };
    assert!(m.contains("read-only") && m.contains("full-access"), "{m}");
    let notes: Vec<String> = timeline_notes(&s.app, incident)
        .await
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        notes,
        vec!["Automation “Restart pods” succeeded.", "second result"]
    );
}

#[tokio::test]
async fn a_note_action_needs_an_incident_and_lambda_is_not_an_action() {
    let s = setup(&[]).await;
    let err = perform(
        &s.state,
        call(s.org, AutomationAction::Note, "x", ActionSecrets::default()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ActionError::Permanent(m) if m.contains("needs an incident")));
    let err = perform(
        &s.state,
        call(
            s.org,
            AutomationAction::Email,
            "x",
            ActionSecrets::default(),
        ),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ActionError::Permanent(m) if m.contains("SMTP")),
        "no SMTP configured"
    );
    let err = perform(
        &s.state,
        call(
            s.org,
            AutomationAction::Slack,
            "x",
            ActionSecrets::default(),
        ),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ActionError::Permanent(m) if m.contains("Slack webhook URL")));
}

#[tokio::test]
async fn an_email_goes_to_every_recipient_in_one_message_and_a_busy_relay_is_worth_a_retry() {
    let sink = insights_testing::smtp::SmtpSink::start(0).await;
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let s = setup(&[
        ("INSIGHTS_SMTP_URL", url.as_str()),
        ("INSIGHTS_SMTP_FROM", "insights@example.com"),
    ])
    .await;
    let mut c = call(
        s.org,
        AutomationAction::Email,
        "Disk full on db-1\nRestarted the pods.",
        ActionSecrets::default(),
    );
    c.recipients = vec!["ops@example.com".into(), "dba@example.com".into()];
    c.subject = Some("Automation: disk\nfull".into());
    let done = perform(&s.state, c.clone()).await.unwrap();
    assert_eq!(done.summary, "Sent the email to 2 recipients");
    let mails = sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    let mut rcpt = mails[0].rcpt.clone();
    rcpt.sort();
    assert_eq!(rcpt, vec!["<dba@example.com>", "<ops@example.com>"]);
    assert!(
        mails[0].data.contains("Subject: Automation: disk full"),
        "{}",
        mails[0].data
    );
    assert!(mails[0].text().contains("Restarted the pods."));

    sink.refuse_next(1);
    let err = perform(&s.state, c).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}
