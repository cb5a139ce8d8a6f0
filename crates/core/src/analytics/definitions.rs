//! The definitions of `docs/METRICS.md`, once: what one incident contributes to the analytics (its local day
//! and hour, time to acknowledge and resolve, off-hours, sleep hours, noise), given the organization's
//! settings read as a [`Calendar`]. Rollups and raw queries both go through [`fact`], so they cannot disagree.
//! Pure: no I/O.

use super::AnalyticsError;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use insights_types::api::{AnalyticsSettings, IncidentStatus};
use std::collections::HashSet;

/// The most holidays a setting holds.
pub const MAX_HOLIDAYS: usize = 400;

/// An organization's settings, read for computing: its time zone, business hours (minutes of the day per ISO
/// weekday, Monday first), night window, holidays and noise threshold.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub tz: Tz,
    business: [Option<(u16, u16)>; 7],
    night: (u16, u16),
    holidays: HashSet<NaiveDate>,
    /// Auto-resolved: resolved within this many milliseconds, never acknowledged.
    noise_ms: i64,
}

impl Calendar {
    /// Validates settings: a known IANA zone, business hours that start before they end, at most
    /// [`MAX_HOLIDAYS`] holidays, a noise threshold of 1–1440 minutes.
    pub fn new(s: &AnalyticsSettings) -> Result<Calendar, AnalyticsError> {
        let invalid = |field: &str, message: String| {
            Err(AnalyticsError::InvalidSetting(field.to_owned(), message))
        };
        let Ok(tz) = s.time_zone.parse::<Tz>() else {
            return invalid(
                "time_zone",
                format!(
                    "`{}` is not an IANA time zone (e.g. Europe/Berlin).",
                    s.time_zone
                ),
            );
        };
        let mut business = [None; 7];
        for (i, name) in WEEKDAYS.iter().enumerate() {
            if let Some(r) = s.business_hours.day(i as u8 + 1) {
                if r.start >= r.end {
                    return invalid(
                        &format!("business_hours.{name}"),
                        "Business hours must start before they end.".to_owned(),
                    );
                }
                business[i] = Some((r.start.minutes(), r.end.minutes()));
            }
        }
        if s.holidays.len() > MAX_HOLIDAYS {
            return invalid("holidays", format!("At most {MAX_HOLIDAYS} holidays."));
        }
        if !(1..=1440).contains(&s.noise_auto_resolve_minutes) {
            return invalid(
                "noise_auto_resolve_minutes",
                "From 1 to 1440 minutes.".to_owned(),
            );
        }
        Ok(Calendar {
            tz,
            business,
            night: (s.night.start.minutes(), s.night.end.minutes()),
            holidays: s.holidays.iter().copied().collect(),
            noise_ms: i64::from(s.noise_auto_resolve_minutes) * 60_000,
        })
    }

