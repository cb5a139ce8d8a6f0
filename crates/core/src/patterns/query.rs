//! Reads of patterns for the API: the pattern list with each pattern's figures over a period and the incident
//! list's filters, one pattern with its templates, incidents, series and related patterns, and the pattern part
//! of an incident's detail (why it is there, similar and related incidents).
//!
//! Figures come from the analytics definitions (`crate::analytics::shared`): the same period, buckets and
//! per-incident facts (time to acknowledge and resolve, off hours) as the dashboard, read from the incidents
//! (rollups know no patterns). An id that was merged away answers as the pattern it went into.

use super::{parts_out, slot_kind_out};
use crate::analytics::shared::{self, RawFact, Totals};
use crate::analytics::{AnalyticsResult, Calendar};
use crate::db::incidents::{self, IncidentFilter};
use crate::db::{DbError, DbResult, OrgTx};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use insights_patterns::Template;
use insights_types::api::{
    AssignedBy, Bucket, IncidentOut, IncidentPatternOut, NamedRef, PatternDetailOut, PatternOut,
    PatternPageOut, PatternSort, PatternTemplateOut, PatternTrend, PatternWhyOut,
    RelatedIncidentOut, RelatedPatternOut, SlotValueOut, SortOrder,
};
use insights_types::{IncidentId, PatternId, UserId};
use sqlx::types::Json;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A pattern is `growing` (`declining`) when its count rose (fell) by at least this share of the previous
/// period's count…
pub const TREND_MIN_SHARE: f64 = 0.25;
/// …and by at least this many incidents (so 1 → 2 is not "growing").
pub const TREND_MIN_INCIDENTS: i64 = 2;
/// Services and teams listed per pattern (the most frequent first).
pub const TOP_REFS: usize = 3;
/// The incidents a pattern's detail lists.
pub const DETAIL_INCIDENTS: i64 = 20;
/// Related patterns a pattern's detail lists.
pub const RELATED_PATTERNS: i64 = 10;
/// Other incidents of its pattern an incident's detail lists.
pub const SIMILAR_INCIDENTS: usize = 5;
/// Related incidents an incident's detail lists, and how far apart in time they may start.
pub const RELATED_INCIDENTS: i64 = 10;
pub const RELATED_WITHIN_MINUTES: i64 = 5;

/// Which patterns a list shows by their muted flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MutedFilter {
    /// Unmuted ones only (the default).
    #[default]
    Unmuted,
    Muted,
    All,
}

/// The pattern list's order, filter and page.
#[derive(Clone, Debug)]
pub struct ListQuery {
    pub sort: PatternSort,
    pub order: SortOrder,
    pub muted: MutedFilter,
    pub after: Option<Cursor>,
    /// Patterns per page.
    pub limit: usize,
}

/// Where a page of the pattern list ends: the last item's sort value and id, under the sort and order it was
/// issued for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cursor {
    sort: PatternSort,
    order: SortOrder,
    value: f64,
    id: Uuid,
}

impl Cursor {
    fn tag(sort: PatternSort, order: SortOrder) -> String {
        let s = match sort {
            PatternSort::Count => "count",
            PatternSort::Cost => "cost",
            PatternSort::Recent => "recent",
            PatternSort::Growth => "growth",
        };
        let o = match order {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        };
        format!("{s}.{o}")
    }

    #[must_use]
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "p|{}|{:x}|{}",
            Self::tag(self.sort, self.order),
            self.value.to_bits(),
            self.id
        ))
    }

    /// The cursor `s`, if this list issued it for the same sort and order (`None` otherwise).
    #[must_use]
    pub fn decode(s: &str, sort: PatternSort, order: SortOrder) -> Option<Cursor> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let mut parts = raw.split('|');
        if parts.next()? != "p" || parts.next()? != Self::tag(sort, order) {
            return None;
        }
        let value = f64::from_bits(u64::from_str_radix(parts.next()?, 16).ok()?);
        let id = Uuid::parse_str(parts.next()?).ok()?;
        (parts.next().is_none() && !value.is_nan()).then_some(Cursor {
            sort,
            order,
            value,
            id,
        })
    }
}

