//! Time arithmetic in the organization's zone: bucket grids aligned to local hours, days, weeks (Monday) and
//! months, and the cover of a period by whole local months, whole local days and raw edges. Pure.

use super::AnalyticsError;
use super::definitions::Calendar;
use super::store::Grain;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use insights_types::api::Bucket;

/// The most buckets a time series has.
pub const MAX_BUCKETS: usize = 1000;

#[must_use]
pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

#[must_use]
pub fn next_month(d: NaiveDate) -> NaiveDate {
    let m = first_of_month(d);
    if m.month() == 12 {
        NaiveDate::from_ymd_opt(m.year() + 1, 1, 1).expect("valid date")
    } else {
        NaiveDate::from_ymd_opt(m.year(), m.month() + 1, 1).expect("valid date")
    }
}

/// A nominal length, to refuse a grid before building it.
fn nominal(bucket: Bucket) -> Duration {
    match bucket {
        Bucket::Hour => Duration::hours(1),
        Bucket::Day => Duration::days(1),
        Bucket::Week => Duration::days(7),
        Bucket::Month => Duration::days(28),
    }
}

/// The bucket a time series of `[since, until)` uses when none is asked: about 24–120 points.
#[must_use]
pub fn default_bucket(since: DateTime<Utc>, until: DateTime<Utc>) -> Bucket {
    let len = until - since;
    if len <= Duration::days(3) {
        Bucket::Hour
    } else if len <= Duration::days(120) {
        Bucket::Day
    } else if len <= Duration::days(2 * 366) {
        Bucket::Week
    } else {
        Bucket::Month
    }
}

/// The finest bucket giving at most 60 points over `[since, until)` (sparklines).
#[must_use]
pub fn sparkline_bucket(since: DateTime<Utc>, until: DateTime<Utc>) -> Bucket {
    let len = until - since;
    [Bucket::Hour, Bucket::Day, Bucket::Week]
        .into_iter()
        .find(|b| len <= nominal(*b) * 60)
        .unwrap_or(Bucket::Month)
}

/// The starts of the buckets covering `[since, until)`, aligned in the organization's zone; the first is
/// `since` itself (a bucket cut by the period starts where the period does). Refuses more than
/// [`MAX_BUCKETS`].
pub fn grid(
    cal: &Calendar,
    bucket: Bucket,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, AnalyticsError> {
    let name = match bucket {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
        Bucket::Week => "week",
        Bucket::Month => "month",
    };
    if until <= since {
        return Ok(Vec::new());
    }
    if (until - since).num_seconds() / nominal(bucket).num_seconds() > MAX_BUCKETS as i64 + 1 {
        return Err(AnalyticsError::Invalid(format!(
            "More than {MAX_BUCKETS} buckets of one {name}: choose a wider bucket or a shorter period."
        )));
    }
    let mut starts = vec![since];
    match bucket {
        Bucket::Hour => {
            // Local hours: the start of the hour of `since` in the zone, then hour after hour.
            let local = since.with_timezone(&cal.tz);
            let into_hour = Duration::seconds(i64::from(local.minute() * 60 + local.second()))
                + Duration::nanoseconds(i64::from(local.nanosecond()));
            let mut t = since - into_hour + Duration::hours(1);
            while t < until {
                starts.push(t);
                t += Duration::hours(1);
            }
        }
        Bucket::Day | Bucket::Week | Bucket::Month => {
            let step = |d: NaiveDate| match bucket {
                Bucket::Day => d + Duration::days(1),
                Bucket::Week => d + Duration::days(7),
                _ => next_month(d),
            };
            let first = cal.date(since);
            let mut d = match bucket {
                Bucket::Day => first,
                Bucket::Week => monday_of(first),
                _ => first_of_month(first),
            };
            loop {
                d = step(d);
                let t = cal.day_start(d);
                if t >= until {
                    break;
                }
                if t > since {
                    starts.push(t);
                }
            }
        }
    }
    if starts.len() > MAX_BUCKETS {
        return Err(AnalyticsError::Invalid(format!(
            "More than {MAX_BUCKETS} buckets of one {name}: choose a wider bucket or a shorter period."
        )));
    }
    Ok(starts)
}

/// The index of the bucket holding `t` (`starts` from [`grid`], `t` not before the first).
#[must_use]
pub fn bucket_index(starts: &[DateTime<Utc>], t: DateTime<Utc>) -> usize {
    starts.partition_point(|s| *s <= t).saturating_sub(1)
}

/// Which rollup grains fit a query's buckets: a row of a grain must fall in one bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grains {
    pub weeks: bool,
    pub months: bool,
}

