//! Every class of bad input gets a 4xx with the error body — never a 500, never a partial write.

use insights_testing::{PASSWORD, TestApp};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// Every endpoint that takes a JSON body, with a valid body for it.
fn json_endpoints(org: &str, user: &str) -> Vec<(Method, String, Value)> {
    vec![
        (
            Method::POST,
            "/api/v1/auth/signup".into(),
            json!({ "email": "new@example.com", "password": PASSWORD, "name": "N", "organization_name": "O" }),
        ),
        (
            Method::POST,
            "/api/v1/auth/login".into(),
            json!({ "email": "new@example.com", "password": PASSWORD }),
        ),
        (Method::PATCH, "/api/v1/me".into(), json!({ "name": "N" })),
        (
            Method::POST,
            "/api/v1/me/password".into(),
            json!({ "current_password": PASSWORD, "new_password": PASSWORD }),
        ),
        (Method::POST, "/api/v1/orgs".into(), json!({ "name": "O" })),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{org}"),
            json!({ "name": "O" }),
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{org}/members/{user}"),
            json!({ "role": "owner" }),
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/invitations"),
            json!({ "email": "x@example.com", "role": "member" }),
        ),
        (
            Method::POST,
            "/api/v1/invitations/accept".into(),
            json!({ "token": "t" }),
        ),
        (
            Method::POST,
            "/api/v1/invitations/lookup".into(),
            json!({ "token": "t" }),
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/feedback"),
            json!({ "message": "m", "page": "/" }),
        ),
        (
            Method::POST,
            format!("/api/v1/orgs/{org}/integrations"),
            json!({ "credentials": { "api_token": "t0ken-abcdef" }, "kind": "pagerduty", "name": "PD" }),
        ),
    ]
}

