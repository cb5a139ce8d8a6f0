//! The web app in a real browser: Debian's Chromium, headless, driven through chromedriver (WebDriver) against
//! the real API, PostgreSQL and Redis, with the release build of the app (`scripts/build-frontend --release`,
//! which `scripts/test` runs first). On failure a test saves a screenshot and the page's HTML under
//! `target/e2e-artifacts/`.

mod accounts;
mod automations;
mod dashboard;
mod harness;
mod incidents;
mod integrations;
mod patterns;
mod runbooks;
mod sessions;

use harness::{E2e, PASSWORD, connect_pagerduty, wait_synced};
use insights_testing::fake_pagerduty::{FakePagerDuty, History};
use insights_types::Role;
use std::time::Duration;

#[tokio::test]
async fn signing_up_lands_on_the_dashboard_shell() {
    let e2e = E2e::start(&[
        ("INSIGHTS_HELP_URL", "https://help.example.com/guide/"),
        (
            "INSIGHTS_TROUBLESHOOTING_URL",
            "https://help.example.com/troubleshooting",
        ),
    ])
    .await;
    e2e.run("signup", |b| async move {
        b.sign_up("Ada Lovelace", "ada@example.com", "Acme SRE")
            .await;
        assert!(b.path().await.ends_with("/dashboard"));
        b.wait_text(".dash-empty", "No incidents yet").await;
        // The shell: every section in the navigation, the organization in the switcher, the user menu.
        let nav = b.text(".sidenav").await;
        for s in [
            "Dashboard",
            "Incidents",
            "Patterns",
            "Runbooks",
            "Automations",
            "Integrations",
            "Settings",
        ] {
            assert!(nav.contains(s), "{s} missing from {nav}");
        }
        assert!(b.text("#org-switcher").await.contains("Acme SRE"));
        assert!(b.text(".user-menu").await.contains("Ada Lovelace"));
        // Help opens the configured user guide; the feedback dialog leads to troubleshooting.
        b.wait_for(|| async {
            b.attr(".topbar a.help-link", "href").await.as_deref()
                == Some("https://help.example.com/guide/")
        })
        .await;
        assert_eq!(b.text(".topbar a.help-link").await, "Help");
        b.click(".topbar button.feedback-button").await;
        assert_eq!(
            b.attr(".feedback-troubleshooting a", "href")
                .await
                .as_deref(),
            Some("https://help.example.com/troubleshooting")
        );
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_shows_the_error() {
    let e2e = E2e::start(&[]).await;
    e2e.app.signup("grace@example.com", "Acme").await;
    e2e.run("wrong-password", |b| async move {
        b.goto("/login").await;
        b.fill("#email", "grace@example.com").await;
        b.fill("#password", "definitely not it").await;
        b.click("button[type=submit]").await;
        b.wait_text(".banner.error", "Email or password is incorrect")
            .await;
        assert!(b.path().await.starts_with("/login"));
        // A field error lands beside its field.
        b.goto("/signup").await;
        b.fill("#name", "X").await;
        b.fill("#email", "x@example.com").await;
        b.fill("#password", "short").await;
        b.fill("#organization_name", "X").await;
        b.click("button[type=submit]").await;
        b.wait_text("#password-error", "at least 12 characters")
            .await;
    })
    .await;
}

#[tokio::test]
async fn a_teammate_joins_through_the_link_and_a_viewer_loses_the_invite_action() {
    let e2e = E2e::start(&[]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let link = e2e
        .run("invite", |b| async move {
            b.login("owner@example.com").await;
            b.goto(&format!("/orgs/{org}/settings/invitations")).await;
            b.fill("#invite-email", "teammate@example.com").await;
            b.select("#invite-role", "member").await;
            b.click("form.inline-form button[type=submit]").await;
            b.wait_text(".banner.success", "teammate@example.com").await;
            let link = b.value("#invite-link").await;
            assert!(link.contains("/join#token="), "{link}");
            b.wait_text(".table", "teammate@example.com").await;
            link
        })
        .await;

    // A second, separate browser session signs up through the link.
    e2e.run("join", |b| {
        let link = link.clone();
        async move {
            b.goto_url(&link).await;
            b.wait_text("main h1", "Join Acme SRE").await;
            // The token was read from the fragment and removed from the address bar (and this history entry).
            let href = b.execute("return location.href").await;
            assert!(!href.as_str().unwrap().contains("token"), "{href}");
            assert_eq!(b.value("#email").await, "teammate@example.com");
            b.fill("#name", "Tim Mate").await;
            b.fill("#password", PASSWORD).await;
            b.click("button[type=submit]").await;
            b.wait_text("main h1", "Dashboard").await;
        }
    })
    .await;

    // The owner sees the teammate among the members and makes them a viewer.
    let app = &e2e.app;
    e2e.run("members", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/settings/members")).await;
        b.wait_text("tr[data-email='teammate@example.com']", "Tim Mate")
            .await;
        b.select(
            "tr[data-email='teammate@example.com'] select.role-select",
            "viewer",
        )
        .await;
        b.wait_for(|| async {
            let r = app
                .get(&format!("/api/v1/orgs/{org}/members"), &owner.token)
                .await;
            r.text.contains("\"role\":\"viewer\"")
        })
        .await;
    })
    .await;

    // The viewer no longer sees the invite action, and the server refuses it anyway.
    e2e.run("viewer", |b| async move {
        b.login("teammate@example.com").await;
        b.goto(&format!("/orgs/{org}/settings/members")).await;
        b.wait_text("tr[data-email='teammate@example.com']", "viewer")
            .await;
        assert_eq!(
            b.count("a[href$='/settings/invitations']").await,
            0,
            "the invitations tab is hidden"
        );
        assert_eq!(
            b.count("select.role-select").await,
            0,
            "role changes are hidden"
        );
        b.goto(&format!("/orgs/{org}/settings/invitations")).await;
        b.wait_text("main", "Your role cannot invite people").await;
    })
    .await;
    let login = e2e
        .app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({ "email": "teammate@example.com", "password": PASSWORD })),
        )
        .await;
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let forced = e2e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/invitations"),
            &token,
            serde_json::json!({ "email": "x@example.com", "role": "member" }),
        )
        .await;
    assert_eq!(forced.status, reqwest::StatusCode::FORBIDDEN);
    let _ = Role::Viewer;
}