impl Grains {
    /// The grains whose rows never straddle a bucket of `bucket` (`None`: a single bucket). Weeks straddle
    /// months.
    #[must_use]
    pub fn for_bucket(bucket: Option<Bucket>) -> Grains {
        match bucket {
            None => Grains {
                weeks: true,
                months: true,
            },
            Some(Bucket::Month) => Grains {
                weeks: false,
                months: true,
            },
            Some(Bucket::Week) => Grains {
                weeks: true,
                months: false,
            },
            Some(Bucket::Day | Bucket::Hour) => Grains {
                weeks: false,
                months: false,
            },
        }
    }
}

/// How a period is read: raw incidents for its edges, and rollups of whole local days, weeks and months.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cover {
    /// `[from, to)` instants read from the incidents.
    pub raw: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// `[from, to)` local dates read from rollups of a grain (a week or month range starts on a Monday or a
    /// first of the month and ends on one).
    pub rollups: Vec<(Grain, NaiveDate, NaiveDate)>,
}

/// Covers `[since, until)` with the coarsest rollups `grains` allows, whole local days around them, and raw
/// edges; everything raw when `raw_only`.
#[must_use]
pub fn cover(
    cal: &Calendar,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    grains: Grains,
    raw_only: bool,
) -> Cover {
    let mut c = Cover::default();
    if until <= since {
        return c;
    }
    if raw_only {
        c.raw.push((since, until));
        return c;
    }
    // Whole days: those starting at or after `since` and ending at or before `until`.
    let mut d0 = cal.date(since);
    if cal.day_start(d0) < since {
        d0 += Duration::days(1);
    }
    let d_end = cal.date(until);
    if d0 >= d_end {
        c.raw.push((since, until));
        return c;
    }
    let (start, end) = (cal.day_start(d0), cal.day_start(d_end));
    if since < start {
        c.raw.push((since, start));
    }
    if end < until {
        c.raw.push((end, until));
    }
    cover_days(&mut c.rollups, d0, d_end, grains);
    c
}

/// Covers the local days `[from, to)` with months, then weeks, then days.
fn cover_days(
    out: &mut Vec<(Grain, NaiveDate, NaiveDate)>,
    from: NaiveDate,
    to: NaiveDate,
    grains: Grains,
) {
    if from >= to {
        return;
    }
    if grains.months {
        let m0 = if from.day() == 1 {
            from
        } else {
            next_month(from)
        };
        let m1 = first_of_month(to);
        if m0 < m1 {
            let inner = Grains {
                months: false,
                ..grains
            };
            cover_days(out, from, m0, inner);
            out.push((Grain::Month, m0, m1));
            cover_days(out, m1, to, inner);
            return;
        }
    }
    if grains.weeks {
        let w0 = from + Duration::days(i64::from((7 - from.weekday().num_days_from_monday()) % 7));
        let w1 = to - Duration::days(i64::from(to.weekday().num_days_from_monday()));
        if w0 < w1 {
            if from < w0 {
                out.push((Grain::Day, from, w0));
            }
            out.push((Grain::Week, w0, w1));
            if w1 < to {
                out.push((Grain::Day, w1, to));
            }
            return;
        }
    }
    out.push((Grain::Day, from, to));
}

