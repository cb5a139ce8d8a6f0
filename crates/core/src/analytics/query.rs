//! The answers: a period is covered by whole local months, weeks and days from the rollups and by the incidents
//! themselves at its edges (all of it when the text filter `q` is set, or for hourly buckets); rollup rows and
//! raw facts are merged into [`Totals`] per (group, bucket), from which every answer is read.

use super::calendar::{self, Grains, bucket_index, cover, grid};
use super::definitions::Calendar;
use super::store::{self, Detail};
use super::totals::{RollupKey, Totals};
use super::{AnalyticsError, AnalyticsResult, TimeseriesQuery, TopQuery};
use crate::db::incidents::IncidentFilter;
use crate::db::{DbError, OrgTx};
use chrono::{DateTime, Utc};
use insights_types::api::{
    AnalyticsSummaryOut, Bucket, GroupBy, HeatmapCell, HeatmapOut, Metric, PreviousPeriod, Series,
    SeriesPoint, SortOrder, Stat, TimeseriesOut, TopDimension, TopOut, TopRow, TopSort, group_key,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Series beyond this many are merged into `other`.
const TOP_GROUPS: usize = 10;

/// The organization's calendar.
pub(crate) async fn calendar(db: &mut OrgTx) -> AnalyticsResult<Calendar> {
    Calendar::new(&store::load_settings(db).await?)
}

/// The end of `f`'s period: its `until`, or now (a `since` in the future makes an empty period).
fn until_of(f: &IncidentFilter, now: DateTime<Utc>) -> DateTime<Utc> {
    f.until
        .unwrap_or_else(|| f.since.map_or(now, |since| since.max(now)))
}

/// The period of `f`: `[since, until or now)`; an open start is the first matching incident (`None` when there
/// is none).
pub(crate) async fn period(
    db: &mut OrgTx,
    f: &IncidentFilter,
    now: DateTime<Utc>,
) -> AnalyticsResult<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let until = until_of(f, now);
    if let Some(since) = f.since {
        if since > until {
            return Err(AnalyticsError::Invalid(
                "`since` must not be after `until`.".to_owned(),
            ));
        }
        return Ok(Some((since, until)));
    }
    let open = IncidentFilter {
        until: Some(until),
        ..f.clone()
    };
    Ok(store::bounds(db, &open)
        .await?
        .map(|(first, _)| (first, until)))
}

/// The group of a rollup key (and of an incident's pattern, read from the incidents only) along `by` (`all`
/// when not grouped).
fn group_of(by: Option<GroupBy>, k: &RollupKey, pattern: Option<Uuid>) -> String {
    match by {
        Some(GroupBy::Pattern) => group_key(pattern),
        None => "all".to_owned(),
        Some(GroupBy::Service) => group_key(k.service_id),
        Some(GroupBy::Team) => group_key(k.team_id),
        Some(GroupBy::Urgency) => k.urgency.map_or("none", |u| u.as_str()).to_owned(),
        Some(GroupBy::Source) => k.source.map_or("none", |s| s.as_str()).to_owned(),
        Some(GroupBy::Status) => k.status.map_or("none", |s| s.as_str()).to_owned(),
    }
}

/// How [`collect`] reads a period.
struct Reading<'a> {
    /// Bucket starts (`None`: one bucket).
    grid: Option<&'a [DateTime<Utc>]>,
    /// The rollup grains that fit the buckets.
    grains: Grains,
    /// Whether only the incidents themselves can answer (hourly buckets).
    raw_only: bool,
    by: Option<GroupBy>,
    detail: Detail,
}

