//! Operations: liveness and readiness (PostgreSQL and Redis) on the public router, and Prometheus metrics,
//! served only on the internal metrics address (`INSIGHTS_METRICS_ADDR`, see [`metrics_router`]).

use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use insights_core::db;
use insights_types::api::{HealthOut, IntegrationKind};
use std::time::Duration;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
}

/// What the internal metrics address serves: `/metrics` only.
pub fn metrics_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

/// The process is up (no dependency is checked).
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, body = HealthOut)))]
async fn live() -> axum::Json<HealthOut> {
    axum::Json(HealthOut {
        status: "ok".into(),
        checks: Default::default(),
    })
}

/// PostgreSQL and Redis answer; 503 otherwise, naming the check that failed (`unavailable`) but not its error,
/// which is logged. A read replica (`DATABASE_READ_URL`) is checked too (`postgres_replica`) but does not make the
/// answer 503: every API process shares it, so failing them all would turn failing lists into a full outage.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, body = HealthOut), (status = 503, body = HealthOut)))]
async fn ready(State(state): State<AppState>) -> (StatusCode, axum::Json<HealthOut>) {
    let limit = Duration::from_secs(2);
    let ping = sqlx::query_scalar!("SELECT 1").fetch_one(state.db.pool());
    let pg = tokio::time::timeout(limit, ping).await;
    let mut redis = state.redis.clone();
    let rd =
        tokio::time::timeout(limit, redis::cmd("PING").query_async::<String>(&mut redis)).await;
    let replica = match state.db.replica_pool() {
        Some(pool) => {
            let ping = sqlx::query_scalar!("SELECT 1").fetch_one(pool);
            Some(tokio::time::timeout(limit, ping).await)
        }
        None => None,
    };
    let pg_ok = matches!(pg, Ok(Ok(_)));
    let rd_ok = matches!(rd, Ok(Ok(_)));
    // The reason goes to the log, never into the answer: a database error can name hosts, roles or databases.
    match &pg {
        Ok(Err(e)) => tracing::warn!(error = %e, "readiness: PostgreSQL failed"),
        Err(_) => tracing::warn!("readiness: PostgreSQL timed out"),
        Ok(Ok(_)) => {}
    }
    match &replica {
        Some(Ok(Err(e))) => {
            tracing::warn!(error = %e, "readiness: the PostgreSQL read replica failed")
        }
        Some(Err(_)) => tracing::warn!("readiness: the PostgreSQL read replica timed out"),
        _ => {}
    }
    match &rd {
        Ok(Err(e)) => tracing::warn!(error = %e, "readiness: Redis failed"),
        Err(_) => tracing::warn!("readiness: Redis timed out"),
        Ok(Ok(_)) => {}
    }
    let word = |ok: bool| serde_json::Value::String(if ok { "ok" } else { "unavailable" }.into());
    let mut checks = serde_json::Map::new();
    checks.insert("postgres".into(), word(pg_ok));
    checks.insert("redis".into(), word(rd_ok));
    if let Some(replica) = &replica {
        checks.insert(
            "postgres_replica".into(),
            word(matches!(replica, Ok(Ok(_)))),
        );
    }
    let (status, word) = if pg_ok && rd_ok {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (
        status,
        axum::Json(HealthOut {
            status: word.into(),
            checks,
        }),
    )
}

/// Prometheus metrics: HTTP requests by route and status, latencies, webhook deliveries; and, counted at each
/// scrape across tenants, background jobs by kind and state, the due backlog by kind, integrations by source
/// and health.
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(mut conn) = state.db.pool().acquire().await {
        match scrape_counts(&mut conn).await {
            Ok(()) => {}
            // Left at their last values; the scrape still answers with the process's own metrics.
            Err(e) => tracing::warn!(error = %e, "metrics: counting jobs and integrations failed"),
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// Sets the gauges counted from the database. Every label combination is set on each scrape, so a series that
/// emptied reads 0 rather than its last count.
async fn scrape_counts(conn: &mut sqlx::PgConnection) -> Result<(), db::DbError> {
    use insights_core::jobs::KINDS;
    let counts = db::job_runs::counts(&mut *conn).await?;
    let kinds: std::collections::BTreeSet<&str> = counts
        .iter()
        .map(|(k, _, _)| k.as_str())
        .chain(KINDS.iter().copied())
        .collect();
    for &kind in &kinds {
        for s in [
            "queued",
            "running",
            "retrying",
            "succeeded",
            "failed",
            "cancelled",
        ] {
            let n = counts
                .iter()
                .find(|(k, st, _)| k == kind && st == s)
                .map_or(0, |c| c.2);
            metrics::gauge!("jobs", "kind" => kind.to_owned(), "state" => s).set(n as f64);
        }
    }
    let backlog = db::job_runs::backlog(&mut *conn).await?;
    for &kind in &kinds {
        let b = backlog.iter().find(|b| b.kind == kind);
        metrics::gauge!("job_backlog", "kind" => kind.to_owned())
            .set(b.map_or(0.0, |b| b.waiting as f64));
        metrics::gauge!("job_backlog_oldest_seconds", "kind" => kind.to_owned())
            .set(b.map_or(0.0, |b| b.oldest_seconds));
    }
    let integrations = db::integrations::health_counts(&mut *conn).await?;
    for source in
        [IntegrationKind::Pagerduty, IntegrationKind::Opsgenie].map(IntegrationKind::as_str)
    {
        for health in ["healthy", "failing", "paused", "deleting"] {
            let n = integrations
                .iter()
                .find(|(k, h, _)| k == source && h == health)
                .map_or(0, |c| c.2);
            metrics::gauge!("integrations", "source" => source, "health" => health).set(n as f64);
        }
    }
    Ok(())
}