/// The Monday of a date's week.
#[must_use]
pub fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use insights_types::api::AnalyticsSettings;

    fn cal(tz: &str) -> Calendar {
        Calendar::new(&AnalyticsSettings {
            time_zone: tz.to_owned(),
            ..AnalyticsSettings::default()
        })
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_period_is_covered_by_months_weeks_days_and_raw_edges_without_gaps() {
        let c = cal("Europe/Berlin");
        let (since, until) = (at("2026-01-20T10:00:00Z"), at("2026-05-03T12:00:00Z"));
        let all = Grains::for_bucket(None);
        let cv = cover(&c, since, until, all, false);
        assert_eq!(
            cv.raw,
            vec![
                (since, at("2026-01-20T23:00:00Z")),
                (at("2026-05-02T22:00:00Z"), until)
            ]
        );
        // 2026-01-21 is a Wednesday; 2026-01-26 a Monday; 2026-05-03 a Sunday.
        assert_eq!(
            cv.rollups,
            vec![
                (Grain::Day, date(2026, 1, 21), date(2026, 2, 1)),
                (Grain::Month, date(2026, 2, 1), date(2026, 5, 1)),
                (Grain::Day, date(2026, 5, 1), date(2026, 5, 3)),
            ]
        );
        // Whole weeks before and after whole months.
        let long = cover(
            &c,
            at("2026-01-04T23:00:00Z"),
            at("2026-05-24T22:00:00Z"),
            all,
            false,
        );
        assert!(long.raw.is_empty());
        assert_eq!(
            long.rollups,
            vec![
                (Grain::Week, date(2026, 1, 5), date(2026, 1, 26)),
                (Grain::Day, date(2026, 1, 26), date(2026, 2, 1)),
                (Grain::Month, date(2026, 2, 1), date(2026, 5, 1)),
                (Grain::Day, date(2026, 5, 1), date(2026, 5, 4)),
                (Grain::Week, date(2026, 5, 4), date(2026, 5, 25)),
            ]
        );
        let weeks = cover(
            &c,
            since,
            until,
            Grains::for_bucket(Some(Bucket::Week)),
            false,
        );
        assert_eq!(
            weeks.rollups,
            vec![
                (Grain::Day, date(2026, 1, 21), date(2026, 1, 26)),
                (Grain::Week, date(2026, 1, 26), date(2026, 4, 27)),
                (Grain::Day, date(2026, 4, 27), date(2026, 5, 3)),
            ]
        );
        let days = cover(
            &c,
            since,
            until,
            Grains::for_bucket(Some(Bucket::Day)),
            false,
        );
        assert_eq!(
            days.rollups,
            vec![(Grain::Day, date(2026, 1, 21), date(2026, 5, 3))]
        );
        // Shorter than a day, or raw only.
        let short = cover(&c, since, since + Duration::hours(20), all, false);
        assert_eq!(short.raw, vec![(since, since + Duration::hours(20))]);
        assert!(short.rollups.is_empty());
        assert_eq!(cover(&c, since, until, all, true).raw, vec![(since, until)]);
    }

    #[test]
    fn grids_align_to_local_hours_days_weeks_and_months() {
        let k = cal("Asia/Kolkata");
        let g = grid(
            &k,
            Bucket::Hour,
            at("2026-06-01T10:10:00Z"),
            at("2026-06-01T13:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            g,
            vec![
                at("2026-06-01T10:10:00Z"),
                at("2026-06-01T10:30:00Z"),
                at("2026-06-01T11:30:00Z"),
                at("2026-06-01T12:30:00Z")
            ]
        );
        let ny = cal("America/New_York");
        // Weeks start on Monday local midnight; the week of the DST change is 167 hours long.
        let g = grid(
            &ny,
            Bucket::Week,
            at("2026-03-04T00:00:00Z"),
            at("2026-03-20T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            g,
            vec![
                at("2026-03-04T00:00:00Z"),
                at("2026-03-09T04:00:00Z"),
                at("2026-03-16T04:00:00Z")
            ]
        );
        let g = grid(
            &ny,
            Bucket::Month,
            at("2026-01-15T00:00:00Z"),
            at("2026-04-01T04:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            g,
            vec![
                at("2026-01-15T00:00:00Z"),
                at("2026-02-01T05:00:00Z"),
                at("2026-03-01T05:00:00Z")
            ]
        );
        assert_eq!(bucket_index(&g, at("2026-02-10T00:00:00Z")), 1);
        assert_eq!(bucket_index(&g, at("2026-03-01T05:00:00Z")), 2);
        assert_eq!(bucket_index(&g, at("2026-01-15T00:00:00Z")), 0);
    }

    #[test]
    fn too_many_buckets_are_refused_with_a_hint() {
        let c = cal("UTC");
        let err = grid(
            &c,
            Bucket::Hour,
            at("2025-01-01T00:00:00Z"),
            at("2026-01-01T00:00:00Z"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("wider bucket"), "{err}");
        assert!(
            grid(
                &c,
                Bucket::Day,
                at("2025-01-01T00:00:00Z"),
                at("2026-01-01T00:00:00Z")
            )
            .is_ok()
        );
    }

    #[test]
    fn default_and_sparkline_buckets_follow_the_length() {
        let t = at("2026-01-01T00:00:00Z");
        assert_eq!(default_bucket(t, t + Duration::days(1)), Bucket::Hour);
        assert_eq!(default_bucket(t, t + Duration::days(30)), Bucket::Day);
        assert_eq!(default_bucket(t, t + Duration::days(365)), Bucket::Week);
        assert_eq!(default_bucket(t, t + Duration::days(1500)), Bucket::Month);
        assert_eq!(sparkline_bucket(t, t + Duration::days(1)), Bucket::Hour);
        assert_eq!(sparkline_bucket(t, t + Duration::days(30)), Bucket::Day);
        assert_eq!(sparkline_bucket(t, t + Duration::days(365)), Bucket::Week);
        assert_eq!(sparkline_bucket(t, t + Duration::days(1500)), Bucket::Month);
    }
}
