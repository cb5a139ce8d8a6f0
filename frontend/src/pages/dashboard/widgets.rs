//! The dashboard's widgets: a card each (title, options, "Download CSV", and while arranging: move, resize,
//! remove), and what each kind shows. Every number that stands for incidents links to the incident list with
//! the view's filters and the number's period (and group).

use super::charts::{BarChart, ChartPoint, ChartSeries, HeatmapChart, LineChart, Sparkline};
use super::query::{drill_href, drillable_key};
use super::{Ctx, Layout, View, kind_label};
use crate::api::{self, ApiFailure};
use crate::components::Spinner;
use crate::time;
use chrono::{DateTime, Utc};
use insights_types::api::{
    AnalyticsSummaryOut, Bucket, GroupBy, Metric, PeriodTotals, SortOrder, Stat, TimeseriesOut,
    TopDimension, TopOut, TopSort, Widget, WidgetKind,
};
use leptos::prelude::*;
use leptos_router::components::A;

/// A widget's card.
#[component]
pub fn WidgetCard(ctx: Ctx, layout: Layout, widget: Widget) -> impl IntoView {
    let id = widget.id.clone();
    let size = {
        let id = id.clone();
        Memo::new(move |_| {
            layout.widgets.with(|ws| {
                ws.iter()
                    .find(|w| w.id == id)
                    .map_or((1, 1), |w| (w.width, w.height))
            })
        })
    };
    let index = {
        let id = id.clone();
        Signal::derive(move || layout.index_of(&id).unwrap_or(0))
    };
    let count = Signal::derive(move || layout.widgets.with(Vec::len));
    let csv = RwSignal::new(None::<String>);
    let csv_error = RwSignal::new(None::<String>);
    let title = match (widget.kind, widget.dimension) {
        (WidgetKind::Top, Some(TopDimension::Team)) => "Top teams",
        (WidgetKind::Top, _) => "Top services",
        (k, _) => kind_label(k),
    };
    let heading = format!("widget-{id}-title");
    let labelled_by = heading.clone();
    let download = {
        let id = id.clone();
        move |_| {
            if let Some(text) = csv.get_untracked() {
                let r = api::save_text(&text, &format!("{id}.csv"), "text/csv");
                csv_error.set(r.err().map(|e| e.message()));
            }
        }
    };
    let body = match widget.kind {
        WidgetKind::Summary => view! { <SummaryBody ctx=ctx csv=csv /> }.into_any(),
        WidgetKind::Volume => {
            view! { <VolumeBody ctx=ctx group_by=widget.group_by rows=widget.height csv=csv /> }
                .into_any()
        }
        WidgetKind::ResponseTimes => {
            view! { <ResponseBody ctx=ctx rows=widget.height csv=csv /> }.into_any()
        }
        WidgetKind::OffHours => {
            view! { <OffHoursBody ctx=ctx rows=widget.height csv=csv /> }.into_any()
        }
        WidgetKind::Heatmap => view! { <HeatmapBody ctx=ctx csv=csv /> }.into_any(),
        WidgetKind::Top => view! {
            <TopBody ctx=ctx layout=layout id=id.clone()
                dimension=widget.dimension.unwrap_or(TopDimension::Service)
                sort=widget.sort.unwrap_or_default() csv=csv />
        }
        .into_any(),
        WidgetKind::Noise => view! { <NoiseBody ctx=ctx csv=csv /> }.into_any(),
    };
    let options = match widget.kind {
        WidgetKind::Volume => Some(group_by_select(layout, &id, widget.group_by).into_any()),
        WidgetKind::Top => Some(dimension_select(layout, &id, widget.dimension).into_any()),
        _ => None,
    };
    let (id1, id2, id3, id4, id5) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
    view! {
        <section class="card widget" data-widget=id.clone() data-kind=format!("{:?}", widget.kind).to_lowercase()
            style=move || { let (w, h) = size.get(); format!("--w:{w};--h:{h}") }
            data-w=move || size.get().0.to_string()
            aria-labelledby=labelled_by>
            <header class="widget-head">
                <h2 id=heading>{title}</h2>
                <div class="widget-tools">
                    {options}
                    <button class="btn small csv" disabled=move || csv.with(Option::is_none) on:click=download>
                        "Download CSV"<span class="sr-only">{format!(" of {title}")}</span>
                    </button>
                </div>
            </header>
            <p class="field-error" role="alert">{move || csv_error.get()}</p>
            <Show when=move || layout.arranging.get()>
                {
                    let (a, b, c, d, e) = (id1.clone(), id2.clone(), id3.clone(), id4.clone(), id5.clone());
                    view! {
                        <div class="widget-arrange" role="group" aria-label=format!("Arrange {title}")>
                            <button class="btn small move-up" disabled=move || index.get() == 0
                                on:click=move |_| { let i = index.get_untracked(); layout.change(|ws| ws.swap(i, i - 1)) }>
                                "↑"<span class="sr-only">" Move up"</span></button>
                            <button class="btn small move-down" disabled=move || { index.get() + 1 >= count.get() }
                                on:click=move |_| { let i = index.get_untracked(); layout.change(|ws| ws.swap(i, i + 1)) }>
                                "↓"<span class="sr-only">" Move down"</span></button>
                            <label for=format!("{a}-width")>"Width"</label>
                            <select id=format!("{a}-width") class="width"
                                on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(1); layout.edit(&b, |w| w.width = v) }>
                                {(1..=4u8).map(|n| view! { <option value=n.to_string() selected=move || size.get().0 == n>{format!("{n} col")}</option> }).collect_view()}
                            </select>
                            <label for=format!("{c}-height")>"Height"</label>
                            <select id=format!("{c}-height") class="height"
                                on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(1); layout.edit(&d, |w| w.height = v) }>
                                {(1..=3u8).map(|n| view! { <option value=n.to_string() selected=move || size.get().1 == n>{format!("{n} row")}</option> }).collect_view()}
                            </select>
                            <button class="btn small danger remove"
                                on:click=move |_| { let id = e.clone(); layout.change(move |ws| ws.retain(|w| w.id != id)) }>
                                "Remove"</button>
                        </div>
                    }
                }
            </Show>
            <div class="widget-body">{body}</div>
        </section>
    }
}

