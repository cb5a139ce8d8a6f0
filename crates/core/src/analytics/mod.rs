//! Trend analytics over the imported history. The definitions (what an incident's time to acknowledge, off-hours
//! or noise is) live once, in `definitions`, and are documented in `docs/METRICS.md`; rollups of them are kept
//! per local day and month of the organization's time zone, refreshed from the incidents a write marked dirty;
//! a query reads whole days and months from the rollups and the partial days at its edges from the incidents.
//!
//! The public interface below is what the API calls. (Skeleton: the engine fills it in.)

use crate::db::incidents::IncidentFilter;
use crate::db::{DbError, OrgTx};
use crate::jobs::{JobQueue, Pending};
use chrono::{DateTime, Utc};
use insights_types::api::{
    AnalyticsSettings, AnalyticsSettingsOut, AnalyticsStatusOut, AnalyticsSummaryOut, Bucket,
    GroupBy, HeatmapOut, Metric, SortOrder, Stat, TimeseriesOut, TopDimension, TopOut, TopSort,
};

/// Why an analytics query or settings change cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The query asks for something it cannot have (too many buckets, a bucket finer than the range allows…):
    /// the message says what, for a 400 `invalid_query`.
    #[error("{0}")]
    Invalid(String),
    /// A settings field is wrong: (field, message), for a 422.
    #[error("{1}")]
    InvalidSetting(String, String),
    #[error(transparent)]
    Db(#[from] DbError),
}

pub type AnalyticsResult<T> = Result<T, AnalyticsError>;

/// A time series request (`GET …/analytics/timeseries`).
#[derive(Clone, Copy, Debug)]
pub struct TimeseriesQuery {
    pub metric: Metric,
    pub stat: Stat,
    /// `None`: chosen from the range's length.
    pub bucket: Option<Bucket>,
    pub group_by: Option<GroupBy>,
}

/// A top table request (`GET …/analytics/top`).
#[derive(Clone, Copy, Debug)]
pub struct TopQuery {
    pub dimension: TopDimension,
    pub sort: TopSort,
    pub order: SortOrder,
    /// Rows returned (1–100).
    pub limit: u32,
}

/// The summary of the incidents matching `f` (`until` defaulting to `now`), with the previous period.
pub async fn summary(
    db: &mut OrgTx,
    f: &IncidentFilter,
    now: DateTime<Utc>,
) -> AnalyticsResult<AnalyticsSummaryOut> {
    let _ = (db, f, now);
    Err(AnalyticsError::Invalid("not built yet".to_owned()))
}

/// A time series of the incidents matching `f`.
pub async fn timeseries(
    db: &mut OrgTx,
    f: &IncidentFilter,
    q: &TimeseriesQuery,
    now: DateTime<Utc>,
) -> AnalyticsResult<TimeseriesOut> {
    let _ = (db, f, q, now);
    Err(AnalyticsError::Invalid("not built yet".to_owned()))
}

/// The hour-of-week heatmap of the incidents matching `f`.
pub async fn heatmap(
    db: &mut OrgTx,
    f: &IncidentFilter,
    now: DateTime<Utc>,
) -> AnalyticsResult<HeatmapOut> {
    let _ = (db, f, now);
    Err(AnalyticsError::Invalid("not built yet".to_owned()))
}

/// The top services or teams of the incidents matching `f`, with sparklines.
pub async fn top(
    db: &mut OrgTx,
    f: &IncidentFilter,
    q: &TopQuery,
    now: DateTime<Utc>,
) -> AnalyticsResult<TopOut> {
    let _ = (db, f, q, now);
    Err(AnalyticsError::Invalid("not built yet".to_owned()))
}

/// How fresh the organization's rollups are; `version` changes whenever an answer may (the API's cache key).
pub async fn status(db: &mut OrgTx) -> AnalyticsResult<AnalyticsStatusOut> {
    let _ = db;
    Err(AnalyticsError::Invalid("not built yet".to_owned()))
}

/// The organization's settings (the defaults until changed).
pub async fn settings(db: &mut OrgTx) -> AnalyticsResult<AnalyticsSettingsOut> {
    let _ = db;
    Err(AnalyticsError::Invalid("not built yet".to_owned()))
}

/// Validates and stores new settings; when they change what rollups hold (time zone, business hours, night,
/// holidays, noise threshold), records the tracked recomputation job (push it after the commit).
pub async fn update_settings(
    db: &mut OrgTx,
    queue: &JobQueue,
    new: &AnalyticsSettings,
) -> AnalyticsResult<(AnalyticsSettingsOut, Option<Pending<crate::jobs::RecomputeAnalytics>>)> {
    let _ = (db, queue, new);
    Err(AnalyticsError::Invalid("not built yet".to_owned()))
}
