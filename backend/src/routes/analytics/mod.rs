//! Trend analytics (`docs/METRICS.md`): the summary, time series, hour-of-week heatmap and top table of the
//! incidents matching the incident list's filters (parsed by the list's own code, so a number drills into the
//! list with the same query string), how fresh they are, and the organization's analytics settings. The
//! numbers come from `insights_core::analytics`; answers are cached in Redis per analytics version
//! ([`cache`]).

pub mod cache;
mod settings;

use crate::error::ApiError;
use crate::http::{OrgMember, Query};
use crate::routes::incidents::FilterQuery;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use insights_core::analytics::{self, TimeseriesQuery, TopQuery};
use insights_core::db::incidents::IncidentFilter;
use insights_types::api::{
    AnalyticsStatusOut, AnalyticsSummaryOut, Bucket, GroupBy, HeatmapOut, Metric, SortOrder, Stat,
    TimeseriesOut, TopDimension, TopOut, TopSort,
};
use insights_types::{OrgId, Permission};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_summary))
        .routes(routes!(get_timeseries))
        .routes(routes!(get_heatmap))
        .routes(routes!(get_top))
        .routes(routes!(get_status))
        .routes(routes!(settings::get_settings, settings::update_settings))
}

/// What a time series shows.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SeriesParams {
    /// `count` (default), `mtta`, `mttr` or `off_hours`.
    metric: Option<Metric>,
    /// For `mtta` and `mttr`: `mean` (default), `p50` or `p90`.
    stat: Option<Stat>,
    /// `hour`, `day`, `week` or `month`, aligned in the organization's time zone (default: chosen from the
    /// period's length).
    bucket: Option<Bucket>,
    /// `service`, `team`, `urgency`, `source` or `status`: one series per group (the top ten, then `other`).
    group_by: Option<GroupBy>,
}

/// The most rows a top table returns, and how many by default.
const TOP_MAX_ROWS: u32 = 100;
const TOP_DEFAULT_ROWS: u32 = 10;

/// What the top table lists and how.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TopParams {
    /// `service` or `team`.
    dimension: TopDimension,
    /// `count` (default), `mtta`, `mttr`, `off_hours` or `noise`.
    sort: Option<TopSort>,
    /// `desc` (default) or `asc`.
    order: Option<SortOrder>,
    /// Rows, 1–100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// An enum's name on the wire (`off_hours`), for cache keys.
pub(crate) fn wire<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The cached answer of `endpoint` to this query, or `compute`d and cached: one shape for every analytics read.
/// The version is read before the answer is computed, so an entry never holds older numbers than its version.
/// (The pattern list is answered through it too: pattern writers bump the analytics version.)
pub(crate) async fn cached<T, F>(
    state: &AppState,
    member: &OrgMember,
    endpoint: &'static str,
    filter: &IncidentFilter,
    params: &[(&str, String)],
    compute: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: for<'a> AsyncFnOnce(
        &'a mut insights_core::db::OrgTx,
        chrono::DateTime<chrono::Utc>,
    ) -> analytics::AnalyticsResult<T>,
{
    let at = cache::answer_time(chrono::Utc::now());
    let mut db = state
        .db
        .org_read_tx(member.org_id, Some(member.user_id))
        .await?;
    let version = analytics::status(&mut db).await?.version;
    let key = cache::Key::new(state, member.org_id, version, endpoint, filter, params, at);
    if let Some(hit) = cache::get(state, &key).await {
        return Ok(json_bytes(hit));
    }
    let answer = compute(&mut db, at).await?;
    drop(db);
    let bytes = Bytes::from(
        serde_json::to_vec(&answer).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?,
    );
    cache::put(state, &key, &bytes).await;
    Ok(json_bytes(bytes))
}

fn json_bytes(bytes: Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(bytes),
    )
        .into_response()
}

