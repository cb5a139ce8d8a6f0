use insights_testing::TestApp;
use insights_types::Role;
use insights_types::api::{MemberOut, Page};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn everyone_in_the_organization_lists_its_members() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    for role in Role::ALL {
        let r = app
            .get(
                &format!("/api/v1/orgs/{}/members", p.org_id),
                &p.by_role(role).token,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{role}");
        let page: Page<MemberOut> = r.json();
        let roles: Vec<Role> = page.items.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            vec![Role::Owner, Role::Admin, Role::Member, Role::Viewer]
        );
    }
}

#[tokio::test]
async fn role_changes_follow_the_permission_table() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let member_path = |u: insights_types::UserId| format!("/api/v1/orgs/{}/members/{u}", p.org_id);
    // Members and viewers cannot change roles at all.
    for role in [Role::Member, Role::Viewer] {
        let r = app
            .patch(
                &member_path(p.viewer.user_id),
                &p.by_role(role).token,
                json!({ "role": "member" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }
    // Admins manage non-owners, but may not grant or touch the owner role.
    let r = app
        .patch(
            &member_path(p.viewer.user_id),
            &p.admin.token,
            json!({ "role": "member" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["role"], "member");
    let r = app
        .patch(
            &member_path(p.viewer.user_id),
            &p.admin.token,
            json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .patch(
            &member_path(p.owner.user_id),
            &p.admin.token,
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .patch(
            &member_path(p.admin.user_id),
            &p.admin.token,
            json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "an admin cannot make themselves owner"
    );
    // Owners can.
    let r = app
        .patch(
            &member_path(p.admin.user_id),
            &p.owner.token,
            json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn the_last_owner_can_neither_be_demoted_nor_leave() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let owner_path = format!("/api/v1/orgs/{}/members/{}", p.org_id, p.owner.user_id);
    let r = app
        .patch(&owner_path, &p.owner.token, json!({ "role": "admin" }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "last_owner");
    let r = app.delete(&owner_path, &p.owner.token).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "last_owner");
    // With a second owner, the first may step down.
    let admin_path = format!("/api/v1/orgs/{}/members/{}", p.org_id, p.admin.user_id);
    assert_eq!(
        app.patch(&admin_path, &p.owner.token, json!({ "role": "owner" }))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.patch(&owner_path, &p.owner.token, json!({ "role": "admin" }))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn members_can_leave_and_admins_remove_others() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let path = |u: insights_types::UserId| format!("/api/v1/orgs/{}/members/{u}", p.org_id);
    assert_eq!(
        app.delete(&path(p.member.user_id), &p.viewer.token)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&path(p.viewer.user_id), &p.viewer.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&path(p.owner.user_id), &p.admin.token)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete(&path(p.member.user_id), &p.admin.token)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // A removed member has no access any more: the organization is not found for them.
    assert_eq!(
        app.get(&format!("/api/v1/orgs/{}", p.org_id), &p.member.token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let page: Page<MemberOut> = app
        .get(
            &format!("/api/v1/orgs/{}/members", p.org_id),
            &p.owner.token,
        )
        .await
        .json();
    assert_eq!(page.items.len(), 2);
    // Removing again is a 404.
    assert_eq!(
        app.delete(&path(p.member.user_id), &p.admin.token)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
