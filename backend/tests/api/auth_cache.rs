//! Issue 14: each API process answers session, role and `/me` checks from memory, and forgets them when
//! PostgreSQL notifies a change — so a change made through one process holds at once there, and within a
//! notification's delivery on every other process sharing the database.

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
        if app.state.auth_cache.ticket().is_some() && other.state.auth_cache.ticket().is_some() {
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
    assert!(
        other
            .state
            .auth_cache
            .role(p.org_id, p.member.user_id)
            .is_some()
    );

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
    assert!(other.state.auth_cache.me(owner.user_id).is_some());

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
