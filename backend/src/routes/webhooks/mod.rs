//! Webhooks from PagerDuty (v3, signed with HMAC-SHA256 over the raw body) and Opsgenie (a per-integration
//! secret header). A delivery is authenticated, deduplicated by its delivery id (`X-Webhook-Id`, else the
//! event id, else a digest of the body), stored, and answered at once; a job applies it. Redeliveries change
//! nothing, and an event that arrives late never moves an incident back to an older state (the pipeline only
//! applies versions newer than what it holds). Each integration may deliver a set number per minute (one
//! tenant's webhook storm cannot flood the queue); beyond it, 429 with `Retry-After`. Every answer is counted
//! in `webhook_deliveries_total` (see docs/operations/monitoring.md).

use crate::auth::rate_limit;
use crate::error::ApiError;
use crate::http::{Path, parse_json_syntax};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use insights_core::crypto::columns::INTEGRATION_WEBHOOK_SECRET;
use insights_core::db::{self, integrations};
use insights_core::jobs::ProcessWebhook;
use insights_ingest::connector::authenticate_webhook;
use insights_types::api::IntegrationKind;
use insights_types::{IntegrationId, WebhookDeliveryId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The window of the per-integration delivery limit (`INSIGHTS_WEBHOOK_DELIVERIES_PER_MINUTE`).
const MINUTE: Duration = Duration::from_secs(60);

/// PagerDuty guarantees deliveries up to 55 KB and drops those over 256 KB.
pub const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive_webhook))
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_LIMIT))
        .layer(axum::middleware::from_fn(count_delivery))
}

/// Counts each delivery in `webhook_deliveries_total{source, outcome, reason}` by its answer, whichever layer
/// gave it (the body limit and the path's parsing answer before the handler runs).
async fn count_delivery(req: Request, next: Next) -> Response {
    // Only the known sources name a series: the path is the caller's to choose.
    let source = req
        .uri()
        .path()
        .strip_prefix("/hooks/")
        .and_then(|rest| rest.split('/').next())
        .and_then(IntegrationKind::parse)
        .map_or("unknown", IntegrationKind::as_str);
    let resp = next.run(req).await;
    let (outcome, reason) = delivery_outcome(resp.status());
    match reason {
        Some(reason) => metrics::counter!("webhook_deliveries_total",
            "source" => source, "outcome" => outcome, "reason" => reason)
        .increment(1),
        None => {
            metrics::counter!("webhook_deliveries_total", "source" => source, "outcome" => outcome)
                .increment(1)
        }
    }
    resp
}

/// A delivery's outcome (and the reason of a rejection) from the status it was answered with: `accepted`
/// (202, or 200 for a redelivery), `rejected` because of its `signature` (401), an `unknown_integration`
/// (404), `rate_limited` (429) or `invalid` (any other 4xx: not JSON, too large, a malformed id), or `error`
/// when the server failed (5xx: counted apart, a rejection is the sender's doing).
fn delivery_outcome(status: StatusCode) -> (&'static str, Option<&'static str>) {
    match status {
        s if s.is_success() => ("accepted", None),
        StatusCode::UNAUTHORIZED => ("rejected", Some("signature")),
        StatusCode::NOT_FOUND => ("rejected", Some("unknown_integration")),
        StatusCode::TOO_MANY_REQUESTS => ("rejected", Some("rate_limited")),
        s if s.is_client_error() => ("rejected", Some("invalid")),
        _ => ("error", None),
    }
}

/// What happened to a delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct WebhookAck {
    /// `accepted` (stored, being applied) or `duplicate` (already received; ignored).
    status: &'static str,
}

/// Receive a webhook. `source` is `pagerduty` (authenticated by `X-PagerDuty-Signature`) or `opsgenie`
/// (authenticated by the `X-Insights-Webhook-Secret` header). 202 when accepted, 200 for a redelivery, 401
/// when it cannot be authenticated, 404 for an unknown integration, 429 (with `Retry-After`, which both
/// sources honour by retrying later) beyond `INSIGHTS_WEBHOOK_DELIVERIES_PER_MINUTE` for the integration.
#[utoipa::path(post, path = "/hooks/{source}/{integration_id}", tag = "webhooks",
    params(("source" = String, Path, description = "`pagerduty` or `opsgenie`"), ("integration_id" = IntegrationId, Path)),
    request_body(content = Object, description = "The source's webhook payload, as it sends it"),
    responses((status = 202, body = WebhookAck), (status = 200, description = "A redelivery", body = WebhookAck),
              (status = 400, description = "Not JSON (or holds a NUL character)", body = insights_types::ErrorBody),
              (status = 401, description = "Not authenticated", body = insights_types::ErrorBody),
              (status = 404, description = "No such integration", body = insights_types::ErrorBody),
              (status = 413, description = "Body over 256 KiB", body = insights_types::ErrorBody),
              (status = 429, description = "Over the integration's deliveries per minute; see `Retry-After`", body = insights_types::ErrorBody)))]