/// How a pattern's count moved: `new` when it was first seen in the period, `growing`/`declining` when its count
/// changed by at least [`TREND_MIN_SHARE`] and [`TREND_MIN_INCIDENTS`] against the previous period, else
/// `steady`. Without a period start there is no previous period: `steady`.
#[must_use]
pub fn trend(
    count: i64,
    previous: i64,
    first_seen: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
) -> PatternTrend {
    let Some(since) = since else {
        return PatternTrend::Steady;
    };
    if first_seen.is_some_and(|t| t >= since) {
        return PatternTrend::New;
    }
    let change = count - previous;
    let share = (previous as f64 * TREND_MIN_SHARE).max(0.0);
    if change >= TREND_MIN_INCIDENTS && change as f64 >= share {
        PatternTrend::Growing
    } else if -change >= TREND_MIN_INCIDENTS && -change as f64 >= share {
        PatternTrend::Declining
    } else {
        PatternTrend::Steady
    }
}

/// The value a pattern is sorted by.
fn sort_value(p: &PatternOut, sort: PatternSort) -> f64 {
    match sort {
        PatternSort::Count => p.count as f64,
        PatternSort::Cost => p.cost_seconds,
        PatternSort::Recent => p
            .last_seen
            .map_or(f64::MIN, |t| t.timestamp_micros() as f64),
        PatternSort::Growth => (p.count - p.previous_count) as f64,
    }
}

/// The list's order: by the value (ascending or descending), then by id.
fn compare(a: (f64, Uuid), b: (f64, Uuid), order: SortOrder) -> Ordering {
    let by_value = match order {
        SortOrder::Asc => a.0.total_cmp(&b.0),
        SortOrder::Desc => b.0.total_cmp(&a.0),
    };
    by_value.then(a.1.cmp(&b.1))
}

/// A pattern's figures over a period, gathered from its incidents' facts.
#[derive(Default)]
struct Acc {
    totals: Totals,
    previous: i64,
    sparkline: Vec<i64>,
    series: Vec<i64>,
    services: HashMap<Uuid, i64>,
    teams: HashMap<Uuid, i64>,
}

/// The figures of pattern `p` in `out`, with (sparkline, series) buckets of `sizes` when new.
fn acc_of(out: &mut HashMap<Uuid, Acc>, p: Uuid, sizes: (usize, usize)) -> &mut Acc {
    out.entry(p).or_insert_with(|| Acc {
        sparkline: vec![0; sizes.0],
        series: vec![0; sizes.1],
        ..Acc::default()
    })
}

/// The period of a read and its buckets.
struct Window {
    since: DateTime<Utc>,
    /// The start of the previous period (of the same length) when the query has a `since`.
    previous: Option<DateTime<Utc>>,
    spark_bucket: Bucket,
    spark: Vec<DateTime<Utc>>,
    series_bucket: Bucket,
    series: Vec<DateTime<Utc>>,
}

/// The figures per pattern of the incidents matching `f`, over its period, and their counts over the previous
/// period when `f` has a `since` (`None`: no incident matches).
async fn figures(
    db: &mut OrgTx,
    cal: &Calendar,
    f: &IncidentFilter,
    now: DateTime<Utc>,
    with_series: bool,
) -> AnalyticsResult<Option<(Window, HashMap<Uuid, Acc>)>> {
    let Some((since, until)) = shared::period(db, f, now).await? else {
        return Ok(None);
    };
    let previous = f.since.map(|s| s - (until - s));
    let spark_bucket = shared::sparkline_bucket(since, until);
    let spark = shared::grid(cal, spark_bucket, since, until)?;
    let (series_bucket, series) = if with_series {
        let b = shared::default_bucket(since, until);
        (b, shared::grid(cal, b, since, until)?)
    } else {
        (spark_bucket, Vec::new())
    };
    let facts: Vec<RawFact> =
        shared::facts(db, cal, f, since, until, shared::Repeats::Skip).await?;
    let mut out: HashMap<Uuid, Acc> = HashMap::new();
    let sizes = (spark.len(), series.len());
    // The previous period needs counts only: counted in the database.
    if let Some(start) = previous {
        let before = IncidentFilter {
            since: Some(start),
            until: Some(since),
            ..f.clone()
        };
        for (p, n) in incidents::counts_by_pattern(db, &before).await? {
            acc_of(&mut out, p, sizes).previous = n;
        }
    }
    for x in facts {
        let Some(p) = x.pattern_id else { continue };
        let acc = acc_of(&mut out, p, sizes);
        acc.totals.add(&x.fact);
        if !spark.is_empty() {
            acc.sparkline[shared::bucket_index(&spark, x.triggered_at)] += 1;
        }
        if !series.is_empty() {
            acc.series[shared::bucket_index(&series, x.triggered_at)] += 1;
        }
        if let Some(s) = x.key.service_id {
            *acc.services.entry(s).or_default() += 1;
        }
        if let Some(t) = x.key.team_id {
            *acc.teams.entry(t).or_default() += 1;
        }
    }
    let window = Window {
        since,
        previous,
        spark_bucket,
        spark,
        series_bucket,
        series,
    };
    Ok(Some((window, out)))
}