#[tokio::test]
async fn the_session_is_refreshed_silently_after_the_access_token_expires() {
    let e2e = E2e::start(&[("INSIGHTS_ACCESS_TOKEN_TTL_SECS", "2")]).await;
    let (_, org) = e2e.app.signup("short@example.com", "Acme").await;
    e2e.run("refresh", |b| async move {
        b.login("short@example.com").await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        // The first token has expired: in-app navigation still loads data (refreshed on expiry or on 401).
        b.goto(&format!("/orgs/{org}/settings/members")).await;
        b.wait_text("tr[data-email='short@example.com']", "owner")
            .await;
        // A full reload loses the in-memory token; the refresh cookie restores the session.
        b.reload().await;
        b.wait_text("tr[data-email='short@example.com']", "owner")
            .await;
        // Deep links survive login: signed out, a page sends you to login and back.
        b.click(".user-menu button").await;
        b.click(".menu button").await;
        b.wait_text("main h1", "Log in").await;
        b.goto(&format!("/orgs/{org}/settings/members")).await;
        b.wait_text("main h1", "Log in").await;
        b.fill("#email", "short@example.com").await;
        b.fill("#password", PASSWORD).await;
        b.click("button[type=submit]").await;
        b.wait_text("tr[data-email='short@example.com']", "owner")
            .await;
        assert!(b.path().await.ends_with("/settings/members"));
    })
    .await;
}

#[tokio::test]
async fn one_click_loads_the_sample_history_and_incidents_open_with_their_timeline() {
    let e2e = E2e::start(&[]).await;
    e2e.app.signup("owner@example.com", "Acme SRE").await;
    e2e.run("sample-data", |b| async move {
        b.login("owner@example.com").await;
        b.click(".sidenav a[href$='/integrations']").await;
        b.click("#load-sample").await;
        b.wait_text(".job", "Done:").await;
        b.click(".job a").await;
        b.wait_text("main h1", "Incidents").await;
        assert_eq!(b.value("#incident-source").await, "sample");
        b.wait_text("table.incidents", "resolved").await;
        // Filter, then open one incident.
        b.select("#incident-status", "resolved").await;
        b.wait_text("table.incidents tbody tr", "resolved").await;
        b.click("table.incidents tbody tr a").await;
        b.wait_text("main h2", "Timeline").await;
        b.wait_text(".timeline", "trigger").await;
        b.wait_text(".facts", "Time to acknowledge").await;
    })
    .await;
}

