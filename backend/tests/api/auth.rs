use insights_testing::{PASSWORD, TestApp};
use insights_types::Role;
use insights_types::api::{AuthOut, MeOut, TokenOut};
use reqwest::{Method, StatusCode, header};
use serde_json::json;

async fn login(app: &TestApp, email: &str, password: &str) -> insights_testing::TestResponse {
    app.request(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

pub(crate) async fn refresh(app: &TestApp, cookie: &str) -> insights_testing::TestResponse {
    app.send(
        app.raw(Method::POST, "/api/v1/auth/refresh")
            .header(header::COOKIE, format!("insights_refresh={cookie}")),
    )
    .await
}

#[tokio::test]
async fn signup_creates_the_user_and_organization_and_sets_a_locked_down_cookie() {
    let app = TestApp::spawn(&[]).await;
    let r = app
        .signup_with(json!({ "email": " Ada@Example.com ", "password": PASSWORD, "name": "Ada", "organization_name": "Acme SRE" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let out: AuthOut = r.json();
    assert_eq!(out.user.email, "ada@example.com");
    assert_eq!(out.token_type, "Bearer");
    assert_eq!(out.expires_in, 900);
    let org = out.organization.unwrap();
    assert_eq!(
        (org.name.as_str(), org.slug.as_str()),
        ("Acme SRE", "acme-sre")
    );
    let cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    for part in [
        "insights_refresh=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/auth",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(
        !r.text.contains(&r.refresh_cookie().unwrap()),
        "the refresh token must not be in the body"
    );

    let me: MeOut = app.get("/api/v1/me", &out.access_token).await.json();
    assert_eq!(me.user.id, out.user.id);
    assert_eq!(me.memberships.len(), 1);
    assert_eq!(me.memberships[0].role, Role::Owner);
    assert_eq!(me.memberships[0].organization.id, org.id);
}

#[tokio::test]
async fn me_tells_the_app_where_the_configured_user_guide_and_troubleshooting_are() {
    let app = TestApp::spawn(&[
        (
            "INSIGHTS_HELP_URL",
            "https://wiki.example.com/insights/guide",
        ),
        (
            "INSIGHTS_TROUBLESHOOTING_URL",
            "https://wiki.example.com/insights/troubleshooting",
        ),
    ])
    .await;
    let (s, _) = app.signup("help@example.com", "Acme").await;
    let me: MeOut = app.get("/api/v1/me", &s.token).await.json();
    assert_eq!(me.help.guide_url, "https://wiki.example.com/insights/guide");
    assert_eq!(
        me.help.troubleshooting_url,
        "https://wiki.example.com/insights/troubleshooting"
    );
}

#[tokio::test]
async fn a_second_organization_with_the_same_name_gets_its_own_slug() {
    let app = TestApp::spawn(&[]).await;
    let (a, _) = app.signup("a@example.com", "Acme").await;
    let r = app
        .post("/api/v1/orgs", &a.token, json!({ "name": "Acme" }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["slug"], "acme-2");
    assert_eq!(r.body["role"], "owner");
    let me: MeOut = app.get("/api/v1/me", &a.token).await.json();
    assert_eq!(me.memberships.len(), 2);
}

#[tokio::test]
async fn emails_are_unique_case_insensitively() {
    let app = TestApp::spawn(&[]).await;
    app.signup("dup@example.com", "One").await;
    let r = app
        .signup_with(json!({ "email": "DUP@example.com", "password": PASSWORD, "name": "B", "organization_name": "Two" }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["fields"][0]["field"], "email");
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "taken");
}

#[tokio::test]
async fn login_gives_the_same_answer_for_an_unknown_email_and_a_wrong_password() {
    let app = TestApp::spawn(&[]).await;
    app.signup("known@example.com", "Acme").await;
    let wrong = login(&app, "known@example.com", "not the right password").await;
    let unknown = login(&app, "nobody@example.com", "not the right password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.error_code(), "invalid_credentials");

    let ok = login(&app, "KNOWN@example.com", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let out: AuthOut = ok.json();
    assert!(out.organization.is_some());
    assert!(ok.refresh_cookie().is_some());
}

#[tokio::test]
async fn refresh_rotates_the_cookie_and_a_reused_token_revokes_the_session() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("r@example.com", "Acme").await;
    let first = s.refresh.unwrap();

    let r1 = refresh(&app, &first).await;
    assert_eq!(r1.status, StatusCode::OK, "{}", r1.text);
    let t: TokenOut = r1.json();
    assert_eq!(
        app.get("/api/v1/me", &t.access_token).await.status,
        StatusCode::OK
    );
    let second = r1.refresh_cookie().unwrap();
    assert_ne!(first, second);
    let third = refresh(&app, &second).await.refresh_cookie().unwrap();

    // The first token was used, and so was its successor: presenting it again is theft, and ends the whole
    // family.
    let reuse = refresh(&app, &first).await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reuse.error_code(), "refresh_token_reused");
    let after = refresh(&app, &third).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);

    // Another login is a new family, unaffected.
    let again = login(&app, "r@example.com", PASSWORD).await;
    assert_eq!(
        refresh(&app, &again.refresh_cookie().unwrap()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_without_or_with_a_garbage_cookie_is_unauthorized() {
    let app = TestApp::spawn(&[]).await;
    let none = app
        .request(Method::POST, "/api/v1/auth/refresh", None, None)
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.error_code(), "no_session");
    let bad = refresh(&app, "garbage").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.error_code(), "invalid_session");
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("l@example.com", "Acme").await;
    let cookie = s.refresh.unwrap();
    let r = app
        .send(
            app.raw(Method::POST, "/api/v1/auth/logout")
                .header(header::COOKIE, format!("insights_refresh={cookie}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        r.headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        refresh(&app, &cookie).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_expired_access_token_is_refused_and_refresh_recovers() {
    let app = TestApp::spawn(&[("INSIGHTS_ACCESS_TOKEN_TTL_SECS", "1")]).await;
    let (s, _) = app.signup("e@example.com", "Acme").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = app.get("/api/v1/me", &s.token).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "invalid_token");
    let t: TokenOut = refresh(&app, &s.refresh.unwrap()).await.json();
    assert_eq!(
        app.get("/api/v1/me", &t.access_token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn requests_without_a_token_are_unauthorized() {
    let app = TestApp::spawn(&[]).await;
    let r = app.request(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "unauthenticated");
    let r = app.get("/api/v1/me", "not-a-jwt").await;
    assert_eq!(r.error_code(), "invalid_token");
}

#[tokio::test]
async fn login_is_rate_limited_per_ip_with_retry_after() {
    let app = TestApp::spawn(&[("INSIGHTS_AUTH_RATE_LIMIT_PER_IP", "3")]).await;
    for _ in 0..3 {
        assert_eq!(
            login(&app, "x@example.com", "whatever whatever")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = login(&app, "x@example.com", "whatever whatever").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error_code(), "rate_limited");
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_account_even_from_many_ips() {
    let app = TestApp::spawn(&[
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", "2"),
        ("INSIGHTS_TRUST_FORWARDED_FOR", "true"),
    ])
    .await;
    app.signup("victim@example.com", "Acme").await;
    for i in 0..2 {
        let r = app
            .send(
                app.raw(Method::POST, "/api/v1/auth/login")
                    .header("x-forwarded-for", format!("10.0.0.{i}"))
                    .json(
                        &json!({ "email": "victim@example.com", "password": "guess guess guess" }),
                    ),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .send(
            app.raw(Method::POST, "/api/v1/auth/login")
                .header("x-forwarded-for", "10.0.0.99")
                .json(&json!({ "email": "victim@example.com", "password": PASSWORD })),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn parallel_wrong_passwords_are_verified_only_up_to_the_account_limit() {
    let app = TestApp::spawn(&[("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", "10")]).await;
    app.signup("victim@example.com", "Acme").await;
    let guesses = (0..30).map(|i| {
        let app = &app;
        async move { login(app, "victim@example.com", &format!("guess number {i}")).await }
    });
    let answers = futures::future::join_all(guesses).await;
    let count = |status| answers.iter().filter(|r| r.status == status).count();
    // Counted before the password is verified: exactly the limit were checked (401), the rest refused (429)
    // without hashing.
    assert_eq!(count(StatusCode::UNAUTHORIZED), 10, "{answers:?}");
    assert_eq!(count(StatusCode::TOO_MANY_REQUESTS), 20, "{answers:?}");
}

#[tokio::test]
async fn a_right_password_does_not_use_up_the_accounts_budget() {
    let app = TestApp::spawn(&[("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", "2")]).await;
    app.signup("owner@example.com", "Acme").await;
    for _ in 0..5 {
        assert_eq!(
            login(&app, "owner@example.com", PASSWORD).await.status,
            StatusCode::OK
        );
    }
    // Failures still count: two are checked, the third attempt is refused.
    for _ in 0..2 {
        assert_eq!(
            login(&app, "owner@example.com", "guess guess guess")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login(&app, "owner@example.com", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn ipv6_clients_are_rate_limited_per_64_network() {
    let app = TestApp::spawn(&[
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_IP", "2"),
        ("INSIGHTS_TRUST_FORWARDED_FOR", "true"),
    ])
    .await;
    let from = |addr: &'static str| {
        app.send(
            app.raw(Method::POST, "/api/v1/auth/login")
                .header("x-forwarded-for", addr)
                .json(&json!({ "email": "x@example.com", "password": "whatever whatever" })),
        )
    };
    // Three addresses of one /64 share a budget of two.
    assert_eq!(
        from("2001:db8:7:1::1").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        from("2001:db8:7:1::2").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        from("2001:db8:7:1:ffff::9").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another /64 has its own.
    assert_eq!(
        from("2001:db8:7:2::1").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn signup_is_rate_limited_per_ip() {
    let app = TestApp::spawn(&[("INSIGHTS_AUTH_RATE_LIMIT_PER_IP", "2")]).await;
    app.signup("s1@example.com", "A").await;
    app.signup("s2@example.com", "B").await;
    let r = app
        .signup_with(json!({ "email": "s3@example.com", "password": PASSWORD, "name": "C", "organization_name": "C" }))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions_only() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("p@example.com", "Acme").await;
    let other_login = login(&app, "p@example.com", PASSWORD).await;
    let other = other_login.refresh_cookie().unwrap();
    let other_access: AuthOut = other_login.json();
    assert_eq!(
        app.get("/api/v1/me", &other_access.access_token)
            .await
            .status,
        StatusCode::OK
    );
    let wrong = app
        .post(
            "/api/v1/me/password",
            &s.token,
            json!({ "current_password": "nope nope nope", "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong.body["error"]["details"]["fields"][0]["field"],
        "current_password"
    );
    let r = app
        .post(
            "/api/v1/me/password",
            &s.token,
            json!({ "current_password": PASSWORD, "new_password": "a brand new password" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // The other session ends: its refresh cookie, and its access token at once.
    assert_eq!(refresh(&app, &other).await.status, StatusCode::UNAUTHORIZED);
    let me = app.get("/api/v1/me", &other_access.access_token).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text);
    assert_eq!(me.error_code(), "session_ended");
    assert_eq!(app.get("/api/v1/me", &s.token).await.status, StatusCode::OK);
    assert_eq!(
        refresh(&app, s.refresh.as_ref().unwrap()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        login(&app, "p@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "p@example.com", "a brand new password")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_profile_name_can_be_changed() {
    let app = TestApp::spawn(&[]).await;
    let (s, _) = app.signup("n@example.com", "Acme").await;
    let r = app
        .patch("/api/v1/me", &s.token, json!({ "name": "  Grace Hopper " }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["name"], "Grace Hopper");
}
