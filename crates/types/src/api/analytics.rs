//! Trend analytics over the imported history (definitions in `docs/METRICS.md`): the summary with its previous
//! period, time series, the hour-of-week heatmap and the top services/teams; the organization's analytics
//! settings (time zone, business hours, night window, holidays, noise threshold) and each person's dashboard
//! layout. Every analytics endpoint takes the incident list's filters, so a number drills into the list with
//! the same query string.

use crate::ids::*;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Mean, median and 90th percentile of a duration in seconds; `null` when no incident qualifies. Means are
/// exact; p50/p90 come from mergeable sketches with at most 1 % relative error (see `docs/METRICS.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DurationStats {
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
}

/// How many incidents fall in a class, and their share of all incidents (`null` when there are none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CountShare {
    pub count: i64,
    pub share: Option<f64>,
}

/// The three kinds of noise (an incident may be more than one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NoiseCounts {
    /// Resolved within the organization's noise threshold without being acknowledged.
    pub auto_resolved: i64,
    /// Never acknowledged (resolved or not).
    pub never_acknowledged: i64,
    /// The same service and title as an incident created less than an hour before.
    pub repeats: i64,
}

/// The figures of one period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PeriodTotals {
    /// Incidents created in the period.
    pub count: i64,
    /// Of those, how many were acknowledged.
    pub acknowledged: i64,
    /// Of those, how many are resolved.
    pub resolved: i64,
    pub mtta_seconds: DurationStats,
    pub mttr_seconds: DurationStats,
    pub off_hours: CountShare,
    pub sleep_hours: CountShare,
    pub noise: NoiseCounts,
}

/// The figures of the previous period: as long as the asked one, ending where it starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PreviousPeriod {
    #[serde(flatten)]
    pub totals: PeriodTotals,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// `GET …/analytics/summary`: the figures of the filtered incidents, with the previous period (`null` when the
/// period has no start, i.e. all time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AnalyticsSummaryOut {
    #[serde(flatten)]
    pub totals: PeriodTotals,
    /// The period's start (`null`: from the first incident).
    pub since: Option<DateTime<Utc>>,
    /// The period's end (the request's `until`, or now).
    pub until: DateTime<Utc>,
    pub previous: Option<PreviousPeriod>,
}

/// The width of a time series' buckets, aligned in the organization's time zone (weeks start on Monday).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Hour,
    Day,
    Week,
    Month,
}

/// What a time series measures per bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Incidents created.
    Count,
    /// Time to acknowledge, in seconds (the `stat` asked: mean by default).
    Mtta,
    /// Time to resolve, in seconds.
    Mttr,
    /// Incidents created outside business hours.
    OffHours,
}

/// Which statistic of a duration a time series plots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    #[default]
    Mean,
    P50,
    P90,
}

/// What a time series is split by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Service,
    Team,
    Urgency,
    Source,
    Status,
    /// The recurring pattern (issue 11); read from the incidents themselves, like a `q` filter.
    Pattern,
}

impl GroupBy {
    /// The incident list's filter parameter for one group of this dimension.
    #[must_use]
    pub fn filter_param(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Team => "team",
            Self::Urgency => "urgency",
            Self::Source => "source",
            Self::Status => "status",
            Self::Pattern => "pattern",
        }
    }
}

/// One bucket of a series: `[start, end)` in UTC (the bounds of the bucket in the organization's time zone),
/// and the value (`null` for a duration with no incident in the bucket).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SeriesPoint {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub value: Option<f64>,
}

/// One series: a group (its `key` is the value of the incident list's filter for it — a service or team id,
/// an urgency, a source, a status — or `none` for incidents without one, `other` for the groups beyond the top
/// ten, `all` when not grouped) and its points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Series {
    pub key: String,
    pub label: String,
    pub points: Vec<SeriesPoint>,
}