async fn receive_webhook(
    State(state): State<AppState>,
    Path((source, id)): Path<(String, IntegrationId)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<WebhookAck>), ApiError> {
    let kind = IntegrationKind::parse(&source).ok_or(ApiError::NotFound)?;
    let mut conn = state.db.pool().acquire().await.map_err(db::DbError::from)?;
    let target = integrations::webhook_target(&mut conn, id).await?;
    drop(conn);
    let Some((org_id, target_kind, sealed)) = target else {
        return Err(ApiError::NotFound);
    };
    if target_kind != kind {
        return Err(ApiError::NotFound);
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let secret = match sealed {
        Some(s) => state
            .secrets
            .open(&INTEGRATION_WEBHOOK_SECRET.row(id), &s)
            .map_err(|e| ApiError::Internal(e.into()))?,
        None => {
            return Err(ApiError::Unauthorized {
                code: "webhook_secret_missing",
                message: "This integration has no webhook signing secret yet: paste the one PagerDuty showed into the integration's settings.".into(),
            });
        }
    };
    authenticate_webhook(kind, &secret, header, &body).map_err(|e| ApiError::Unauthorized {
        code: "bad_signature",
        message: e.to_string(),
    })?;
    // Counted once authenticated, so no one without the secret can use up an integration's budget.
    let key = state.redis_key(&["rl", "webhook", &id.to_string()]);
    rate_limit::hit(
        &mut state.redis.clone(),
        &key,
        state.config.limits.webhook_deliveries_per_minute,
        MINUTE,
    )
    .await
    .map_err(|e| ApiError::Unavailable(format!("redis: {e}")))?
    .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    let payload = parse_json_syntax(&body)?;
    let event_type = payload
        .pointer("/event/event_type")
        .or_else(|| payload.get("action"))
        .and_then(|v| v.as_str());
    let key = header("x-webhook-id")
        .map(str::to_owned)
        .or_else(|| {
            payload
                .pointer("/event/id")
                .and_then(|v| v.as_str())
                .map(|e| format!("event:{e}"))
        })
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(&body))));

    let delivery = WebhookDeliveryId::new();
    let mut tx = state.db.org_tx(org_id, None).await?;
    let job = state
        .jobs
        .record::<ProcessWebhook>(&mut tx, delivery)
        .await?;
    let new = db::webhooks::record(
        &mut tx,
        delivery,
        id,
        &key,
        event_type,
        &payload,
        job.job_run_id(),
    )
    .await?;
    if !new {
        // Rolled back with the job row: a redelivery creates nothing.
        return Ok((
            StatusCode::OK,
            axum::Json(WebhookAck {
                status: "duplicate",
            }),
        ));
    }
    tx.commit().await?;
    state.jobs.push(job).await;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(WebhookAck { status: "accepted" }),
    ))
}

#[cfg(test)]
mod tests {
    use super::delivery_outcome;
    use axum::http::StatusCode;

    #[test]
    fn each_answer_is_an_outcome_and_each_rejection_has_its_reason() {
        let cases = [
            (StatusCode::ACCEPTED, ("accepted", None)),
            (StatusCode::OK, ("accepted", None)),
            (StatusCode::UNAUTHORIZED, ("rejected", Some("signature"))),
            (
                StatusCode::NOT_FOUND,
                ("rejected", Some("unknown_integration")),
            ),
            (
                StatusCode::TOO_MANY_REQUESTS,
                ("rejected", Some("rate_limited")),
            ),
            (StatusCode::BAD_REQUEST, ("rejected", Some("invalid"))),
            (StatusCode::PAYLOAD_TOO_LARGE, ("rejected", Some("invalid"))),
            (StatusCode::INTERNAL_SERVER_ERROR, ("error", None)),
            (StatusCode::SERVICE_UNAVAILABLE, ("error", None)),
        ];
        for (status, expected) in cases {
            assert_eq!(delivery_outcome(status), expected, "{status}");
        }
    }
}
