//! Trend analytics over the imported history. The definitions (what an incident's time to acknowledge, off-hours
//! or noise is) live once, in `definitions`, and are documented in `docs/METRICS.md`; rollups of them are kept
//! per local day and month of the organization's time zone, refreshed from the incidents a write marked dirty;
//! a query reads whole days and months from the rollups and the partial days at its edges from the incidents.
//!
//! The public interface below is what the API calls; the worker runs [`refresh::refresh_org`] (its refresher)
//! and [`recompute_months`] / [`recompute_month`] (the `recompute_analytics` job).

mod calendar;
pub mod definitions;
mod query;
pub mod refresh;
pub mod sketch;
mod store;
pub mod totals;

use crate::db::incidents::IncidentFilter;
use crate::db::{DbError, OrgTx};
use crate::jobs::{JobQueue, Pending};
use chrono::{DateTime, NaiveDate, Utc};
use insights_types::JobRunId;
use insights_types::api::{
    AnalyticsSettings, AnalyticsSettingsOut, AnalyticsStatusOut, AnalyticsSummaryOut, Bucket,
    GroupBy, HeatmapOut, Metric, SortOrder, Stat, TimeseriesOut, TopDimension, TopOut, TopSort,
};

pub use calendar::{first_of_month, next_month};
pub use definitions::Calendar;

/// What the pattern reads (`crate::patterns`) share with the analytics answers: one definition of a query's
/// period, of buckets, and of each incident's facts (time to acknowledge and resolve, off hours).
pub(crate) mod shared {
    pub(crate) use super::calendar::{bucket_index, default_bucket, grid, sparkline_bucket};
    pub(crate) use super::query::{calendar, period};
    pub(crate) use super::store::{RawFact, Repeats, facts};
    pub(crate) use super::totals::Totals;
}

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
    query::summary(db, f, now).await
}

/// A time series of the incidents matching `f`.
pub async fn timeseries(
    db: &mut OrgTx,
    f: &IncidentFilter,
    q: &TimeseriesQuery,
    now: DateTime<Utc>,
) -> AnalyticsResult<TimeseriesOut> {
    query::timeseries(db, f, q, now).await
}

/// The hour-of-week heatmap of the incidents matching `f`.
pub async fn heatmap(
    db: &mut OrgTx,
    f: &IncidentFilter,
    now: DateTime<Utc>,
) -> AnalyticsResult<HeatmapOut> {
    query::heatmap(db, f, now).await
}

/// The top services or teams of the incidents matching `f`, with sparklines.
pub async fn top(
    db: &mut OrgTx,
    f: &IncidentFilter,
    q: &TopQuery,
    now: DateTime<Utc>,
) -> AnalyticsResult<TopOut> {
    query::top(db, f, q, now).await
}

/// How fresh the organization's rollups are; `version` changes whenever an answer may (the API's cache key).
pub async fn status(db: &mut OrgTx) -> AnalyticsResult<AnalyticsStatusOut> {
    let s = store::state(db).await?;
    Ok(AnalyticsStatusOut {
        version: s.version,
        refreshed_at: s.refreshed_at,
        pending: s.pending,
        recompute_job_id: s.recompute_job_id,
    })
}

/// Why the last refresh of the organization's rollups failed, if it did (cleared by the next success).
pub async fn last_error(db: &mut OrgTx) -> AnalyticsResult<Option<String>> {
    Ok(store::state(db).await?.last_error)
}

/// Records why a refresh failed, for [`last_error`] (in a transaction of its own).
pub async fn record_refresh_error(db: &mut OrgTx, error: &str) -> AnalyticsResult<()> {
    store::record_error(db, error).await
}

/// The organization's settings (the defaults until changed).
pub async fn settings(db: &mut OrgTx) -> AnalyticsResult<AnalyticsSettingsOut> {
    let settings = store::load_settings(db).await?;
    let recompute_job_id = store::state(db).await?.recompute_job_id;
    Ok(AnalyticsSettingsOut {
        settings,
        recompute_job_id,
    })
}

/// Validates and stores new settings; when they change what rollups hold (time zone, business hours, night,
/// holidays, noise threshold), records the tracked recomputation job (push it after the commit).
pub async fn update_settings(
    db: &mut OrgTx,
    queue: &JobQueue,
    new: &AnalyticsSettings,
) -> AnalyticsResult<(
    AnalyticsSettingsOut,
    Option<Pending<crate::jobs::RecomputeAnalytics>>,
)> {
    Calendar::new(new)?;
    let mut new = new.clone();
    new.holidays.sort_unstable();
    new.holidays.dedup();
    // Wait for a refresh in progress: it rolls up with the settings it read.
    let old = store::lock_state(db, true).await?.unwrap_or_default();
    if old == new {
        return Ok((settings(db).await?, None));
    }
    // Every field feeds the rollups: any change recomputes them.
    let job = queue
        .record::<crate::jobs::RecomputeAnalytics>(db, ())
        .await?;
    store::store_settings(db, &new, Some(job.job_run_id())).await?;
    Ok((
        AnalyticsSettingsOut {
            settings: new,
            recompute_job_id: Some(job.job_run_id()),
        },
        Some(job),
    ))
}

/// The local months holding the organization's incidents under its settings, `[first, end)` (`None`
/// without incidents): what a recomputation goes through.
pub async fn recompute_months(db: &mut OrgTx) -> AnalyticsResult<Option<(NaiveDate, NaiveDate)>> {
    let cal = Calendar::new(&store::load_settings(db).await?)?;
    Ok(store::bounds(db, &IncidentFilter::default())
        .await?
        .map(|(first, last)| (first_of_month(cal.date(first)), next_month(cal.date(last)))))
}

/// Recomputes the rollups of the local month starting `month` from the incidents (a recomputation's step),
/// holding the organization's analytics state row while it does (refreshes wait).
pub async fn recompute_month(db: &mut OrgTx, month: NaiveDate) -> AnalyticsResult<()> {
    let settings = store::lock_state(db, true).await?.unwrap_or_default();
    refresh::recompute_month(db, &Calendar::new(&settings)?, month).await
}

/// Ends a recomputation: removes rollups outside `[first, end)` (months of another time zone, or of
/// incidents gone), merges again the weeks that straddle its bounds, bumps the version and forgets the job.
pub async fn finish_recompute(
    db: &mut OrgTx,
    months: Option<(NaiveDate, NaiveDate)>,
    job: JobRunId,
) -> AnalyticsResult<()> {
    store::lock_state(db, true).await?;
    let (from, to) = months.unwrap_or((NaiveDate::MAX, NaiveDate::MAX));
    store::delete_rollups_outside(db, from, to).await?;
    if let Some((first, end)) = months {
        for w in [calendar::monday_of(first), calendar::monday_of(end)] {
            refresh::merge_days(db, store::Grain::Week, w, w + chrono::Duration::days(7)).await?;
        }
    }
    store::bump_version(db).await?;
    store::clear_recompute(db, job).await
}