/// `GET …/analytics/timeseries`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TimeseriesOut {
    pub metric: Metric,
    pub stat: Stat,
    pub bucket: Bucket,
    pub group_by: Option<GroupBy>,
    /// The organization's time zone, in which buckets are aligned.
    pub time_zone: String,
    /// The top ten groups by incident count, then `other` (if any).
    pub series: Vec<Series>,
}

/// One cell of the hour-of-week heatmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeatmapCell {
    /// ISO weekday: 1 is Monday, 7 Sunday.
    pub weekday: u8,
    /// Hour of the day, 0–23, in the organization's time zone.
    pub hour: u8,
    pub count: i64,
}

/// `GET …/analytics/heatmap`: incidents by hour of the week (all 168 cells, Monday 00:00 first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeatmapOut {
    pub time_zone: String,
    pub cells: Vec<HeatmapCell>,
}

/// The dimension of the top table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TopDimension {
    Service,
    Team,
    /// The recurring pattern (issue 11).
    Pattern,
}

/// The column the top table is sorted by (descending unless `order=asc`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TopSort {
    #[default]
    Count,
    Mtta,
    Mttr,
    OffHours,
    Noise,
}

/// Sort direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// One row of the top table: a service or team (`key` its id, or `none` for incidents without one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TopRow {
    pub key: String,
    pub label: String,
    pub count: i64,
    /// Mean time to acknowledge in seconds (`null` if none was acknowledged).
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
    pub off_hours: i64,
    /// Incidents that are noise of any kind.
    pub noise: i64,
    /// Incident counts per `sparkline_bucket` over the period, oldest first.
    pub sparkline: Vec<i64>,
}

/// `GET …/analytics/top`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TopOut {
    pub dimension: TopDimension,
    pub sort: TopSort,
    pub order: SortOrder,
    /// The width of a sparkline's buckets.
    pub sparkline_bucket: Bucket,
    /// Where each sparkline bucket starts (UTC).
    pub sparkline_starts: Vec<DateTime<Utc>>,
    pub rows: Vec<TopRow>,
}

/// `GET …/analytics/status`: how fresh the rollups are, for a dashboard to refresh itself when new incidents
/// arrive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AnalyticsStatusOut {
    /// Changes whenever the analytics of the organization change.
    pub version: i64,
    /// When the rollups last took in changes.
    pub refreshed_at: Option<DateTime<Utc>>,
    /// Whether changes are waiting to be rolled up (numbers may lag by a few seconds).
    pub pending: bool,
    /// A recomputation after a settings change, while it runs.
    pub recompute_job_id: Option<JobRunId>,
}

/// A time of day, `HH:MM` on the wire (00:00–24:00; 24:00 only as the end of a range).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$", example = "09:00"))]
pub struct ClockTime(u16);

impl ClockTime {
    /// `minutes` after midnight (at most 24 × 60).
    #[must_use]
    pub fn from_minutes(minutes: u16) -> Option<Self> {
        (minutes <= 24 * 60).then_some(Self(minutes))
    }

    #[must_use]
    pub fn minutes(self) -> u16 {
        self.0
    }

    /// Parses `HH:MM`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        if m >= 60 || h > 24 || (h == 24 && m != 0) {
            return None;
        }
        Some(Self(h * 60 + m))
    }
}

impl std::fmt::Display for ClockTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a time of day (HH:MM)")))
    }
}

/// A range of the day, `[start, end)`. Business hours need `start < end`; the night window may wrap midnight
/// (`22:00`–`07:00`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    pub start: ClockTime,
    pub end: ClockTime,
}

/// Business hours per weekday (`null`: not a working day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WeekHours {
    pub monday: Option<TimeRange>,
    pub tuesday: Option<TimeRange>,
    pub wednesday: Option<TimeRange>,
    pub thursday: Option<TimeRange>,
    pub friday: Option<TimeRange>,
    pub saturday: Option<TimeRange>,
    pub sunday: Option<TimeRange>,
}

impl WeekHours {
    /// The hours of ISO weekday `weekday` (1 is Monday).
    #[must_use]
    pub fn day(&self, weekday: u8) -> Option<TimeRange> {
        match weekday {
            1 => self.monday,
            2 => self.tuesday,
            3 => self.wednesday,
            4 => self.thursday,
            5 => self.friday,
            6 => self.saturday,
            7 => self.sunday,
            _ => None,
        }
    }
}

