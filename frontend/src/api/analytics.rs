//! Trend analytics and each person's dashboard layout. The analytics reads take the incident list's filters
//! as query pairs already encoded (`service=…`, `since=…`), so a number drills into the list with the same
//! pairs.

use super::{ApiResult, NO_BODY, call, get};
use crate::session::Session;
use insights_types::OrgId;
use insights_types::api::{
    AnalyticsSettings, AnalyticsSettingsOut, AnalyticsStatusOut, AnalyticsSummaryOut,
    DashboardLayout, DashboardLayoutOut, HeatmapOut, TimeseriesOut, TopOut,
};

/// `/api/v1/orgs/{org}/analytics/{what}?{params}`.
fn analytics_path(org: OrgId, what: &str, params: &[String]) -> String {
    if params.is_empty() {
        format!("/api/v1/orgs/{org}/analytics/{what}")
    } else {
        format!("/api/v1/orgs/{org}/analytics/{what}?{}", params.join("&"))
    }
}

/// `params` with `extra` pairs (already encoded) after them.
fn with(params: &[String], extra: &[String]) -> Vec<String> {
    params.iter().chain(extra).cloned().collect()
}

/// `GET …/analytics/summary?{filters}`: the period's figures and the previous period's.
pub fn summary(
    session: Session,
    org: OrgId,
    filters: &[String],
) -> impl Future<Output = ApiResult<AnalyticsSummaryOut>> {
    get(session, analytics_path(org, "summary", filters))
}

/// `GET …/analytics/timeseries?{filters}&{series}`: `series` names the metric, stat, bucket and grouping
/// (`metric=count`, `bucket=day`, `group_by=service`).
pub fn timeseries(
    session: Session,
    org: OrgId,
    filters: &[String],
    series: &[String],
) -> impl Future<Output = ApiResult<TimeseriesOut>> {
    get(
        session,
        analytics_path(org, "timeseries", &with(filters, series)),
    )
}

/// `GET …/analytics/heatmap?{filters}`: incidents by hour of the week.
pub fn heatmap(
    session: Session,
    org: OrgId,
    filters: &[String],
) -> impl Future<Output = ApiResult<HeatmapOut>> {
    get(session, analytics_path(org, "heatmap", filters))
}

/// `GET …/analytics/top?{filters}&{table}`: `table` names the dimension, sort, order and limit.
pub fn top(
    session: Session,
    org: OrgId,
    filters: &[String],
    table: &[String],
) -> impl Future<Output = ApiResult<TopOut>> {
    get(session, analytics_path(org, "top", &with(filters, table)))
}

/// `GET …/analytics/status`: the analytics' version (it changes with the data) and whether changes wait.
pub fn status(session: Session, org: OrgId) -> impl Future<Output = ApiResult<AnalyticsStatusOut>> {
    get(session, analytics_path(org, "status", &[]))
}

/// `GET …/analytics/settings`.
pub fn settings(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<AnalyticsSettingsOut>> {
    get(session, analytics_path(org, "settings", &[]))
}

/// `PUT …/analytics/settings`: answers with the recomputation it started, if any.
pub fn update_settings(
    session: Session,
    org: OrgId,
    body: &AnalyticsSettings,
) -> impl Future<Output = ApiResult<AnalyticsSettingsOut>> {
    call(
        session,
        "PUT",
        analytics_path(org, "settings", &[]),
        Some(body),
    )
}

/// `GET /api/v1/orgs/{org}/dashboard/layout`: the signed-in person's layout (or the default).
pub fn layout(session: Session, org: OrgId) -> impl Future<Output = ApiResult<DashboardLayoutOut>> {
    get(session, format!("/api/v1/orgs/{org}/dashboard/layout"))
}

/// `PUT /api/v1/orgs/{org}/dashboard/layout`.
pub fn save_layout(
    session: Session,
    org: OrgId,
    body: &DashboardLayout,
) -> impl Future<Output = ApiResult<DashboardLayoutOut>> {
    let path = format!("/api/v1/orgs/{org}/dashboard/layout");
    call(session, "PUT", path, Some(body))
}

/// `DELETE /api/v1/orgs/{org}/dashboard/layout`: back to the default layout.
pub fn reset_layout(session: Session, org: OrgId) -> impl Future<Output = ApiResult<()>> {
    let path = format!("/api/v1/orgs/{org}/dashboard/layout");
    call(session, "DELETE", path, NO_BODY)
}