/// A stored pattern.
struct PatternRow {
    id: Uuid,
    name: Option<String>,
    template: String,
    muted: bool,
    incident_count: i64,
    first_seen: Option<DateTime<Utc>>,
    last_seen: Option<DateTime<Utc>>,
    examples: Json<Vec<String>>,
}

impl PatternRow {
    fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.template.clone())
    }
}

/// The patterns of `ids` that exist.
async fn pattern_rows(db: &mut OrgTx, ids: &[Uuid]) -> DbResult<Vec<PatternRow>> {
    Ok(org_query_as!(
        db,
        PatternRow,
        r#"SELECT id, name, template, muted, incident_count, first_seen, last_seen,
                  examples AS "examples: Json<Vec<String>>"
             FROM patterns WHERE org_id = $1 AND id = ANY($2)"#,
        ids
    )
    .fetch_all(db.conn())
    .await?)
}

/// The pattern `id` stands for (itself, or the one it was merged into), if it exists.
async fn pattern_row(db: &mut OrgTx, id: PatternId) -> DbResult<Option<PatternRow>> {
    Ok(org_query_as!(
        db,
        PatternRow,
        r#"SELECT id, name, template, muted, incident_count, first_seen, last_seen,
                  examples AS "examples: Json<Vec<String>>"
             FROM patterns
            WHERE org_id = $1
              AND id = COALESCE((SELECT a.pattern_id FROM pattern_aliases a WHERE a.org_id = $1 AND a.alias_id = $2), $2)"#,
        id as PatternId
    )
    .fetch_optional(db.conn())
    .await?)
}

/// Names of the services (or teams) `ids`.
async fn ref_names(db: &mut OrgTx, teams: bool, ids: &[Uuid]) -> DbResult<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> = if teams {
        org_query!(
            db,
            "SELECT id, name FROM teams WHERE org_id = $1 AND id = ANY($2)",
            ids
        )
        .fetch_all(db.conn())
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect()
    } else {
        org_query!(
            db,
            "SELECT id, name FROM services WHERE org_id = $1 AND id = ANY($2)",
            ids
        )
        .fetch_all(db.conn())
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect()
    };
    Ok(rows.into_iter().collect())
}

