//! The dashboard's charts: inline SVG drawn here (no script fetched from anywhere) that scales with its
//! `viewBox`. Every mark has a tooltip (`<title>`) and, when it stands for incidents the list can show, opens
//! them on click; every chart has a "Show as table" fallback with the same numbers and links (the way in for
//! the keyboard and screen readers).

use crate::time;
use chrono::{DateTime, Utc};
use insights_types::api::Bucket;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

/// One value of a series: the bucket's short and long names, the value, and where it drills to.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartPoint {
    pub x: String,
    pub when: String,
    pub value: Option<f64>,
    pub href: Option<String>,
}

/// A named series (`key` as the API gives it: `other` is drawn grey); all series of a chart have the same
/// buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSeries {
    pub key: String,
    pub label: String,
    pub points: Vec<ChartPoint>,
}

/// The series colours (the eleventh, grey, is "other").
const COLORS: [&str; 11] = [
    "#3451c6", "#e8743b", "#19a979", "#ed4a7b", "#945ecf", "#13a4b4", "#d6a10f", "#6f7d95",
    "#c23b22", "#2f7ed8", "#9aa3b2",
];

/// The colour of the `i`-th series (`other` always grey).
pub fn color(i: usize, key: &str) -> &'static str {
    if key == "other" {
        COLORS[10]
    } else {
        COLORS[i % 10]
    }
}

/// A duration for a table cell, short like the incident list's: "12 min", "2 h 05", "3 d".
pub fn short_secs(v: f64) -> String {
    let m = (v.max(0.0) / 60.0).round() as u64;
    match m {
        0 => format!("{:.0} s", v.max(0.0)),
        1..60 => format!("{m} min"),
        60..2880 => format!("{} h {:02}", m / 60, m % 60),
        _ => format!("{} d", m / 1440),
    }
}

/// A bucket's short name (x axis) and long name (tooltip, table). Day, week and month buckets start at the
/// organization's midnight: their name is the date of their middle, right in any time zone.
pub fn bucket_names(bucket: Bucket, start: DateTime<Utc>, end: DateTime<Utc>) -> (String, String) {
    let mid = start + (end - start) / 2;
    let day = start + chrono::Duration::hours(12);
    match bucket {
        Bucket::Hour => (
            start.format("%H:%M").to_string(),
            format!("{}–{}", time::when(start), end.format("%H:%M UTC")),
        ),
        Bucket::Day => (
            day.format("%b %-d").to_string(),
            day.format("%Y-%m-%d").to_string(),
        ),
        Bucket::Week => (
            day.format("%b %-d").to_string(),
            format!("Week of {}", day.format("%Y-%m-%d")),
        ),
        Bucket::Month => (
            mid.format("%b %Y").to_string(),
            mid.format("%B %Y").to_string(),
        ),
    }
}

/// The drawing's height in pixels for a widget `rows` high.
fn chart_height(rows: u8) -> f64 {
    f64::from(rows.clamp(1, 3)) * 120.0
}

/// Draws a chart at the width its box has on screen (measured once it is in the page, in CSS pixels): the
/// drawing's units are pixels, so labels keep their size on a phone and on a wide screen alike.
fn measured(draw: impl Fn(f64) -> AnyView + Send + Sync + 'static) -> impl IntoView {
    let node = NodeRef::<leptos::html::Div>::new();
    let width = RwSignal::new(None::<f64>);
    Effect::new(move |_| {
        if let Some(el) = node.get() {
            width.set(Some(f64::from(el.client_width()).max(240.0)));
        }
    });
    view! { <div class="chart-box" node_ref=node>{move || width.get().map(&draw)}</div> }
}
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

/// A round axis maximum at or above `v` (1, 2 or 5 times a power of ten).
pub fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * p)
}

/// A round axis maximum at or above `v` seconds, whose half is a round duration too.
pub fn nice_duration_max(v: f64) -> f64 {
    const STEPS: [f64; 16] = [
        60.0,
        120.0,
        300.0,
        600.0,
        1200.0,
        1800.0,
        3600.0,
        7200.0,
        14_400.0,
        21_600.0,
        43_200.0,
        86_400.0,
        172_800.0,
        345_600.0,
        864_000.0,
        1_728_000.0,
    ];
    STEPS
        .into_iter()
        .find(|m| *m >= v)
        .unwrap_or_else(|| nice_max(v / 86_400.0) * 86_400.0)
}

