//! The analytics engine against a direct computation (issue 10, tests): randomized histories stored through the
//! real store pipeline, rolled up by the worker's refresher, then `summary`, `timeseries`, `heatmap` and `top`
//! for random filters and periods compared with a naive computation over the raw rows — exact counts and
//! means, p50/p90 within 1 % of `percentile_disc` — again after incidents are acknowledged, resolved, moved to
//! another service or deleted after the fact, and after a settings change (another time zone) recomputed by
//! the `recompute_analytics` job. Another organization's history sits beside it and must never leak in.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use insights_core::analytics::{self, TimeseriesQuery, TopQuery};
use insights_core::db::incidents::{self, IncidentFilter};
use insights_ingest::{NormalizedIncident, SourceRef};
use insights_testing::TestApp;
use insights_types::OrgId;
use insights_types::api::{
    AnalyticsSettings, Bucket, ClockTime, GroupBy, IncidentSource, IncidentStatus, JobState,
    Metric, PeriodTotals, SortOrder, Stat, TimeRange, TopDimension, TopSort, Urgency,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

const TITLES: [&str; 5] = [
    "Disk full",
    "Database latency high",
    "Payment provider timeouts",
    "Queue backlog growing",
    "Pod crash looping",
];

/// The history starts here (the weeks around both DST changes of 2026 in America/New_York and Europe/Berlin).
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 16, 0, 0, 0).unwrap()
}

const DAYS: i64 = 56;

/// A random incident `n` of a history, created at `t`, in whole seconds.
fn incident(
    rng: &mut StdRng,
    n: usize,
    t: DateTime<Utc>,
    service: Option<usize>,
    title: &str,
) -> NormalizedIncident {
    let status = match rng.random_range(0..10) {
        0..=2 => IncidentStatus::Triggered,
        3..=4 => IncidentStatus::Acknowledged,
        _ => IncidentStatus::Resolved,
    };
    let acked = status == IncidentStatus::Acknowledged
        || (status == IncidentStatus::Resolved && rng.random_bool(0.6));
    let ack = acked.then(|| match rng.random_range(0..10) {
        0 => t - Duration::seconds(30), // clock skew: clamps to 0
        1 => t,
        _ => t + Duration::seconds(rng.random_range(1..7200)),
    });
    let res = (status == IncidentStatus::Resolved).then(|| {
        let after = if rng.random_bool(0.3) {
            rng.random_range(0..600)
        } else {
            rng.random_range(600..3 * 86_400)
        };
        ack.unwrap_or(t).max(t) + Duration::seconds(after)
    });
    // Spelling varies: titles match trimmed and case-insensitively.
    let title = match rng.random_range(0..4) {
        0 => format!("  {title} "),
        1 => title.to_uppercase(),
        _ => title.to_owned(),
    };
    let source = if n.is_multiple_of(5) {
        IncidentSource::Opsgenie
    } else {
        IncidentSource::Pagerduty
    };
    NormalizedIncident {
        source,
        external_id: format!("inc-{n}"),
        number: Some(n as i64),
        title,
        description: rng
            .random_bool(0.5)
            .then(|| format!("host web-{}", rng.random_range(0..9))),
        service: service.map(|s| SourceRef {
            external_id: format!("svc-{s}"),
            name: format!("Service {s}"),
        }),
        team: (!rng.random_bool(0.2)).then(|| {
            let t = rng.random_range(0..3);
            SourceRef {
                external_id: format!("team-{t}"),
                name: format!("Team {t}"),
            }
        }),
        urgency: match rng.random_range(0..5) {
            0 => None,
            1 | 2 => Some(Urgency::Low),
            _ => Some(Urgency::High),
        },
        priority: None,
        status,
        triggered_at: t,
        acknowledged_at: ack,
        resolved_at: res,
        assignees: Vec::new(),
        tags: Vec::new(),
        source_url: None,
        source_updated_at: start(),
        raw: serde_json::json!({}),
        timeline: Vec::new(),
    }
}

/// `n` incidents over [`DAYS`] days; a third repeat an earlier one (same service and title) within about an
/// hour, some exactly an hour later (not a repeat) or at the same second (ties broken by id).
fn history(rng: &mut StdRng, n: usize) -> Vec<NormalizedIncident> {
    let mut out: Vec<NormalizedIncident> = Vec::new();
    for i in 0..n {
        let (t, service, title) = if !out.is_empty() && rng.random_bool(0.35) {
            let prev = &out[rng.random_range(0..out.len())];
            let gap = match rng.random_range(0..6) {
                0 => 0,
                1 => 3600,
                _ => rng.random_range(1..4000),
            };
            let service = prev
                .service
                .as_ref()
                .map(|s| s.external_id[4..].parse().unwrap());
            (
                prev.triggered_at + Duration::seconds(gap),
                service,
                prev.title.trim().to_owned(),
            )
        } else {
            let t = start() + Duration::seconds(rng.random_range(0..DAYS * 86_400));
            let service = (!rng.random_bool(0.15)).then(|| rng.random_range(0..4));
            (
                t,
                service,
                TITLES[rng.random_range(0..TITLES.len())].to_owned(),
            )
        };
        out.push(incident(rng, i, t, service, &title));
    }
    out
}

