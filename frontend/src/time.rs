//! Time in the browser: the clock (chrono's own clock is not available in WASM here), how times and durations
//! read to people (always in UTC, like the rest of the app), date inputs, and a sleep that does not block.

use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::set_timeout;
use std::time::Duration;

/// Now, from the browser's clock.
#[must_use]
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// `2025-03-01 14:05 UTC`.
#[must_use]
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "in 12 min", "3 h ago", "just now": how far `t` is from `now`.
#[must_use]
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    if secs.abs() < 60 {
        return if secs >= 0 {
            "in under a minute"
        } else {
            "just now"
        }
        .to_owned();
    }
    let span = duration(secs.unsigned_abs());
    if secs > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// "45 s", "12 min", "2 h 05 min", "3 days".
#[must_use]
pub fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..172_800 => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} days", secs / 86_400),
    }
}

/// The UTC midnight starting a `yyyy-mm-dd` date (what `<input type=date>` gives); `None` when empty or not a
/// date.
#[must_use]
pub fn day_start(date: &str) -> Option<DateTime<Utc>> {
    // Split by hand: chrono's general parser would add weight to the bundle for one fixed format.
    let mut parts = date.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// RFC 3339 in UTC (`2025-03-01T00:00:00Z`), as the API's time filters take it.
#[must_use]
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The UTC midnight ending a `yyyy-mm-dd` date (the start of the next day).
#[must_use]
pub fn day_end(date: &str) -> Option<DateTime<Utc>> {
    day_start(date).map(|t| t + chrono::Duration::days(1))
}

/// An exact instant in RFC 3339 (`2025-03-01T14:00:00Z`, any offset), as drill-down links carry them.
#[must_use]
pub fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The start a `since` filter means: a date's UTC midnight, or an exact instant.
#[must_use]
pub fn since_bound(s: &str) -> Option<DateTime<Utc>> {
    day_start(s).or_else(|| instant(s))
}

/// The end an `until` filter means: the midnight ending a date, or an exact instant.
#[must_use]
pub fn until_bound(s: &str) -> Option<DateTime<Utc>> {
    day_end(s).or_else(|| instant(s))
}

/// Whether `s` is a `yyyy-mm-dd` date (what a date input shows), not an instant.
#[must_use]
pub fn is_date(s: &str) -> bool {
    day_start(s).is_some()
}

/// The `yyyy-mm-dd` of a time, for a date input.
#[must_use]
pub fn date_value(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// Waits without blocking the page.
pub async fn sleep(d: Duration) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = tx.send(());
        },
        d,
    );
    let _ = rx.await;
}
