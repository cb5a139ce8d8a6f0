use insights_testing::TestApp;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;

#[tokio::test]
async fn liveness_and_readiness_report_their_checks() {
    let app = TestApp::spawn(&[]).await;
    let r = app.request(Method::GET, "/health/live", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.request(Method::GET, "/health/ready", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["checks"]["postgres"], "ok");
    assert_eq!(r.body["checks"]["redis"], "ok");
}

#[tokio::test]
async fn readiness_fails_when_postgres_is_unreachable() {
    let app = TestApp::spawn(&[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")]).await;
    let r = app.request(Method::GET, "/health/ready", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["status"], "unavailable");
    assert_eq!(r.body["checks"]["postgres"], "unavailable");
    assert_eq!(r.body["checks"]["redis"], "ok");
    // The database's error (which names hosts, ports, roles) is logged, not answered.
    for leak in ["127.0.0.1", ":1", "none", "connect", "refused"] {
        assert!(!r.text.contains(leak), "{leak} in {}", r.text);
    }
    assert_eq!(
        app.request(Method::GET, "/health/live", None, None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn(&[]).await;
    app.request(Method::GET, "/health/live", None, None).await;
    app.request(Method::GET, "/api/v1/me", None, None).await;
    let r = app.metrics().await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.text
            .contains(r#"http_requests_total{method="GET",route="/health/live",status="200"}"#),
        "{}",
        r.text
    );
    assert!(r.text.contains(r#"route="/api/v1/me",status="401""#));
    assert!(r.text.contains("http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn responses_carry_a_request_id_and_security_headers() {
    let app = TestApp::spawn(&[]).await;
    let r = app.request(Method::GET, "/health/live", None, None).await;
    assert!(r.headers.contains_key("x-request-id"));
    for h in [
        "x-content-type-options",
        "x-frame-options",
        "content-security-policy",
        "referrer-policy",
    ] {
        assert!(r.headers.contains_key(h), "{h}");
    }
    let r = app
        .send(
            app.raw(Method::GET, "/health/live")
                .header("x-request-id", "abc-123"),
        )
        .await;
    assert_eq!(r.headers["x-request-id"], "abc-123");
}

#[tokio::test]
async fn cors_allows_only_the_public_origin() {
    let app = TestApp::spawn(&[]).await;
    let preflight = |origin: &str| {
        app.raw(Method::OPTIONS, "/api/v1/me")
            .header(header::ORIGIN, origin)
            .header("access-control-request-method", "GET")
    };
    let ok = app.send(preflight("http://localhost:8080")).await;
    assert_eq!(
        ok.headers.get("access-control-allow-origin").unwrap(),
        "http://localhost:8080"
    );
    assert_eq!(
        ok.headers.get("access-control-allow-credentials").unwrap(),
        "true"
    );
    let evil = app.send(preflight("https://evil.example")).await;
    // The allowed origin is fixed: a browser on another origin sees a mismatch and refuses.
    assert_ne!(
        evil.headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("https://evil.example")
    );
}

#[tokio::test]
async fn the_openapi_description_covers_every_route_with_error_bodies() {
    let app = TestApp::spawn(&[]).await;
    let r = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.body;
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/me/password",
        "/api/v1/orgs",
        "/api/v1/orgs/{org_id}",
        "/api/v1/orgs/{org_id}/members",
        "/api/v1/orgs/{org_id}/members/{user_id}",
        "/api/v1/orgs/{org_id}/invitations",
        "/api/v1/orgs/{org_id}/invitations/{invitation_id}",
        "/api/v1/invitations/accept",
        "/api/v1/invitations/lookup",
        "/api/v1/orgs/{org_id}/audit-log",
        "/api/v1/orgs/{org_id}/jobs",
        "/api/v1/orgs/{org_id}/jobs/{job_id}",
        "/api/v1/orgs/{org_id}/feedback",
        "/api/v1/orgs/{org_id}/incidents",
        "/api/v1/orgs/{org_id}/incidents/{incident_id}",
        "/api/v1/orgs/{org_id}/sample-data",
        "/api/v1/orgs/{org_id}/incidents/export",
        "/api/v1/orgs/{org_id}/services",
        "/api/v1/orgs/{org_id}/teams",
        "/api/v1/orgs/{org_id}/integrations",
        "/api/v1/orgs/{org_id}/integrations/{integration_id}",
        "/api/v1/orgs/{org_id}/integrations/{integration_id}/sync",
        "/api/v1/orgs/{org_id}/integrations/{integration_id}/cancel",
        "/api/v1/orgs/{org_id}/integrations/{integration_id}/runs",
        "/api/v1/orgs/{org_id}/integrations/{integration_id}/webhook-secret",
        "/api/v1/orgs/{org_id}/integrations/{integration_id}/webhook-subscription",
        "/hooks/{source}/{integration_id}",
        "/api/v1/openapi.json",
        "/health/live",
        "/health/ready",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI description"
        );
    }
    let signup = &doc["paths"]["/api/v1/auth/signup"]["post"];
    assert!(signup["requestBody"].is_object());
    for code in ["201", "400", "413", "415", "422", "429"] {
        assert!(signup["responses"][code].is_object(), "signup lacks {code}");
    }
    assert_eq!(
        doc["paths"]["/api/v1/orgs/{org_id}/members/{user_id}"]["patch"]["responses"]["404"]["content"]
            ["application/json"]["schema"]["$ref"],
        Value::from("#/components/schemas/ErrorBody")
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    let connect = &doc["paths"]["/api/v1/orgs/{org_id}/integrations"]["post"];
    for code in ["201", "422", "502"] {
        assert!(
            connect["responses"][code].is_object(),
            "connect lacks {code}"
        );
    }
    for schema in [
        "IntegrationIn",
        "PagerDutyIn",
        "OpsgenieIn",
        "IntegrationOut",
        "SyncRunOut",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    let hook = &doc["paths"]["/hooks/{source}/{integration_id}"]["post"];
    for code in ["200", "202", "401", "404", "413"] {
        assert!(
            hook["responses"][code].is_object(),
            "the webhook lacks {code}"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[test]
fn every_reference_in_the_openapi_description_resolves() {
    let doc = serde_json::to_value(insights_api::app::api_parts().1).unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.iter().any(|r| r == "#/components/schemas/ErrorBody"));
    let dangling: std::collections::BTreeSet<&String> = refs
        .iter()
        .filter(|r| r.strip_prefix('#').and_then(|p| doc.pointer(p)).is_none())
        .collect();
    assert!(
        dangling.is_empty(),
        "references to nothing (register the schema, or `#[param(inline)]` a query enum): {dangling:?}"
    );
}

/// Every `$ref` in a JSON document.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_web_app_is_served_with_cached_assets_and_a_fallback_for_client_routes() {
    let dir = std::env::temp_dir().join(format!("insights-web-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dir.join("assets/app.0123.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let app = TestApp::spawn(&[("INSIGHTS_WEB_DIR", dir.to_str().unwrap())]).await;
    for path in ["/", "/settings/members", "/orgs/x/dashboard"] {
        let r = app.request(Method::GET, path, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            r.text.contains("<title>app</title>"),
            "{path} falls back to index.html"
        );
        assert_eq!(r.headers[header::CACHE_CONTROL], "no-cache");
    }
    let wasm = app
        .send(app.raw(Method::GET, "/assets/app.0123.wasm"))
        .await;
    assert_eq!(wasm.status, StatusCode::OK);
    assert_eq!(wasm.headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(
        wasm.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let missing = app.send(app.raw(Method::GET, "/assets/gone.wasm")).await;
    assert_eq!(
        missing.status,
        StatusCode::NOT_FOUND,
        "a missing asset is not the app's page"
    );
    let api = app
        .request(Method::GET, "/api/v1/no-such-thing", None, None)
        .await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.error_code(), "not_found");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn metrics_are_served_on_the_internal_address_and_not_on_the_public_one() {
    let app = TestApp::spawn(&[]).await;
    for path in ["/metrics", "/metrics/jobs"] {
        let public = app.request(Method::GET, path, None, None).await;
        assert_eq!(public.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(public.error_code(), "not_found", "{path}");
        assert!(!public.text.contains("http_requests_total"));
    }
    assert_ne!(app.metrics_addr.port(), app.addr.port());
    let internal = app.metrics().await;
    assert_eq!(internal.status, StatusCode::OK);
    assert!(
        internal.text.contains("http_requests_total"),
        "{}",
        internal.text
    );
    // The public description does not offer it either.
    let doc = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert!(doc.body["paths"].get("/metrics").is_none());
}