/// An incident as stored.
#[derive(Clone, Debug)]
struct Row {
    id: Uuid,
    source: String,
    status: String,
    service: Option<Uuid>,
    team: Option<Uuid>,
    urgency: Option<String>,
    title: String,
    description: Option<String>,
    t: DateTime<Utc>,
    ack: Option<DateTime<Utc>>,
    res: Option<DateTime<Utc>>,
}

/// Every incident of `org`, read as the owner of the tables.
async fn rows(app: &TestApp, org: OrgId) -> Vec<Row> {
    use sqlx::{Connection, Row as _};
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "SELECT id, source, status, service_id, team_id, urgency, title, description, triggered_at,
                acknowledged_at, resolved_at
           FROM incidents WHERE org_id = $1",
    )
    .bind(org.0)
    .fetch_all(&mut c)
    .await
    .unwrap()
    .into_iter()
    .map(|r| Row {
        id: r.get(0),
        source: r.get(1),
        status: r.get(2),
        service: r.get(3),
        team: r.get(4),
        urgency: r.get(5),
        title: r.get(6),
        description: r.get(7),
        t: r.get(8),
        ack: r.get(9),
        res: r.get(10),
    })
    .collect()
}

/// The naive computation: each incident's facts straight from the definitions of `docs/METRICS.md`.
#[derive(Clone, Debug)]
struct Naive {
    row: Row,
    off_hours: bool,
    sleep: bool,
    repeat: bool,
    tta: Option<i64>,
    ttr: Option<i64>,
    auto_resolved: bool,
    /// ISO weekday (1–7) and local hour.
    weekday: u32,
    hour: u32,
}

fn naive(all: &[Row], s: &AnalyticsSettings) -> Vec<Naive> {
    let tz: Tz = s.time_zone.parse().unwrap();
    all.iter()
        .map(|r| {
            let local = r.t.with_timezone(&tz);
            let minute = (local.hour() * 60 + local.minute()) as u16;
            let weekday = local.weekday().number_from_monday();
            let off_hours = s.holidays.contains(&local.date_naive())
                || s.business_hours
                    .day(weekday as u8)
                    .is_none_or(|h| minute < h.start.minutes() || minute >= h.end.minutes());
            let (ns, ne) = (s.night.start.minutes(), s.night.end.minutes());
            let sleep = if ns <= ne {
                minute >= ns && minute < ne
            } else {
                minute >= ns || minute < ne
            };
            let key = |x: &Row| (x.service, x.title.trim().to_lowercase());
            let repeat = all.iter().any(|p| {
                key(p) == key(r) && p.t > r.t - Duration::hours(1) && (p.t, p.id) < (r.t, r.id)
            });
            let ms = |x: DateTime<Utc>| (x - r.t).num_milliseconds().max(0);
            let tta = r.ack.map(ms);
            let ttr = r.res.filter(|_| r.status == "resolved").map(ms);
            let auto_resolved = r.ack.is_none()
                && ttr.is_some_and(|t| t <= i64::from(s.noise_auto_resolve_minutes) * 60_000);
            Naive {
                row: r.clone(),
                off_hours,
                sleep,
                repeat,
                tta,
                ttr,
                auto_resolved,
                weekday,
                hour: local.hour(),
            }
        })
        .collect()
}

fn matches(n: &Naive, f: &IncidentFilter) -> bool {
    let r = &n.row;
    f.source.is_none_or(|s| s.as_str() == r.source)
        && f.status.is_none_or(|s| s.as_str() == r.status)
        && f.service_id.is_none_or(|s| Some(s) == r.service)
        && f.team_id.is_none_or(|s| Some(s) == r.team)
        && f.urgency
            .is_none_or(|u| Some(u.as_str()) == r.urgency.as_deref())
        && f.since.is_none_or(|s| r.t >= s)
        && f.until.is_none_or(|u| r.t < u)
        && f.text.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            r.title.to_lowercase().contains(&q)
                || r.description
                    .as_ref()
                    .is_some_and(|d| d.to_lowercase().contains(&q))
        })
}

