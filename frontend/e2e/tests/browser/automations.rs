//! Automations in the browser: an AWS account connected through the wizard against moto (the external id and
//! both templates shown, the role and function saved, every verification check shown), a Lambda automation
//! created in the editor with its live preview, a rule with its dry run, a new PagerDuty incident that the
//! rule matches, the run waiting in the approvals inbox (with the badge in the navigation), approved, invoked,
//! and its result posted back on the incident's timeline; the kill switch's banner on every page, and what a
//! viewer may not do; the README's screenshots of the new pages.

use crate::harness::{Browser, E2e, connect_pagerduty, wait_synced};
use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_testing::{Personas, moto};
use insights_types::OrgId;
use insights_types::api::{Page, RunSummaryOut};
use std::time::Duration;

/// How long a run may take from an incident's arrival to its result (sync, dispatcher, worker, Lambda).
const RAN: Duration = Duration::from_secs(60);

/// The worker's own AWS identity comes from the standard chain: `scripts/test` points it at moto
/// (`AWS_ENDPOINT_URL`, static test keys), so the product assumes roles and invokes functions there.
fn worker_speaks_to_moto() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert_eq!(
        endpoint.trim_end_matches('/'),
        moto::url(),
        "AWS_ENDPOINT_URL must name the moto server (scripts/test exports it with INSIGHTS_TEST_MOTO_URL)"
    );
}

/// Clicks an element after scrolling it to the middle of the window (long forms scroll buttons under the
/// sticky top bar otherwise).
async fn click_centered(b: &Browser, css: &str) {
    b.wait_for(|| async { b.count(css).await > 0 }).await;
    b.execute(&format!(
        "document.querySelector(\"{css}\").scrollIntoView({{ block: 'center' }}); return null"
    ))
    .await;
    b.click(css).await;
}

/// The current path's last segment (the id of the page).
async fn last_segment(b: &Browser) -> String {
    b.path().await.rsplit('/').next().unwrap().to_owned()
}

/// Reloads the page until `css` contains `needle` (for state the page reads once, like the navigation's
/// badge), within `limit`.
async fn reload_until(b: &Browser, css: &str, needle: &str, limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let found = b.count(css).await > 0 && b.text(css).await.contains(needle);
        if found {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {css} containing {needle:?} within {limit:?}"
        );
        b.reload().await;
    }
}

