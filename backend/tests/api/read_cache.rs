//! Issue 14: each API process answers session, role and `/me` checks, and pages of the incident list, from
//! memory, and forgets them when PostgreSQL notifies a change — so a change made through one process holds at
//! once there, and within a notification's delivery on every other process sharing the database.

use insights_api::app::App;
use insights_testing::{PASSWORD, TestApp};
use insights_types::api::MeOut;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// A second API process (same database and Redis, its own memory), serving until the test ends.
struct OtherProcess {
    base: String,
    state: insights_api::state::AppState,
    client: reqwest::Client,
}

impl OtherProcess {
    async fn start(app: &TestApp) -> Self {
        let other = App::build(app.config.clone())
            .await
            .expect("second app builds");
        let base = format!("http://{}", other.local_addr());
        let state = other.state().clone();
        tokio::spawn(other.run_until(std::future::pending()));
        Self {
            base,
            state,
            client: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }
}

/// Waits until both processes answer from memory (their listeners are connected): before that every check
/// goes to PostgreSQL and these tests would prove nothing.
async fn both_listening(app: &TestApp, other: &OtherProcess) {
    for _ in 0..200 {
        if app.state.cache.ticket().is_some() && other.state.cache.ticket().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the auth change listeners never connected");
}

/// The status `path` answers on the other process once it is `want`, polling for up to 2 s — less than any
/// lifetime of a remembered answer (sessions 5 s, roles and `/me` 300 s), so only the notification can end it.
async fn other_answers(other: &OtherProcess, path: &str, token: &str, want: StatusCode) {
    let mut last = None;
    for _ in 0..80 {
        let status = other.get(path, token).await.status();
        if status == want {
            return;
        }
        last = Some(status);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{path} still answers {last:?} on the other process, not {want}");
}

#[tokio::test]
async fn a_removed_member_is_refused_at_once_here_and_soon_on_every_process() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let other = OtherProcess::start(&app).await;
    both_listening(&app, &other).await;
    let path = format!("/api/v1/orgs/{}", p.org_id);
    // Both processes remember the member's role.
    for _ in 0..2 {
        assert_eq!(app.get(&path, &p.member.token).await.status, StatusCode::OK);
        assert_eq!(
            other.get(&path, &p.member.token).await.status(),
            StatusCode::OK
        );
    }
    assert!(other.state.cache.role(p.org_id, p.member.user_id).is_some());

    let removed = app
        .delete(
            &format!("/api/v1/orgs/{}/members/{}", p.org_id, p.member.user_id),
            &p.owner.token,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    // The process that made the change forgot it before answering.
    assert_eq!(
        app.get(&path, &p.member.token).await.status,
        StatusCode::NOT_FOUND
    );
    other_answers(&other, &path, &p.member.token, StatusCode::NOT_FOUND).await;
    // Others' remembered roles survive.
    assert_eq!(
        other.get(&path, &p.admin.token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_signed_out_session_ends_on_every_process() {
    let app = TestApp::spawn(&[]).await;
    let (owner, _) = app.signup("cache-logout@example.com", "Cache").await;
    let other = OtherProcess::start(&app).await;
    both_listening(&app, &other).await;
    let login = app.login("cache-logout@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK);
    let token = login.json::<serde_json::Value>()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let cookie = login.refresh_cookie().expect("refresh cookie");
    assert_eq!(
        other.get("/api/v1/me", &token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        other.get("/api/v1/me", &owner.token).await.status(),
        StatusCode::OK
    );

    let out = app
        .send(
            app.raw(reqwest::Method::POST, "/api/v1/auth/logout")
                .header(
                    reqwest::header::COOKIE,
                    format!("insights_refresh={cookie}"),
                ),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    other_answers(&other, "/api/v1/me", &token, StatusCode::UNAUTHORIZED).await;
    // The user's other session goes on.
    assert_eq!(
        other.get("/api/v1/me", &owner.token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn me_shows_a_rename_of_the_user_or_an_organization_made_anywhere() {
    let app = TestApp::spawn(&[]).await;
    let (owner, org) = app.signup("cache-me@example.com", "Before").await;
    let other = OtherProcess::start(&app).await;
    both_listening(&app, &other).await;
    let me = |r: reqwest::Response| async move { r.json::<MeOut>().await.expect("me") };
    let before = me(other.get("/api/v1/me", &owner.token).await).await;
    assert_eq!(before.memberships[0].organization.name, "Before");
    assert!(other.state.cache.me(owner.user_id).is_some());

    let renamed = app
        .patch(
            &format!("/api/v1/orgs/{org}"),
            &owner.token,
            json!({ "name": "After" }),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    let here: MeOut = app.get("/api/v1/me", &owner.token).await.json();
    assert_eq!(here.memberships[0].organization.name, "After");
    let mut seen = String::new();
    for _ in 0..80 {
        seen = me(other.get("/api/v1/me", &owner.token).await)
            .await
            .memberships[0]
            .organization
            .name
            .clone();
        if seen == "After" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(seen, "After", "the other process still shows the old name");

    let patched = app
        .patch("/api/v1/me", &owner.token, json!({ "name": "Ada Renamed" }))
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    for _ in 0..80 {
        seen = me(other.get("/api/v1/me", &owner.token).await)
            .await
            .user
            .name;
        if seen == "Ada Renamed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(seen, "Ada Renamed");
}

/// A page of `org`'s incident list, as the numbers of incidents it holds.
async fn page_len(answer: reqwest::Response) -> usize {
    assert_eq!(answer.status(), StatusCode::OK);
    let page: serde_json::Value = answer.json().await.expect("a page");
    page["items"].as_array().expect("items").len()
}

/// Adds `n` incidents to `org` straight into the table, as the worker's writes do (not through this API).
async fn add_incidents(app: &TestApp, org: insights_types::OrgId, n: i32) {
    use sqlx::Connection;
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query(
        "INSERT INTO incidents (id, org_id, source, external_id, title, status, triggered_at, source_updated_at)
         SELECT gen_random_uuid(), $1, 'sample', gen_random_uuid()::text, 'Disk full', 'triggered', now(), now()
           FROM generate_series(1, $2)",
    )
    .bind(org.0)
    .bind(n)
    .execute(&mut c)
    .await
    .expect("add incidents");
}

/// Turns the incident triggers off or on (as the owner): with them off, only this process's memory can explain
/// an unchanged page.
async fn incident_triggers(app: &TestApp, on: bool) {
    use sqlx::Connection;
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
    for event in ["insert", "update", "delete"] {
        let verb = if on { "ENABLE" } else { "DISABLE" };
        // (Both parts are this function's constants.)
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE incidents {verb} TRIGGER incidents_notify_{event}"
        )))
        .execute(&mut c)
        .await
        .expect("alter trigger");
    }
}

#[tokio::test]
async fn an_incident_list_page_is_kept_until_the_organizations_incidents_change_anywhere() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let (stranger, stranger_org) = app.signup("stranger@example.com", "Elsewhere").await;
    let other = OtherProcess::start(&app).await;
    both_listening(&app, &other).await;
    add_incidents(&app, p.org_id, 3).await;
    add_incidents(&app, stranger_org, 7).await;
    let path = format!("/api/v1/orgs/{}/incidents?limit=50", p.org_id);
    let other_path = format!("/api/v1/orgs/{stranger_org}/incidents?limit=50");
    let here = |token: &str| {
        app.raw(reqwest::Method::GET, &path)
            .bearer_auth(token)
            .send()
    };

    // Both processes serve the page, and keep it: with the triggers off, a new incident is not seen.
    assert_eq!(
        page_len(here(&p.member.token).await.expect("request")).await,
        3
    );
    assert_eq!(page_len(other.get(&path, &p.member.token).await).await, 3);
    assert_eq!(
        page_len(other.get(&other_path, &stranger.token).await).await,
        7
    );
    incident_triggers(&app, false).await;
    add_incidents(&app, p.org_id, 1).await;
    assert_eq!(
        page_len(here(&p.viewer.token).await.expect("request")).await,
        3,
        "kept for every member"
    );
    assert_eq!(page_len(other.get(&path, &p.member.token).await).await, 3);
    // A page is the organization's: another organization's member is refused before any page is looked up.
    assert_eq!(
        other.get(&path, &stranger.token).await.status(),
        StatusCode::NOT_FOUND
    );

    // A write request into the organization through this process forgets its pages before answering.
    let renamed = app
        .patch(
            &format!("/api/v1/orgs/{}", p.org_id),
            &p.owner.token,
            json!({ "name": "Renamed" }),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(
        page_len(here(&p.member.token).await.expect("request")).await,
        4
    );

    // A write anywhere else (the worker's, here straight into the table) reaches every process by notification.
    incident_triggers(&app, true).await;
    add_incidents(&app, p.org_id, 2).await;
    for _ in 0..80 {
        if page_len(other.get(&path, &p.member.token).await).await == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(page_len(other.get(&path, &p.member.token).await).await, 6);
    assert_eq!(
        page_len(here(&p.member.token).await.expect("request")).await,
        6
    );
    // The other organization's page was not touched by any of this, and is still its own.
    assert_eq!(
        page_len(other.get(&other_path, &stranger.token).await).await,
        7
    );
}