/// percentile_disc over milliseconds, in seconds.
fn percentile(values: &[i64], p: f64) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return None;
    }
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1] as f64 / 1000.0)
}

fn mean(values: &[i64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64 / 1000.0)
}

fn close(got: Option<f64>, want: Option<f64>, rel: f64, what: &str) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => {
            let err = if w == 0.0 {
                g.abs()
            } else {
                ((g - w) / w).abs()
            };
            assert!(err <= rel, "{what}: {g} vs {w}");
        }
        _ => panic!("{what}: {got:?} vs {want:?}"),
    }
}

/// Compares a period's figures with the naive ones of `set`.
fn check_totals(got: &PeriodTotals, set: &[&Naive], what: &str) {
    let count = |f: &dyn Fn(&Naive) -> bool| set.iter().filter(|n| f(n)).count() as i64;
    assert_eq!(got.count, set.len() as i64, "{what}: count");
    assert_eq!(
        got.acknowledged,
        count(&|n| n.row.ack.is_some()),
        "{what}: acknowledged"
    );
    assert_eq!(
        got.resolved,
        count(&|n| n.row.status == "resolved"),
        "{what}: resolved"
    );
    assert_eq!(
        got.off_hours.count,
        count(&|n| n.off_hours),
        "{what}: off-hours"
    );
    assert_eq!(
        got.sleep_hours.count,
        count(&|n| n.sleep),
        "{what}: sleep hours"
    );
    assert_eq!(got.noise.repeats, count(&|n| n.repeat), "{what}: repeats");
    assert_eq!(
        got.noise.auto_resolved,
        count(&|n| n.auto_resolved),
        "{what}: auto-resolved"
    );
    assert_eq!(
        got.noise.never_acknowledged,
        count(&|n| n.row.ack.is_none()),
        "{what}: never acknowledged"
    );
    let tta: Vec<i64> = set.iter().filter_map(|n| n.tta).collect();
    let ttr: Vec<i64> = set.iter().filter_map(|n| n.ttr).collect();
    close(
        got.mtta_seconds.mean,
        mean(&tta),
        1e-9,
        &format!("{what}: mtta mean"),
    );
    close(
        got.mttr_seconds.mean,
        mean(&ttr),
        1e-9,
        &format!("{what}: mttr mean"),
    );
    for (p, g_tta, g_ttr) in [
        (0.5, got.mtta_seconds.p50, got.mttr_seconds.p50),
        (0.9, got.mtta_seconds.p90, got.mttr_seconds.p90),
    ] {
        close(
            g_tta,
            percentile(&tta, p),
            0.010_001,
            &format!("{what}: tta p{p}"),
        );
        close(
            g_ttr,
            percentile(&ttr, p),
            0.010_001,
            &format!("{what}: ttr p{p}"),
        );
    }
}

/// A random instant of the history's span (sometimes a local midnight or the first of a month, sometimes
/// outside the history).
fn instant(rng: &mut StdRng, tz: Tz) -> DateTime<Utc> {
    let t = start() + Duration::seconds(rng.random_range(-5 * 86_400..(DAYS + 5) * 86_400));
    match rng.random_range(0..4) {
        0 => {
            let d = t.with_timezone(&tz).date_naive();
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .earliest()
                .unwrap()
                .to_utc()
        }
        1 => {
            let d = t.with_timezone(&tz).date_naive().with_day(1).unwrap();
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .earliest()
                .unwrap()
                .to_utc()
        }
        _ => t,
    }
}

/// A random filter over `set`'s services and teams.
fn filter(rng: &mut StdRng, set: &[Naive], tz: Tz) -> IncidentFilter {
    let pick = |rng: &mut StdRng, f: &dyn Fn(&Row) -> Option<Uuid>| {
        let ids: Vec<Uuid> = set.iter().filter_map(|n| f(&n.row)).collect();
        (!ids.is_empty() && rng.random_bool(0.25)).then(|| ids[rng.random_range(0..ids.len())])
    };
    let mut f = IncidentFilter {
        service_id: pick(rng, &|r| r.service),
        team_id: pick(rng, &|r| r.team),
        ..IncidentFilter::default()
    };
    if rng.random_bool(0.2) {
        f.urgency = Some(if rng.random_bool(0.5) {
            Urgency::High
        } else {
            Urgency::Low
        });
    }
    if rng.random_bool(0.2) {
        f.status = Some(IncidentStatus::Resolved);
    }
    if rng.random_bool(0.15) {
        f.source = Some(IncidentSource::Opsgenie);
    }
    if rng.random_bool(0.1) {
        f.text = Some(["disk", "LATENCY", "web-3"][rng.random_range(0..3)].to_owned());
    }
    if rng.random_bool(0.85) {
        let a = instant(rng, tz);
        let b = instant(rng, tz);
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        f.since = Some(a);
        if rng.random_bool(0.8) {
            f.until = Some(b.max(a + Duration::hours(1)));
        }
    }
    f
}