/// The [`TOP_REFS`] most frequent of `counts`, named.
fn top_refs(counts: &HashMap<Uuid, i64>, names: &HashMap<Uuid, String>) -> Vec<NamedRef> {
    let mut v: Vec<(&Uuid, &i64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.into_iter()
        .filter_map(|(id, _)| {
            Some(NamedRef {
                id: *id,
                name: names.get(id)?.clone(),
            })
        })
        .take(TOP_REFS)
        .collect()
}

/// A template's parts (none when its text cannot be read as a template).
fn parts_of(text: &str) -> Vec<insights_types::api::TemplatePartOut> {
    Template::parse(text)
        .map(|t| parts_out(&t))
        .unwrap_or_default()
}

/// The API form of a pattern and its figures.
fn pattern_out(
    row: PatternRow,
    acc: Acc,
    window: Option<&Window>,
    services: &HashMap<Uuid, String>,
    teams: &HashMap<Uuid, String>,
) -> PatternOut {
    let t = &acc.totals;
    PatternOut {
        id: PatternId(row.id),
        name: row.display_name(),
        renamed: row.name.is_some(),
        parts: parts_of(&row.template),
        muted: row.muted,
        count: t.count,
        previous_count: acc.previous,
        trend: trend(
            t.count,
            acc.previous,
            row.first_seen,
            window.and_then(|w| w.previous.map(|_| w.since)),
        ),
        total_count: row.incident_count,
        first_seen: row.first_seen,
        last_seen: row.last_seen,
        services: top_refs(&acc.services, services),
        teams: top_refs(&acc.teams, teams),
        mtta_seconds: t.tta.mean_seconds(),
        mttr_seconds: t.ttr.mean_seconds(),
        off_hours_share: (t.count > 0).then(|| t.off_hours as f64 / t.count as f64),
        cost_seconds: t.ttr.sum_ms as f64 / 1000.0,
        examples: row.examples.0,
        sparkline: if acc.sparkline.is_empty() {
            window.map_or_else(Vec::new, |w| vec![0; w.spark.len()])
        } else {
            acc.sparkline
        },
        template: row.template,
    }
}

/// Builds the API form of the patterns `rows` with their figures `accs`.
async fn patterns_out(
    db: &mut OrgTx,
    rows: Vec<PatternRow>,
    accs: &mut HashMap<Uuid, Acc>,
    window: Option<&Window>,
) -> DbResult<Vec<PatternOut>> {
    let mut service_ids = HashSet::new();
    let mut team_ids = HashSet::new();
    for r in &rows {
        if let Some(a) = accs.get(&r.id) {
            service_ids.extend(a.services.keys().copied());
            team_ids.extend(a.teams.keys().copied());
        }
    }
    let service_ids: Vec<Uuid> = service_ids.into_iter().collect();
    let team_ids: Vec<Uuid> = team_ids.into_iter().collect();
    let services = ref_names(db, false, &service_ids).await?;
    let teams = ref_names(db, true, &team_ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let acc = accs.remove(&r.id).unwrap_or_default();
            pattern_out(r, acc, window, &services, &teams)
        })
        .collect())
}

/// One page of the patterns with incidents matching `f` in its period (all time without `since`), with their
/// figures over that period, sorted and filtered by `q`.
///
/// # Errors
/// [`crate::analytics::AnalyticsError::Invalid`] for a period too long for its buckets; a database error.
pub async fn list(
    db: &mut OrgTx,
    f: &IncidentFilter,
    q: &ListQuery,
    now: DateTime<Utc>,
) -> AnalyticsResult<PatternPageOut> {
    let cal = shared::calendar(db).await?;
    let mut page = PatternPageOut {
        items: Vec::new(),
        next_cursor: None,
        sort: q.sort,
        sparkline_bucket: Bucket::Day,
        sparkline_starts: Vec::new(),
    };
    let Some((window, mut accs)) = figures(db, &cal, f, now, false).await? else {
        return Ok(page);
    };
    accs.retain(|_, a| a.totals.count > 0);
    let ids: Vec<Uuid> = accs.keys().copied().collect();
    let rows: Vec<PatternRow> = pattern_rows(db, &ids)
        .await?
        .into_iter()
        .filter(|r| match q.muted {
            MutedFilter::Unmuted => !r.muted,
            MutedFilter::Muted => r.muted,
            MutedFilter::All => true,
        })
        .collect();
    // Names are read for the page only: sort and cut first.
    let mut keyed: Vec<((f64, Uuid), PatternRow)> = rows
        .into_iter()
        .map(|r| {
            let acc = &accs[&r.id];
            // The sort value from the same figures the answer shows.
            let probe = PatternOut {
                count: acc.totals.count,
                previous_count: acc.previous,
                cost_seconds: acc.totals.ttr.sum_ms as f64 / 1000.0,
                last_seen: r.last_seen,
                ..empty_out()
            };
            ((sort_value(&probe, q.sort), r.id), r)
        })
        .collect();
    keyed.sort_by(|a, b| compare(a.0, b.0, q.order));
    if let Some(c) = q.after {
        keyed.retain(|(k, _)| compare(*k, (c.value, c.id), q.order) == Ordering::Greater);
    }
    let more = keyed.len() > q.limit;
    keyed.truncate(q.limit);
    page.next_cursor = more
        .then(|| {
            keyed.last().map(|((value, id), _)| {
                Cursor {
                    sort: q.sort,
                    order: q.order,
                    value: *value,
                    id: *id,
                }
                .encode()
            })
        })
        .flatten();
    let rows = keyed.into_iter().map(|(_, r)| r).collect();
    page.items = patterns_out(db, rows, &mut accs, Some(&window)).await?;
    page.sparkline_bucket = window.spark_bucket;
    page.sparkline_starts = window.spark;
    Ok(page)
}

