//! Integrations in the browser: connecting PagerDuty through the wizard against a fake PagerDuty and watching
//! the import, a refused key, what viewers and members see, managing and disconnecting, and Opsgenie's webhook
//! secret (against Prism serving Opsgenie's API description).

use crate::harness::{E2e, connect_pagerduty, wait_synced};
use insights_testing::TestApp;
use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_types::OrgId;
use insights_types::api::{IntegrationOut, Page};
use std::time::Duration;

#[tokio::test]
async fn an_owner_connects_pagerduty_watches_the_import_and_finds_its_incidents() {
    let fake = FakePagerDuty::start(
        "pd-token-e2e",
        History::recent(300, chrono::Duration::minutes(30)),
    )
    .await;
    // Slow answers, so the import can be watched while it runs.
    fake.set_delay(Duration::from_millis(400));
    let e2e = E2e::start(&[("INSIGHTS_PAGERDUTY_API_URL", &fake.url)]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let base = e2e
        .app
        .config
        .server
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let e2e_ref = &e2e;
    let owner_token = owner.token.clone();
    e2e.run("connect-pagerduty", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/integrations")).await;
        b.click("#connect-pagerduty").await;

        // Step 1: where the key comes from; the focus moves to the step's heading.
        b.wait_text(".wizard", "Integrations → API Access Keys").await;
        b.wait_text(".wizard", "Read-only API Key").await;
        assert_eq!(b.execute("return document.activeElement.id").await, "wizard-title");
        b.click("#wizard-next").await;

        // Step 2: the form.
        b.wait_text(".wizard-step", "Step 2 of 3").await;
        b.fill("#connect-name", "PagerDuty (production)").await;
        b.fill("#connect-key", "pd-token-e2e").await;
        b.click(".wizard button[type=submit]").await;

        // Step 3: the import runs, with its progress bar, then finishes with every incident.
        b.wait_text(".wizard h2", "PagerDuty is connected").await;
        b.wait_text(".wizard .sync-progress", "Importing the history").await;
        assert_eq!(b.count(".wizard .sync-progress progress").await, 1);
        b.wait_text_within(".wizard .sync-progress[data-state='running'] .sync-percent", "%", Duration::from_secs(30))
            .await;
        b.save_screenshot("connect-pagerduty-importing").await;
        b.wait_text_within(".wizard .sync-summary", "History import finished", Duration::from_secs(60)).await;
        b.wait_text(".wizard .wizard-count", "300 incidents imported").await;
        assert_eq!(b.count(".wizard .sync-progress").await, 0, "the bar is gone once the import ended");

        // The webhook: PagerDuty's steps with this integration's URL, and the signing secret pasted back.
        b.wait_text(".wizard .steps", "Generic Webhooks (v3)").await;
        let url = b.value(".wizard input[id^='webhook-url-']").await;
        assert!(url.starts_with(&format!("{base}/hooks/pagerduty/")), "{url}");
        b.fill(".wizard input[id^='webhook-secret-']", "pd-signing-secret-1234").await;
        b.click(".wizard .steps button[type=submit]").await;
        b.wait_text(".wizard .banner.success", "Signing secret saved").await;
        let listed = integrations_of(&e2e_ref.app, org, &owner_token).await;
        assert_eq!(listed.len(), 1);
        assert!(listed[0].webhook.secret_set, "the signing secret was saved");
        assert!(url.ends_with(&listed[0].id.to_string()), "{url}");
        b.click("#wizard-done").await;
        b.wait_for(|| async {
            b.execute("return document.activeElement.id").await == "connect-pagerduty"
        })
        .await;

        // The card: status, count, and the page stops polling once everything is idle.
        b.wait_text(".integration .status", "Up to date").await;
        b.wait_text(".integration .incident-count", "300").await;
        b.wait_text(".integration", "PagerDuty (production)").await;
        b.execute(
            "window.__polls = 0; const f = window.fetch; \
             window.fetch = (r, ...rest) => { if (String(r.url || r).includes('/integrations')) window.__polls++; return f(r, ...rest); }; \
             return true;",
        )
        .await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(b.execute("return window.__polls").await, 0, "polling stopped when idle");

        // Its incidents, found with the source filter.
        b.click(".integration .incident-count a").await;
        b.wait_text("main h1", "Incidents").await;
        assert_eq!(b.value("#incident-source").await, "pagerduty");
        b.wait_text("table.incidents tbody tr[data-source='pagerduty']", "PagerDuty").await;
        b.select("#incident-source", "sample").await;
        b.wait_text(".empty", "No incidents").await;
        b.select("#incident-source", "pagerduty").await;
        b.wait_text("table.incidents tbody tr[data-source='pagerduty']", "PagerDuty").await;
        assert_eq!(b.count("table.incidents tbody tr").await, 50, "the first page");
        assert_eq!(b.count("table.incidents tbody tr[data-source='pagerduty']").await, 50);
        assert!(b.path().await.ends_with("/incidents"));
        // One of them: its link back to PagerDuty.
        b.click("table.incidents tbody tr a").await;
        b.wait_text("main h2", "Timeline").await;
        b.wait_text(".facts .source", "Open in PagerDuty").await;
        let link = b.attr(".facts .source a", "href").await.unwrap_or_default();
        assert!(link.starts_with("https://acme.pagerduty.com/incidents/"), "{link}");
    })
    .await;
    let n = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/incidents?source=pagerduty&limit=100"),
            &owner.token,
        )
        .await;
    assert_eq!(n.body["items"].as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn a_wrong_key_shows_the_sources_sentence_beside_the_key_field_and_nothing_is_created() {
    let fake = FakePagerDuty::start(
        "the-right-token",
        History::recent(10, chrono::Duration::hours(1)),
    )
    .await;
    let e2e = E2e::start(&[("INSIGHTS_PAGERDUTY_API_URL", &fake.url)]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let fake_ref = &fake;
    e2e.run("wrong-key", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/integrations")).await;
        b.click("#connect-pagerduty").await;
        b.click("#wizard-next").await;
        // The shared validators answer first, in the browser: nothing is sent.
        b.execute(
            "window.__posts = 0; const f = window.fetch; \
             window.fetch = (r, ...rest) => { if (r.method === 'POST' && String(r.url).includes('/integrations')) window.__posts++; return f(r, ...rest); }; \
             return true;",
        )
        .await;
        b.fill("#connect-key", "short").await;
        b.fill("#connect-interval", "5000").await;
        b.click(".wizard button[type=submit]").await;
        b.wait_text("#connect-key-error", "must be 8 to 256 characters")
            .await;
        b.wait_text("#connect-interval-error", "between 1 and 1440")
            .await;
        assert_eq!(b.execute("return window.__posts").await, 0, "checked in the browser");
        assert_eq!(fake_ref.requests(), 0, "nothing reached PagerDuty");
        // A well-formed key PagerDuty refuses: its sentence lands beside the key field.
        b.fill("#connect-interval", "15").await;
        b.fill("#connect-key", "a-wrong-token").await;
        b.click(".wizard button[type=submit]").await;
        b.wait_text("#connect-key-error", "refused the credential")
            .await;
        assert_eq!(b.execute("return window.__posts").await, 1, "sent once");
        b.wait_text("#connect-key-error", "API Access Keys").await;
        assert_eq!(
            b.attr("#connect-key", "aria-invalid").await.as_deref(),
            Some("true")
        );
        assert_eq!(b.text("#connect-interval-error").await, "");
        assert_eq!(
            b.count(".wizard .banner.error").await,
            0,
            "no banner: the error is on its field"
        );
        b.wait_text(".wizard-step", "Step 2 of 3").await;
    })
    .await;
    assert!(fake.requests() >= 1, "the key was tried once");
    assert!(
        integrations_of(&e2e.app, org, &owner.token)
            .await
            .is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn viewers_and_members_see_the_integrations_status_but_no_actions() {
    let fake =
        FakePagerDuty::start("pd-token", History::recent(20, chrono::Duration::hours(2))).await;
    let e2e = E2e::start(&[("INSIGHTS_PAGERDUTY_API_URL", &fake.url)]).await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    let pd = connect_pagerduty(&e2e.app, org, &p.owner.token, "PagerDuty", "pd-token").await;
    wait_synced(&e2e.app, org, &p.owner.token, pd.id).await;
    for who in [&p.viewer, &p.member] {
        let email = who.email.clone();
        e2e.run(&format!("integrations-as-{}", who.email), |b| async move {
            b.login(&email).await;
            b.goto(&format!("/orgs/{org}/integrations")).await;
            b.wait_text(".integration .status", "Up to date").await;
            b.wait_text(".integration .incident-count", "20").await;
            b.wait_text(".integration .sync-summary", "History import finished")
                .await;
            b.wait_text(".integration", "Synced until").await;
            assert_eq!(b.count(".integration-actions").await, 0, "no actions");
            assert_eq!(b.count(".integration [data-action]").await, 0, "no actions");
            assert_eq!(
                b.count("#connect-pagerduty, #connect-opsgenie").await,
                0,
                "no connect"
            );
            assert_eq!(b.count("#load-sample").await, 0);
        })
        .await;
    }
    // The server refuses them anyway.
    let forced = e2e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/integrations/{}/sync", pd.id),
            &p.viewer.token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(forced.status, reqwest::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_owner_manages_an_integration_and_disconnecting_while_keeping_the_data_leaves_the_incidents()
 {
    let fake =
        FakePagerDuty::start("pd-token", History::recent(40, chrono::Duration::hours(2))).await;
    let e2e = E2e::start(&[("INSIGHTS_PAGERDUTY_API_URL", &fake.url)]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let pd = connect_pagerduty(&e2e.app, org, &owner.token, "PagerDuty", "pd-token").await;
    wait_synced(&e2e.app, org, &owner.token, pd.id).await;
    let fake_ref = &fake;
    let app = &e2e.app;
    let token = owner.token.clone();
    e2e.run("manage-and-disconnect", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/integrations")).await;
        b.wait_text(".integration .incident-count", "40").await;
        b.click(".integration [data-action=pause]").await;
        b.wait_text(".integration .status", "Paused").await;
        b.wait_text(".integration .facts", "paused").await;
        b.click(".integration [data-action=resume]").await;
        b.wait_text(".integration .status", "Up to date").await;

        // Settings: rename and change the interval; a bad value is refused beside its field, and a
        // replacement key PagerDuty refuses gets PagerDuty's sentence.
        b.click(".integration [data-action=settings]").await;
        assert_eq!(
            b.attr(".integration [data-action=settings]", "aria-expanded")
                .await
                .as_deref(),
            Some("true")
        );
        b.fill("input[id^='settings-name-']", "PagerDuty (prod)")
            .await;
        b.fill("input[id^='settings-interval-']", "0").await;
        b.click(".settings-form button[type=submit]").await;
        b.wait_text(
            "p[id^='settings-interval-'][id$='-error']",
            "between 1 and 1440",
        )
        .await;
        b.fill("input[id^='settings-interval-']", "30").await;
        b.fill("input[id^='settings-key-']", "not-the-token").await;
        b.click(".settings-form button[type=submit]").await;
        b.wait_text(
            "p[id^='settings-key-'][id$='-error']",
            "refused the credential",
        )
        .await;
        b.fill("input[id^='settings-key-']", "").await;
        b.click(".settings-form button[type=submit]").await;
        b.wait_text(".settings-form .banner.success", "Saved").await;
        b.wait_text(".integration h2", "PagerDuty (prod)").await;
        b.wait_text(".integration .facts", "30 min").await;
        let saved = integrations_of(app, org, &token).await;
        assert_eq!(saved[0].name, "PagerDuty (prod)");
        assert_eq!(saved[0].sync_interval_minutes, 30);

        b.click(".settings-form button[type=button]").await;
        b.wait_gone(".settings-form").await;

        // A full re-import, cancelled while it runs.
        fake_ref.set_delay(Duration::from_millis(1_500));
        b.click(".integration [data-action=backfill]").await;
        b.wait_text(".integration .status", "Importing history")
            .await;
        b.click(".integration [data-action=cancel]").await;
        b.wait_text_within(
            ".integration .sync-summary",
            "was cancelled",
            Duration::from_secs(40),
        )
        .await;
        b.wait_text(".integration .status", "Up to date").await;
        assert_eq!(b.count(".integration [data-action=cancel]").await, 0);
        fake_ref.set_delay(Duration::ZERO);

        // The dialog makes the choice explicit; Escape backs out.
        b.click(".integration [data-action=disconnect]").await;
        b.wait_text(".dialog", "40 incidents it imported").await;
        assert_eq!(
            b.attr("#disconnect-confirm", "disabled").await.as_deref(),
            Some("true")
        );
        // The focus moves into the dialog, on the first choice.
        b.wait_for(|| async { b.execute("return document.activeElement.value").await == "keep" })
            .await;
        b.press("\u{E00C}").await;
        b.wait_gone(".dialog").await;
        assert_eq!(
            b.execute("return document.activeElement.dataset.action")
                .await,
            "disconnect",
            "focus back on the button"
        );
        b.click(".integration [data-action=disconnect]").await;
        // Tab and Shift+Tab stay inside the dialog.
        b.wait_for(|| async { b.execute("return document.activeElement.value").await == "keep" })
            .await;
        b.press("\u{E008}\u{E004}").await;
        assert_eq!(
            b.execute("return document.activeElement.textContent").await,
            "Cancel"
        );
        b.press("\u{E004}").await;
        assert_eq!(
            b.execute("return document.activeElement.value").await,
            "keep"
        );
        b.click(".dialog input[value=keep]").await;
        b.click("#disconnect-confirm").await;
        b.wait_gone(".integration").await;
        b.wait_gone(".dialog").await;

        b.goto(&format!("/orgs/{org}/incidents?source=pagerduty"))
            .await;
        b.wait_text(
            "table.incidents tbody tr[data-source='pagerduty']",
            "PagerDuty",
        )
        .await;
        assert_eq!(b.count("table.incidents tbody tr").await, 40);
    })
    .await;
    assert!(
        integrations_of(&e2e.app, org, &owner.token)
            .await
            .is_empty()
    );
    let kept = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/incidents?source=pagerduty&limit=100"),
            &owner.token,
        )
        .await;
    assert_eq!(
        kept.body["items"].as_array().map(Vec::len),
        Some(40),
        "{}",
        kept.text
    );
}

#[tokio::test]
async fn connecting_opsgenie_shows_the_webhook_secret_once_and_rotating_makes_a_new_one() {
    // Opsgenie's published API description, served by Prism (scripts/test starts it).
    let prism = std::env::var("INSIGHTS_TEST_PRISM_OPSGENIE").expect(
        "INSIGHTS_TEST_PRISM_OPSGENIE is set: run the tests with scripts/test, which starts Prism",
    );
    let e2e = E2e::start(&[("INSIGHTS_OPSGENIE_API_URL", &prism)]).await;
    // The import this starts reads Prism's static answers, which make no whole walk (see the connector's
    // contract tests): it may still be running when the test ends.
    e2e.app.allow_pending_jobs();
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let app = &e2e.app;
    let token = owner.token.clone();
    e2e.run("connect-opsgenie", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/integrations")).await;
        b.click("#connect-opsgenie").await;
        b.wait_text(".wizard", "Settings → API key management")
            .await;
        b.wait_text(".wizard", "app.eu.opsgenie.com").await;
        b.click("#wizard-next").await;
        b.fill("#connect-key", "og-key-0123456789").await;
        b.select("#connect-region", "eu").await;
        b.fill("#connect-query", "priority:(P1 OR P2)").await;
        b.save_screenshot("connect-opsgenie").await;
        b.click(".wizard button[type=submit]").await;
        b.wait_text(".wizard h2", "Opsgenie is connected").await;

        // The URL, the header and its secret, shown this once.
        b.wait_text(".wizard .steps", "Settings → Integrations")
            .await;
        b.wait_text(".wizard .steps code", "X-Insights-Webhook-Secret")
            .await;
        b.wait_text(".wizard .steps", "Shown only this once").await;
        b.save_screenshot("connect-opsgenie-webhook").await;
        let url = b.value(".wizard input[id^='webhook-url-']").await;
        let secret = b.value(".wizard input[id^='webhook-secret-value-']").await;
        assert!(url.contains("/hooks/opsgenie/"), "{url}");
        assert!(secret.len() >= 20, "{secret}");
        let listed = integrations_of(app, org, &token).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].region.map(|r| r.as_str()), Some("eu"));
        assert!(
            listed[0].webhook.secret.is_none(),
            "never shown again by the API"
        );
        assert_eq!(
            hook(app, &url, &secret).await,
            reqwest::StatusCode::ACCEPTED,
            "the secret shown works"
        );

        // Rotating: a new secret, shown once; the old one stops working.
        b.click(".wizard .steps button.small").await;
        b.wait_for(|| async {
            b.value(".wizard input[id^='webhook-secret-value-']").await != secret
        })
        .await;
        let rotated = b.value(".wizard input[id^='webhook-secret-value-']").await;
        assert!(rotated.len() >= 20);
        assert_eq!(
            hook(app, &url, &secret).await,
            reqwest::StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            hook(app, &url, &rotated).await,
            reqwest::StatusCode::ACCEPTED
        );

        // Later, from the card: the secret is not shown again, only the way to make a new one.
        b.click("#wizard-done").await;
        b.wait_text(".integration", "Opsgenie · EU region").await;
        b.click(".integration [data-action=webhook]").await;
        b.wait_text(".integration .panel", "cannot be shown again")
            .await;
        assert_eq!(
            b.count(".integration input[id^='webhook-secret-value-']")
                .await,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn the_pagerduty_webhook_is_created_in_one_click_when_the_key_may_write() {
    let fake = FakePagerDuty::start(
        "pd-token-hook",
        History::recent(5, chrono::Duration::hours(1)),
    )
    .await;
    let e2e = E2e::start(&[("INSIGHTS_PAGERDUTY_API_URL", &fake.url)]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let i = connect_pagerduty(&e2e.app, org, &owner.token, "PagerDuty", "pd-token-hook").await;
    wait_synced(&e2e.app, org, &owner.token, i.id).await;
    let (fake_ref, e2e_ref, token) = (&fake, &e2e, owner.token.clone());
    e2e.run("webhook-one-click", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/integrations")).await;
        b.click(".integration [data-action=webhook]").await;
        b.wait_text(".integration .panel", "Create it in PagerDuty for me")
            .await;
        // A read-only key: PagerDuty's refusal says what to do instead; nothing is saved.
        fake_ref.set_read_only(true);
        b.click(".integration button[id^='webhook-subscribe-']")
            .await;
        b.wait_text(
            ".integration p[id^='webhook-subscribe-error-']",
            "paste its signing secret",
        )
        .await;
        assert!(fake_ref.subscriptions().is_empty());
        // A key that may write: one click creates the webhook and keeps its secret.
        fake_ref.set_read_only(false);
        b.click(".integration button[id^='webhook-subscribe-']")
            .await;
        b.wait_text(".integration .banner.success", "Signing secret saved")
            .await;
        b.wait_text(".integration", "set up").await;
        let subs = fake_ref.subscriptions();
        assert_eq!(subs.len(), 1);
        let listed = integrations_of(&e2e_ref.app, org, &token).await;
        assert!(listed[0].webhook.secret_set);
        assert_eq!(subs[0].0, listed[0].webhook.url);
    })
    .await;
}

/// The integrations of an organization, through the API.
async fn integrations_of(app: &TestApp, org: OrgId, token: &str) -> Vec<IntegrationOut> {
    app.get(&format!("/api/v1/orgs/{org}/integrations"), token)
        .await
        .json::<Page<IntegrationOut>>()
        .items
}

/// Sends an Opsgenie-style webhook with `secret` in its header; returns the status.
async fn hook(app: &TestApp, url: &str, secret: &str) -> reqwest::StatusCode {
    let path = url
        .split_once("/hooks/")
        .map(|(_, rest)| format!("/hooks/{rest}"))
        .expect("a hook URL");
    let delivery = uuid::Uuid::new_v4().to_string();
    app.send(
        app.raw(reqwest::Method::POST, &path)
            .header("X-Insights-Webhook-Secret", secret)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "action": "Create",
                    "alert": { "alertId": delivery, "message": "Disk full", "createdAt": 1_700_000_000_000_i64 },
                    "source": { "name": "e2e", "type": "api" }
                })
                .to_string(),
            ),
    )
    .await
    .status
}