async fn counts(app: &TestApp) -> Vec<i64> {
    use secrecy::ExposeSecret;
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(app.config.database.url.expose_secret())
        .await
        .unwrap();
    let mut out = Vec::new();
    for t in [
        "users",
        "organizations",
        "memberships",
        "invitations",
        "feedback",
        "refresh_tokens",
        "integrations",
        "job_runs",
    ] {
        out.push(
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {t}")))
                .fetch_one(&mut c)
                .await
                .unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn every_json_endpoint_refuses_each_class_of_bad_body_with_the_error_body_and_writes_nothing()
{
    let app = TestApp::spawn(&[]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let before = counts(&app).await;
    for (method, path, valid) in json_endpoints(&org.to_string(), &s.user_id.to_string()) {
        let first_field = valid.as_object().unwrap().keys().next().unwrap().clone();
        let mut missing = valid.clone();
        missing.as_object_mut().unwrap().remove(&first_field);
        let mut mistyped = valid.clone();
        mistyped[&first_field] = json!(12345);
        let mut unknown = valid.clone();
        unknown["surprise"] = json!(true);
        let mut too_long = valid.clone();
        too_long[&first_field] = json!("x".repeat(5000));
        // PostgreSQL stores no NUL character: found by the fuzz step (scripts/fuzz) as a 500.
        let mut nul = valid.clone();
        for v in nul.as_object_mut().unwrap().values_mut() {
            if let Some(s) = v.as_str() {
                *v = json!(format!("{s}\u{0}"));
            }
        }
        let cases: Vec<(&str, reqwest::RequestBuilder, &[StatusCode])> = vec![
            (
                "malformed",
                app.raw(method.clone(), &path)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body("{,}"),
                &[StatusCode::BAD_REQUEST],
            ),
            (
                "not an object",
                app.raw(method.clone(), &path).json(&json!([1, 2])),
                &[StatusCode::UNPROCESSABLE_ENTITY],
            ),
            (
                "missing field",
                app.raw(method.clone(), &path).json(&missing),
                &[StatusCode::UNPROCESSABLE_ENTITY, StatusCode::OK],
            ),
            (
                "mistyped field",
                app.raw(method.clone(), &path).json(&mistyped),
                &[StatusCode::UNPROCESSABLE_ENTITY],
            ),
            (
                "unknown field",
                app.raw(method.clone(), &path).json(&unknown),
                &[StatusCode::UNPROCESSABLE_ENTITY],
            ),
            (
                "over-long string",
                app.raw(method.clone(), &path).json(&too_long),
                &[
                    StatusCode::UNPROCESSABLE_ENTITY,
                    StatusCode::UNAUTHORIZED,
                    StatusCode::NOT_FOUND,
                ],
            ),
            (
                "NUL character",
                app.raw(method.clone(), &path).json(&nul),
                &[StatusCode::BAD_REQUEST],
            ),
            (
                "oversized body",
                app.raw(method.clone(), &path)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(format!("{{\"name\": \"{}\"}}", "x".repeat(70_000))),
                &[StatusCode::PAYLOAD_TOO_LARGE],
            ),
            (
                "wrong content type",
                app.raw(method.clone(), &path)
                    .header(header::CONTENT_TYPE, "text/plain")
                    .body(valid.to_string()),
                &[StatusCode::UNSUPPORTED_MEDIA_TYPE],
            ),
        ];
        for (class, req, expected) in cases {
            let r = app.send(req.bearer_auth(&s.token)).await;
            assert!(
                expected.contains(&r.status),
                "{class}: {method} {path} -> {} {}",
                r.status,
                r.text
            );
            if r.status.is_client_error() {
                let _ = r.error_code();
            }
        }
    }
    assert_eq!(counts(&app).await, before, "no bad request wrote anything");
}

#[tokio::test]
async fn field_errors_name_the_field() {
    let app = TestApp::spawn(&[]).await;
    let r = app
        .signup_with(json!({ "email": "not-an-email", "password": "short", "name": "", "organization_name": "x".repeat(101) }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_code(), "validation_failed");
    let fields: Vec<&str> = r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec!["email", "password", "name", "organization_name"]
    );
    let r = app
        .signup_with(json!({ "email": "a@example.com", "password": PASSWORD, "name": "A" }))
        .await;
    assert_eq!(
        r.body["error"]["details"]["fields"][0]["field"],
        "organization_name"
    );
}

#[tokio::test]
async fn unknown_enum_values_are_refused_with_the_field() {
    let app = TestApp::spawn(&[]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    let r = app
        .post(
            &format!("/api/v1/orgs/{org}/invitations"),
            &s.token,
            json!({ "email": "a@example.com", "role": "superuser" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["details"]["fields"][0]["field"], "role");
    let r = app
        .get(&format!("/api/v1/orgs/{org}/jobs?state=exploded"), &s.token)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "invalid_query");
}

#[tokio::test]
async fn malformed_ids_and_query_strings_are_bad_requests() {
    let app = TestApp::spawn(&[]).await;
    let (s, org) = app.signup("o@example.com", "Acme").await;
    for path in [
        "/api/v1/orgs/not-a-uuid".to_owned(),
        "/api/v1/orgs/not-a-uuid/members".to_owned(),
        format!("/api/v1/orgs/{org}/jobs/123"),
        format!("/api/v1/orgs/{org}/audit-log?limit=abc"),
        format!("/api/v1/orgs/{org}/audit-log?limit=1000"),
        format!("/api/v1/orgs/{org}/audit-log?cursor=bogus"),
        // A NUL (or any control character) in the text filter: PostgreSQL text cannot hold a NUL.
        format!("/api/v1/orgs/{org}/incidents?q=po%00o"),
        format!("/api/v1/orgs/{org}/analytics/summary?q=a%0Ab"),
        format!("/api/v1/orgs/{org}/patterns?q=%00"),
    ] {
        let r = app.get(&path, &s.token).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        let _ = r.error_code();
    }
    let r = app
        .delete(&format!("/api/v1/orgs/{org}/members/xyz"), &s.token)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_the_error_body() {
    let app = TestApp::spawn(&[]).await;
    let r = app
        .request(Method::GET, "/api/v1/nothing-here", None, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "not_found");
    let r = app
        .request(Method::PUT, "/api/v1/auth/login", None, None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error_code(), "method_not_allowed");
}