/// The organization's analytics settings: what counts as off-hours, sleep hours and noise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnalyticsSettings {
    /// An IANA time zone name, e.g. `Europe/Berlin`: buckets, business hours and the night are read in it.
    pub time_zone: String,
    pub business_hours: WeekHours,
    /// The sleep-hours window, every day.
    pub night: TimeRange,
    /// Days that count as off-hours all day (at most 400).
    pub holidays: Vec<NaiveDate>,
    /// An incident resolved within this many minutes without acknowledgement is auto-resolved noise (1–1440).
    pub noise_auto_resolve_minutes: u32,
}

impl Default for AnalyticsSettings {
    /// UTC, Monday to Friday 09:00–17:00, night 22:00–07:00, no holidays, 5 minutes.
    fn default() -> Self {
        let hours = |s: u16, e: u16| {
            Some(TimeRange {
                start: ClockTime(s * 60),
                end: ClockTime(e * 60),
            })
        };
        Self {
            time_zone: "UTC".to_owned(),
            business_hours: WeekHours {
                monday: hours(9, 17),
                tuesday: hours(9, 17),
                wednesday: hours(9, 17),
                thursday: hours(9, 17),
                friday: hours(9, 17),
                saturday: None,
                sunday: None,
            },
            night: TimeRange {
                start: ClockTime(22 * 60),
                end: ClockTime(7 * 60),
            },
            holidays: Vec::new(),
            noise_auto_resolve_minutes: 5,
        }
    }
}

/// `GET/PUT …/analytics/settings`: the settings, and the recomputation a change started (while it runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AnalyticsSettingsOut {
    #[serde(flatten)]
    pub settings: AnalyticsSettings,
    pub recompute_job_id: Option<JobRunId>,
}

/// What a dashboard widget shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WidgetKind {
    /// Summary tiles with the change against the previous period.
    Summary,
    /// Incident volume over time, stacked by `group_by`.
    Volume,
    /// MTTA and MTTR trend lines.
    ResponseTimes,
    /// Off-hours incidents over time.
    OffHours,
    /// Incidents by hour of the week.
    Heatmap,
    /// Top services or teams (`dimension`), sortable.
    Top,
    /// The noise panel.
    Noise,
}

/// One widget of a dashboard: its place is its position in the list; `width` in columns of a four-column
/// grid (a phone shows one column), `height` in rows (1–3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Widget {
    /// Unique within the layout: 1–40 characters of `a-z`, `0-9` and `-`.
    pub id: String,
    pub kind: WidgetKind,
    pub width: u8,
    pub height: u8,
    /// For `volume`: what the bars are stacked by (`null`: not stacked).
    #[serde(default)]
    pub group_by: Option<GroupBy>,
    /// For `top`: services or teams.
    #[serde(default)]
    pub dimension: Option<TopDimension>,
    /// For `top`: the column sorted by.
    #[serde(default)]
    pub sort: Option<TopSort>,
}

/// A person's dashboard (at most 24 widgets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DashboardLayout {
    pub widgets: Vec<Widget>,
}

impl DashboardLayout {
    /// The most widgets a layout holds.
    pub const MAX_WIDGETS: usize = 24;

    /// The layout everyone starts with, and gets back on reset.
    #[must_use]
    pub fn default_layout() -> Self {
        let w = |id: &str, kind, width, height| Widget {
            id: id.to_owned(),
            kind,
            width,
            height,
            group_by: None,
            dimension: None,
            sort: None,
        };
        Self {
            widgets: vec![
                w("summary", WidgetKind::Summary, 4, 1),
                Widget {
                    group_by: Some(GroupBy::Service),
                    ..w("volume", WidgetKind::Volume, 4, 2)
                },
                w("response-times", WidgetKind::ResponseTimes, 2, 2),
                w("heatmap", WidgetKind::Heatmap, 2, 2),
                Widget {
                    dimension: Some(TopDimension::Service),
                    sort: Some(TopSort::Count),
                    ..w("top-services", WidgetKind::Top, 2, 2)
                },
                w("noise", WidgetKind::Noise, 2, 2),
                w("off-hours", WidgetKind::OffHours, 4, 2),
            ],
        }
    }