const GROUPS: [(&str, &str); 6] = [
    ("", "Not split"),
    ("service", "Service"),
    ("team", "Team"),
    ("urgency", "Urgency"),
    ("source", "Source"),
    ("status", "Status"),
];

fn group_by_value(g: Option<GroupBy>) -> &'static str {
    g.map_or("", GroupBy::filter_param)
}

fn parse_group_by(v: &str) -> Option<GroupBy> {
    match v {
        "service" => Some(GroupBy::Service),
        "team" => Some(GroupBy::Team),
        "urgency" => Some(GroupBy::Urgency),
        "source" => Some(GroupBy::Source),
        "status" => Some(GroupBy::Status),
        _ => None,
    }
}

fn group_by_select(layout: Layout, id: &str, current: Option<GroupBy>) -> impl IntoView {
    let sel = format!("{id}-group-by");
    let id = id.to_owned();
    view! {
        <label class="sr-only" for=sel.clone()>"Split by"</label>
        <select id=sel class="group-by small" on:change=move |ev| {
            let g = parse_group_by(&event_target_value(&ev));
            layout.edit(&id, |w| w.group_by = g);
        }>
            {GROUPS.iter().map(|(v, l)| view! {
                <option value=*v selected=group_by_value(current) == *v>{format!("By: {l}")}</option>
            }).collect_view()}
        </select>
    }
}

fn dimension_select(layout: Layout, id: &str, current: Option<TopDimension>) -> impl IntoView {
    let sel = format!("{id}-dimension");
    let id = id.to_owned();
    let team = current == Some(TopDimension::Team);
    view! {
        <label class="sr-only" for=sel.clone()>"Rows"</label>
        <select id=sel class="dimension small" on:change=move |ev| {
            let d = if event_target_value(&ev) == "team" { TopDimension::Team } else { TopDimension::Service };
            layout.edit(&id, |w| w.dimension = Some(d));
        }>
            <option value="service" selected=!team>"Services"</option>
            <option value="team" selected=team>"Teams"</option>
        </select>
    }
}