/// A pattern with nothing in it (what [`list`] fills in to compute a sort value).
fn empty_out() -> PatternOut {
    PatternOut {
        id: PatternId(Uuid::nil()),
        name: String::new(),
        renamed: false,
        template: String::new(),
        parts: Vec::new(),
        muted: false,
        count: 0,
        previous_count: 0,
        trend: PatternTrend::Steady,
        total_count: 0,
        first_seen: None,
        last_seen: None,
        services: Vec::new(),
        teams: Vec::new(),
        mtta_seconds: None,
        mttr_seconds: None,
        off_hours_share: None,
        cost_seconds: 0.0,
        examples: Vec::new(),
        sparkline: Vec::new(),
    }
}

/// The patterns paired with `id` in `pattern_pairs` (most often together first), with their services.
async fn related_patterns(db: &mut OrgTx, id: Uuid) -> DbResult<Vec<RelatedPatternOut>> {
    let rows = org_query!(
        db,
        r#"SELECT p.id, COALESCE(p.name, p.template) AS "name!", pp.together, pp.last_at
             FROM pattern_pairs pp
             JOIN patterns p ON p.org_id = $1
                            AND p.id = CASE WHEN pp.pattern_a = $2 THEN pp.pattern_b ELSE pp.pattern_a END
            WHERE pp.org_id = $1 AND (pp.pattern_a = $2 OR pp.pattern_b = $2)
            ORDER BY pp.together DESC, pp.last_at DESC, p.id
            LIMIT $3"#,
        id,
        RELATED_PATTERNS
    )
    .fetch_all(db.conn())
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut services = services_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| RelatedPatternOut {
            id: PatternId(r.id),
            name: r.name,
            times: r.together,
            last_at: r.last_at,
            services: services.remove(&r.id).unwrap_or_default(),
        })
        .collect())
}

/// The most frequent services of each of the patterns `ids` (all time).
async fn services_of(db: &mut OrgTx, ids: &[Uuid]) -> DbResult<HashMap<Uuid, Vec<NamedRef>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = org_query!(
        db,
        r#"SELECT i.pattern_id AS "pattern_id!", s.id, s.name, count(*) AS "n!"
             FROM incidents i JOIN services s ON s.id = i.service_id
            WHERE i.org_id = $1 AND i.pattern_id = ANY($2)
            GROUP BY i.pattern_id, s.id, s.name
            ORDER BY i.pattern_id, count(*) DESC, s.name, s.id"#,
        ids
    )
    .fetch_all(db.conn())
    .await?;
    let mut out: HashMap<Uuid, Vec<NamedRef>> = HashMap::new();
    for r in rows {
        let v = out.entry(r.pattern_id).or_default();
        if v.len() < TOP_REFS {
            v.push(NamedRef {
                id: r.id,
                name: r.name,
            });
        }
    }
    Ok(out)
}