#[tokio::test]
async fn aws_connected_against_moto_a_rule_fires_on_a_new_incident_the_approved_run_invokes_and_posts_back()
 {
    worker_speaks_to_moto();
    moto::use_simple_lambda().await;
    // moto's state outlives a test: names of this run only.
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let function = format!("restart-checkout-{suffix}");
    let role_arn = moto::create_role(&format!("incident-insights-{suffix}")).await;
    moto::create_function("us-east-1", &function, &role_arn).await;
    let fake = FakePagerDuty::start(
        "pd-token-e2e",
        History::recent(20, chrono::Duration::minutes(30)),
    )
    .await;
    let overrides = [
        ("INSIGHTS_PAGERDUTY_API_URL", fake.url.as_str()),
        (
            "INSIGHTS_AWS_PRINCIPAL_ARN",
            "arn:aws:iam::123456789012:role/incident-insights",
        ),
    ];
    let e2e = E2e::start(&overrides).await;
    let p: Personas = e2e.app.personas().await;
    let org = p.org_id;
    let pd = connect_pagerduty(&e2e.app, org, &p.owner.token, "PagerDuty", "pd-token-e2e").await;
    wait_synced(&e2e.app, org, &p.owner.token, pd.id).await;
    // An account key writes notes as a user of the account (PagerDuty's `From` header).
    let r = e2e
        .app
        .patch(
            &format!("/api/v1/orgs/{org}/integrations/{}", pd.id),
            &p.owner.token,
            serde_json::json!({ "options": { "note_author_email": "ada@acme.example" } }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
    let owner = p.owner.email.clone();
    let role = role_arn.clone();
    let f = function.clone();

    // Connect AWS, create the automation and the rule.
    e2e.run("automations-setup", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/automations/connections"))
            .await;
        b.wait_text(".connect-aws h2", "Connect an AWS account")
            .await;
        b.fill("#aws-name", "Production").await;
        b.fill("#aws-region", "us-east-1").await;
        b.click(".connect-aws button[type=submit]").await;
        // Step 2: the external id, and both templates embedding it.
        b.wait_text(".role-templates h2", "Create the role").await;
        let external = b.value("#aws-external-id").await;
        assert!(
            external.len() >= 16,
            "an unguessable external id: {external:?}"
        );
        b.wait_for(|| async { b.count(".template-text").await > 0 })
            .await;
        assert!(
            b.text(".template-text").await.contains(&external),
            "CloudFormation names the external id"
        );
        b.click("#tab-terraform").await;
        b.wait_for(|| async { b.count("#tab-terraform[aria-selected='true']").await == 1 })
            .await;
        assert!(
            b.text(".template-text").await.contains(&external),
            "Terraform names the external id"
        );
        // Step 3: the role and the function; the template then grants that function only.
        b.fill("#aws-role-arn", &role).await;
        b.fill("#aws-functions", &f).await;
        click_centered(&b, ".role-functions button[type=submit]").await;
        b.wait_text(".role-functions .banner.success", "Saved")
            .await;
        b.wait_for(|| async { b.text(".template-text").await.contains(&f) })
            .await;
        // Step 4: verification, every check with its sentence.
        click_centered(&b, "#verify-connection").await;
        reload_until(
            &b,
            ".connection-status[data-status='verified']",
            "verified",
            RAN,
        )
        .await;
        b.wait_text(&format!(".checks li[data-check='function:{f}']"), "ok")
            .await;
        assert_eq!(
            b.count(".checks .check-failed").await,
            0,
            "{}",
            b.text(".checks").await
        );
        b.save_screenshot("automations-connect-aws").await;
        let connection = last_segment(&b).await;

        // The automation: a Lambda function, runs need an approval, the result goes back to the incident.
        b.goto(&format!("/orgs/{org}/automations")).await;
        b.click("#new-automation").await;
        b.wait_text("main h1", "New automation").await;
        b.fill("#automation-name", "Restart checkout").await;
        b.wait_for(|| async {
            b.count(&format!(
                "#automation-connection option[value='{connection}']"
            ))
            .await
                > 0
        })
        .await;
        b.select("#automation-connection", &connection).await;
        b.wait_for(|| async {
            b.count(&format!("#automation-function option[value='{f}']"))
                .await
                > 0
        })
        .await;
        b.select("#automation-function", &f).await;
        click_centered(&b, "#automation-needs-approval").await;
        click_centered(&b, "#automation-post-result").await;
        click_centered(&b, ".automation-form button[type=submit]").await;
        b.wait_text("main h1", "Restart checkout").await;
        // The live preview renders the payload as JSON against the latest incident.
        b.wait_for(|| async { b.count(".payload-preview").await > 0 })
            .await;
        let rendered = b.text(".payload-preview").await;
        let payload: serde_json::Value =
            serde_json::from_str(&rendered).unwrap_or_else(|e| panic!("{e}: {rendered}"));
        assert!(payload["title"].is_string(), "{payload}");
        // A template error is shown with its line, and nothing is saved.
        b.fill(
            "#automation-template",
            "{\n  \"title\": {{ incident.title \n}",
        )
        .await;
        b.wait_for(|| async { b.count(".template-error").await > 0 })
            .await;
        assert!(
            b.text(".template-error").await.contains("Line"),
            "{}",
            b.text(".template-error").await
        );
        b.save_screenshot("automations-editor").await;
        let automation = last_segment(&b).await;

        // The rule: new incidents whose title speaks of disk usage; its dry run explains each verdict.
        b.goto(&format!("/orgs/{org}/automations/rules")).await;
        b.click("#new-rule").await;
        b.wait_text("main h1", "New rule").await;
        b.fill("#rule-name", "Disk filling up").await;
        b.wait_for(|| async {
            b.count(&format!("#rule-automation option[value='{automation}']"))
                .await
                > 0
        })
        .await;
        b.select("#rule-automation", &automation).await;
        b.fill("#rule-title-regex", "disk usage").await;
        click_centered(&b, "#dry-run").await;
        b.wait_text(".dry-run-summary", "20 examined").await;
        b.save_screenshot("automations-rule-dry-run").await;
        click_centered(&b, ".rule-form button[type=submit]").await;
        b.wait_text("main h1", "Disk filling up").await;
    })
    .await;

    // A new incident arrives and matches: its run waits for an approval.
    let live = fake.trigger("Disk usage above 90% on db-7", 0);
    let r = e2e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/integrations/{}/sync", pd.id),
            &p.owner.token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::ACCEPTED, "{}", r.text);
    let token = p.owner.token.clone();
    let app = &e2e.app;
    let run_id = {
        let deadline = std::time::Instant::now() + RAN;
        loop {
            let r = app
                .get(&format!("/api/v1/orgs/{org}/automation-approvals"), &token)
                .await;
            let page: Page<RunSummaryOut> = r.json();
            if let Some(run) = page.items.first() {
                break run.id;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no run waits for approval: {}",
                r.text
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let admin = p.admin.email.clone();
    let incident = e2e
        .run("automations-approve", |b| async move {
            b.login(&admin).await;
            b.goto(&format!("/orgs/{org}/dashboard")).await;
            // The badge in the navigation counts the runs waiting for this approver.
            reload_until(&b, ".sidenav .nav-badge", "1", RAN).await;
            b.goto(&format!("/orgs/{org}/automations/approvals")).await;
            b.wait_text(".approvals .runs-table", "Restart checkout")
                .await;
            b.save_screenshot("automations-approvals").await;
            b.click(&format!(".approvals tr[data-id='{run_id}'] td a"))
                .await;
            b.wait_text(".decide h2", "waits for an approval").await;
            b.fill("#decision-comment", "go ahead").await;
            b.click("#approve-run").await;
            // The page follows the run to its end: invoked, succeeded, posted back.
            b.wait_text_within(".run-status", "succeeded", RAN).await;
            b.wait_text_within(".posted-back", "posted", RAN).await;
            let events = b.text(".run-events").await;
            for kind in [
                "requested",
                "approved",
                "attempt started",
                "attempt succeeded",
            ] {
                assert!(events.contains(kind), "{kind} missing from {events}");
            }
            assert!(
                events.contains("go ahead"),
                "the decision's comment is recorded: {events}"
            );
            assert!(
                b.text(".run-payload")
                    .await
                    .contains("Disk usage above 90% on db-7")
            );
            b.save_screenshot("automations-run").await;
            // The result on the incident's own timeline.
            b.click(".facts dd a[href*='/incidents/']").await;
            b.wait_text("main h1", "Disk usage above 90% on db-7").await;
            b.wait_text_within(".timeline", "Restart checkout", RAN)
                .await;
            last_segment(&b).await
        })
        .await;
    assert!(!incident.is_empty());
    // The function was invoked exactly once, with the rendered payload.
    let run: serde_json::Value = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/automation-runs/{run_id}"),
            &p.owner.token,
        )
        .await
        .json();
    assert_eq!(run["attempts"], 1, "{run}");
    assert_eq!(run["trigger"], "rule", "{run}");
    // The result went to the PagerDuty incident as a note, written as the integration's note author.
    let notes = fake.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    let (noted, from, content) = &notes[0];
    assert_eq!(noted, &live);
    assert_eq!(from, "ada@acme.example");
    assert!(content.contains("Restart checkout"), "{content}");
}

/// Turns the kill switch on or off through the API.
async fn kill(e2e: &E2e, p: &Personas, on: bool) {
    let r = e2e
        .app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{}/automation-settings", p.org_id),
            Some(&p.owner.token),
            Some(serde_json::json!({ "killed": on, "reason": if on { "Deploy freeze" } else { "" } })),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn the_kill_switch_shows_a_banner_on_every_page_and_a_viewer_may_neither_run_nor_turn_it_off()
{
    let e2e = E2e::start(&[]).await;
    let p = e2e.app.personas().await;
    let org: OrgId = p.org_id;
    insights_testing::seed_incidents(&e2e.app, org, 3, chrono::Duration::hours(1)).await;
    let owner = p.owner.email.clone();
    e2e.run("kill-switch-owner", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/automations")).await;
        b.wait_text("#kill-switch", "Off").await;
        assert_eq!(b.count(".kill-banner").await, 0);
        b.fill("#kill-reason", "Deploy freeze").await;
        b.click("#kill-on").await;
        b.wait_text(".kill-banner", "Automations are stopped").await;
        assert!(b.text(".kill-banner").await.contains("Deploy freeze"));
        // Every page shows it.
        for page in ["dashboard", "incidents", "patterns", "runbooks", "settings"] {
            b.goto(&format!("/orgs/{org}/{page}")).await;
            b.wait_text(".kill-banner", "Deploy freeze").await;
        }
        b.save_screenshot("automations-kill-switch").await;
        b.goto(&format!("/orgs/{org}/automations")).await;
        b.wait_text("#kill-switch", "On").await;
        b.click("#kill-switch button[type=submit]").await;
        b.wait_gone(".kill-banner").await;
    })
    .await;
    kill(&e2e, &p, true).await;
    let viewer = p.viewer.email.clone();
    let token = p.viewer.token.clone();
    let app = &e2e.app;
    e2e.run("kill-switch-viewer", |b| async move {
        b.login(&viewer).await;
        b.goto(&format!("/orgs/{org}/automations")).await;
        b.wait_text(".kill-banner", "Deploy freeze").await;
        b.wait_text("#kill-switch", "Owners and admins").await;
        assert_eq!(
            b.count("#kill-on").await + b.count("#kill-switch form").await,
            0
        );
        assert_eq!(b.count("#new-automation").await, 0);
        // No "Run automation…" on an incident for a viewer.
        let incidents: Page<insights_types::api::IncidentOut> = app
            .get(&format!("/api/v1/orgs/{org}/incidents"), &token)
            .await
            .json();
        b.goto(&format!("/orgs/{org}/incidents/{}", incidents.items[0].id))
            .await;
        b.wait_for(|| async { b.count(".timeline").await > 0 })
            .await;
        assert_eq!(b.count(".run-automation").await, 0);
    })
    .await;
    kill(&e2e, &p, false).await;
}

#[tokio::test]
async fn screenshots_of_the_automation_pages() {
    let e2e = E2e::start(&[(
        "INSIGHTS_AWS_PRINCIPAL_ARN",
        "arn:aws:iam::123456789012:role/incident-insights",
    )])
    .await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    insights_testing::seed_incidents(&e2e.app, org, 12, chrono::Duration::hours(3)).await;
    let post = |path: &str, body: serde_json::Value| {
        let path = format!("/api/v1/orgs/{org}/{path}");
        let token = p.owner.token.clone();
        let app = &e2e.app;
        async move {
            let r = app.post(&path, &token, body).await;
            assert!(r.status.is_success(), "{path}: {}", r.text);
            r.body
        }
    };
    let connection = post(
        "aws-connections",
        serde_json::json!({ "name": "Production", "mode": "role", "region": "eu-west-1",
            "role_arn": "arn:aws:iam::210987654321:role/incident-insights-automations",
            "functions": ["restart-checkout", "runner"] }),
    )
    .await;
    let automation = post(
        "automations",
        serde_json::json!({ "name": "Restart checkout", "description": "Rolls the checkout pods.",
            "action": "lambda", "settings": { "connection_id": connection["id"], "function_name": "restart-checkout" },
            "template": "{\n  \"incident\": {{ incident.id }},\n  \"title\": {{ incident.title }},\n  \"params\": {{ params }}\n}",
            "needs_approval": true, "post_result": true }),
    )
    .await;
    post(
        "automation-rules",
        serde_json::json!({ "name": "Disk filling up", "automation_id": automation["id"],
            "conditions": { "title_regex": "disk full" } }),
    )
    .await;
    post(
        "automation-schedules",
        serde_json::json!({ "name": "Nightly cache warm-up", "automation_id": automation["id"],
            "cron": "0 3 * * *", "time_zone": "Europe/Paris" }),
    )
    .await;
    let incidents: Page<insights_types::api::IncidentOut> = e2e
        .app
        .get(&format!("/api/v1/orgs/{org}/incidents"), &p.owner.token)
        .await
        .json();
    let run = post(
        &format!("automations/{}/runs", automation["id"].as_str().unwrap()),
        serde_json::json!({ "incident_id": incidents.items[0].id }),
    )
    .await;
    let owner = p.owner.email.clone();
    let id = automation["id"].as_str().unwrap().to_owned();
    let run_id = run["id"].as_str().unwrap().to_owned();
    let conn = connection["id"].as_str().unwrap().to_owned();
    e2e.run("automations-screenshots", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/automations")).await;
        b.wait_text(".automations-table", "Restart checkout").await;
        b.save_screenshot("automations").await;
        b.goto(&format!("/orgs/{org}/automations/{id}")).await;
        b.wait_for(|| async { b.count(".payload-preview").await > 0 })
            .await;
        b.execute("document.querySelector('#automation-template').scrollIntoView({ block: 'start' }); return null")
            .await;
        b.save_screenshot("automation-editor").await;
        b.goto(&format!("/orgs/{org}/automations/connections/{conn}"))
            .await;
        b.wait_for(|| async { b.count(".template-text").await > 0 })
            .await;
        b.save_screenshot("automations-aws-wizard").await;
        b.goto(&format!("/orgs/{org}/automations/runs")).await;
        b.wait_text(".runs-table", "Restart checkout").await;
        b.save_screenshot("automation-runs").await;
        b.goto(&format!("/orgs/{org}/automations/runs/{run_id}"))
            .await;
        b.wait_for(|| async { b.count(".run-events li").await > 0 })
            .await;
        b.save_screenshot("automation-run").await;
        b.goto(&format!("/orgs/{org}/automations/rules")).await;
        b.wait_text(".rules-table", "Disk filling up").await;
        b.goto(&format!("/orgs/{org}/automations/rules/new")).await;
        b.wait_for(|| async { b.count("#rule-automation option").await > 1 })
            .await;
        b.select("#rule-automation", &id).await;
        b.fill("#rule-name", "Disk full on checkout").await;
        b.fill("#rule-title-regex", "disk full").await;
        click_centered(&b, "#dry-run").await;
        b.wait_text(".dry-run-summary", "12 examined").await;
        b.save_screenshot("automation-rule-dry-run").await;
        b.goto(&format!("/orgs/{org}/automations/schedules")).await;
        b.wait_text(".schedules-table", "Nightly cache warm-up")
            .await;
        b.save_screenshot("automation-schedules").await;
    })
    .await;
}