// ---- formatting ----------------------------------------------------------------------------------------

fn fmt_count(v: f64) -> String {
    format!("{}", v.round() as i64)
}

fn fmt_secs(v: f64) -> String {
    time::duration(v.max(0.0).round() as u64)
}

/// A duration for a table cell, short like the incident list's: "12 min", "2 h 05", "3 d".
fn short_secs(v: f64) -> String {
    let m = (v.max(0.0) / 60.0).round() as u64;
    match m {
        0 => format!("{:.0} s", v.max(0.0)),
        1..60 => format!("{m} min"),
        60..2880 => format!("{} h {:02}", m / 60, m % 60),
        _ => format!("{} d", m / 1440),
    }
}

fn fmt_share(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |s| format!("{:.0}%", s * 100.0))
}

/// A bucket's short name (x axis) and long name (tooltip, table). Day, week and month buckets start at the
/// organization's midnight: their name is the date of their middle, right in any time zone.
fn bucket_names(bucket: Bucket, start: DateTime<Utc>, end: DateTime<Utc>) -> (String, String) {
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

/// A CSV field, quoted when it needs to be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// CSV text (RFC 4180: CRLF line ends) of a header and rows.
pub fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}")).unwrap_or_default()
}

/// The chart series of a time series answer; a point links to its bucket's incidents (and its group's)
/// when `drill` and the group is one the list can filter by.
fn chart_series(ctx: Ctx, v: &View, ts: &TimeseriesOut, drill: bool) -> Vec<ChartSeries> {
    ts.series
        .iter()
        .map(|s| ChartSeries {
            key: s.key.clone(),
            label: s.label.clone(),
            points: s
                .points
                .iter()
                .map(|p| {
                    let (x, when) = bucket_names(ts.bucket, p.start, p.end);
                    let group = match ts.group_by {
                        Some(g) if drillable_key(&s.key) => {
                            Some(Some((g.filter_param(), s.key.as_str())))
                        }
                        Some(_) => None,
                        None => Some(None),
                    };
                    let href = match group {
                        Some(group) if drill && p.value.is_some_and(|v| v > 0.0) => Some(
                            drill_href(ctx.org, &v.q, v.period.clip(p.start, p.end), group),
                        ),
                        _ => None,
                    };
                    ChartPoint {
                        x,
                        when,
                        value: p.value,
                        href,
                    }
                })
                .collect(),
        })
        .collect()
}

fn series_csv(list: &[&TimeseriesOut]) -> String {
    csv(
        &[
            "bucket_start",
            "bucket_end",
            "metric",
            "group",
            "label",
            "value",
        ],
        list.iter().flat_map(|ts| {
            ts.series.iter().flat_map(move |s| {
                s.points.iter().map(move |p| {
                    vec![
                        time::rfc3339(p.start),
                        time::rfc3339(p.end),
                        format!("{:?}", ts.metric).to_lowercase(),
                        s.key.clone(),
                        s.label.clone(),
                        p.value.map(|v| v.to_string()).unwrap_or_default(),
                    ]
                })
            })
        }),
    )
}

fn metric_param(m: Metric) -> &'static str {
    match m {
        Metric::Count => "count",
        Metric::Mtta => "mtta",
        Metric::Mttr => "mttr",
        Metric::OffHours => "off_hours",
    }
}

fn bucket_param(b: Bucket) -> &'static str {
    match b {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
        Bucket::Week => "week",
        Bucket::Month => "month",
    }
}

/// Reads one time series of the view.
async fn read_series(
    ctx: Ctx,
    v: &View,
    metric: Metric,
    stat: Stat,
    group_by: Option<GroupBy>,
) -> api::ApiResult<TimeseriesOut> {
    let mut extra = vec![
        format!("metric={}", metric_param(metric)),
        format!("bucket={}", bucket_param(v.period.bucket(None))),
    ];
    if stat != Stat::Mean {
        extra.push(format!(
            "stat={}",
            if stat == Stat::P50 { "p50" } else { "p90" }
        ));
    }
    if let Some(g) = group_by {
        extra.push(format!("group_by={}", g.filter_param()));
    }
    api::analytics::timeseries(ctx.session, ctx.org, &v.period.api_pairs(&v.q), &extra).await
}

