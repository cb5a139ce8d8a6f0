//! Schedules: a cron expression read in an IANA time zone, and the times it fires (UTC).
//!
//! Five fields (minute hour day-of-month month day-of-week) or six with seconds first; names (`MON`, `JAN`),
//! ranges, steps and lists, `L`, `#`, and the nicknames `@hourly`, `@daily`, `@weekly`, `@monthly`,
//! `@yearly`. Day-of-month and day-of-week given together match either (as in Vixie cron).
//!
//! Daylight saving is followed in wall-clock time: `0 9 * * *` in `Europe/Paris` fires at 09:00 Paris time
//! all year (08:00 UTC in summer, 07:00 UTC in winter... the offset changes, the wall clock does not). A time
//! that does not exist on the day clocks go forward (02:30 in a skipped hour) fires once, right after the gap;
//! a time that exists twice on the day clocks go back fires once, at its first occurrence.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
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
        let schedule = Schedule { cron, tz };
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
        // Wall-clock candidates map to instants monotonically (a repeated hour maps to its first pass, a
        // skipped time to the end of the gap), and no candidate before `after`'s own wall-clock time maps to an
        // instant after it: the answer is the first candidate from there whose instant is later than `after`.
        let mut cursor = after.with_timezone(&self.tz).naive_local();
        let limit = cursor + Duration::days(HORIZON_DAYS);
        for _ in 0..200_000 {
            let next = self.next_naive(cursor)?;
            if next > limit {
                return None;
            }
            if let Some(at) = self.instant(next)
                && at > after
            {
                return Some(at);
            }
            cursor = next;
        }
        None
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

    /// The instant of a wall-clock time: the first of two at a fall-back, the end of the gap at a spring-forward.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(d) => Some(d.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            LocalResult::None => {
                // In a gap: the first valid minute after it.
                let mut probe = local;
                for _ in 0..(4 * 60) {
                    probe += Duration::minutes(1);
                    let probe = probe.with_second(0).unwrap_or(probe);
                    if let LocalResult::Single(d) | LocalResult::Ambiguous(d, _) =
                        self.tz.from_local_datetime(&probe)
                    {
                        return Some(d.with_timezone(&Utc));
                    }
                }
                None
            }
        }
    }
}