/// The pattern `id` (or the one it was merged into: the answer's `id` is that pattern's) with its figures over
/// `f`'s period, templates, aliases, latest incidents, series and related patterns; `None` when there is no
/// such pattern.
///
/// # Errors
/// [`crate::analytics::AnalyticsError::Invalid`] for a period too long for its buckets; a database error.
pub async fn detail(
    db: &mut OrgTx,
    id: PatternId,
    f: &IncidentFilter,
    now: DateTime<Utc>,
) -> AnalyticsResult<Option<PatternDetailOut>> {
    let Some(row) = pattern_row(db, id).await? else {
        return Ok(None);
    };
    let pid = row.id;
    let f = IncidentFilter {
        pattern_id: Some(pid),
        ascending: false,
        ..f.clone()
    };
    let cal = shared::calendar(db).await?;
    let figures = figures(db, &cal, &f, now, true).await?;
    let (window, mut accs) = match figures {
        Some((w, a)) => (Some(w), a),
        None => (None, HashMap::new()),
    };
    // The series first: building the pattern's answer takes its figures.
    let series = match (&window, accs.get_mut(&pid)) {
        (Some(_), Some(a)) => std::mem::take(&mut a.series),
        (Some(w), None) => vec![0; w.series.len()],
        (None, _) => Vec::new(),
    };
    let mut items = patterns_out(db, vec![row], &mut accs, window.as_ref()).await?;
    let pattern = items.pop().ok_or(DbError::NotFound)?;
    let templates = org_query!(
        db,
        r#"SELECT template, origin, created_by AS "created_by: UserId" FROM pattern_templates
            WHERE org_id = $1 AND pattern_id = $2 ORDER BY origin = 'mined', created_at, template"#,
        pid
    )
    .fetch_all(db.conn())
    .await
    .map_err(DbError::from)?
    .into_iter()
    .map(|t| PatternTemplateOut {
        parts: parts_of(&t.template),
        template: t.template,
        origin: t.origin,
        created_by: t.created_by,
    })
    .collect();
    let aliases = org_query_scalar!(
        db,
        r#"SELECT alias_id AS "id: PatternId" FROM pattern_aliases
            WHERE org_id = $1 AND pattern_id = $2 ORDER BY created_at, alias_id"#,
        pid
    )
    .fetch_all(db.conn())
    .await
    .map_err(DbError::from)?;
    let (incidents, _) = incidents::list(db, &f, None, DETAIL_INCIDENTS).await?;
    let related = related_patterns(db, pid).await?;
    let (series_bucket, series_starts) = window
        .map(|w| (w.series_bucket, w.series))
        .unwrap_or((Bucket::Day, Vec::new()));
    Ok(Some(PatternDetailOut {
        pattern,
        templates,
        aliases,
        incidents,
        series_bucket,
        series_starts,
        series,
        related,
    }))
}

/// The pattern part of the incident `id`'s detail: its pattern, why it is there, similar and related incidents
/// (`None` when it has no pattern).
///
/// # Errors
/// A database error.
pub async fn of_incident(db: &mut OrgTx, id: IncidentId) -> DbResult<Option<IncidentPatternOut>> {
    let Some(i) = org_query!(
        db,
        r#"SELECT i.title, i.triggered_at, i.pattern_score, i.pattern_pinned, s.name AS "service?",
                  p.id AS pattern_id, p.name, p.template, p.muted, p.incident_count
             FROM incidents i
             JOIN patterns p ON p.id = i.pattern_id
             LEFT JOIN services s ON s.id = i.service_id
            WHERE i.org_id = $1 AND i.id = $2"#,
        id as IncidentId
    )
    .fetch_optional(db.conn())
    .await?
    else {
        return Ok(None);
    };
    let templates = org_query!(
        db,
        "SELECT template, origin FROM pattern_templates
          WHERE org_id = $1 AND pattern_id = $2 ORDER BY origin = 'mined', created_at, template",
        i.pattern_id
    )
    .fetch_all(db.conn())
    .await?;
    let why = why(
        &i.title,
        i.service.as_deref(),
        i.pattern_pinned,
        i.pattern_score,
        &i.template,
        templates
            .iter()
            .map(|t| (t.template.as_str(), t.origin.as_str())),
    );
    let same = IncidentFilter {
        pattern_id: Some(i.pattern_id),
        ..IncidentFilter::default()
    };
    let (similar, _) = incidents::list(db, &same, None, SIMILAR_INCIDENTS as i64 + 1).await?;
    let similar: Vec<IncidentOut> = similar
        .into_iter()
        .filter(|x| x.id != id)
        .take(SIMILAR_INCIDENTS)
        .collect();
    let related = related_incidents(db, id, i.pattern_id, i.triggered_at).await?;
    Ok(Some(IncidentPatternOut {
        id: PatternId(i.pattern_id),
        name: i.name.unwrap_or_else(|| i.template.clone()),
        muted: i.muted,
        total_count: i.incident_count,
        why,
        similar,
        related,
    }))
}