fn failed(e: &ApiFailure) -> AnyView {
    view! { <p class="banner error">{e.message()}</p> }.into_any()
}

/// What a body shows while reading, on failure, or `ok`'s view.
fn state<T: Clone + 'static>(
    r: Option<api::ApiResult<T>>,
    ok: impl FnOnce(T) -> AnyView,
) -> AnyView {
    match r {
        None => view! { <Spinner /> }.into_any(),
        Some(Err(e)) => failed(&e),
        Some(Ok(t)) => ok(t),
    }
}

// ---- summary -------------------------------------------------------------------------------------------

/// The change from `prev` to `now` in words, and whether it is good news (`lower_is_better` for durations).
fn change(
    now: Option<f64>,
    prev: Option<f64>,
    lower_is_better: bool,
) -> Option<(String, &'static str)> {
    let (now, prev) = (now?, prev?);
    if prev == 0.0 {
        return (now > 0.0).then(|| ("new".to_owned(), "flat"));
    }
    let pct = (now - prev) / prev * 100.0;
    if pct.abs() < 0.5 {
        return Some(("no change".to_owned(), "flat"));
    }
    let better = (pct < 0.0) == lower_is_better;
    let arrow = if pct > 0.0 { "▲" } else { "▼" };
    Some((
        format!("{arrow} {:.0}%", pct.abs()),
        if better { "good" } else { "bad" },
    ))
}

