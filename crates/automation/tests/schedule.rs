//! Cron schedules in time zones: field counts, errors, and the days clocks change.

use chrono::{DateTime, TimeZone, Utc};
use insights_automation::schedule::{Schedule, ScheduleError};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn upcoming(cron: &str, tz: &str, after: &str, n: usize) -> Vec<String> {
    Schedule::parse(cron, tz)
        .unwrap()
        .upcoming(utc(after), n)
        .into_iter()
        .map(|d| d.to_rfc3339())
        .collect()
}

#[test]
fn five_fields_fire_on_the_minute_and_six_take_seconds_first() {
    assert_eq!(
        upcoming("*/15 * * * *", "UTC", "2026-03-01T10:07:30Z", 3),
        [
            "2026-03-01T10:15:00+00:00",
            "2026-03-01T10:30:00+00:00",
            "2026-03-01T10:45:00+00:00"
        ]
    );
    assert_eq!(
        upcoming("30 */20 * * * *", "UTC", "2026-03-01T10:00:00Z", 2),
        ["2026-03-01T10:00:30+00:00", "2026-03-01T10:20:30+00:00"]
    );
    assert_eq!(
        upcoming("0 9 * * MON-FRI", "UTC", "2026-03-06T10:00:00Z", 2),
        ["2026-03-09T09:00:00+00:00", "2026-03-10T09:00:00+00:00"]
    );
    assert_eq!(
        upcoming("@daily", "UTC", "2026-03-06T10:00:00Z", 1),
        ["2026-03-07T00:00:00+00:00"]
    );
}

#[test]
fn next_after_is_strictly_after() {
    let s = Schedule::parse("0 * * * *", "UTC").unwrap();
    let at = utc("2026-03-01T10:00:00Z");
    assert_eq!(s.next_after(at), Some(utc("2026-03-01T11:00:00Z")));
}

#[test]
fn wall_clock_time_is_kept_across_daylight_saving() {
    // 09:00 in Paris: 08:00 UTC in winter (CET, +1), 07:00 UTC in summer (CEST, +2). Clocks go forward on
    // 2026-03-29.
    assert_eq!(
        upcoming("0 9 * * *", "Europe/Paris", "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T08:00:00+00:00",
            "2026-03-29T07:00:00+00:00",
            "2026-03-30T07:00:00+00:00"
        ]
    );
    // New York goes back on 2026-11-01 (EDT -4 → EST -5).
    assert_eq!(
        upcoming("30 8 * * *", "America/New_York", "2026-10-31T00:00:00Z", 2),
        ["2026-10-31T12:30:00+00:00", "2026-11-01T13:30:00+00:00"]
    );
}

#[test]
fn a_time_skipped_by_spring_forward_fires_once_right_after_the_gap() {
    // Paris, 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    assert_eq!(
        upcoming("30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", 3),
        [
            "2026-03-29T01:00:00+00:00", // 03:00 CEST, the end of the gap
            "2026-03-30T00:30:00+00:00", // 02:30 CEST
            "2026-03-31T00:30:00+00:00",
        ]
    );
    // Every 30 minutes through the gap: 01:30 CET, then 03:00 CEST once (02:00 and 02:30 fold into it).
    assert_eq!(
        upcoming("*/30 * * * *", "Europe/Paris", "2026-03-29T00:15:00Z", 3),
        [
            "2026-03-29T00:30:00+00:00",
            "2026-03-29T01:00:00+00:00",
            "2026-03-29T01:30:00+00:00"
        ]
    );
}

#[test]
fn a_time_repeated_by_fall_back_fires_once() {
    // Paris, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice. It fires at the first.
    let fires = upcoming("30 2 * * *", "Europe/Paris", "2026-10-24T12:00:00Z", 2);
    assert_eq!(
        fires,
        ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
    );
    // Asked from inside the repeated hour (after the first 02:30), the next is the next day's.
    let s = Schedule::parse("30 2 * * *", "Europe/Paris").unwrap();
    assert_eq!(
        s.next_after(utc("2026-10-25T01:10:00Z")), // 02:10 CET, the second pass
        Some(utc("2026-10-26T01:30:00Z"))
    );
}

#[test]
fn upcoming_times_strictly_increase() {
    for (cron, tz) in [
        ("*/7 * * * *", "Europe/Paris"),
        ("0 */3 * * *", "America/New_York"),
        ("15 1,2,3 * * *", "Australia/Lord_Howe"),
        ("0 0 * * *", "Asia/Kolkata"),
    ] {
        let s = Schedule::parse(cron, tz).unwrap();
        let times = s.upcoming(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(), 400);
        assert_eq!(times.len(), 400, "{cron} {tz}");
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{cron} {tz}");
    }
}

#[test]
fn invalid_schedules_are_explained() {
    assert_eq!(
        Schedule::parse("* * * *", "UTC").unwrap_err(),
        ScheduleError::Fields(4)
    );
    assert_eq!(
        Schedule::parse("0 0 * * * * 2026", "UTC").unwrap_err(),
        ScheduleError::Fields(7)
    );
    assert!(matches!(
        Schedule::parse("61 * * * *", "UTC").unwrap_err(),
        ScheduleError::Cron(_)
    ));
    assert!(matches!(
        Schedule::parse("0 9 * * *", "Mars/Olympus").unwrap_err(),
        ScheduleError::TimeZone(_)
    ));
    assert_eq!(
        Schedule::parse("0 0 30 2 *", "UTC").unwrap_err(),
        ScheduleError::Never
    );
    let msg = Schedule::parse("* * *", "UTC").unwrap_err().to_string();
    assert!(msg.contains("5 fields"), "{msg}");
    // 29 February comes back.
    assert_eq!(
        upcoming("0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z", 1),
        ["2028-02-29T00:00:00+00:00"]
    );
}