/// The totals per (group, bucket index) of the incidents matching `f` created in `[since, until)`.
async fn collect(
    db: &mut OrgTx,
    cal: &Calendar,
    f: &IncidentFilter,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    r: &Reading<'_>,
) -> AnalyticsResult<HashMap<(String, usize), Totals>> {
    // Rollups know neither text nor patterns: such a filter or grouping reads the incidents.
    let raw_only =
        r.raw_only || f.text.is_some() || f.pattern_id.is_some() || r.by == Some(GroupBy::Pattern);
    let cv = cover(cal, since, until, r.grains, raw_only);
    let index = |t: DateTime<Utc>| r.grid.map_or(0, |g| bucket_index(g, t));
    let mut out: HashMap<(String, usize), Totals> = HashMap::new();
    for (from, to) in cv.raw {
        for x in store::facts(db, cal, f, from, to, store::Repeats::LookUp).await? {
            out.entry((group_of(r.by, &x.key, x.pattern_id), index(x.triggered_at)))
                .or_default()
                .add(&x.fact);
        }
    }
    // Without key filters or groups, the total rows answer (one per period).
    let totals = r.by.is_none()
        && f.source.is_none()
        && f.status.is_none()
        && f.service_id.is_none()
        && f.team_id.is_none()
        && f.urgency.is_none()
        && f.pattern_id.is_none();
    let mut starts = HashMap::new();
    for (grain, from, to) in cv.rollups {
        let rows = if r.detail == Detail::default() {
            store::rollup_sums(db, grain, from, to, f, totals, r.by).await?
        } else {
            store::rollups(db, grain, from, to, f, totals, r.detail).await?
        };
        for row in rows {
            let i = *starts
                .entry(row.period)
                .or_insert_with(|| index(cal.day_start(row.period)));
            out.entry((group_of(r.by, &row.key, None), i))
                .or_default()
                .merge(&row.totals);
        }
    }
    Ok(out)
}

/// The summary of the incidents matching `f`, with the previous period.
pub async fn summary(
    db: &mut OrgTx,
    f: &IncidentFilter,
    now: DateTime<Utc>,
) -> AnalyticsResult<AnalyticsSummaryOut> {
    let cal = calendar(db).await?;
    let until = until_of(f, now);
    let reading = Reading {
        grid: None,
        grains: Grains::for_bucket(None),
        raw_only: false,
        by: None,
        detail: Detail {
            sketches: true,
            week_hours: false,
        },
    };
    let total = |m: HashMap<(String, usize), Totals>| {
        let mut t = Totals::default();
        for v in m.values() {
            t.merge(v);
        }
        t
    };
    let current = match period(db, f, now).await? {
        Some((since, until)) => total(collect(db, &cal, f, since, until, &reading).await?),
        None => Totals::default(),
    };
    let previous = match f.since {
        Some(since) => {
            let start = since - (until - since);
            let t = total(collect(db, &cal, f, start, since, &reading).await?);
            Some(PreviousPeriod {
                totals: t.period(),
                since: start,
                until: since,
            })
        }
        None => None,
    };
    Ok(AnalyticsSummaryOut {
        totals: current.period(),
        since: f.since,
        until,
        previous,
    })
}

/// The value a series point shows.
fn value(t: Option<&Totals>, metric: Metric, stat: Stat) -> Option<f64> {
    let durations = |d: &super::totals::Durations| match stat {
        Stat::Mean => d.mean_seconds(),
        Stat::P50 => d.quantile_seconds(0.5),
        Stat::P90 => d.quantile_seconds(0.9),
    };
    match metric {
        Metric::Count => Some(t.map_or(0, |t| t.count) as f64),
        Metric::OffHours => Some(t.map_or(0, |t| t.off_hours) as f64),
        Metric::Mtta => t.and_then(|t| durations(&t.tta)),
        Metric::Mttr => t.and_then(|t| durations(&t.ttr)),
    }
}

/// Names of the services (teams, patterns) among `keys`.
async fn names(
    db: &mut OrgTx,
    by: GroupBy,
    keys: &[String],
) -> AnalyticsResult<HashMap<String, String>> {
    let ids: Vec<Uuid> = keys.iter().filter_map(|k| k.parse().ok()).collect();
    let rows: Vec<(Uuid, String)> = match by {
        GroupBy::Service => org_query!(
            db,
            "SELECT id, name FROM services WHERE org_id = $1 AND id = ANY($2)",
            &ids
        )
        .fetch_all(db.conn())
        .await
        .map_err(DbError::from)?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect(),
        GroupBy::Team => org_query!(
            db,
            "SELECT id, name FROM teams WHERE org_id = $1 AND id = ANY($2)",
            &ids
        )
        .fetch_all(db.conn())
        .await
        .map_err(DbError::from)?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect(),
        GroupBy::Pattern => org_query!(
            db,
            r#"SELECT id, COALESCE(name, template) AS "name!" FROM patterns WHERE org_id = $1 AND id = ANY($2)"#,
            &ids
        )
        .fetch_all(db.conn())
        .await
        .map_err(DbError::from)?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect(),
        _ => Vec::new(),
    };
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id.to_string(), n))
        .collect())
}