    /// The local date of an instant.
    #[must_use]
    pub fn date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The instant a local day starts: its first existing instant (local midnight, or the end of a gap when
    /// the clocks jump over midnight).
    #[must_use]
    pub fn day_start(&self, day: NaiveDate) -> DateTime<Utc> {
        let mut local = day.and_time(NaiveTime::MIN);
        // A gap is at most a few hours long; step through it by minutes.
        for _ in 0..(24 * 60) {
            if let Some(t) = self.tz.from_local_datetime(&local).earliest() {
                return t.with_timezone(&Utc);
            }
            local += chrono::Duration::minutes(1);
        }
        Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
    }

    /// Whether an incident created at this local time is off-hours: on a holiday, on a day without business
    /// hours, or outside that day's hours.
    fn off_hours(&self, date: NaiveDate, weekday: usize, minute: u16) -> bool {
        if self.holidays.contains(&date) {
            return true;
        }
        match self.business[weekday] {
            None => true,
            Some((start, end)) => minute < start || minute >= end,
        }
    }

    /// Whether this local minute of the day is inside the night window (which may wrap midnight).
    fn sleep_hours(&self, minute: u16) -> bool {
        let (start, end) = self.night;
        if start <= end {
            minute >= start && minute < end
        } else {
            minute >= start || minute < end
        }
    }
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// What the definitions need of an incident.
#[derive(Clone, Debug)]
pub struct IncidentTimes {
    pub status: IncidentStatus,
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Whether an earlier incident of the same service (none counting as one) with the same title (trimmed,
    /// case-insensitive) was created less than an hour before; ties broken by (creation, id).
    pub repeat: bool,
}

/// What one incident contributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fact {
    /// The local date of its creation.
    pub date: NaiveDate,
    /// Its local hour of the week: 0 is Monday 00:00–01:00, 167 Sunday 23:00.
    pub week_hour: u8,
    pub acknowledged: bool,
    pub resolved: bool,
    /// First acknowledgement − creation, in milliseconds (clamped at 0).
    pub tta_ms: Option<i64>,
    /// Resolution − creation, in milliseconds (clamped at 0), for a resolved incident.
    pub ttr_ms: Option<i64>,
    pub off_hours: bool,
    pub sleep_hours: bool,
    pub auto_resolved: bool,
    pub never_acknowledged: bool,
    pub repeat: bool,
}

impl Fact {
    /// Noise of any kind.
    #[must_use]
    pub fn noisy(&self) -> bool {
        self.auto_resolved || self.never_acknowledged || self.repeat
    }
}

/// The analytics facts of one incident.
#[must_use]
pub fn fact(cal: &Calendar, i: &IncidentTimes) -> Fact {
    let local = i.triggered_at.with_timezone(&cal.tz);
    let date = local.date_naive();
    let weekday = local.weekday().num_days_from_monday() as usize;
    let minute = (local.hour() * 60 + local.minute()) as u16;
    let since_creation = |t: DateTime<Utc>| (t - i.triggered_at).num_milliseconds().max(0);
    let resolved = i.status == IncidentStatus::Resolved;
    let tta_ms = i.acknowledged_at.map(since_creation);
    let ttr_ms = i.resolved_at.filter(|_| resolved).map(since_creation);
    let never_acknowledged = i.acknowledged_at.is_none();
    Fact {
        date,
        week_hour: (weekday * 24) as u8 + local.hour() as u8,
        acknowledged: !never_acknowledged,
        resolved,
        tta_ms,
        ttr_ms,
        off_hours: cal.off_hours(date, weekday, minute),
        sleep_hours: cal.sleep_hours(minute),
        auto_resolved: never_acknowledged && ttr_ms.is_some_and(|ms| ms <= cal.noise_ms),
        never_acknowledged,
        repeat: i.repeat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insights_types::api::{ClockTime, TimeRange};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cal(tz: &str, f: impl FnOnce(&mut AnalyticsSettings)) -> Calendar {
        let mut s = AnalyticsSettings {
            time_zone: tz.to_owned(),
            ..AnalyticsSettings::default()
        };
        f(&mut s);
        Calendar::new(&s).unwrap()
    }

    fn incident(t: &str) -> IncidentTimes {
        IncidentTimes {
            status: IncidentStatus::Triggered,
            triggered_at: at(t),
            acknowledged_at: None,
            resolved_at: None,
            repeat: false,
        }
    }

    fn range(s: &str, e: &str) -> TimeRange {
        TimeRange {
            start: ClockTime::parse(s).unwrap(),
            end: ClockTime::parse(e).unwrap(),
        }
    }

    #[test]
    fn business_hours_are_read_in_local_time_across_dst_changes() {
        let ny = cal("America/New_York", |_| {});
        // 2026-03-08: clocks jump from 02:00 to 03:00 (EST −5 → EDT −4). 13:30 UTC is 09:30 EDT (inside),
        // and the day before 13:30 UTC was 08:30 EST (outside).
        let f = fact(&ny, &incident("2026-03-09T13:30:00Z"));
        assert!(!f.off_hours);
        assert_eq!(f.week_hour, 9);
        let f = fact(&ny, &incident("2026-03-06T13:30:00Z"));
        assert!(f.off_hours, "08:30 EST on a Friday is before 09:00");
        // The DST day itself is a Sunday: off-hours all day; its local day starts at 05:00 UTC and lasts 23 h.
        assert!(fact(&ny, &incident("2026-03-08T15:00:00Z")).off_hours);
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(ny.day_start(d), at("2026-03-08T05:00:00Z"));
        assert_eq!(
            ny.day_start(d.succ_opt().unwrap()) - ny.day_start(d),
            chrono::Duration::hours(23)
        );

        let berlin = cal("Europe/Berlin", |_| {});
        // 2026-10-25: clocks go back from 03:00 to 02:00 (CEST +2 → CET +1): a 25-hour local day.
        let d = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        assert_eq!(berlin.day_start(d), at("2026-10-24T22:00:00Z"));
        assert_eq!(
            berlin.day_start(d.succ_opt().unwrap()) - berlin.day_start(d),
            chrono::Duration::hours(25)
        );
        // Monday after: 08:00 UTC is 09:00 CET (inside); on the Friday before, 07:30 UTC was 09:30 CEST.
        assert!(!fact(&berlin, &incident("2026-10-26T08:00:00Z")).off_hours);
        assert!(fact(&berlin, &incident("2026-10-26T07:30:00Z")).off_hours);
        assert!(!fact(&berlin, &incident("2026-10-23T07:30:00Z")).off_hours);
        assert_eq!(
            fact(&berlin, &incident("2026-10-23T07:30:00Z")).date,
            NaiveDate::from_ymd_opt(2026, 10, 23).unwrap()
        );
    }

    #[test]
    fn a_half_hour_zone_shifts_hours_and_dates_by_the_half_hour() {
        let kolkata = cal("Asia/Kolkata", |_| {});
        // 18:29 UTC is 23:59 IST on the same day; 18:30 UTC is 00:00 IST the next day.
        let f = fact(&kolkata, &incident("2026-06-01T18:29:00Z"));
        assert_eq!(f.date, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        assert_eq!(f.week_hour, 23, "Monday 23:xx");
        let f = fact(&kolkata, &incident("2026-06-01T18:30:00Z"));
        assert_eq!(f.date, NaiveDate::from_ymd_opt(2026, 6, 2).unwrap());
        assert_eq!(f.week_hour, 24, "Tuesday 00:xx");
        // 03:29 UTC is 08:59 IST (off), 03:30 UTC 09:00 IST (inside).
        assert!(fact(&kolkata, &incident("2026-06-02T03:29:00Z")).off_hours);
        assert!(!fact(&kolkata, &incident("2026-06-02T03:30:00Z")).off_hours);
    }

    #[test]
    fn the_night_window_may_wrap_midnight() {
        let utc = cal("UTC", |s| s.night = range("22:00", "07:00"));
        assert!(fact(&utc, &incident("2026-06-01T23:00:00Z")).sleep_hours);
        assert!(fact(&utc, &incident("2026-06-01T03:00:00Z")).sleep_hours);
        assert!(fact(&utc, &incident("2026-06-01T22:00:00Z")).sleep_hours);
        assert!(!fact(&utc, &incident("2026-06-01T07:00:00Z")).sleep_hours);
        assert!(!fact(&utc, &incident("2026-06-01T12:00:00Z")).sleep_hours);
        let day = cal("UTC", |s| s.night = range("01:00", "05:00"));
        assert!(day.sleep_hours(60) && !day.sleep_hours(300) && !day.sleep_hours(0));
    }

    #[test]
    fn holidays_and_weekends_are_off_hours_all_day() {
        let c = cal("Europe/Berlin", |s| {
            s.holidays = vec![NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()];
        });
        // Friday 25 December, 10:00 CET: a holiday.
        assert!(fact(&c, &incident("2026-12-25T09:00:00Z")).off_hours);
        // Thursday 24 December, 10:00 CET: a working day.
        assert!(!fact(&c, &incident("2026-12-24T09:00:00Z")).off_hours);
        // 23:30 UTC on the 24th is already the 25th in Berlin.
        assert!(fact(&c, &incident("2026-12-24T23:30:00Z")).off_hours);
        // Saturday.
        assert!(fact(&c, &incident("2026-12-26T10:00:00Z")).off_hours);
    }

    #[test]
    fn response_times_and_noise_follow_the_definitions() {
        let c = cal("UTC", |s| s.noise_auto_resolve_minutes = 5);
        let mut i = incident("2026-06-01T10:00:00Z");
        i.status = IncidentStatus::Resolved;
        i.resolved_at = Some(at("2026-06-01T10:05:00Z"));
        let f = fact(&c, &i);
        assert_eq!((f.tta_ms, f.ttr_ms), (None, Some(300_000)));
        assert!(f.auto_resolved && f.never_acknowledged && f.noisy() && f.resolved);
        i.resolved_at = Some(at("2026-06-01T10:05:01Z"));
        assert!(!fact(&c, &i).auto_resolved);
        // An acknowledgement before creation (clock skew) clamps to 0.
        i.acknowledged_at = Some(at("2026-06-01T09:59:00Z"));
        let f = fact(&c, &i);
        assert_eq!(f.tta_ms, Some(0));
        assert!(!f.noisy() && f.acknowledged);
        // Not resolved: no time to resolve, even with a stray resolution time.
        i.status = IncidentStatus::Acknowledged;
        assert_eq!(fact(&c, &i).ttr_ms, None);
        i.repeat = true;
        assert!(fact(&c, &i).noisy());
    }

    #[test]
    fn settings_are_validated_field_by_field() {
        let field = |f: fn(&mut AnalyticsSettings)| {
            let mut s = AnalyticsSettings::default();
            f(&mut s);
            match Calendar::new(&s) {
                Err(AnalyticsError::InvalidSetting(field, _)) => field,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(field(|s| s.time_zone = "Mars/Olympus".into()), "time_zone");
        assert_eq!(
            field(|s| s.business_hours.tuesday = Some(range("17:00", "09:00"))),
            "business_hours.tuesday"
        );
        assert_eq!(
            field(|s| s.holidays = vec![NaiveDate::MIN; 401]),
            "holidays"
        );
        assert_eq!(
            field(|s| s.noise_auto_resolve_minutes = 0),
            "noise_auto_resolve_minutes"
        );
        assert_eq!(
            field(|s| s.noise_auto_resolve_minutes = 1441),
            "noise_auto_resolve_minutes"
        );
        assert!(Calendar::new(&AnalyticsSettings::default()).is_ok());
    }
}