/// Which x labels to print so that at most one per 75 units of width shows.
fn label_every(n: usize, width: f64) -> usize {
    n.div_ceil((width / 75.0) as usize).max(1)
}

/// Opens a drill-down link inside the app.
fn opener() -> impl Fn(String) + Clone + 'static {
    let navigate = use_navigate();
    move |href: String| navigate(&href, NavigateOptions::default())
}

/// The y axis: three grid lines with their labels.
fn y_axis(width: f64, hgt: f64, max: f64, fmt: fn(f64) -> String) -> impl IntoView {
    (0..=2)
        .map(|i| {
            let v = max * f64::from(i) / 2.0;
            let y = TOP + (hgt - TOP - BOTTOM) * (1.0 - f64::from(i) / 2.0);
            view! {
                <line class="grid" x1=LEFT x2=width - RIGHT y1=y y2=y></line>
                <text class="axis" x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{fmt(v)}</text>
            }
        })
        .collect_view()
}

/// The x labels under `n` slots of width `slot`.
fn x_axis(width: f64, hgt: f64, points: &[ChartPoint], slot: f64) -> impl IntoView + use<> {
    let every = label_every(points.len(), width);
    points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, p)| {
            let x = LEFT + slot * (i as f64 + 0.5);
            view! { <text class="axis" x=x y=hgt - 8.0 text-anchor="middle">{p.x.clone()}</text> }
        })
        .collect_view()
}

/// Stacked bars (one bar per bucket, a segment per series), `rows` of the grid high; `fmt` writes a value.
#[component]
pub fn BarChart(
    #[prop(into)] label: String,
    series: Vec<ChartSeries>,
    fmt: fn(f64) -> String,
    rows: u8,
) -> impl IntoView {
    let open = opener();
    let hgt = chart_height(rows);
    let drawn = series.clone();
    let aria = label.clone();
    let draw = move |width: f64| {
        let series = &drawn;
        let n = series.first().map_or(0, |s| s.points.len());
        let totals: Vec<f64> = (0..n)
            .map(|i| series.iter().filter_map(|s| s.points[i].value).sum())
            .collect();
        let max = nice_max(totals.iter().copied().fold(0.0, f64::max));
        let slot = (width - LEFT - RIGHT) / n.max(1) as f64;
        let bar_w = (slot * 0.8).max(1.0);
        let scale = (hgt - TOP - BOTTOM) / max;
        let mut marks = Vec::new();
        for i in 0..n {
            let mut base = hgt - BOTTOM;
            for (si, s) in series.iter().enumerate() {
                let p = &s.points[i];
                let v = p.value.unwrap_or(0.0);
                if v <= 0.0 {
                    continue;
                }
                let h = v * scale;
                base -= h;
                let title = if series.len() > 1 {
                    format!("{} · {}: {}", p.when, s.label, fmt(v))
                } else {
                    format!("{}: {}", p.when, fmt(v))
                };
                let title = match &p.href {
                    Some(_) => format!("{title} — open these incidents"),
                    None => title,
                };
                marks.push(mark_rect(
                    LEFT + slot * i as f64 + (slot - bar_w) / 2.0,
                    base,
                    bar_w,
                    h,
                    color(si, &s.key),
                    v,
                    title,
                    p.href.clone(),
                    open.clone(),
                ));
            }
        }
        let axis_points = series.first().map(|s| s.points.clone()).unwrap_or_default();
        view! {
            <svg class="chart-svg bars" viewBox=format!("0 0 {width} {hgt}") role="group" aria-label=aria.clone()>
                {y_axis(width, hgt, max, fmt)}
                {x_axis(width, hgt, &axis_points, slot)}
                {marks}
            </svg>
        }
        .into_any()
    };
    view! {
        <figure class="chart">
            {measured(draw)}
            <Legend series=series.iter().map(|s| (s.key.clone(), s.label.clone())).collect() />
            <ChartTable label=label series=series fmt=fmt />
        </figure>
    }
}

/// One bar segment or point: its tooltip, and its drill-down on click. Marks are not in the tab order (a
/// chart can hold hundreds): the table under the chart has the same links for the keyboard and screen readers.
#[allow(clippy::too_many_arguments)]
fn mark_rect(
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    fill: &'static str,
    value: f64,
    title: String,
    href: Option<String>,
    open: impl Fn(String) + Clone + 'static,
) -> AnyView {
    let linked = href.is_some();
    let target = href.clone();
    view! {
        <rect class="mark" class:linked=linked x=x y=y width=w height=h.max(0.5) fill=fill
            data-value=value.to_string() data-href=href
            on:click=move |_| if let Some(h) = target.clone() { open(h) }>
            <title>{title}</title>
        </rect>
    }
    .into_any()
}