/// Why a title is in its pattern: the template among the pattern's `templates` (text, origin; people's first)
/// that explains it best — a person's template wins over a mined one —, its slot values and similarity.
/// Pinned: moved by a person. When no template explains the title (refinement has not seen it yet), the
/// pattern's main template with the stored score.
fn why<'a>(
    title: &str,
    service: Option<&str>,
    pinned: bool,
    stored_score: Option<f32>,
    main: &str,
    templates: impl Iterator<Item = (&'a str, &'a str)>,
) -> PatternWhyOut {
    let mut best: Option<(bool, Template, insights_patterns::Explanation)> = None;
    for (text, origin) in templates {
        let Ok(t) = Template::parse(text) else {
            continue;
        };
        let Some(e) = insights_patterns::explain(&t, title, service) else {
            continue;
        };
        let rule = origin != "mined";
        let better = match &best {
            None => true,
            Some((best_rule, _, b)) => {
                (rule && !best_rule) || (rule == *best_rule && e.score > b.score)
            }
        };
        if better {
            best = Some((rule, t, e));
        }
    }
    let assigned = |rule: bool| {
        if pinned {
            AssignedBy::Manual
        } else if rule {
            AssignedBy::Rule
        } else {
            AssignedBy::Mined
        }
    };
    match best {
        Some((rule, t, e)) => PatternWhyOut {
            assigned_by: assigned(rule),
            template: t.to_string(),
            parts: parts_out(&t),
            slots: e
                .slots
                .into_iter()
                .map(|s| SlotValueOut {
                    part: s.part,
                    kind: slot_kind_out(s.kind),
                    value: s.value,
                })
                .collect(),
            score: e.score,
        },
        None => PatternWhyOut {
            assigned_by: assigned(false),
            template: main.to_owned(),
            parts: parts_of(main),
            slots: Vec::new(),
            score: stored_score.unwrap_or(0.0),
        },
    }
}