    /// Why the layout cannot be saved, if it cannot: (field, message).
    #[must_use]
    pub fn problem(&self) -> Option<(String, String)> {
        if self.widgets.len() > Self::MAX_WIDGETS {
            return Some((
                "widgets".to_owned(),
                format!("A dashboard holds at most {} widgets.", Self::MAX_WIDGETS),
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for (i, w) in self.widgets.iter().enumerate() {
            let field = |f: &str| format!("widgets[{i}].{f}");
            let id_ok = (1..=40).contains(&w.id.len())
                && w.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !id_ok {
                return Some((field("id"), "1–40 characters of a-z, 0-9 and -.".to_owned()));
            }
            if !ids.insert(w.id.as_str()) {
                return Some((field("id"), format!("`{}` is used twice.", w.id)));
            }
            if !(1..=4).contains(&w.width) {
                return Some((field("width"), "From 1 to 4 columns.".to_owned()));
            }
            if !(1..=3).contains(&w.height) {
                return Some((field("height"), "From 1 to 3 rows.".to_owned()));
            }
            if w.kind == WidgetKind::Top && w.dimension.is_none() {
                return Some((
                    field("dimension"),
                    "A top table needs a dimension (service or team).".to_owned(),
                ));
            }
        }
        None
    }
}

/// `GET …/dashboard/layout`: the person's layout, or the default one (`customized: false`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DashboardLayoutOut {
    #[serde(flatten)]
    pub layout: DashboardLayout,
    pub customized: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A group's id as a series or row key (`none` for incidents without one).
#[must_use]
pub fn group_key(id: Option<Uuid>) -> String {
    id.map_or_else(|| "none".to_owned(), |id| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_read_and_print_as_hh_mm() {
        assert_eq!(ClockTime::parse("09:30").map(ClockTime::minutes), Some(570));
        assert_eq!(
            ClockTime::parse("24:00").map(ClockTime::minutes),
            Some(1440)
        );
        for bad in ["9:30", "24:01", "12:60", "ab:cd", "", "12:3"] {
            assert_eq!(ClockTime::parse(bad), None, "{bad}");
        }
        assert_eq!(ClockTime::parse("07:05").unwrap().to_string(), "07:05");
        let r: TimeRange = serde_json::from_str(r#"{"start":"22:00","end":"07:00"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"start":"22:00","end":"07:00"}"#
        );
        assert!(serde_json::from_str::<TimeRange>(r#"{"start":"25:00","end":"07:00"}"#).is_err());
    }

    #[test]
    fn the_default_layout_is_valid_and_problems_are_named() {
        assert_eq!(DashboardLayout::default_layout().problem(), None);
        let mut l = DashboardLayout::default_layout();
        l.widgets[1].id = l.widgets[0].id.clone();
        assert_eq!(l.problem().unwrap().0, "widgets[1].id");
        let mut l = DashboardLayout::default_layout();
        l.widgets[2].width = 5;
        assert_eq!(l.problem().unwrap().0, "widgets[2].width");
        let mut l = DashboardLayout::default_layout();
        l.widgets[4].dimension = None;
        assert_eq!(l.problem().unwrap().0, "widgets[4].dimension");
    }

    #[test]
    fn settings_default_to_weekday_business_hours_in_utc() {
        let s = AnalyticsSettings::default();
        assert_eq!(s.business_hours.day(1).unwrap().start.to_string(), "09:00");
        assert_eq!(s.business_hours.day(6), None);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["night"]["start"], "22:00");
        assert_eq!(
            serde_json::from_value::<AnalyticsSettings>(json).unwrap(),
            s
        );
    }
}