/// Lines (one per series) with a dot per value, `rows` of the grid high.
#[component]
pub fn LineChart(
    #[prop(into)] label: String,
    series: Vec<ChartSeries>,
    fmt: fn(f64) -> String,
    rows: u8,
    /// Values are seconds: the axis steps by round durations.
    #[prop(optional)]
    durations: bool,
) -> impl IntoView {
    let open = opener();
    let hgt = chart_height(rows);
    let drawn = series.clone();
    let aria = label.clone();
    let draw = move |width: f64| {
        let series = &drawn;
        let n = series.first().map_or(0, |s| s.points.len());
        let top = series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.value))
            .fold(0.0, f64::max);
        let max = if durations {
            nice_duration_max(top)
        } else {
            nice_max(top)
        };
        let slot = (width - LEFT - RIGHT) / n.max(1) as f64;
        let scale = (hgt - TOP - BOTTOM) / max;
        let lines = series
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let fill = color(si, &s.key);
                // A gap where a bucket has no value.
                let mut d = String::new();
                let mut pen_down = false;
                let mut dots = Vec::new();
                for (i, p) in s.points.iter().enumerate() {
                    let x = LEFT + slot * (i as f64 + 0.5);
                    match p.value {
                        Some(v) => {
                            let y = hgt - BOTTOM - v * scale;
                            d.push_str(&format!(
                                "{}{x:.1},{y:.1} ",
                                if pen_down { "L" } else { "M" }
                            ));
                            pen_down = true;
                            let title = format!("{} · {}: {}", p.when, s.label, fmt(v));
                            let r = if slot < 8.0 { 2.0 } else { 3.5 };
                            dots.push(mark_rect(
                                x - r,
                                y - r,
                                2.0 * r,
                                2.0 * r,
                                fill,
                                v,
                                title,
                                p.href.clone(),
                                open.clone(),
                            ));
                        }
                        None => pen_down = false,
                    }
                }
                view! {
                    <path class="line" d=d stroke=fill fill="none"></path>
                    {dots}
                }
            })
            .collect_view();
        let axis_points = series.first().map(|s| s.points.clone()).unwrap_or_default();
        view! {
            <svg class="chart-svg lines" viewBox=format!("0 0 {width} {hgt}") role="group" aria-label=aria.clone()>
                {y_axis(width, hgt, max, fmt)}
                {x_axis(width, hgt, &axis_points, slot)}
                {lines}
            </svg>
        }
        .into_any()
    };
    view! {
        <figure class="chart">
            {measured(draw)}
            <Legend series=series.iter().map(|s| (s.key.clone(), s.label.clone())).collect() />
            <ChartTable label=label series=series fmt=fmt />
        </figure>
    }
}

/// The series' names beside their colours: `(key, label)`.
#[component]
fn Legend(series: Vec<(String, String)>) -> impl IntoView {
    (series.len() > 1).then(|| {
        view! {
            <ul class="legend">
                {series.into_iter().enumerate().map(|(i, (key, label))| {
                    let c = color(i, &key);
                    view! { <li><span class="swatch" style=format!("background:{c}")></span>{label}</li> }
                }).collect_view()}
            </ul>
        }
    })
}