/// Incidents that started within [`RELATED_WITHIN_MINUTES`] of `at` in a pattern paired with `pattern`, nearest
/// first.
async fn related_incidents(
    db: &mut OrgTx,
    id: IncidentId,
    pattern: Uuid,
    at: DateTime<Utc>,
) -> DbResult<Vec<RelatedIncidentOut>> {
    let within = Duration::minutes(RELATED_WITHIN_MINUTES);
    let rows = org_query!(
        db,
        r#"SELECT i.id AS "id: IncidentId", i.pattern_id AS "pattern_id!"
             FROM incidents i
             JOIN pattern_pairs pp
               ON pp.org_id = $1
              AND ((pp.pattern_a = $2 AND pp.pattern_b = i.pattern_id) OR (pp.pattern_b = $2 AND pp.pattern_a = i.pattern_id))
            WHERE i.org_id = $1 AND i.id <> $3 AND i.triggered_at >= $4 AND i.triggered_at <= $5
            ORDER BY abs(extract(epoch FROM i.triggered_at - $6::timestamptz)), i.id
            LIMIT $7"#,
        pattern,
        id as IncidentId,
        at - within,
        at + within,
        at,
        RELATED_INCIDENTS
    )
    .fetch_all(db.conn())
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<IncidentId> = rows.iter().map(|r| r.id).collect();
    let mut found: HashMap<IncidentId, IncidentOut> = incidents::by_ids(db, &ids)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let mut patterns: HashMap<Uuid, RelatedPatternOut> = related_patterns(db, pattern)
        .await?
        .into_iter()
        .map(|p| (p.id.0, p))
        .collect();
    // A paired pattern beyond the detail's top few: read on its own.
    let missing: Vec<Uuid> = rows
        .iter()
        .map(|r| r.pattern_id)
        .filter(|p| !patterns.contains_key(p))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        let extra = org_query!(
            db,
            r#"SELECT p.id, COALESCE(p.name, p.template) AS "name!", pp.together, pp.last_at
                 FROM pattern_pairs pp
                 JOIN patterns p ON p.org_id = $1
                                AND p.id = CASE WHEN pp.pattern_a = $2 THEN pp.pattern_b ELSE pp.pattern_a END
                WHERE pp.org_id = $1 AND (pp.pattern_a = $2 OR pp.pattern_b = $2) AND p.id = ANY($3)"#,
            pattern,
            &missing
        )
        .fetch_all(db.conn())
        .await?;
        let mut services = services_of(db, &missing).await?;
        for r in extra {
            patterns.insert(
                r.id,
                RelatedPatternOut {
                    id: PatternId(r.id),
                    name: r.name,
                    times: r.together,
                    last_at: r.last_at,
                    services: services.remove(&r.id).unwrap_or_default(),
                },
            );
        }
    }
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(RelatedIncidentOut {
                incident: found.remove(&r.id)?,
                pattern: patterns.get(&r.pattern_id)?.clone(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn trend_needs_both_a_share_and_a_number_of_incidents() {
        let since = Some(t("2026-11-01T00:00:00Z"));
        let old = Some(t("2026-01-01T00:00:00Z"));
        assert_eq!(trend(10, 10, old, since), PatternTrend::Steady);
        assert_eq!(trend(13, 10, old, since), PatternTrend::Growing);
        assert_eq!(trend(12, 10, old, since), PatternTrend::Steady, "+20 %");
        assert_eq!(trend(2, 1, old, since), PatternTrend::Steady, "one more");
        assert_eq!(trend(3, 1, old, since), PatternTrend::Growing);
        assert_eq!(trend(2, 0, old, since), PatternTrend::Growing);
        assert_eq!(trend(7, 10, old, since), PatternTrend::Declining);
        assert_eq!(trend(8, 10, old, since), PatternTrend::Steady, "−20 %");
        assert_eq!(trend(0, 1, old, since), PatternTrend::Steady, "one fewer");
        assert_eq!(trend(100, 130, old, since), PatternTrend::Steady, "−23 %");
        assert_eq!(
            trend(1, 0, Some(t("2026-11-02T00:00:00Z")), since),
            PatternTrend::New
        );
        assert_eq!(
            trend(50, 1, old, None),
            PatternTrend::Steady,
            "no previous period"
        );
    }

    #[test]
    fn cursors_round_trip_only_for_their_own_sort_and_order() {
        let c = Cursor {
            sort: PatternSort::Cost,
            order: SortOrder::Asc,
            value: 1234.5,
            id: Uuid::now_v7(),
        };
        let s = c.encode();
        assert_eq!(
            Cursor::decode(&s, PatternSort::Cost, SortOrder::Asc),
            Some(c)
        );
        assert_eq!(Cursor::decode(&s, PatternSort::Count, SortOrder::Asc), None);
        assert_eq!(Cursor::decode(&s, PatternSort::Cost, SortOrder::Desc), None);
        assert_eq!(
            Cursor::decode("nope", PatternSort::Cost, SortOrder::Asc),
            None
        );
        let incident_cursor = crate::db::cursor::encode(Utc::now(), Uuid::now_v7());
        assert_eq!(
            Cursor::decode(&incident_cursor, PatternSort::Count, SortOrder::Desc),
            None
        );
    }

    #[test]
    fn the_order_breaks_ties_by_id_in_both_directions() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(compare((2.0, a), (1.0, b), SortOrder::Desc), Ordering::Less);
        assert_eq!(
            compare((2.0, a), (1.0, b), SortOrder::Asc),
            Ordering::Greater
        );
        assert_eq!(compare((1.0, a), (1.0, b), SortOrder::Desc), Ordering::Less);
        assert_eq!(compare((1.0, a), (1.0, b), SortOrder::Asc), Ordering::Less);
    }
}
