use insights_testing::{PASSWORD, TestApp, token_of};
use insights_types::Role;
use insights_types::api::{InvitationOut, InvitationPreviewOut, MeOut, Page};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn an_invitation_shows_its_link_once_with_the_token_in_the_fragment_and_expires_in_seven_days()
 {
    let app = TestApp::spawn(&[]).await;
    let (owner, org) = app.signup("o@example.com", "Acme").await;
    let inv = app
        .invite(&owner, org, "New.Person@Example.com", Role::Member)
        .await;
    assert_eq!(inv.email, "new.person@example.com");
    assert_eq!(inv.role, Role::Member);
    let url = inv.accept_url.clone().unwrap();
    // In the fragment: browsers never send it to a server (logs, proxies) nor in a `Referer`.
    assert!(
        url.starts_with("http://localhost:8080/join#token="),
        "{url}"
    );
    assert!(!url.contains('?'), "{url}");
    let days = (inv.expires_at - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{days}");
    assert!(inv.delivery.is_none(), "no SMTP configured, no email job");

    let list = app
        .get(&format!("/api/v1/orgs/{org}/invitations"), &owner.token)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let page: Page<InvitationOut> = list.json();
    assert_eq!(page.items.len(), 1);
    assert!(
        page.items[0].accept_url.is_none(),
        "the token is never shown again"
    );
    assert!(!list.text.contains(&token_of(&inv)));
    assert_eq!(page.items[0].invited_by.as_ref().unwrap().id, owner.user_id);
}

#[tokio::test]
async fn invitations_to_owners_and_admins_expire_in_a_day_others_in_a_week() {
    let app = TestApp::spawn(&[]).await;
    let (owner, org) = app.signup("o@example.com", "Acme").await;
    for (role, hours) in [
        (Role::Owner, 24),
        (Role::Admin, 24),
        (Role::Member, 168),
        (Role::Viewer, 168),
    ] {
        let inv = app
            .invite(&owner, org, &format!("{role}@example.com"), role)
            .await;
        let left = (inv.expires_at - chrono::Utc::now()).num_minutes();
        assert!(
            (hours * 60 - 2..=hours * 60).contains(&left),
            "{role}: {left} minutes"
        );
    }
}

#[tokio::test]
async fn an_organization_creates_at_most_its_daily_quota_of_invitations() {
    let app = TestApp::spawn(&[("INSIGHTS_INVITATIONS_PER_DAY", "2")]).await;
    let (owner, org) = app.signup("o@example.com", "Acme").await;
    let (other_owner, other_org) = app.signup("p@example.com", "Globex").await;
    let invite = async |by: &insights_testing::Session, org, email: &str| {
        app.post(
            &format!("/api/v1/orgs/{org}/invitations"),
            &by.token,
            json!({ "email": email, "role": "member" }),
        )
        .await
    };
    for email in ["a@example.com", "b@example.com"] {
        assert_eq!(invite(&owner, org, email).await.status, StatusCode::CREATED);
    }
    let over = invite(&owner, org, "c@example.com").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.text);
    assert_eq!(over.error_code(), "quota_exceeded");
    assert_eq!(
        over.body["error"]["details"]["quota"],
        "invitations_per_day"
    );
    assert!(
        over.headers.get("retry-after").is_some(),
        "{:?}",
        over.headers
    );
    assert!(
        over.text.contains("INSIGHTS_INVITATIONS_PER_DAY"),
        "{}",
        over.text
    );
    // Revoking does not give an invitation back (else revoke-and-resend would bypass the quota) ...
    let list: Page<InvitationOut> = app
        .get(&format!("/api/v1/orgs/{org}/invitations"), &owner.token)
        .await
        .json();
    let r = app
        .delete(
            &format!("/api/v1/orgs/{org}/invitations/{}", list.items[0].id),
            &owner.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        invite(&owner, org, "c@example.com").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ... and the quota is per organization.
    assert_eq!(
        invite(&other_owner, other_org, "a@example.com")
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn signing_up_through_an_invitation_joins_the_organization_with_its_role_once() {
    let app = TestApp::spawn(&[]).await;
    let (owner, org) = app.signup("o@example.com", "Acme").await;
    let inv = app
        .invite(&owner, org, "mate@example.com", Role::Viewer)
        .await;

    let preview = app
        .request(
            Method::POST,
            "/api/v1/invitations/lookup",
            None,
            Some(json!({ "token": token_of(&inv) })),
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    let preview: InvitationPreviewOut = preview.json();
    assert_eq!((preview.organization.id, preview.role), (org, Role::Viewer));

    let mate = app.join(&inv).await;
    let me: MeOut = app.get("/api/v1/me", &mate.token).await.json();
    assert_eq!(me.memberships.len(), 1);
    assert_eq!(
        (me.memberships[0].organization.id, me.memberships[0].role),
        (org, Role::Viewer)
    );

    // Used: it works once, and leaves the pending list.
    let again = app
        .signup_with(json!({ "email": "mate2@example.com", "password": PASSWORD, "name": "X", "invitation_token": token_of(&inv) }))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.error_code(), "invitation_used");
    let page: Page<InvitationOut> = app
        .get(&format!("/api/v1/orgs/{org}/invitations"), &owner.token)
        .await
        .json();
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn a_signed_in_user_accepts_an_invitation_to_another_organization() {
    let app = TestApp::spawn(&[]).await;
    let (owner, org) = app.signup("o@example.com", "Acme").await;
    let (other, own_org) = app.signup("busy@example.com", "Busy Inc").await;
    let inv = app
        .invite(&owner, org, "busy@example.com", Role::Admin)
        .await;
    let r = app
        .post(
            "/api/v1/invitations/accept",
            &other.token,
            json!({ "token": token_of(&inv) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let me: MeOut = r.json();
    let orgs: Vec<_> = me
        .memberships
        .iter()
        .map(|m| (m.organization.id, m.role))
        .collect();
    assert_eq!(orgs, vec![(own_org, Role::Owner), (org, Role::Admin)]);
    let r = app
        .post(
            "/api/v1/invitations/accept",
            &other.token,
            json!({ "token": token_of(&inv) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_invitation_for_another_email_cannot_be_accepted() {
    let app = TestApp::spawn(&[]).await;
    let (owner, org) = app.signup("o@example.com", "Acme").await;
    let (stranger, _) = app.signup("stranger@example.com", "Other").await;
    let inv = app
        .invite(&owner, org, "intended@example.com", Role::Member)
        .await;
    let r = app
        .post(
            "/api/v1/invitations/accept",
            &stranger.token,
            json!({ "token": token_of(&inv) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "invitation_email_mismatch");
}

#[tokio::test]
async fn revoked_and_expired_invitations_stop_working() {
    let app = TestApp::spawn(&[("INSIGHTS_INVITATION_TTL_SECS", "1")]).await;
    let (owner, org) = app.signup("o@example.com", "Acme").await;
    let expiring = app
        .invite(&owner, org, "late@example.com", Role::Member)
        .await;
    let app2 = TestApp::spawn(&[]).await;
    let (owner2, org2) = app2.signup("o2@example.com", "Acme").await;
    let revoked = app2
        .invite(&owner2, org2, "gone@example.com", Role::Member)
        .await;
    let r = app2
        .delete(
            &format!("/api/v1/orgs/{org2}/invitations/{}", revoked.id),
            &owner2.token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app2.delete(
            &format!("/api/v1/orgs/{org2}/invitations/{}", revoked.id),
            &owner2.token
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    for (app, inv, code) in [
        (&app, &expiring, "invitation_expired"),
        (&app2, &revoked, "invitation_revoked"),
    ] {
        let r = app
            .signup_with(json!({ "email": inv.email, "password": PASSWORD, "name": "X", "invitation_token": token_of(inv) }))
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        assert_eq!(r.error_code(), code);
        let me = app
            .request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "email": inv.email, "password": PASSWORD })),
            )
            .await;
        assert_eq!(
            me.status,
            StatusCode::UNAUTHORIZED,
            "no account was left behind by the failed signup"
        );
    }
}

#[tokio::test]
async fn a_new_invitation_to_the_same_email_replaces_the_pending_one() {
    let app = TestApp::spawn(&[]).await;
    let (owner, org) = app.signup("o@example.com", "Acme").await;
    let first = app
        .invite(&owner, org, "twice@example.com", Role::Member)
        .await;
    let second = app
        .invite(&owner, org, "twice@example.com", Role::Admin)
        .await;
    let page: Page<InvitationOut> = app
        .get(&format!("/api/v1/orgs/{org}/invitations"), &owner.token)
        .await
        .json();
    assert_eq!(
        page.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    let r = app
        .request(
            Method::POST,
            "/api/v1/invitations/lookup",
            None,
            Some(json!({ "token": token_of(&first) })),
        )
        .await;
    assert_eq!(r.error_code(), "invitation_revoked");
}

#[tokio::test]
async fn inviting_an_existing_member_is_a_conflict() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let r = app
        .post(
            &format!("/api/v1/orgs/{}/invitations", p.org_id),
            &p.owner.token,
            json!({ "email": p.member.email, "role": "admin" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error_code(), "already_member");
}

#[tokio::test]
async fn only_admins_and_owners_invite_and_only_owners_invite_owners() {
    let app = TestApp::spawn(&[]).await;
    let p = app.personas().await;
    let path = format!("/api/v1/orgs/{}/invitations", p.org_id);
    for (role, invite_role, expected) in [
        (Role::Viewer, "viewer", StatusCode::FORBIDDEN),
        (Role::Member, "viewer", StatusCode::FORBIDDEN),
        (Role::Admin, "owner", StatusCode::FORBIDDEN),
        (Role::Admin, "admin", StatusCode::CREATED),
        (Role::Owner, "owner", StatusCode::CREATED),
    ] {
        let email = format!("{role}-invites-{invite_role}@example.com");
        let r = app
            .post(
                &path,
                &p.by_role(role).token,
                json!({ "email": email, "role": invite_role }),
            )
            .await;
        assert_eq!(
            r.status, expected,
            "{role} inviting {invite_role}: {}",
            r.text
        );
    }
    for role in [Role::Viewer, Role::Member] {
        assert_eq!(
            app.get(&path, &p.by_role(role).token).await.status,
            StatusCode::FORBIDDEN
        );
    }
}

#[tokio::test]
async fn an_unknown_token_is_not_found() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("o@example.com", "Acme").await;
    let r = app
        .post(
            "/api/v1/invitations/accept",
            &s.token,
            json!({ "token": "nope" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .request(
            Method::POST,
            "/api/v1/invitations/lookup",
            None,
            Some(json!({ "token": "nope" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