#[tokio::test]
async fn every_page_renders_at_desktop_and_mobile_widths() {
    let fake = FakePagerDuty::start(
        "pd-token-screens",
        History::recent(120, chrono::Duration::hours(6)),
    )
    .await;
    let e2e = E2e::start(&[("INSIGHTS_PAGERDUTY_API_URL", &fake.url)]).await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    e2e.app
        .invite(&p.owner, org, "pending@example.com", Role::Member)
        .await;
    let sample = e2e.app.load_sample_data(&p.owner.token, org).await;
    e2e.app
        .post(
            &format!("/api/v1/orgs/{org}/feedback"),
            &p.member.token,
            serde_json::json!({ "message": "Love the members page", "page": "/settings/members" }),
        )
        .await;
    // Wait for the sample history, and pick an incident to show.
    let loaded = e2e.app.wait_for_job(&p.owner.token, org, sample.id).await;
    assert_eq!(
        loaded.state,
        insights_types::api::JobState::Succeeded,
        "{loaded:?}"
    );
    // A connected PagerDuty, its import finished.
    let pd = connect_pagerduty(
        &e2e.app,
        org,
        &p.owner.token,
        "PagerDuty (production)",
        "pd-token-screens",
    )
    .await;
    wait_synced(&e2e.app, org, &p.owner.token, pd.id).await;
    let list = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/incidents?status=resolved&source=sample&limit=1"),
            &p.owner.token,
        )
        .await;
    let incident = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    // A failed sign-in for the profile's activity list.
    let failed = e2e
        .app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({ "email": p.owner.email, "password": "not the password" })),
        )
        .await;
    assert_eq!(failed.status, reqwest::StatusCode::UNAUTHORIZED);
    let owner = p.owner.email.clone();
    for (label, width, height) in [("desktop", 1440, 900), ("mobile", 375, 812)] {
        let incident = incident.clone();
        let owner = owner.clone();
        e2e.run_sized(&format!("screens-{label}"), width, height, |b| async move {
            for (name, path, expect) in [
                ("login", "/login".to_owned(), "Log in"),
                ("signup", "/signup".to_owned(), "Create your account"),
                (
                    "forgot-password",
                    "/forgot-password".to_owned(),
                    "Forgot your password?",
                ),
                (
                    "reset-password",
                    "/reset-password".to_owned(),
                    "Choose a new password",
                ),
            ] {
                b.goto(&path).await;
                b.wait_text("main h1", expect).await;
                b.save_screenshot(&format!("{name}-{label}")).await;
            }
            b.login(&owner).await;
            for (name, path, expect) in [
                ("incidents", format!("/orgs/{org}/incidents"), "resolved"),
                (
                    "incident",
                    format!("/orgs/{org}/incidents/{incident}"),
                    "Timeline",
                ),
                (
                    "integrations",
                    format!("/orgs/{org}/integrations"),
                    "Up to date",
                ),
                ("settings", format!("/orgs/{org}/settings"), "Slug"),
                (
                    "analytics-settings",
                    format!("/orgs/{org}/settings/analytics"),
                    "Business hours",
                ),
                ("members", format!("/orgs/{org}/settings/members"), "viewer"),
                (
                    "invitations",
                    format!("/orgs/{org}/settings/invitations"),
                    "pending@example.com",
                ),
                (
                    "audit-log",
                    format!("/orgs/{org}/settings/audit"),
                    "invitation_created",
                ),
                (
                    "feedback",
                    format!("/orgs/{org}/settings/feedback"),
                    "Love the members page",
                ),
                (
                    "new-organization",
                    "/new-organization".to_owned(),
                    "New organization",
                ),
            ] {
                b.goto(&path).await;
                b.wait_text("main", expect).await;
                b.save_screenshot(&format!("{name}-{label}")).await;
            }
            // The profile, scrolled to its sign-in activity (with the failed attempt).
            b.goto("/profile").await;
            b.wait_text(".activity", "Failed sign-in attempt").await;
            b.execute("document.querySelector('.activity').closest('section').scrollIntoView({ block: 'end' }); return null")
                .await;
            b.save_screenshot(&format!("profile-{label}")).await;
            // The connect wizard's form, and the disconnect dialog.
            b.goto(&format!("/orgs/{org}/integrations")).await;
            b.click("#connect-pagerduty").await;
            b.click("#wizard-next").await;
            b.wait_text(".wizard", "PagerDuty API key").await;
            b.save_screenshot(&format!("connect-pagerduty-{label}"))
                .await;
            b.goto(&format!("/orgs/{org}/integrations")).await;
            b.click(".integration [data-action=disconnect]").await;
            b.wait_text(".dialog", "Keep them").await;
            b.save_screenshot(&format!("disconnect-{label}")).await;
        })
        .await;
    }
}