/// When "now" is for the queries: after the history.
fn now() -> DateTime<Utc> {
    start() + Duration::days(DAYS + 3)
}

/// Compares every answer for `queries` random filters with the naive computation over `org`'s rows.
async fn compare(
    app: &TestApp,
    org: OrgId,
    s: &AnalyticsSettings,
    rng: &mut StdRng,
    queries: usize,
) {
    let tz: Tz = s.time_zone.parse().unwrap();
    let set = naive(&rows(app, org).await, s);
    for q in 0..queries {
        let f = filter(rng, &set, tz);
        let what = format!("query {q} {f:?}");
        let matching: Vec<&Naive> = set.iter().filter(|n| matches(n, &f)).collect();
        let mut db = app.state.db.org_tx(org, None).await.unwrap();

        // Summary and the previous period.
        let sum = analytics::summary(&mut db, &f, now()).await.unwrap();
        check_totals(&sum.totals, &matching, &what);
        if let Some(prev) = &sum.previous {
            let pf = IncidentFilter {
                since: Some(prev.since),
                until: Some(prev.until),
                ..f.clone()
            };
            let pm: Vec<&Naive> = set.iter().filter(|n| matches(n, &pf)).collect();
            check_totals(&prev.totals, &pm, &format!("{what} (previous)"));
            assert_eq!(prev.until, f.since.unwrap());
            assert_eq!(prev.until - prev.since, sum.until - prev.until);
        }

        // Heatmap.
        let heat = analytics::heatmap(&mut db, &f, now()).await.unwrap();
        assert_eq!(heat.cells.len(), 168);
        for c in &heat.cells {
            let want = matching
                .iter()
                .filter(|n| n.weekday == u32::from(c.weekday) && n.hour == u32::from(c.hour))
                .count() as i64;
            assert_eq!(c.count, want, "{what}: heatmap {}/{}", c.weekday, c.hour);
        }

        // A time series.
        let metric =
            [Metric::Count, Metric::Mtta, Metric::Mttr, Metric::OffHours][rng.random_range(0..4)];
        let stat = [Stat::Mean, Stat::P50, Stat::P90][rng.random_range(0..3)];
        let group_by = [
            None,
            Some(GroupBy::Service),
            Some(GroupBy::Team),
            Some(GroupBy::Urgency),
            Some(GroupBy::Status),
        ][rng.random_range(0..5)];
        let span = f.until.unwrap_or(now()) - f.since.unwrap_or(start());
        let bucket = match rng.random_range(0..4) {
            0 if span <= Duration::days(30) => Some(Bucket::Hour),
            0 => None,
            1 => Some(Bucket::Day),
            2 => Some(Bucket::Week),
            _ => Some(Bucket::Month),
        };
        let ts = analytics::timeseries(
            &mut db,
            &f,
            &TimeseriesQuery {
                metric,
                stat,
                bucket,
                group_by,
            },
            now(),
        )
        .await
        .unwrap();
        let group_of = |n: &Naive| -> String {
            let r = &n.row;
            let id = |x: Option<Uuid>| x.map_or("none".to_owned(), |u| u.to_string());
            match group_by {
                None => "all".to_owned(),
                Some(GroupBy::Service) => id(r.service),
                Some(GroupBy::Team) => id(r.team),
                Some(GroupBy::Urgency) => r.urgency.clone().unwrap_or_else(|| "none".to_owned()),
                Some(GroupBy::Status) => r.status.clone(),
                Some(GroupBy::Source) => r.source.clone(),
                // Not drawn: these incidents have no pattern (the API tests cover patterns).
                Some(GroupBy::Pattern) => "none".to_owned(),
            }
        };
        // The ten largest groups (by count, then key), the rest as `other`.
        let mut sizes: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        for n in &matching {
            *sizes.entry(group_of(n)).or_default() += 1;
        }
        let mut ranked: Vec<(String, i64)> = sizes.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let top10: Vec<String> = ranked.iter().take(10).map(|(k, _)| k.clone()).collect();
        let key_of = |n: &Naive| -> String {
            let g = group_of(n);
            if top10.contains(&g) {
                g
            } else {
                "other".to_owned()
            }
        };
        let mut keys: Vec<String> = matching.iter().map(|n| key_of(n)).collect();
        keys.sort();
        keys.dedup();
        if group_by.is_some() {
            let mut got: Vec<String> = ts.series.iter().map(|s| s.key.clone()).collect();
            got.sort();
            assert_eq!(got, keys, "{what}: series");
        }
        for series in &ts.series {
            let points = &series.points;
            if let Some(first) = points.first() {
                assert_eq!(
                    Some(first.start),
                    f.since.or(matching.iter().map(|n| n.row.t).min()),
                    "{what}"
                );
                assert_eq!(
                    points.last().unwrap().end,
                    f.until.unwrap_or(now()),
                    "{what}"
                );
            }
            for (i, p) in points.iter().enumerate() {
                if i > 0 {
                    assert_eq!(p.start, points[i - 1].end, "{what}: contiguous buckets");
                    let local = p.start.with_timezone(&tz);
                    assert_eq!(local.minute(), 0, "{what}: aligned to local hours");
                    if ts.bucket != Bucket::Hour {
                        assert_eq!(
                            local.date_naive(),
                            (p.start - Duration::seconds(1))
                                .with_timezone(&tz)
                                .date_naive()
                                .succ_opt()
                                .unwrap(),
                            "{what}: local midnight"
                        );
                    }
                    match ts.bucket {
                        Bucket::Week => assert_eq!(local.weekday().number_from_monday(), 1),
                        Bucket::Month => assert_eq!(local.day(), 1),
                        _ => {}
                    }
                }
                let inside: Vec<&&Naive> = matching
                    .iter()
                    .filter(|n| key_of(n) == series.key && n.row.t >= p.start && n.row.t < p.end)
                    .collect();
                let ms = |f: &dyn Fn(&Naive) -> Option<i64>| -> Vec<i64> {
                    inside.iter().filter_map(|n| f(n)).collect()
                };
                let durations = |v: Vec<i64>| match stat {
                    Stat::Mean => mean(&v),
                    Stat::P50 => percentile(&v, 0.5),
                    Stat::P90 => percentile(&v, 0.9),
                };
                let want = match metric {
                    Metric::Count => Some(inside.len() as f64),
                    Metric::OffHours => Some(inside.iter().filter(|n| n.off_hours).count() as f64),
                    Metric::Mtta => durations(ms(&|n| n.tta)),
                    Metric::Mttr => durations(ms(&|n| n.ttr)),
                };
                close(
                    p.value,
                    want,
                    0.010_001,
                    &format!(
                        "{what}: {metric:?} {stat:?} {:?} of {} at {}",
                        ts.bucket, series.key, p.start
                    ),
                );
            }
        }

        // The top table.
        let dimension = if rng.random_bool(0.5) {
            TopDimension::Service
        } else {
            TopDimension::Team
        };
        let sort = [
            TopSort::Count,
            TopSort::Mtta,
            TopSort::Mttr,
            TopSort::OffHours,
            TopSort::Noise,
        ][rng.random_range(0..5)];
        let top = analytics::top(
            &mut db,
            &f,
            &TopQuery {
                dimension,
                sort,
                order: SortOrder::Desc,
                limit: 100,
            },
            now(),
        )
        .await
        .unwrap();
        let group = |n: &Naive| {
            match dimension {
                TopDimension::Service => n.row.service,
                TopDimension::Team => n.row.team,
                TopDimension::Pattern => None,
            }
            .map_or("none".to_owned(), |u| u.to_string())
        };
        let mut want_keys: Vec<String> = matching.iter().map(|n| group(n)).collect();
        want_keys.sort();
        want_keys.dedup();
        assert_eq!(top.rows.len(), want_keys.len(), "{what}: top rows");
        for row in &top.rows {
            let inside: Vec<&&Naive> = matching.iter().filter(|n| group(n) == row.key).collect();
            assert_eq!(row.count, inside.len() as i64, "{what}: top count");
            assert_eq!(
                row.off_hours,
                inside.iter().filter(|n| n.off_hours).count() as i64
            );
            assert_eq!(
                row.noise,
                inside
                    .iter()
                    .filter(|n| n.repeat || n.auto_resolved || n.row.ack.is_none())
                    .count() as i64,
                "{what}: top noise"
            );
            close(
                row.mtta_seconds,
                mean(&inside.iter().filter_map(|n| n.tta).collect::<Vec<_>>()),
                1e-9,
                &what,
            );
            close(
                row.mttr_seconds,
                mean(&inside.iter().filter_map(|n| n.ttr).collect::<Vec<_>>()),
                1e-9,
                &what,
            );
            assert_eq!(row.sparkline.len(), top.sparkline_starts.len());
            for (i, c) in row.sparkline.iter().enumerate() {
                let end = top
                    .sparkline_starts
                    .get(i + 1)
                    .copied()
                    .unwrap_or(f.until.unwrap_or(now()));
                let want = inside
                    .iter()
                    .filter(|n| n.row.t >= top.sparkline_starts[i] && n.row.t < end)
                    .count() as i64;
                assert_eq!(*c, want, "{what}: sparkline {i}");
            }
        }
        let column = |r: &insights_types::api::TopRow| match sort {
            TopSort::Count => Some(r.count as f64),
            TopSort::Mtta => r.mtta_seconds,
            TopSort::Mttr => r.mttr_seconds,
            TopSort::OffHours => Some(r.off_hours as f64),
            TopSort::Noise => Some(r.noise as f64),
        };
        for w in top.rows.windows(2) {
            match (column(&w[0]), column(&w[1])) {
                (Some(a), Some(b)) => assert!(a >= b, "{what}: sorted by {sort:?}"),
                (None, Some(_)) => panic!("{what}: rows without a value come last"),
                _ => {}
            }
        }
        db.commit().await.unwrap();
    }
}

