//! Building and running the API server. `App::build` binds the listener itself (port 0 in tests) and wires
//! state, routes and middleware; `App::run` serves until SIGTERM or Ctrl-C and then drains in-flight requests.

use crate::auth::password::PasswordHasher;
use crate::auth::tokens::TokenKeys;
use crate::cache::ReadCache;
use crate::error::{ApiError, error_response};
use crate::http::{middleware, openapi};
use crate::routes;
use crate::state::AppState;
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use insights_core::config::ApiConfig;
use insights_core::db::Db;
use insights_core::jobs::JobQueue;
use insights_core::telemetry::shutdown_signal;
use secrecy::ExposeSecret;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

pub struct App {
    listener: TcpListener,
    router: Router,
    /// The internal address for Prometheus (`INSIGHTS_METRICS_ADDR`), apart from the public one.
    metrics_listener: TcpListener,
    state: AppState,
}

/// The process-wide Prometheus recorder (shared with the worker: see [`insights_core::telemetry::prometheus`]).
pub use insights_core::telemetry::prometheus;

impl App {
    /// Connects to PostgreSQL (lazily) and Redis, and binds `config.server.bind` and
    /// `config.server.metrics_bind`.
    pub async fn build(config: ApiConfig) -> anyhow::Result<App> {
        let listener = TcpListener::bind(config.server.bind)
            .await
            .with_context(|| format!("cannot listen on INSIGHTS_BIND={}", config.server.bind))?;
        let metrics_listener = TcpListener::bind(config.server.metrics_bind)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on INSIGHTS_METRICS_ADDR={}",
                    config.server.metrics_bind
                )
            })?;
        let state = state(config).await?;
        let router = router(state.clone());
        Ok(App {
            listener,
            router,
            metrics_listener,
            state,
        })
    }

    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Where `/metrics` is served.
    #[must_use]
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_listener
            .local_addr()
            .expect("bound listener has an address")
    }

    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), metrics_addr = %self.metrics_addr(), public_url = %self.state.config.server.public_url, "insights-api listening");
        // The metrics server stops once the public one has drained.
        let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_router = routes::operations::metrics_router(self.state.clone());
        let metrics = tokio::spawn(async move {
            axum::serve(self.metrics_listener, metrics_router)
                .with_graceful_shutdown(async {
                    let _ = metrics_stopped.await;
                })
                .await
        });
        // While this listens, authenticated requests answer their session, role and `/me` checks from memory.
        let auth_changes = tokio::spawn(crate::cache::listen(
            self.state.cache.clone(),
            self.state.db.pool().clone(),
        ));
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        auth_changes.abort();
        let _ = stop_metrics.send(());
        metrics.await??;
        served?;
        self.state.db.pool().close().await;
        if let Some(replica) = self.state.db.replica_pool() {
            replica.close().await;
        }
        tracing::info!("insights-api stopped");
        Ok(())
    }
}

/// Connects the shared state of the API (also used by the worker's tests and the benchmark).
pub async fn state(config: ApiConfig) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.database, Some(config.limits.statement_timeout))?;
    let redis_client =
        redis::Client::open(config.jobs.redis_url.expose_secret()).context("REDIS_URL")?;
    let redis = tokio::time::timeout(
        Duration::from_secs(10),
        redis::aio::ConnectionManager::new(redis_client.clone()),
    )
    .await
    .context("REDIS_URL: Redis did not answer within 10 s")?
    .context("REDIS_URL: cannot connect to Redis")?;
    let jobs = JobQueue::new(
        redis.clone(),
        &config.jobs.redis_prefix,
        config.jobs.max_attempts,
    );
    let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    Ok(AppState {
        tokens: TokenKeys::new(&config.auth.jwt_secret, config.auth.access_token_ttl),
        secrets: config.general.secrets(),
        hasher: PasswordHasher::new(cpus),
        metrics: prometheus(),
        // Pages of incident lists are kept only when those lists read the primary (see `crate::cache`).
        cache: ReadCache::new(
            config.auth.session_check_cache,
            if config.database.read_url.is_some() {
                0
            } else {
                config.limits.page_cache_bytes
            },
        ),
        config: Arc::new(config),
        db,
        redis,
        redis_client,
        jobs,
    })
}

