//! Schedules: a cron expression read in an IANA time zone, and the times it fires (UTC).
//!
//! Five fields (minute hour day-of-month month day-of-week) or six with seconds first; names (`MON`, `JAN`),
//! ranges, steps and lists, `L`, `#`, and the nicknames `@hourly`, `@daily`, `@weekly`, `@monthly`,
//! `@yearly`. Day-of-month and day-of-week given together match either (as in Vixie cron).
//!
//! Daylight saving is followed as Vixie cron does. A schedule at fixed times keeps its wall-clock time:
//! `0 9 * * *` in `Europe/Paris` fires at 09:00 Paris time all year (07:00 UTC in summer, 08:00 UTC in winter);
//! a fixed time that does not exist on the day clocks go forward (02:30 in a skipped hour) fires once, right
//! after the gap; one that exists twice on the day clocks go back fires once, at its first occurrence. A
//! schedule at intervals — its minute or hour field is a wildcard (`*/15 * * * *`, `0 * * * *`) — keeps its
//! rhythm in real time: nothing fires in a skipped hour, and a repeated hour fires in both of its passes.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// How far ahead a schedule is searched for its next time (a `30 2 30 2 *` never fires).
const HORIZON_DAYS: i64 = 5 * 366;

/// A schedule that cannot be read, in a sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first; this one has {0}"
    )]
    Fields(usize),
    #[error("the cron expression is not valid: {0}")]
    Cron(String),
    #[error("{0:?} is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)")]
    TimeZone(String),
    #[error("the cron expression never fires (no time matches it in the next five years)")]
    Never,
}

/// A parsed schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
    /// Its minute or hour field is a wildcard: it follows real time across clock changes.
    interval: bool,
}

impl Schedule {
    /// Parses `cron` read in the time zone `tz` (an IANA name).
    pub fn parse(cron: &str, tz: &str) -> Result<Schedule, ScheduleError> {
        let expr = cron.trim();
        let fields = expr.split_whitespace().count();
        let nickname = expr.starts_with('@');
        if !nickname && !(fields == 5 || fields == 6) {
            return Err(ScheduleError::Fields(fields));
        }
        let tz: Tz = tz
            .trim()
            .parse()
            .map_err(|_| ScheduleError::TimeZone(tz.to_owned()))?;
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(expr)
            .map_err(|e| ScheduleError::Cron(e.to_string()))?;
        let interval = if nickname {
            expr.eq_ignore_ascii_case("@hourly")
        } else {
            let f: Vec<&str> = expr.split_whitespace().collect();
            let (minute, hour) = if fields == 6 {
                (f[1], f[2])
            } else {
                (f[0], f[1])
            };
            minute.starts_with('*') || hour.starts_with('*')
        };
        let schedule = Schedule { cron, tz, interval };
        // Any date that exists comes back within five years (29 February included).
        let reference = DateTime::<Utc>::UNIX_EPOCH + Duration::days(19_723); // 2024-01-01
        if schedule.next_after(reference).is_none() {
            return Err(ScheduleError::Never);
        }
        Ok(schedule)
    }

    /// The time zone it is read in.
    #[must_use]
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The first time it fires strictly after `after`, if any within five years.
    #[must_use]
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Wall-clock candidates, in order, each mapped to the instants it fires at. A candidate's instants are
        // within a clock change (under 3 h) of its wall-clock time read at any nearby offset, so candidates
        // more than 3 h before `after`'s wall-clock time cannot fire after it, and once one fires, candidates
        // more than 3 h past that one's wall-clock time cannot fire before it.
        let start = after.with_timezone(&self.tz).naive_local();
        // Away from a clock change (the usual case) wall-clock and real time move together: start right at
        // `after` and stop at the first time found.
        let mut cursor = if self.steady_around(after) {
            start
        } else {
            start - Duration::hours(3)
        };
        let limit = start + Duration::days(HORIZON_DAYS);
        let mut best: Option<(DateTime<Utc>, NaiveDateTime)> = None;
        for _ in 0..500_000 {
            let next = self.next_naive(cursor)?;
            if next > limit {
                break;
            }
            if let Some((_, best_local)) = best
                && next > best_local + Duration::hours(3)
            {
                break;
            }
            for at in self.instants(next).into_iter().flatten() {
                if at > after && best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, at.with_timezone(&self.tz).naive_local()));
                }
            }
            if let Some((b, _)) = best
                && self.steady_around(b)
            {
                break;
            }
            cursor = next;
        }
        best.map(|(at, _)| at)
    }

    /// The next `n` times it fires after `after`.
    #[must_use]
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = after;
        while out.len() < n {
            match self.next_after(at) {
                Some(next) => {
                    out.push(next);
                    at = next;
                }
                None => break,
            }
        }
        out
    }

    /// The next wall-clock time matching the expression strictly after `after` (as naive local time).
    fn next_naive(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        // croner walks naive times when given a zone without transitions.
        let start = Utc.from_utc_datetime(&after);
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|d| d.naive_utc())
    }

    /// Whether the zone's offset is the same from 3 h before `at` to 3 h after (no clock change near it).
    fn steady_around(&self, at: DateTime<Utc>) -> bool {
        let offset = |t: DateTime<Utc>| self.tz.offset_from_utc_datetime(&t.naive_utc()).fix();
        let here = offset(at);
        offset(at - Duration::hours(3)) == here && offset(at + Duration::hours(3)) == here
    }

    /// The instants a wall-clock time fires at: once when it exists once; at a fall-back, the first pass only
    /// (fixed times) or both (intervals); in a spring-forward gap, right after the gap (fixed times) or never
    /// (intervals).
    fn instants(&self, local: NaiveDateTime) -> [Option<DateTime<Utc>>; 2] {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(d) => [Some(d.with_timezone(&Utc)), None],
            LocalResult::Ambiguous(first, second) => [
                Some(first.with_timezone(&Utc)),
                self.interval.then(|| second.with_timezone(&Utc)),
            ],
            LocalResult::None if self.interval => [None, None],
            LocalResult::None => [self.after_gap(local), None],
        }
    }

    /// The first valid minute after the gap `local` falls in.
    fn after_gap(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let mut probe = local.with_second(0).unwrap_or(local);
        for _ in 0..(4 * 60) {
            probe += Duration::minutes(1);
            if let LocalResult::Single(d) | LocalResult::Ambiguous(d, _) =
                self.tz.from_local_datetime(&probe)
            {
                return Some(d.with_timezone(&Utc));
            }
        }
        None
    }
}