/// Waits until the refresher has rolled up every change of `org` and no recomputation runs.
async fn settle(app: &TestApp, org: OrgId) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let mut db = app.state.db.org_tx(org, None).await.unwrap();
        let s = analytics::status(&mut db).await.unwrap();
        let error = analytics::last_error(&mut db).await.unwrap();
        db.commit().await.unwrap();
        assert_eq!(error, None, "the refresher failed");
        if !s.pending && s.recompute_job_id.is_none() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rollups never caught up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn store(app: &TestApp, org: OrgId, batch: &[NormalizedIncident]) {
    for chunk in batch.chunks(100) {
        let mut db = app.state.db.org_tx(org, None).await.unwrap();
        incidents::upsert_batch(&mut db, None, chunk).await.unwrap();
        db.commit().await.unwrap();
    }
}

/// Changes the settings as the API does, runs the recomputation and waits for it.
async fn change_settings(app: &TestApp, token: &str, org: OrgId, s: &AnalyticsSettings) {
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    let (out, job) = analytics::update_settings(&mut db, &app.state.jobs, s)
        .await
        .unwrap();
    db.commit().await.unwrap();
    let job = job.expect("a change of settings recomputes the rollups");
    assert_eq!(out.recompute_job_id, Some(job.job_run_id()));
    let id = job.job_run_id();
    app.state.jobs.push(job).await;
    let run = app.wait_for_job(token, org, id).await;
    assert_eq!(run.state, JobState::Succeeded, "{run:?}");
    settle(app, org).await;
}