/// The OpenAPI description and the router, built from the same route list.
pub fn api_parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", routes::api_v1().merge(openapi_route()))
        .merge(routes::operations::router())
        .merge(routes::webhooks::router())
        .split_for_parts();
    openapi::add_common_errors(&mut doc);
    openapi::open_flattened_types(&mut doc);
    (router, doc)
}

fn openapi_route() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(utoipa_axum::routes!(get_openapi))
}

/// This description (OpenAPI 3.1).
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 JSON")))]
async fn get_openapi(axum::Extension(doc): axum::Extension<Arc<String>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.as_str().to_owned(),
    )
        .into_response()
}

/// The whole HTTP service: API, operations endpoints, the web app, and middleware.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_parts();
    let doc = Arc::new(serde_json::to_string(&doc).expect("OpenAPI serializes"));
    let web = web_app(&state.config.server.web_dir);
    let https = state.config.server.public_url.scheme() == "https";
    let origin = HeaderValue::from_str(&state.config.server.public_url.ascii_origin())
        .expect("origin is ASCII");
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::exact(origin))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));

    let mut router = api
        .route("/api/{*rest}", any(api_not_found))
        .route("/api", any(api_not_found))
        .route("/hooks", any(api_not_found))
        // Served on the internal metrics address only.
        .route("/metrics", any(api_not_found))
        .route("/metrics/{*rest}", any(api_not_found))
        .route("/hooks/{source}", any(api_not_found))
        .route(
            "/hooks/{source}/{integration_id}/{*rest}",
            any(api_not_found),
        )
        .fallback_service(web)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::Extension(doc))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.config.limits.request_timeout,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.cache.clone(),
            middleware::forget_written_pages,
        ))
        .layer(axum::middleware::from_fn(middleware::track_metrics));
    for (name, value) in middleware::security_headers(https) {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    router
        .layer(cors)
        .layer(CatchPanicLayer::custom(|_| {
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side.")
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or(req.uri().path(), |p| p.as_str());
                    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), route = %route, request_id = %request_id,
                        org_id = tracing::field::Empty, user_id = tracing::field::Empty)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                // A 5xx is logged at ERROR once, with its cause, where it is made (`ApiError`): this one is a
                // warning, so that error reporting sees each failure once.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The web app: content-hashed files under `/assets/` (gzip when the browser takes it, cached for a year),
/// and `index.html` for every other path — the app's own routes — revalidated on each load.
fn web_app(dir: &std::path::Path) -> Router {
    let assets = ServeDir::new(dir.join("assets")).precompressed_gzip();
    Router::new()
        .nest_service("/assets", assets)
        .fallback_service(ServeFile::new(dir.join("index.html")))
        .layer(axum::middleware::from_fn(web_cache_headers))
}

async fn web_cache_headers(req: Request, next: axum::middleware::Next) -> Response {
    let immutable = req.uri().path().starts_with("/assets/");
    let mut resp = next.run(req).await;
    if resp.status().is_success() {
        let value = if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    resp
}

/// Answers 504 with the error body when the service has not produced a response head within `budget` (the
/// handler is dropped: its transaction rolls back). A streamed body that has started is not cut.
async fn request_timeout(
    axum::extract::State(budget): axum::extract::State<Duration>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(budget, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::warn!(budget_ms = budget.as_millis() as u64, "request timed out");
            error_response(
                StatusCode::GATEWAY_TIMEOUT,
                "request_timeout",
                "The server did not finish this request in time. Narrow it or try again shortly.",
            )
        }
    }
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This method is not allowed here.",
    )
}
