//! Paging a long time range through an API that filters by time and pages by offset, under two caps
//! PagerDuty imposes (and Opsgenie resembles): a window may span at most `max_span`, and `offset + limit` may
//! not exceed `max_offset`. The range is walked window by window, oldest first; a window that holds more
//! items than the offset cap allows is split in half until it fits, and later windows grow back to
//! `max_span`. The cursor is plain data, saved after every page, so a sync resumes exactly where it stopped.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Where a walk over `[start, end)` stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Windowed {
    /// The whole range (for progress).
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The current window `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Offset of the next page inside the window.
    pub offset: u32,
    /// Items in the current window, when the source said (PagerDuty's `total`).
    #[serde(default)]
    pub total: Option<u64>,
    /// The longest window allowed, in seconds.
    pub max_span_secs: i64,
}

/// What to do with a window that reported `total` items on its first page.
#[derive(Debug, PartialEq, Eq)]
pub enum Fit {
    /// It fits under the offset cap: go on reading it.
    Fits,
    /// It was split: read the (smaller) window again from offset 0.
    Split,
    /// It cannot be split further (one second holds too many items): read what the cap allows.
    TooDense,
}

impl Windowed {
    /// A walk over `[start, end)` in windows of at most `max_span`.
    #[must_use]
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>, max_span: Duration) -> Self {
        let end = end.max(start);
        Self {
            start,
            end,
            from: start,
            to: (start + max_span).min(end),
            offset: 0,
            total: None,
            max_span_secs: max_span.num_seconds().max(1),
        }
    }

    /// Whether the whole range has been read.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.from >= self.end
    }

    /// Whether the next page is the first of its window (where a source reports its `total`).
    #[must_use]
    pub fn at_window_start(&self) -> bool {
        self.offset == 0
    }

    /// Checks a window's `total` (from its first page) against the cap: `offset + limit <= max_offset` must
    /// hold for every page of it.
    pub fn fit(&mut self, total: u64, max_offset: u32) -> Fit {
        self.total = Some(total);
        if total <= u64::from(max_offset) {
            return Fit::Fits;
        }
        let span = self.to - self.from;
        if span <= Duration::seconds(1) {
            return Fit::TooDense;
        }
        self.to = self.from + span / 2;
        self.offset = 0;
        self.total = None;
        Fit::Split
    }

    /// Records a page of `count` items read at the current offset; `more` is the source's own "there is
    /// more". Moves to the next page, or to the next window when this one is exhausted — or when the next
    /// page would break the offset cap (`limit` is the page size asked for).
    pub fn advance(&mut self, count: u32, more: bool, limit: u32, max_offset: u32) {
        let next = self.offset.saturating_add(count);
        if more && count > 0 && next.saturating_add(limit) <= max_offset {
            self.offset = next;
            return;
        }
        // Next window: twice the last one's span when it was small, up to the maximum.
        let last = self.to - self.from;
        let sparse = self.total.is_some_and(|t| t * 4 < u64::from(max_offset));
        let span = if sparse { last * 2 } else { last };
        let span = span
            .min(Duration::seconds(self.max_span_secs))
            .max(Duration::seconds(1));
        self.from = self.to;
        self.to = (self.from + span).min(self.end);
        self.offset = 0;
        self.total = None;
    }

    /// Fraction of the range read, 0–1 (inside a window by offset over its total, when known).
    #[must_use]
    pub fn fraction_done(&self) -> f64 {
        let whole = (self.end - self.start).num_milliseconds() as f64;
        if whole <= 0.0 || self.is_done() {
            return 1.0;
        }
        let mut done = (self.from - self.start).num_milliseconds() as f64;
        if let Some(total) = self.total.filter(|t| *t > 0) {
            let inside = (f64::from(self.offset) / total as f64).min(1.0);
            done += inside * (self.to - self.from).num_milliseconds() as f64;
        }
        (done / whole).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::days(i64::from(day))
    }

    #[test]
    fn a_range_is_walked_in_windows_no_longer_than_the_maximum() {
        let mut w = Windowed::new(t(0), t(400), Duration::days(180));
        let mut windows = vec![];
        while !w.is_done() {
            windows.push((w.from, w.to));
            assert_eq!(w.fit(10, 10_000), Fit::Fits);
            w.advance(10, false, 100, 10_000);
        }
        assert_eq!(
            windows,
            vec![(t(0), t(180)), (t(180), t(360)), (t(360), t(400))]
        );
        assert_eq!(w.fraction_done(), 1.0);
    }

    #[test]
    fn a_window_over_the_offset_cap_is_halved_until_it_fits() {
        let mut w = Windowed::new(t(0), t(100), Duration::days(100));
        assert_eq!(w.fit(35_000, 10_000), Fit::Split);
        assert_eq!((w.from, w.to), (t(0), t(50)));
        assert_eq!(w.fit(17_000, 10_000), Fit::Split);
        assert_eq!(w.fit(9_000, 10_000), Fit::Fits);
        assert_eq!(w.to, t(25));
        // Page through it: 90 pages of 100, never past the cap.
        for _ in 0..89 {
            w.advance(100, true, 100, 10_000);
            assert!(w.offset + 100 <= 10_000);
        }
        w.advance(100, false, 100, 10_000);
        assert_eq!(w.offset, 0);
        assert_eq!(w.from, t(25), "the next window starts where the last ended");
    }

    #[test]
    fn paging_stops_at_the_cap_even_when_the_source_says_more() {
        let mut w = Windowed::new(t(0), t(1), Duration::days(1));
        assert_eq!(w.fit(10_000, 10_000), Fit::Fits);
        let mut pages = 0;
        while w.from == t(0) {
            assert!(w.offset + 100 <= 10_000);
            pages += 1;
            w.advance(100, true, 100, 10_000);
        }
        assert_eq!(pages, 100, "offsets 0, 100, … 9,900");
    }

    #[test]
    fn a_second_with_too_many_items_is_read_as_far_as_the_cap_allows() {
        let mut w = Windowed::new(t(0), t(0) + Duration::seconds(1), Duration::days(1));
        assert_eq!(w.fit(20_000, 10_000), Fit::TooDense);
    }

    #[test]
    fn sparse_windows_grow_back_to_the_maximum() {
        let mut w = Windowed::new(t(0), t(400), Duration::days(100));
        assert_eq!(w.fit(20_000, 10_000), Fit::Split);
        assert_eq!(w.fit(100, 10_000), Fit::Fits);
        w.advance(100, false, 100, 10_000);
        assert_eq!(w.to - w.from, Duration::days(100));
    }

    #[test]
    fn progress_counts_the_offset_inside_a_window() {
        let mut w = Windowed::new(t(0), t(100), Duration::days(50));
        assert_eq!(w.fraction_done(), 0.0);
        assert_eq!(w.fit(1_000, 10_000), Fit::Fits);
        w.advance(100, true, 100, 10_000);
        w.advance(100, true, 100, 10_000);
        w.advance(100, true, 100, 10_000);
        w.advance(100, true, 100, 10_000);
        w.advance(100, true, 100, 10_000);
        assert!(
            (w.fraction_done() - 0.25).abs() < 1e-9,
            "{}",
            w.fraction_done()
        );
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(serde_json::from_value::<Windowed>(json).unwrap(), w);
    }
}