fn clock(s: &str) -> ClockTime {
    ClockTime::parse(s).unwrap()
}

#[tokio::test]
async fn rollups_agree_with_a_direct_computation_over_randomized_histories() {
    let mut rng = StdRng::seed_from_u64(0x1ce_1de47);
    let app = TestApp::spawn(&[("INSIGHTS_ANALYTICS_REFRESH_MS", "50")])
        .await
        .with_worker()
        .await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let (other_owner, other) = app.signup("other@example.com", "Other").await;

    let mut settings = AnalyticsSettings {
        time_zone: "America/New_York".to_owned(),
        night: TimeRange {
            start: clock("23:00"),
            end: clock("06:30"),
        },
        holidays: vec![NaiveDate::from_ymd_opt(2026, 2, 16).unwrap()],
        noise_auto_resolve_minutes: 5,
        ..AnalyticsSettings::default()
    };
    settings.business_hours.saturday = Some(TimeRange {
        start: clock("10:00"),
        end: clock("14:30"),
    });
    change_settings(&app, &owner.token, org, &settings).await;

    let mut h = history(&mut rng, 360);
    store(&app, org, &h).await;
    // The other organization: the same external ids, another history.
    store(&app, other, &history(&mut rng, 150)).await;
    settle(&app, org).await;
    settle(&app, other).await;
    compare(&app, org, &settings, &mut rng, 25).await;
    compare(&app, other, &AnalyticsSettings::default(), &mut rng, 5).await;

    // After the fact: acknowledged, resolved, moved to another service, and newer versions of titles.
    let later = start() + Duration::days(1);
    for x in &mut h {
        if rng.random_bool(0.2) {
            x.source_updated_at = later;
            match rng.random_range(0..3) {
                0 if x.acknowledged_at.is_none() => {
                    x.acknowledged_at =
                        Some(x.triggered_at + Duration::seconds(rng.random_range(1..900)));
                    x.status = IncidentStatus::Acknowledged;
                    x.resolved_at = None;
                }
                1 => {
                    x.status = IncidentStatus::Resolved;
                    x.resolved_at =
                        Some(x.triggered_at + Duration::seconds(rng.random_range(60..20_000)));
                }
                _ => {
                    x.service = Some(SourceRef {
                        external_id: "svc-9".to_owned(),
                        name: "Service 9".to_owned(),
                    });
                }
            }
        }
    }
    store(&app, org, &h).await;
    // Deleted: some incidents one by one, and every Opsgenie incident in one statement (as deleting an
    // integration's data does).
    {
        let mut db = app.state.db.org_tx(org, None).await.unwrap();
        sqlx::query("DELETE FROM incidents WHERE org_id = $1 AND external_id = ANY($2)")
            .bind(org.0)
            .bind(vec!["inc-1", "inc-2", "inc-33", "inc-34"])
            .execute(db.conn())
            .await
            .unwrap();
        sqlx::query(
            "DELETE FROM incidents WHERE org_id = $1 AND source = 'opsgenie' AND number % 2 = 0",
        )
        .bind(org.0)
        .execute(db.conn())
        .await
        .unwrap();
        db.commit().await.unwrap();
    }
    settle(&app, org).await;
    compare(&app, org, &settings, &mut rng, 20).await;

    // Another zone, hours, night and threshold: the recomputation rebuilds every rollup.
    let berlin = AnalyticsSettings {
        time_zone: "Europe/Berlin".to_owned(),
        night: TimeRange {
            start: clock("00:30"),
            end: clock("05:00"),
        },
        holidays: vec![NaiveDate::from_ymd_opt(2026, 3, 30).unwrap()],
        noise_auto_resolve_minutes: 9,
        ..AnalyticsSettings::default()
    };
    change_settings(&app, &owner.token, org, &berlin).await;
    compare(&app, org, &berlin, &mut rng, 20).await;
    // Asia/Kolkata: a half-hour zone.
    let kolkata = AnalyticsSettings {
        time_zone: "Asia/Kolkata".to_owned(),
        ..AnalyticsSettings::default()
    };
    change_settings(&app, &owner.token, org, &kolkata).await;
    compare(&app, org, &kolkata, &mut rng, 10).await;
    // The other organization never moved.
    compare(&app, other, &AnalyticsSettings::default(), &mut rng, 5).await;
    let _ = other_owner;

    // A period that ends before it starts is refused with a message; one in the future is empty.
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    let backwards = IncidentFilter {
        since: Some(start() + Duration::days(2)),
        until: Some(start()),
        ..IncidentFilter::default()
    };
    let err = analytics::summary(&mut db, &backwards, now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, analytics::AnalyticsError::Invalid(_)),
        "{err:?}"
    );
    let future = IncidentFilter {
        since: Some(now() + Duration::days(1)),
        ..IncidentFilter::default()
    };
    let sum = analytics::summary(&mut db, &future, now()).await.unwrap();
    assert_eq!(
        (sum.totals.count, sum.until),
        (0, now() + Duration::days(1))
    );
    db.commit().await.unwrap();
}