/// The figures of the filtered incidents (count, acknowledged, resolved, MTTA and MTTR as mean/p50/p90,
/// off-hours and sleep-hours shares, noise), with the previous period of equal length. Without `until` the
/// period ends now (to the next whole minute).
#[utoipa::path(get, path = "/orgs/{org_id}/analytics/summary", tag = "analytics", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), FilterQuery), responses((status = 200, body = AnalyticsSummaryOut)))]
async fn get_summary(
    State(state): State<AppState>,
    member: OrgMember,
    Query(filter): Query<FilterQuery>,
) -> Result<Response, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let f = filter.parse(false)?;
    cached(&state, &member, "summary", &f, &[], async |db, at| {
        analytics::summary(db, &f, at).await
    })
    .await
}

/// A time series of the filtered incidents: one series per group (the ten largest, then `other`), buckets
/// aligned in the organization's time zone. Each point's `start`/`end` is the `since`/`until` of its
/// drill-down into the incident list.
#[utoipa::path(get, path = "/orgs/{org_id}/analytics/timeseries", tag = "analytics", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), FilterQuery, SeriesParams), responses((status = 200, body = TimeseriesOut)))]
async fn get_timeseries(
    State(state): State<AppState>,
    member: OrgMember,
    Query(filter): Query<FilterQuery>,
    Query(p): Query<SeriesParams>,
) -> Result<Response, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let f = filter.parse(false)?;
    let q = TimeseriesQuery {
        metric: p.metric.unwrap_or(Metric::Count),
        stat: p.stat.unwrap_or_default(),
        bucket: p.bucket,
        group_by: p.group_by,
    };
    let params = [
        ("metric", wire(&q.metric)),
        ("stat", wire(&q.stat)),
        ("bucket", q.bucket.as_ref().map(wire).unwrap_or_default()),
        (
            "group_by",
            q.group_by.as_ref().map(wire).unwrap_or_default(),
        ),
    ];
    cached(
        &state,
        &member,
        "timeseries",
        &f,
        &params,
        async |db, at| analytics::timeseries(db, &f, &q, at).await,
    )
    .await
}

/// The filtered incidents by hour of the week (168 cells, Monday 00:00 first) in the organization's time zone.
#[utoipa::path(get, path = "/orgs/{org_id}/analytics/heatmap", tag = "analytics", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), FilterQuery), responses((status = 200, body = HeatmapOut)))]
async fn get_heatmap(
    State(state): State<AppState>,
    member: OrgMember,
    Query(filter): Query<FilterQuery>,
) -> Result<Response, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let f = filter.parse(false)?;
    cached(&state, &member, "heatmap", &f, &[], async |db, at| {
        analytics::heatmap(db, &f, at).await
    })
    .await
}

/// The services or teams of the filtered incidents, sorted by a column, each with its sparkline.
#[utoipa::path(get, path = "/orgs/{org_id}/analytics/top", tag = "analytics", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), FilterQuery, TopParams), responses((status = 200, body = TopOut)))]
async fn get_top(
    State(state): State<AppState>,
    member: OrgMember,
    Query(filter): Query<FilterQuery>,
    Query(p): Query<TopParams>,
) -> Result<Response, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let f = filter.parse(false)?;
    let limit = p.limit.unwrap_or(TOP_DEFAULT_ROWS);
    if !(1..=TOP_MAX_ROWS).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`limit` is from 1 to {TOP_MAX_ROWS}."),
        ));
    }
    let q = TopQuery {
        dimension: p.dimension,
        sort: p.sort.unwrap_or_default(),
        order: p.order.unwrap_or_default(),
        limit,
    };
    let params = [
        ("dimension", wire(&q.dimension)),
        ("sort", wire(&q.sort)),
        ("order", wire(&q.order)),
        ("limit", limit.to_string()),
    ];
    cached(&state, &member, "top", &f, &params, async |db, at| {
        analytics::top(db, &f, &q, at).await
    })
    .await
}

/// How fresh the analytics are: `version` changes whenever an answer may (a dashboard polls this and refetches
/// when it changes), whether changes wait to be rolled up, and a running recomputation.
#[utoipa::path(get, path = "/orgs/{org_id}/analytics/status", tag = "analytics", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = AnalyticsStatusOut)))]
async fn get_status(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<crate::http::Json<AnalyticsStatusOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state
        .db
        .org_read_tx(member.org_id, Some(member.user_id))
        .await?;
    Ok(crate::http::Json(analytics::status(&mut db).await?))
}
