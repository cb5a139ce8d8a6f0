use insights_testing::TestApp;
use insights_types::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn members_see_their_organization_with_their_role() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    for role in Role::ALL {
        let r = app
            .get(
                &format!("/api/v1/orgs/{}", p.org_id),
                &p.by_role(role).token,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{role}: {}", r.text);
        assert_eq!(r.body["role"], role.as_str());
        assert_eq!(r.body["name"], "Acme");
    }
}

#[tokio::test]
async fn admins_and_owners_rename_the_organization_and_it_is_audited() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let path = format!("/api/v1/orgs/{}", p.org_id);
    for (role, expected) in [
        (Role::Viewer, StatusCode::FORBIDDEN),
        (Role::Member, StatusCode::FORBIDDEN),
        (Role::Admin, StatusCode::OK),
        (Role::Owner, StatusCode::OK),
    ] {
        let r = app
            .patch(
                &path,
                &p.by_role(role).token,
                json!({ "name": format!("Acme {role}") }),
            )
            .await;
        assert_eq!(r.status, expected, "{role}: {}", r.text);
    }
    let r = app.get(&path, &p.viewer.token).await;
    assert_eq!(r.body["name"], "Acme owner");
    assert_eq!(r.body["slug"], "acme", "renaming keeps the slug");
    let log = app
        .get(
            &format!("{path}/audit-log?action=organization_renamed"),
            &p.owner.token,
        )
        .await;
    assert_eq!(log.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(log.body["items"][0]["details"]["to"], "Acme owner");
}

#[tokio::test]
async fn the_audit_log_records_invitations_and_role_changes_with_actor_and_ip_but_not_logins() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let r = app
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": p.member.email, "password": insights_testing::PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .patch(
            &format!("/api/v1/orgs/{}/members/{}", p.org_id, p.member.user_id),
            &p.owner.token,
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let log = app
        .get(
            &format!("/api/v1/orgs/{}/audit-log", p.org_id),
            &p.admin.token,
        )
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let items = log.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Logins belong to the user's own security log (a session is not inside one organization).
    assert!(!actions.contains(&"login"), "{actions:?}");
    for a in [
        "member_role_changed",
        "invitation_created",
        "invitation_accepted",
        "organization_created",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let change = items
        .iter()
        .find(|e| e["action"] == "member_role_changed")
        .unwrap();
    assert_eq!(change["actor"]["id"], p.owner.user_id.to_string());
    assert_eq!(change["details"]["from"], "member");
    assert_eq!(change["details"]["to"], "viewer");
    assert_eq!(change["ip"], "127.0.0.1");

    for role in [Role::Member, Role::Viewer] {
        let r = app
            .get(
                &format!("/api/v1/orgs/{}/audit-log", p.org_id),
                &p.by_role(role).token,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }
}

#[tokio::test]
async fn the_audit_log_pages_with_a_cursor() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let base = format!("/api/v1/orgs/{}/audit-log", p.org_id);
    let all = app
        .get(&format!("{base}?limit=200"), &p.owner.token)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(all.len() >= 6, "{}", all.len());
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}?limit=2&cursor={c}"),
            None => format!("{base}?limit=2"),
        };
        let page = app.get(&url, &p.owner.token).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|e| e["id"].clone()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let expected: Vec<_> = all.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, expected, "pages cover the log once, in order");
}

#[tokio::test]
async fn feedback_is_stored_with_its_page_and_visible_to_admins_only() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let path = format!("/api/v1/orgs/{}/feedback", p.org_id);
    let r = app
        .post(
            &path,
            &p.viewer.token,
            json!({ "message": "The members page is great", "page": "/settings/members" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let bad = app
        .post(
            &path,
            &p.viewer.token,
            json!({ "message": " ", "page": "settings" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.body["error"]["details"]["fields"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.get(&path, &p.member.token).await.status,
        StatusCode::FORBIDDEN
    );
    let list = app.get(&path, &p.admin.token).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["items"][0]["page"], "/settings/members");
    assert_eq!(list.body["items"][0]["author"]["email"], p.viewer.email);
}