/// The analytics state row of `org` locked by another transaction until the returned one ends.
async fn hold_state_row(app: &TestApp, org: OrgId) -> insights_core::db::OrgTx {
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query("INSERT INTO analytics_state (org_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(org.0)
        .execute(db.conn())
        .await
        .unwrap();
    db.commit().await.unwrap();
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query("SELECT 1 FROM analytics_state WHERE org_id = $1 FOR UPDATE")
        .bind(org.0)
        .execute(db.conn())
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn the_refresher_rolls_up_marked_changes_once_and_skips_an_organization_another_worker_holds()
{
    let app = TestApp::spawn(&[]).await; // no worker: the test runs the refresher's passes itself
    let worker = insights_worker::Worker::build(app.config.clone())
        .await
        .unwrap();
    let state = worker.state().clone();
    let (_owner, org) = app.signup("owner@example.com", "Acme").await;
    let status = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            let mut tx = db.org_tx(org, None).await.unwrap();
            let s = analytics::status(&mut tx).await.unwrap();
            tx.commit().await.unwrap();
            s
        }
    };
    let count = |app: &TestApp| {
        let db = app.state.db.clone();
        async move {
            let mut tx = db.org_tx(org, None).await.unwrap();
            let since = Some(start() - Duration::days(1));
            let f = IncidentFilter {
                since,
                until: Some(now()),
                ..IncidentFilter::default()
            };
            let s = analytics::summary(&mut tx, &f, now()).await.unwrap();
            tx.commit().await.unwrap();
            s.totals.count
        }
    };
    let before = status(&app).await;
    assert_eq!(
        (before.version, before.pending, before.refreshed_at),
        (0, false, None)
    );

    let mut rng = StdRng::seed_from_u64(5);
    let h: Vec<NormalizedIncident> = (0..3)
        .map(|i| {
            incident(
                &mut rng,
                i,
                start() + Duration::days(i as i64 * 3),
                Some(1),
                "Disk full",
            )
        })
        .collect();
    store(&app, org, &h).await;
    assert!(
        status(&app).await.pending,
        "the store pipeline marks its changes"
    );
    // Whole days come from the rollups: until the refresher ran, they lag.
    assert_eq!(count(&app).await, 0);

    // Another worker holds the organization: this one skips it and the marks stay.
    let held = hold_state_row(&app, org).await;
    assert_eq!(
        insights_worker::analytics::refresh_once(&state)
            .await
            .unwrap(),
        0
    );
    assert!(status(&app).await.pending);
    held.commit().await.unwrap();

    assert_eq!(
        insights_worker::analytics::refresh_once(&state)
            .await
            .unwrap(),
        1
    );
    let after = status(&app).await;
    assert!(!after.pending && after.version > before.version && after.refreshed_at.is_some());
    assert_eq!(count(&app).await, 3);

    // A change no metric reads marks nothing; one that moves an incident does.
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query("UPDATE incidents SET description = 'edited', tags = '{x}' WHERE org_id = $1")
        .bind(org.0)
        .execute(db.conn())
        .await
        .unwrap();
    db.commit().await.unwrap();
    assert!(!status(&app).await.pending);
    assert_eq!(
        insights_worker::analytics::refresh_once(&state)
            .await
            .unwrap(),
        0
    );
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query("UPDATE incidents SET triggered_at = triggered_at - interval '30 days' WHERE org_id = $1 AND external_id = 'inc-0'")
        .bind(org.0)
        .execute(db.conn())
        .await
        .unwrap();
    db.commit().await.unwrap();
    assert!(status(&app).await.pending);
    assert_eq!(
        insights_worker::analytics::refresh_once(&state)
            .await
            .unwrap(),
        1
    );
    assert_eq!(count(&app).await, 2, "the moved incident left the period");
    assert_eq!(status(&app).await.version, after.version + 1);
}