/// The label of a group.
fn label(by: Option<GroupBy>, key: &str, names: &HashMap<String, String>) -> String {
    if let Some(n) = names.get(key) {
        return n.clone();
    }
    match (by, key) {
        (None, _) => "All incidents".to_owned(),
        (_, "other") => "Other".to_owned(),
        (Some(GroupBy::Service), "none") => "No service".to_owned(),
        (Some(GroupBy::Team), "none") => "No team".to_owned(),
        (Some(GroupBy::Urgency), "none") => "No urgency".to_owned(),
        (Some(GroupBy::Pattern), "none") => "No pattern".to_owned(),
        (Some(GroupBy::Service | GroupBy::Team | GroupBy::Pattern), _) => "Deleted".to_owned(),
        (_, "pagerduty") => "PagerDuty".to_owned(),
        (_, "opsgenie") => "Opsgenie".to_owned(),
        (_, k) => {
            let mut c = k.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// The end of bucket `i` of `starts` (the next start, or the period's end).
fn bucket_end(starts: &[DateTime<Utc>], i: usize, until: DateTime<Utc>) -> DateTime<Utc> {
    starts.get(i + 1).copied().unwrap_or(until)
}

/// A time series of the incidents matching `f`.
pub async fn timeseries(
    db: &mut OrgTx,
    f: &IncidentFilter,
    q: &TimeseriesQuery,
    now: DateTime<Utc>,
) -> AnalyticsResult<TimeseriesOut> {
    let cal = calendar(db).await?;
    let period = period(db, f, now).await?;
    let bucket = q.bucket.unwrap_or_else(|| {
        period.map_or(Bucket::Day, |(since, until)| {
            calendar::default_bucket(since, until)
        })
    });
    let mut out = TimeseriesOut {
        metric: q.metric,
        stat: q.stat,
        bucket,
        group_by: q.group_by,
        time_zone: cal.tz.name().to_owned(),
        series: Vec::new(),
    };
    let Some((since, until)) = period else {
        return Ok(out);
    };
    let starts = grid(&cal, bucket, since, until)?;
    let reading = Reading {
        grid: Some(&starts),
        grains: Grains::for_bucket(Some(bucket)),
        raw_only: bucket == Bucket::Hour,
        by: q.group_by,
        detail: Detail {
            sketches: matches!(q.metric, Metric::Mtta | Metric::Mttr) && q.stat != Stat::Mean,
            week_hours: false,
        },
    };
    let cells = collect(db, &cal, f, since, until, &reading).await?;
    // Groups by incident count; beyond the top ten, `other`.
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for ((g, _), t) in &cells {
        *counts.entry(g.as_str()).or_default() += t.count;
    }
    let mut groups: Vec<(&str, i64)> = counts.into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if q.group_by.is_none() && groups.is_empty() {
        groups.push(("all", 0));
    }
    let top: Vec<String> = groups
        .iter()
        .take(TOP_GROUPS)
        .map(|(g, _)| (*g).to_owned())
        .collect();
    let mut per: HashMap<(String, usize), Totals> = HashMap::new();
    let mut other = false;
    for ((g, i), t) in cells {
        let g = if top.contains(&g) {
            g
        } else {
            other = true;
            "other".to_owned()
        };
        per.entry((g, i)).or_default().merge(&t);
    }
    let mut keys = top;
    if other {
        keys.push("other".to_owned());
    }
    let names = match q.group_by {
        Some(by) => names(db, by, &keys).await?,
        None => HashMap::new(),
    };
    out.series = keys
        .into_iter()
        .map(|key| Series {
            label: label(q.group_by, &key, &names),
            points: (0..starts.len())
                .map(|i| SeriesPoint {
                    start: starts[i],
                    end: bucket_end(&starts, i, until),
                    value: value(per.get(&(key.clone(), i)), q.metric, q.stat),
                })
                .collect(),
            key,
        })
        .collect();
    Ok(out)
}

/// The hour-of-week heatmap of the incidents matching `f`.
pub async fn heatmap(
    db: &mut OrgTx,
    f: &IncidentFilter,
    now: DateTime<Utc>,
) -> AnalyticsResult<HeatmapOut> {
    let cal = calendar(db).await?;
    let mut t = Totals::default();
    if let Some((since, until)) = period(db, f, now).await? {
        let reading = Reading {
            grid: None,
            grains: Grains::for_bucket(None),
            raw_only: false,
            by: None,
            detail: Detail {
                sketches: false,
                week_hours: true,
            },
        };
        for v in collect(db, &cal, f, since, until, &reading).await?.values() {
            t.merge(v);
        }
    }
    let cells = (0..168)
        .map(|h| HeatmapCell {
            weekday: (h / 24 + 1) as u8,
            hour: (h % 24) as u8,
            count: t.week_hours.get(&h).copied().unwrap_or(0),
        })
        .collect();
    Ok(HeatmapOut {
        time_zone: cal.tz.name().to_owned(),
        cells,
    })
}

/// The top services or teams of the incidents matching `f`, with sparklines.
pub async fn top(
    db: &mut OrgTx,
    f: &IncidentFilter,
    q: &TopQuery,
    now: DateTime<Utc>,
) -> AnalyticsResult<TopOut> {
    let cal = calendar(db).await?;
    let by = match q.dimension {
        TopDimension::Service => GroupBy::Service,
        TopDimension::Team => GroupBy::Team,
        TopDimension::Pattern => GroupBy::Pattern,
    };
    let period = period(db, f, now).await?;
    let bucket = period.map_or(Bucket::Day, |(s, u)| calendar::sparkline_bucket(s, u));
    let mut out = TopOut {
        dimension: q.dimension,
        sort: q.sort,
        order: q.order,
        sparkline_bucket: bucket,
        sparkline_starts: Vec::new(),
        rows: Vec::new(),
    };
    let Some((since, until)) = period else {
        return Ok(out);
    };
    let starts = grid(&cal, bucket, since, until)?;
    let reading = Reading {
        grid: Some(&starts),
        grains: Grains::for_bucket(Some(bucket)),
        raw_only: bucket == Bucket::Hour,
        by: Some(by),
        detail: Detail::default(),
    };
    let cells = collect(db, &cal, f, since, until, &reading).await?;
    let mut groups: HashMap<String, (Totals, Vec<i64>)> = HashMap::new();
    for ((g, i), t) in cells {
        let e = groups
            .entry(g)
            .or_insert_with(|| (Totals::default(), vec![0; starts.len()]));
        e.0.merge(&t);
        e.1[i] += t.count;
    }
    let keys: Vec<String> = groups.keys().cloned().collect();
    let names = names(db, by, &keys).await?;
    let mut rows: Vec<TopRow> = groups
        .into_iter()
        .map(|(key, (t, sparkline))| TopRow {
            label: label(Some(by), &key, &names),
            key,
            count: t.count,
            mtta_seconds: t.tta.mean_seconds(),
            mttr_seconds: t.ttr.mean_seconds(),
            off_hours: t.off_hours,
            noise: t.noisy,
            sparkline,
        })
        .collect();
    let column = |r: &TopRow| -> Option<f64> {
        match q.sort {
            TopSort::Count => Some(r.count as f64),
            TopSort::Mtta => r.mtta_seconds,
            TopSort::Mttr => r.mttr_seconds,
            TopSort::OffHours => Some(r.off_hours as f64),
            TopSort::Noise => Some(r.noise as f64),
        }
    };
    rows.sort_by(|a, b| {
        let by_column = match (column(a), column(b)) {
            (Some(x), Some(y)) => match q.order {
                SortOrder::Asc => x.total_cmp(&y),
                SortOrder::Desc => y.total_cmp(&x),
            },
            // Rows without a value come last either way.
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_column
            .then(b.count.cmp(&a.count))
            .then(a.key.cmp(&b.key))
    });
    rows.truncate(q.limit as usize);
    out.sparkline_starts = starts;
    out.rows = rows;
    Ok(out)
}