/// The chart's numbers as a table (for screen readers, and anyone who wants them), each linking like its mark.
#[component]
fn ChartTable(label: String, series: Vec<ChartSeries>, fmt: fn(f64) -> String) -> impl IntoView {
    let n = series.first().map_or(0, |s| s.points.len());
    let whens: Vec<String> = series
        .first()
        .map(|s| s.points.iter().map(|p| p.when.clone()).collect())
        .unwrap_or_default();
    view! {
        <details class="chart-table">
            <summary>"Show as table"</summary>
            <div class="table-scroll">
                <table class="table">
                    <caption class="sr-only">{label}</caption>
                    <thead><tr>
                        <th scope="col">"Period"</th>
                        {series.iter().map(|s| view! { <th scope="col">{s.label.clone()}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {(0..n).map(|i| view! {
                            <tr>
                                <th scope="row">{whens[i].clone()}</th>
                                {series.iter().map(|s| {
                                    let p = &s.points[i];
                                    let text = p.value.map_or_else(|| "—".to_owned(), fmt);
                                    match &p.href {
                                        Some(h) if p.value.is_some_and(|v| v > 0.0) => {
                                            view! { <td><a href=h.clone()>{text}</a></td> }.into_any()
                                        }
                                        _ => view! { <td>{text}</td> }.into_any(),
                                    }
                                }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
}

/// A small line of counts, oldest first, for a table row (the numbers are in its tooltip).
#[component]
pub fn Sparkline(values: Vec<i64>) -> impl IntoView {
    let (w, h) = (96.0, 24.0);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = w / (values.len().max(2) - 1) as f64;
    let points = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                h - 2.0 - (*v as f64 / max) * (h - 4.0)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let title = values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <svg class="sparkline" viewBox=format!("0 0 {w} {h}") width="96" height="24" role="img"
            aria-label=format!("Incidents over the period: {title}")>
            <title>{title.clone()}</title>
            <polyline points=points fill="none" stroke="#3451c6" stroke-width="1.5"></polyline>
        </svg>
    }
}

/// Day names of ISO weekdays 1–7.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The hour-of-week grid: `counts[weekday-1][hour]`; every cell opens `href` (the period's incidents).
#[component]
pub fn HeatmapChart(counts: [[i64; 24]; 7], time_zone: String, href: String) -> impl IntoView {
    let open = opener();
    let zone = time_zone.clone();
    let draw = move |width: f64| {
        let (ch, left, top) = (24.0, 40.0, 18.0);
        let cw = ((width - left) / 24.0).clamp(10.0, 40.0);
        let max = counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
        let mut cells = Vec::new();
        for (d, row) in counts.iter().enumerate() {
            for (hour, count) in row.iter().enumerate() {
                let share = *count as f64 / max;
                let fill = if *count == 0 {
                    "#eef0f4".to_owned()
                } else {
                    format!("rgba(52, 81, 198, {:.2})", 0.15 + 0.85 * share)
                };
                let title = format!(
                    "{} {hour:02}:00–{:02}:00 ({zone}): {count} incidents — opens the period's incidents (the list cannot filter by hour of week)",
                    WEEKDAYS[d],
                    hour + 1
                );
                let (go, target) = (open.clone(), href.clone());
                cells.push(view! {
                    <rect class="cell linked" x=left + cw * hour as f64 y=top + ch * d as f64 width=cw - 2.0 height=ch - 2.0
                        rx="2" fill=fill data-value=count.to_string() data-weekday=(d + 1).to_string() data-hour=hour.to_string()
                        on:click=move |_| go(target.clone())>
                        <title>{title}</title>
                    </rect>
                });
            }
        }
        let every = if cw < 20.0 { 6 } else { 3 };
        let full = left + cw * 24.0;
        let height = top + ch * 7.0;
        view! {
            <svg class="chart-svg heatmap" viewBox=format!("0 0 {full} {height}") style=format!("max-width:{full}px")
                role="group" aria-label=format!("Incidents by hour of the week ({zone})")>
                {(0..24).step_by(every).map(|hour| view! {
                    <text class="axis" x=left + cw * hour as f64 + cw / 2.0 y="12" text-anchor="middle">{format!("{hour:02}")}</text>
                }).collect_view()}
                {WEEKDAYS.iter().enumerate().map(|(d, name)| view! {
                    <text class="axis" x=left - 6.0 y=top + ch * d as f64 + 16.0 text-anchor="end">{*name}</text>
                }).collect_view()}
                {cells}
            </svg>
        }
        .into_any()
    };
    view! {
        <figure class="chart">
            {measured(draw)}
            <details class="chart-table">
                <summary>"Show as table"</summary>
                <div class="table-scroll">
                    <table class="table heatmap-table">
                        <caption class="sr-only">{format!("Incidents by hour of the week, hours in {time_zone}")}</caption>
                        <thead><tr><th scope="col">"Day"</th>
                            {(0..24).map(|h| view! { <th scope="col">{format!("{h:02}")}</th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {counts.iter().enumerate().map(|(d, row)| view! {
                                <tr><th scope="row">{WEEKDAYS[d]}</th>
                                    {row.iter().map(|c| view! { <td>{c.to_string()}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}