/// The newest `created_at` of `org`'s day rollups before `before` (read as the owner of the tables).
async fn day_rows_written(app: &TestApp, org: OrgId, before: NaiveDate) -> Option<DateTime<Utc>> {
    use sqlx::Connection;
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query_scalar(
        "SELECT max(created_at) FROM analytics_rollups WHERE org_id = $1 AND grain = 'day' AND period < $2",
    )
    .bind(org.0)
    .bind(before)
    .fetch_one(&mut c)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_recomputation_resumes_from_its_checkpoint_and_ends_exact() {
    let mut rng = StdRng::seed_from_u64(77);
    let app = TestApp::spawn(&[("INSIGHTS_ANALYTICS_REFRESH_MS", "50")])
        .await
        .with_worker()
        .await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    store(&app, org, &history(&mut rng, 200)).await; // 16 February to 12 April
    settle(&app, org).await;

    // A change of zone whose first attempt recomputed February, saved its checkpoint, and died.
    let berlin = AnalyticsSettings {
        time_zone: "Europe/Berlin".to_owned(),
        ..AnalyticsSettings::default()
    };
    let month = |m: u32| NaiveDate::from_ymd_opt(2026, m, 1).unwrap();
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    let (_, job) = analytics::update_settings(&mut db, &app.state.jobs, &berlin)
        .await
        .unwrap();
    let job = job.unwrap();
    let id = job.job_run_id();
    analytics::recompute_month(&mut db, month(2)).await.unwrap();
    insights_core::db::job_runs::set_checkpoint(
        &mut db,
        id,
        &serde_json::json!({ "months": [month(2), month(5)], "next": month(3) }),
    )
    .await
    .unwrap();
    db.commit().await.unwrap();
    let february = day_rows_written(&app, org, month(3)).await;
    assert!(february.is_some());

    app.state.jobs.push(job).await;
    let run = app.wait_for_job(&owner.token, org, id).await;
    assert_eq!(run.state, JobState::Succeeded, "{run:?}");
    assert_eq!(
        run.progress,
        serde_json::json!({ "total": 3, "processed": 3 })
    );
    settle(&app, org).await;
    // February was not done again, and every answer is exact.
    assert_eq!(day_rows_written(&app, org, month(3)).await, february);
    compare(&app, org, &berlin, &mut rng, 15).await;
}
