//! Middleware: Prometheus request metrics by route and status, the security headers of every response, and
//! forgetting the incident-list pages a write request may have changed.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// Counts requests and records their latency, labelled by method, route template and status.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let resp = next.run(req).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", resp.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// The headers set on every response (unless a handler set them already).
#[must_use]
pub fn security_headers(https: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = vec![
        (
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ),
        (
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ),
        (
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
                 img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
            ),
        ),
    ];
    if https {
        h.push((
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ));
    }
    h
}

/// After a request that may write into an organization (any method but GET, HEAD and OPTIONS under
/// `/api/v1/orgs/{org_id}/`), this process forgets that organization's incident-list pages before answering:
/// its client's next page is read afresh, without waiting for PostgreSQL's notification (which tells every
/// other process, and this one of writes made by the worker).
pub async fn forget_written_pages(
    State(cache): State<crate::cache::ReadCache>,
    req: Request,
    next: Next,
) -> Response {
    let org = (!matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS))
        .then(|| written_org(req.uri().path()))
        .flatten();
    let resp = next.run(req).await;
    if let Some(org) = org {
        cache.forget(crate::cache::Change::Incidents { org });
    }
    resp
}

/// The organization of an `/api/v1/orgs/{org_id}/…` path.
fn written_org(path: &str) -> Option<insights_types::OrgId> {
    let rest = path.strip_prefix("/api/v1/orgs/")?;
    let id = rest.split('/').next()?;
    id.parse().ok().map(insights_types::OrgId)
}

#[cfg(test)]
mod tests {
    use super::written_org;

    #[test]
    fn the_written_organization_comes_from_the_path() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            written_org(&format!("/api/v1/orgs/{id}/patterns/x/merge")).map(|o| o.0),
            Some(id)
        );
        assert_eq!(
            written_org(&format!("/api/v1/orgs/{id}")).map(|o| o.0),
            Some(id)
        );
        assert_eq!(written_org("/api/v1/orgs/not-an-id/incidents"), None);
        assert_eq!(written_org(&format!("/api/v1/me/{id}")), None);
    }
}