fn tile(
    label: &'static str,
    value: String,
    detail: Option<String>,
    delta: Option<(String, &'static str)>,
    href: Option<String>,
) -> impl IntoView {
    let value = match href {
        Some(h) => view! { <A href=h attr:class="tile-value">{value}</A> }.into_any(),
        None => view! { <span class="tile-value">{value}</span> }.into_any(),
    };
    view! {
        <div class="tile" data-tile=label>
            <p class="tile-label">{label}</p>
            {value}
            {detail.map(|d| view! { <p class="tile-detail muted">{d}</p> })}
            {delta.map(|(t, class)| view! {
                <p class=format!("tile-delta {class}")>{t}<span class="muted">" vs previous period"</span></p>
            })}
        </div>
    }
}

fn summary_rows(s: &AnalyticsSummaryOut) -> Vec<Vec<String>> {
    let p = s.previous.as_ref().map(|p| p.totals);
    let row = |name: &str, f: &dyn Fn(&PeriodTotals) -> Option<f64>| {
        vec![
            name.to_owned(),
            f(&s.totals).map(|v| v.to_string()).unwrap_or_default(),
            p.as_ref()
                .and_then(f)
                .map(|v| v.to_string())
                .unwrap_or_default(),
        ]
    };
    vec![
        row("incidents", &|t| Some(t.count as f64)),
        row("acknowledged", &|t| Some(t.acknowledged as f64)),
        row("resolved", &|t| Some(t.resolved as f64)),
        row("mtta_mean_seconds", &|t| t.mtta_seconds.mean),
        row("mtta_p50_seconds", &|t| t.mtta_seconds.p50),
        row("mtta_p90_seconds", &|t| t.mtta_seconds.p90),
        row("mttr_mean_seconds", &|t| t.mttr_seconds.mean),
        row("mttr_p50_seconds", &|t| t.mttr_seconds.p50),
        row("mttr_p90_seconds", &|t| t.mttr_seconds.p90),
        row("off_hours", &|t| Some(t.off_hours.count as f64)),
        row("off_hours_share", &|t| t.off_hours.share),
        row("sleep_hours", &|t| Some(t.sleep_hours.count as f64)),
        row("sleep_hours_share", &|t| t.sleep_hours.share),
        row("noise_auto_resolved", &|t| {
            Some(t.noise.auto_resolved as f64)
        }),
        row("noise_never_acknowledged", &|t| {
            Some(t.noise.never_acknowledged as f64)
        }),
        row("noise_repeats", &|t| Some(t.noise.repeats as f64)),
    ]
}

/// Reads the view's summary (and fills the CSV).
fn summary_resource(
    ctx: Ctx,
    csv_out: RwSignal<Option<String>>,
) -> LocalResource<api::ApiResult<(View, AnalyticsSummaryOut)>> {
    LocalResource::new(move || {
        let v = ctx.view.get();
        async move {
            let s =
                api::analytics::summary(ctx.session, ctx.org, &v.period.api_pairs(&v.q)).await?;
            let _ = csv_out.try_set(Some(csv(
                &["figure", "period", "previous_period"],
                summary_rows(&s),
            )));
            Ok((v, s))
        }
    })
}

#[component]
fn SummaryBody(ctx: Ctx, csv: RwSignal<Option<String>>) -> impl IntoView {
    let data = summary_resource(ctx, csv);
    move || {
        state(data.get(), |(v, s)| {
            let t = s.totals;
            let p = s.previous.as_ref().map(|p| p.totals);
            let all = drill_href(ctx.org, &v.q, v.period, None);
            let dur = |d: insights_types::api::DurationStats| {
                d.mean.map_or_else(|| "—".to_owned(), fmt_secs)
            };
            let pcts = |d: insights_types::api::DurationStats| match (d.p50, d.p90) {
                (Some(a), Some(b)) => Some(format!("p50 {} · p90 {}", fmt_secs(a), fmt_secs(b))),
                _ => None,
            };
            let noise = |t: &PeriodTotals| {
                (t.noise.auto_resolved + t.noise.never_acknowledged + t.noise.repeats) as f64
            };
            view! {
                <div class="tiles">
                    {tile("Incidents", t.count.to_string(), Some(format!("{} acknowledged · {} resolved", t.acknowledged, t.resolved)),
                        change(Some(t.count as f64), p.map(|p| p.count as f64), true), Some(all))}
                    {tile("MTTA", dur(t.mtta_seconds), pcts(t.mtta_seconds),
                        change(t.mtta_seconds.mean, p.and_then(|p| p.mtta_seconds.mean), true), None)}
                    {tile("MTTR", dur(t.mttr_seconds), pcts(t.mttr_seconds),
                        change(t.mttr_seconds.mean, p.and_then(|p| p.mttr_seconds.mean), true), None)}
                    {tile("Off-hours", fmt_share(t.off_hours.share), Some(format!("{} incidents", t.off_hours.count)),
                        change(Some(t.off_hours.count as f64), p.map(|p| p.off_hours.count as f64), true), None)}
                    {tile("Sleep hours", fmt_share(t.sleep_hours.share), Some(format!("{} incidents", t.sleep_hours.count)),
                        change(Some(t.sleep_hours.count as f64), p.map(|p| p.sleep_hours.count as f64), true), None)}
                    {tile("Noise", fmt_count(noise(&t)), Some(format!("{} auto-resolved · {} never acked · {} repeats",
                            t.noise.auto_resolved, t.noise.never_acknowledged, t.noise.repeats)),
                        change(Some(noise(&t)), p.as_ref().map(noise), true), None)}
                </div>
            }
            .into_any()
        })
    }
}

// ---- time series ---------------------------------------------------------------------------------------

#[component]
fn VolumeBody(
    ctx: Ctx,
    group_by: Option<GroupBy>,
    rows: u8,
    csv: RwSignal<Option<String>>,
) -> impl IntoView {
    let data = LocalResource::new(move || {
        let v = ctx.view.get();
        async move {
            let ts = read_series(ctx, &v, Metric::Count, Stat::Mean, group_by).await?;
            let _ = csv.try_set(Some(series_csv(&[&ts])));
            Ok((v, ts))
        }
    });
    move || {
        state(data.get(), |(v, ts)| {
            let series = chart_series(ctx, &v, &ts, true);
            view! { <BarChart label="Incidents created per period" series=series fmt=fmt_count rows=rows /> }
                .into_any()
        })
    }
}

#[component]
fn ResponseBody(ctx: Ctx, rows: u8, csv: RwSignal<Option<String>>) -> impl IntoView {
    let stat = RwSignal::new(Stat::Mean);
    let data = LocalResource::new(move || {
        let v = ctx.view.get();
        let stat = stat.get();
        async move {
            let (a, r) = futures::join!(
                read_series(ctx, &v, Metric::Mtta, stat, None),
                read_series(ctx, &v, Metric::Mttr, stat, None)
            );
            let (a, r) = (a?, r?);
            let _ = csv.try_set(Some(series_csv(&[&a, &r])));
            Ok((v, a, r))
        }
    });
    let stat_name = move || match stat.get() {
        Stat::Mean => "mean",
        Stat::P50 => "p50",
        Stat::P90 => "p90",
    };
    view! {
        <div class="widget-option">
            <label for="response-stat">"Statistic"</label>
            <select id="response-stat" class="small" on:change=move |ev| stat.set(match event_target_value(&ev).as_str() {
                "p50" => Stat::P50, "p90" => Stat::P90, _ => Stat::Mean })>
                <option value="mean">"Mean"</option>
                <option value="p50">"Median (p50)"</option>
                <option value="p90">"p90"</option>
            </select>
        </div>
        {move || state(data.get(), |(v, a, r)| {
            let mut series = chart_series(ctx, &v, &a, true);
            series.extend(chart_series(ctx, &v, &r, true));
            if let [a, r] = series.as_mut_slice() {
                a.label = format!("Time to acknowledge ({})", stat_name());
                r.label = format!("Time to resolve ({})", stat_name());
            }
            view! { <LineChart label="Time to acknowledge and to resolve per period" series=series fmt=fmt_secs rows=rows durations=true /> }.into_any()
        })}
    }
}

#[component]
fn OffHoursBody(ctx: Ctx, rows: u8, csv: RwSignal<Option<String>>) -> impl IntoView {
    let data = LocalResource::new(move || {
        let v = ctx.view.get();
        async move {
            let ts = read_series(ctx, &v, Metric::OffHours, Stat::Mean, None).await?;
            let _ = csv.try_set(Some(series_csv(&[&ts])));
            Ok((v, ts))
        }
    });
    move || {
        state(data.get(), |(v, ts)| {
            let mut series = chart_series(ctx, &v, &ts, true);
            for s in &mut series {
                s.label = "Off-hours incidents".to_owned();
            }
            view! {
                <p class="hint">"Incidents created outside business hours (see Settings › Analytics). A bar opens all of its period's incidents."</p>
                <BarChart label="Off-hours incidents per period" series=series fmt=fmt_count rows=rows />
            }
            .into_any()
        })
    }
}

// ---- heatmap -------------------------------------------------------------------------------------------

#[component]
fn HeatmapBody(ctx: Ctx, csv: RwSignal<Option<String>>) -> impl IntoView {
    let data = LocalResource::new(move || {
        let v = ctx.view.get();
        async move {
            let h =
                api::analytics::heatmap(ctx.session, ctx.org, &v.period.api_pairs(&v.q)).await?;
            let rows = h.cells.iter().map(|c| {
                vec![
                    c.weekday.to_string(),
                    c.hour.to_string(),
                    c.count.to_string(),
                ]
            });
            let _ = csv.try_set(Some(super::widgets::csv(
                &["weekday", "hour", "count"],
                rows,
            )));
            Ok((v, h))
        }
    });
    move || {
        state(data.get(), |(v, h)| {
            let mut counts = [[0i64; 24]; 7];
            for c in &h.cells {
                if (1..=7).contains(&c.weekday) && c.hour < 24 {
                    counts[usize::from(c.weekday - 1)][usize::from(c.hour)] = c.count;
                }
            }
            let href = drill_href(ctx.org, &v.q, v.period, None);
            view! { <HeatmapChart counts=counts time_zone=h.time_zone.clone() href=href /> }
                .into_any()
        })
    }
}

// ---- top -----------------------------------------------------------------------------------------------

const TOP_COLUMNS: [(TopSort, &str, &str); 5] = [
    (TopSort::Count, "count", "Incidents"),
    (TopSort::Mtta, "mtta", "MTTA"),
    (TopSort::Mttr, "mttr", "MTTR"),
    (TopSort::OffHours, "off_hours", "Off-hours"),
    (TopSort::Noise, "noise", "Noise"),
];

fn top_csv(t: &TopOut) -> String {
    csv(
        &[
            "key",
            "label",
            "count",
            "mtta_seconds",
            "mttr_seconds",
            "off_hours",
            "noise",
            "sparkline",
        ],
        t.rows.iter().map(|r| {
            vec![
                r.key.clone(),
                r.label.clone(),
                r.count.to_string(),
                opt(r.mtta_seconds),
                opt(r.mttr_seconds),
                r.off_hours.to_string(),
                r.noise.to_string(),
                r.sparkline
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        }),
    )
}

async fn read_top(
    ctx: Ctx,
    v: &View,
    dimension: TopDimension,
    sort: &str,
    order: SortOrder,
    limit: u32,
) -> api::ApiResult<TopOut> {
    let dim = if dimension == TopDimension::Team {
        "team"
    } else {
        "service"
    };
    let order = if order == SortOrder::Asc {
        "asc"
    } else {
        "desc"
    };
    let extra = vec![
        format!("dimension={dim}"),
        format!("sort={sort}"),
        format!("order={order}"),
        format!("limit={limit}"),
    ];
    api::analytics::top(ctx.session, ctx.org, &v.period.api_pairs(&v.q), &extra).await
}

fn sort_param(s: TopSort) -> &'static str {
    TOP_COLUMNS
        .iter()
        .find(|c| c.0 == s)
        .map_or("count", |c| c.1)
}

#[component]
fn TopBody(
    ctx: Ctx,
    layout: Layout,
    id: String,
    dimension: TopDimension,
    sort: TopSort,
    csv: RwSignal<Option<String>>,
) -> impl IntoView {
    let order = RwSignal::new(SortOrder::Desc);
    let data = LocalResource::new(move || {
        let v = ctx.view.get();
        let order = order.get();
        async move {
            let t = read_top(ctx, &v, dimension, sort_param(sort), order, 10).await?;
            let _ = csv.try_set(Some(top_csv(&t)));
            Ok((v, t))
        }
    });
    let param = if dimension == TopDimension::Team {
        "team"
    } else {
        "service"
    };
    let name = if dimension == TopDimension::Team {
        "Team"
    } else {
        "Service"
    };
    let id = StoredValue::new(id);
    let sort_by = move |s: TopSort| {
        if s == sort {
            order.update(|o| {
                *o = if *o == SortOrder::Desc {
                    SortOrder::Asc
                } else {
                    SortOrder::Desc
                }
            });
        } else {
            layout.edit(&id.get_value(), |w| w.sort = Some(s));
        }
    };
    move || {
        state(data.get(), |(v, t)| {
            if t.rows.is_empty() {
                return view! { <p class="muted">"No incidents in this view."</p> }.into_any();
            }
            view! {
                <div class="table-scroll">
                    <table class="table top-table">
                        <thead><tr>
                            <th scope="col">{name}</th>
                            {TOP_COLUMNS.iter().map(|(s, p, label)| {
                                let current = *s == sort;
                                let aria = current.then(|| if t.order == SortOrder::Asc { "ascending" } else { "descending" });
                                let arrow = if !current { "" } else if t.order == SortOrder::Asc { " ▲" } else { " ▼" };
                                let s = *s;
                                view! {
                                    <th scope="col" aria-sort=aria>
                                        <button class="sort" data-sort=*p on:click=move |_| sort_by(s)>{*label}{arrow}</button>
                                    </th>
                                }
                            }).collect_view()}
                            <th scope="col">"Trend"</th>
                        </tr></thead>
                        <tbody>
                            {t.rows.into_iter().map(|r| {
                                let href = drillable_key(&r.key).then(|| drill_href(ctx.org, &v.q, v.period, Some((param, r.key.as_str()))));
                                let label = match &href {
                                    Some(h) => view! { <A href=h.clone()>{r.label.clone()}</A> }.into_any(),
                                    None => view! { <span>{r.label.clone()}</span> }.into_any(),
                                };
                                view! {
                                    <tr data-key=r.key.clone()>
                                        <th scope="row">{label}</th>
                                        <td class="num count">{r.count.to_string()}</td>
                                        <td class="num">{r.mtta_seconds.map_or_else(|| "—".to_owned(), short_secs)}</td>
                                        <td class="num">{r.mttr_seconds.map_or_else(|| "—".to_owned(), short_secs)}</td>
                                        <td class="num">{r.off_hours.to_string()}</td>
                                        <td class="num">{r.noise.to_string()}</td>
                                        <td><Sparkline values=r.sparkline.clone() /></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any()
        })
    }
}

// ---- noise ---------------------------------------------------------------------------------------------

#[component]
fn NoiseBody(ctx: Ctx, csv: RwSignal<Option<String>>) -> impl IntoView {
    let data = LocalResource::new(move || {
        let v = ctx.view.get();
        async move {
            let pairs = v.period.api_pairs(&v.q);
            let (s, t) = futures::join!(
                api::analytics::summary(ctx.session, ctx.org, &pairs),
                read_top(ctx, &v, TopDimension::Service, "noise", SortOrder::Desc, 5)
            );
            let (s, t) = (s?, t?);
            let n = s.totals.noise;
            let p = s.previous.as_ref().map(|p| p.totals.noise);
            let mut rows = vec![
                vec![
                    "auto_resolved".to_owned(),
                    n.auto_resolved.to_string(),
                    p.map(|p| p.auto_resolved.to_string()).unwrap_or_default(),
                ],
                vec![
                    "never_acknowledged".to_owned(),
                    n.never_acknowledged.to_string(),
                    p.map(|p| p.never_acknowledged.to_string())
                        .unwrap_or_default(),
                ],
                vec![
                    "repeats".to_owned(),
                    n.repeats.to_string(),
                    p.map(|p| p.repeats.to_string()).unwrap_or_default(),
                ],
            ];
            rows.extend(t.rows.iter().map(|r| {
                vec![
                    format!("service:{}", r.label),
                    r.noise.to_string(),
                    String::new(),
                ]
            }));
            let _ = csv.try_set(Some(super::widgets::csv(
                &["kind", "count", "previous_period"],
                rows,
            )));
            Ok((v, s, t))
        }
    });
    move || {
        state(data.get(), |(v, s, t)| {
            let total = s.totals.count.max(1) as f64;
            let n = s.totals.noise;
            let p = s.previous.as_ref().map(|p| p.totals.noise);
            let kinds = [
                (
                    "Auto-resolved unacknowledged",
                    n.auto_resolved,
                    p.map(|p| p.auto_resolved),
                ),
                (
                    "Never acknowledged",
                    n.never_acknowledged,
                    p.map(|p| p.never_acknowledged),
                ),
                ("Repeats within an hour", n.repeats, p.map(|p| p.repeats)),
            ];
            view! {
                <ul class="noise-kinds">
                    {kinds.into_iter().map(|(label, count, prev)| {
                        let share = count as f64 / total;
                        let delta = change(Some(count as f64), prev.map(|p| p as f64), true);
                        view! {
                            <li data-noise=label>
                                <div class="noise-line"><span>{label}</span>
                                    <strong>{format!("{count} ({:.0}%)", share * 100.0)}</strong></div>
                                <div class="meter" aria-hidden="true"><span style=format!("width:{:.1}%", share * 100.0)></span></div>
                                {delta.map(|(t, class)| view! { <p class=format!("tile-delta {class}")>{t}<span class="muted">" vs previous period"</span></p> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <h3 class="noise-top">"Noisiest services"</h3>
                <ol class="noise-services">
                    {t.rows.into_iter().filter(|r| r.noise > 0).map(|r| {
                        let href = drillable_key(&r.key).then(|| drill_href(ctx.org, &v.q, v.period, Some(("service", r.key.as_str()))));
                        view! {
                            <li>{match href {
                                Some(h) => view! { <A href=h>{r.label.clone()}</A> }.into_any(),
                                None => view! { <span>{r.label.clone()}</span> }.into_any(),
                            }}{format!(" — {} of {} incidents", r.noise, r.count)}</li>
                        }
                    }).collect_view()}
                </ol>
            }
            .into_any()
        })
    }
}
