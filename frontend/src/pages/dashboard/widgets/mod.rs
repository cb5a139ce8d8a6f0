//! The dashboard's widgets: a card each (title, options, "Download CSV", and while arranging: move, resize,
//! remove), and what each kind shows (`summary` also holds the noise panel, `series` the charts over time and
//! the heatmap, `top` the services and teams table). Every number that stands for incidents links to the
//! incident list with the view's filters and the number's period (and group).

mod series;
mod summary;
mod top;

use super::charts::{ChartPoint, ChartSeries, bucket_names, short_secs};
use super::query::{drill_href, drillable_key};
use super::{Ctx, Layout, View, kind_label};
use crate::api::{self, ApiFailure};
use crate::components::Spinner;
use crate::time;
use insights_types::api::{
    AnalyticsSummaryOut, Bucket, GroupBy, Metric, PeriodTotals, SortOrder, Stat, TimeseriesOut,
    TopDimension, TopOut, TopSort, Widget, WidgetKind,
};
use leptos::prelude::*;
use leptos_router::components::A;
use series::{HeatmapBody, OffHoursBody, ResponseBody, VolumeBody};
use summary::{NoiseBody, SummaryBody};
use top::TopBody;

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
        (WidgetKind::Top, Some(TopDimension::Pattern)) => "Top patterns",
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

const GROUPS: [(&str, &str); 7] = [
    ("", "Not split"),
    ("service", "Service"),
    ("team", "Team"),
    ("pattern", "Pattern"),
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
        "pattern" => Some(GroupBy::Pattern),
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

/// The top table's rows: (dimension, the API's and the incident list's parameter, label).
const DIMENSIONS: [(TopDimension, &str, &str); 3] = [
    (TopDimension::Service, "service", "Services"),
    (TopDimension::Team, "team", "Teams"),
    (TopDimension::Pattern, "pattern", "Patterns"),
];

/// The parameter of a top table's dimension (`service`, `team`, `pattern`).
fn dimension_param(d: TopDimension) -> &'static str {
    DIMENSIONS
        .iter()
        .find(|(x, _, _)| *x == d)
        .map_or("service", |(_, p, _)| *p)
}

fn dimension_select(layout: Layout, id: &str, current: Option<TopDimension>) -> impl IntoView {
    let sel = format!("{id}-dimension");
    let id = id.to_owned();
    let current = current.unwrap_or(TopDimension::Service);
    view! {
        <label class="sr-only" for=sel.clone()>"Rows"</label>
        <select id=sel class="dimension small" on:change=move |ev| {
            let v = event_target_value(&ev);
            let d = DIMENSIONS.iter().find(|(_, p, _)| *p == v).map_or(TopDimension::Service, |(d, _, _)| *d);
            layout.edit(&id, |w| w.dimension = Some(d));
        }>
            {DIMENSIONS.iter().map(|(d, v, l)| view! {
                <option value=*v selected=*d == current>{*l}</option>
            }).collect_view()}
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

fn fmt_share(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |s| format!("{:.0}%", s * 100.0))
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
pub fn csv_text(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
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
