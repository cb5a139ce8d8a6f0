//! The charts over time (volume stacked by a dimension, MTTA and MTTR, off-hours) and the hour-of-week heatmap.

use super::*;
use crate::pages::dashboard::charts::{BarChart, HeatmapChart, LineChart};

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
    csv_text(
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

#[component]
pub(super) fn VolumeBody(
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
pub(super) fn ResponseBody(ctx: Ctx, rows: u8, csv: RwSignal<Option<String>>) -> impl IntoView {
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
pub(super) fn OffHoursBody(ctx: Ctx, rows: u8, csv: RwSignal<Option<String>>) -> impl IntoView {
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

#[component]
pub(super) fn HeatmapBody(ctx: Ctx, csv: RwSignal<Option<String>>) -> impl IntoView {
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
            let _ = csv.try_set(Some(csv_text(&["weekday", "hour", "count"], rows)));
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
