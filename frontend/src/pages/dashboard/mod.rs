//! The dashboard: trends of the imported history over a time range and the incident list's filters (both
//! kept in the URL, so a view can be shared and reloaded), in widgets each person arranges for themselves
//! (saved on the server). It polls the analytics' status and reads everything again when the data changed,
//! so new incidents show up without a reload; with no incident at all it points to connecting a tool or
//! loading the sample history.

pub(crate) mod charts;
pub(crate) mod query;
mod widgets;

use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner};
use crate::layout::use_org;
use crate::pages::integrations::sample::SampleHistory;
use crate::pages::patterns::PatternChip;
use crate::session::{Session, use_session};
use crate::time;
use insights_types::OrgId;
use insights_types::api::{
    DashboardLayout, GroupBy, IncidentSource, Page, TopDimension, TopSort, Widget, WidgetKind,
};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
pub use query::{DashQuery, Period};
use std::time::Duration;
use widgets::WidgetCard;

/// How often the analytics' status is read.
const POLL: Duration = Duration::from_secs(15);
/// How long the layout waits for more changes before it is saved.
const SAVE_AFTER: Duration = Duration::from_millis(600);

/// What every widget reads: the view (its filters and its period as of the last refresh).
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub q: DashQuery,
    pub period: Period,
}

/// The page's shared state.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub org: OrgId,
    pub session: Session,
    /// Set when the URL changes and when the analytics change: widgets read their data again.
    pub view: RwSignal<View>,
}

/// The signed-in person's layout, and its saving.
#[derive(Clone, Copy)]
pub struct Layout {
    pub widgets: RwSignal<Vec<Widget>>,
    pub arranging: RwSignal<bool>,
    saved: RwSignal<Option<Result<(), ApiFailure>>>,
    generation: StoredValue<u32>,
    ctx: Ctx,
}

impl Layout {
    /// Changes the layout and saves it once changes have stopped for a moment.
    pub fn change(self, f: impl FnOnce(&mut Vec<Widget>)) {
        self.widgets.update(f);
        let mine = self.generation.get_value() + 1;
        self.generation.set_value(mine);
        self.saved.set(None);
        leptos::task::spawn_local(async move {
            time::sleep(SAVE_AFTER).await;
            if self.generation.try_get_value() != Some(mine) {
                return;
            }
            let Some(widgets) = self.widgets.try_get_untracked() else {
                return;
            };
            let r = api::analytics::save_layout(
                self.ctx.session,
                self.ctx.org,
                &DashboardLayout { widgets },
            )
            .await;
            if self.generation.try_get_value() == Some(mine) {
                let _ = self.saved.try_set(Some(r.map(|_| ())));
            }
        });
    }

    /// Where a widget is now.
    pub fn index_of(self, id: &str) -> Option<usize> {
        self.widgets.with(|ws| ws.iter().position(|w| w.id == id))
    }

    /// Applies `f` to the widget `id`.
    pub fn edit(self, id: &str, f: impl FnOnce(&mut Widget)) {
        let id = id.to_owned();
        self.change(move |ws| {
            if let Some(w) = ws.iter_mut().find(|w| w.id == id) {
                f(w);
            }
        });
    }
}

/// A widget kind for people, and its default size and options.
pub fn kind_label(k: WidgetKind) -> &'static str {
    match k {
        WidgetKind::Summary => "Summary",
        WidgetKind::Volume => "Incident volume",
        WidgetKind::ResponseTimes => "Time to acknowledge and resolve",
        WidgetKind::OffHours => "Off-hours incidents",
        WidgetKind::Heatmap => "Hour of the week",
        WidgetKind::Top => "Top services, teams or patterns",
        WidgetKind::Noise => "Noise",
    }
}

const KINDS: [(WidgetKind, &str); 7] = [
    (WidgetKind::Summary, "summary"),
    (WidgetKind::Volume, "volume"),
    (WidgetKind::ResponseTimes, "response_times"),
    (WidgetKind::OffHours, "off_hours"),
    (WidgetKind::Heatmap, "heatmap"),
    (WidgetKind::Top, "top"),
    (WidgetKind::Noise, "noise"),
];

/// A new widget of `kind` with an id not in `taken`.
fn new_widget(kind: WidgetKind, slug: &str, taken: &[Widget]) -> Widget {
    let base = slug.replace('_', "-");
    let id = (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| taken.iter().all(|w| &w.id != id))
        .expect("a free id");
    let (width, height) = match kind {
        WidgetKind::Summary => (4, 1),
        WidgetKind::Volume | WidgetKind::OffHours => (4, 2),
        _ => (2, 2),
    };
    Widget {
        id,
        kind,
        width,
        height,
        group_by: (kind == WidgetKind::Volume).then_some(GroupBy::Service),
        dimension: (kind == WidgetKind::Top).then_some(TopDimension::Service),
        sort: (kind == WidgetKind::Top).then_some(TopSort::Count),
    }
}

/// `/orgs/:org/dashboard`.
#[component]
pub fn Dashboard() -> impl IntoView {
    let session = use_session();
    let org = use_org()
        .get_untracked()
        .expect("the dashboard renders under /orgs/:org");
    let query = use_query_map();
    let applied = Memo::new(move |_| DashQuery::from_query(&query.read()));
    let view = RwSignal::new(View {
        q: applied.get_untracked(),
        period: applied.get_untracked().period(time::now()),
    });
    let ctx = Ctx { org, session, view };
    let navigate = use_navigate();
    // The URL is the truth: a change of range or filter reads everything again, as of now.
    Effect::new(move |prev: Option<()>| {
        let q = applied.get();
        if prev.is_some() {
            view.set(View {
                period: q.period(time::now()),
                q,
            });
        }
    });

    // Live: the analytics' version, read every 15 s while the page is open.
    let pending = RwSignal::new(false);
    let refreshed = RwSignal::new(0u32);
    leptos::task::spawn_local(async move {
        let mut version = None;
        loop {
            if let Ok(s) = api::analytics::status(session, org).await {
                if pending.try_set(s.pending).is_some() {
                    return;
                }
                if version.is_some_and(|v| v != s.version) {
                    let _ = view.try_update(|v| v.period = v.q.period(time::now()));
                    let _ = refreshed.try_update(|n| *n += 1);
                }
                version = Some(s.version);
            }
            time::sleep(POLL).await;
            if pending.try_get_untracked().is_none() {
                return;
            }
        }
    });

    // Whether there is any incident at all (then the widgets), read again with the data.
    let any = LocalResource::new(move || {
        let _ = refreshed.get();
        async move {
            api::analytics::summary(session, org, &[])
                .await
                .map(|s| s.totals.count > 0)
        }
    });
    // Only a change of the answer re-renders the page (the widgets read their own data again).
    let any = Memo::new(move |_| any.get());

    let layout = Layout {
        widgets: RwSignal::new(Vec::new()),
        arranging: RwSignal::new(false),
        saved: RwSignal::new(None),
        generation: StoredValue::new(0),
        ctx,
    };
    let layout_error = RwSignal::new(None::<ApiFailure>);
    let layout_loaded = RwSignal::new(false);
    let load_layout = move || {
        leptos::task::spawn_local(async move {
            match api::analytics::layout(session, org).await {
                Ok(l) => {
                    let _ = layout.widgets.try_set(l.layout.widgets);
                    let _ = layout_error.try_set(None);
                }
                Err(e) => {
                    let _ = layout_error.try_set(Some(e));
                }
            }
            let _ = layout_loaded.try_set(true);
        });
    };
    load_layout();
    let reset = move |_| {
        layout.generation.update_value(|g| *g += 1);
        leptos::task::spawn_local(async move {
            match api::analytics::reset_layout(session, org).await {
                Ok(()) => load_layout(),
                Err(e) => {
                    let _ = layout_error.try_set(Some(e));
                }
            }
        });
    };
    let add_kind = RwSignal::new("volume".to_owned());
    let add = move |_| {
        let slug = add_kind.get_untracked();
        let Some((kind, slug)) = KINDS.iter().find(|(_, s)| *s == slug) else {
            return;
        };
        layout.change(|ws| {
            let w = new_widget(*kind, slug, ws);
            ws.push(w);
        });
    };

    view! {
        <div class="page-head">
            <h1>"Dashboard"</h1>
            <div class="dash-actions">
                <span class="muted updating" role="status">
                    {move || pending.get().then_some("Updating…")}
                </span>
                <button class="btn small" id="arrange" aria-pressed=move || layout.arranging.get().to_string()
                    on:click=move |_| layout.arranging.update(|a| *a = !*a)>
                    {move || if layout.arranging.get() { "Done" } else { "Arrange" }}
                </button>
            </div>
        </div>
        <RangeBar applied=applied org=org session=session go=Callback::new(move |q: DashQuery| {
            navigate(&format!("/orgs/{org}/dashboard?{}", q.url_query()), NavigateOptions::default());
        }) />
        <ErrorBanner error=layout_error.into() />
        <Show when=move || layout.arranging.get()>
            <div class="card arrange-bar" role="group" aria-label="Arrange the dashboard">
                <div class="field">
                    <label for="add-widget-kind">"Add a widget"</label>
                    <select id="add-widget-kind" on:change=move |ev| add_kind.set(event_target_value(&ev))>
                        {KINDS.iter().map(|(k, s)| view! {
                            <option value=*s selected=move || add_kind.get() == *s>{kind_label(*k)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <button class="btn" id="add-widget" on:click=add>"Add"</button>
                <button class="btn danger" id="reset-layout" on:click=reset>"Reset to default"</button>
                <span class="muted" role="status">{move || match layout.saved.get() {
                    Some(Ok(())) => "Saved.".to_owned(),
                    Some(Err(e)) => format!("Not saved: {}", e.message()),
                    None => String::new(),
                }}</span>
            </div>
        </Show>
        {move || match any.get() {
            None => view! { <Spinner /> }.into_any(),
            Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
            Some(Ok(false)) => view! { <NoIncidents org=org /> }.into_any(),
            Some(Ok(true)) => view! {
                <Show when=move || layout_loaded.get() fallback=|| view! { <Spinner /> }>
                    <div class="dash-grid">
                        <For
                            each=move || layout.widgets.get()
                            key=|w| format!("{w:?}")
                            let:w
                        >
                            <WidgetCard ctx=ctx layout=layout widget=w />
                        </For>
                    </div>
                    <Show when=move || layout.widgets.with(Vec::is_empty)>
                        <EmptyState title="No widgets" hint="Add one under Arrange, or reset to the default layout." />
                    </Show>
                </Show>
            }.into_any(),
        }}
    }
}

/// The empty state: no incident yet.
#[component]
fn NoIncidents(org: OrgId) -> impl IntoView {
    view! {
        <section class="card dash-empty">
            <EmptyState title="No incidents yet"
                hint="The dashboard shows trends of your incident history. Connect PagerDuty or Opsgenie to import it, or load the sample history to try everything first." />
            <p class="empty-actions"><A href=format!("/orgs/{org}/integrations") attr:class="btn primary">"Connect a tool"</A></p>
        </section>
        <SampleHistory />
    }
}

/// A source, for people.
fn source_label(s: IncidentSource) -> &'static str {
    match s {
        IncidentSource::Pagerduty => "PagerDuty",
        IncidentSource::Opsgenie => "Opsgenie",
        IncidentSource::Sample => "Sample",
    }
}

/// `(id, name)` options of a service or team list, the source added when several sources are listed.
fn ref_options<T>(
    list: Option<api::ApiResult<Page<T>>>,
    parts: impl Fn(T) -> (String, String, IncidentSource),
) -> Vec<(String, String)> {
    let items: Vec<_> = list
        .and_then(Result::ok)
        .map(|p| p.items)
        .unwrap_or_default()
        .into_iter()
        .map(parts)
        .collect();
    let mixed = items.windows(2).any(|w| w[0].2 != w[1].2);
    items
        .into_iter()
        .map(|(id, name, source)| {
            let label = if mixed {
                format!("{name} ({})", source_label(source))
            } else {
                name
            };
            (id, label)
        })
        .collect()
}

/// The time range presets, custom dates and the incident list's filters (with the pattern filter's chip when
/// one is set); every change is handed to `go`, which puts it in the page's URL.
#[component]
pub(crate) fn RangeBar(
    applied: Memo<DashQuery>,
    org: OrgId,
    session: Session,
    go: Callback<DashQuery>,
) -> impl IntoView {
    let from = RwSignal::new(applied.get_untracked().from);
    let to = RwSignal::new(applied.get_untracked().to);
    let text = RwSignal::new(applied.get_untracked().filter("q"));
    Effect::new(move |_| {
        let q = applied.get();
        text.set(q.filter("q"));
        from.set(q.from);
        to.set(q.to);
    });
    let services =
        LocalResource::new(move || async move { api::services::list_services(session, org).await });
    let teams =
        LocalResource::new(move || async move { api::teams::list_teams(session, org).await });
    let set_filter = {
        move |key: &'static str, value: String| {
            go.run(applied.get_untracked().with_filter(key, value))
        }
    };
    let preset = {
        move |range: &'static str| {
            let mut q = applied.get_untracked();
            q.range = range.to_owned();
            if range == "custom" && q.from.is_empty() {
                let now = time::now();
                q.from = time::date_value(now - chrono::Duration::days(30));
                q.to = time::date_value(now);
            }
            go.run(q);
        }
    };
    let custom = {
        move || {
            let mut q = applied.get_untracked();
            q.range = "custom".to_owned();
            q.from = from.get_untracked();
            q.to = to.get_untracked();
            go.run(q);
        }
    };
    let set_text = set_filter;
    let select = move |id: &'static str,
                       label: &'static str,
                       key: &'static str,
                       options: Signal<Vec<(String, String)>>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <select id=id on:change=move |ev| set_filter(key, event_target_value(&ev))>
                    <option value="" selected=move || applied.with(|q| q.filter(key).is_empty())>"Any"</option>
                    {move || options.get().into_iter().map(|(v, l)| {
                        let chosen = v.clone();
                        view! { <option value=v selected=move || applied.with(|q| q.filter(key) == chosen)>{l}</option> }
                    }).collect_view()}
                </select>
            </div>
        }
    };
    let fixed = |pairs: &'static [(&'static str, &'static str)]| {
        Signal::derive(move || {
            pairs
                .iter()
                .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                .collect::<Vec<_>>()
        })
    };
    let service_options = Signal::derive(move || {
        ref_options(services.get(), |s| (s.id.to_string(), s.name, s.source))
    });
    let team_options =
        Signal::derive(move || ref_options(teams.get(), |t| (t.id.to_string(), t.name, t.source)));
    let submit_text = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_text("q", text.get_untracked());
    };
    let custom_change = custom;
    let wide = web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|v| v.as_f64())
        .is_none_or(|px| px >= 720.0);
    view! {
        <div class="range-bar" role="group" aria-label="Time range">
            {query::PRESETS.iter().map(|(v, label, _)| {
                                view! {
                    <button class="btn small range" data-range=*v
                        aria-pressed=move || applied.with(|q| q.range == *v).to_string()
                        on:click=move |_| preset(v)>{*label}</button>
                }
            }).collect_view()}
            <button class="btn small range" data-range="custom"
                aria-pressed=move || applied.with(|q| q.range == "custom").to_string()
                on:click=move |_| preset("custom")>"Custom"</button>
        </div>
        <Show when=move || applied.with(|q| q.range == "custom")>
            {
                let (c1, c2) = (custom_change, custom_change);
                view! {
                    <div class="custom-range">
                        <div class="field">
                            <label for="dash-from">"From (UTC)"</label>
                            <input id="dash-from" type="date" prop:value=move || from.get()
                                on:change=move |ev| { from.set(event_target_value(&ev)); c1() } />
                        </div>
                        <div class="field">
                            <label for="dash-to">"To (UTC)"</label>
                            <input id="dash-to" type="date" prop:value=move || to.get()
                                on:change=move |ev| { to.set(event_target_value(&ev)); c2() } />
                        </div>
                        <p class="field-error" role="alert">{move || applied.with(|q| q.range_error())}</p>
                    </div>
                }
            }
        </Show>
        // On a phone the filters fold away (open when one is set); a wide screen shows them.
        <details class="filter-panel" open=wide || applied.with_untracked(|q| !q.filter_pairs().is_empty())>
        <summary>{move || {
            let n = applied.with(|q| q.filter_pairs().len());
            if n == 0 { "Filters".to_owned() } else { format!("Filters ({n} set)") }
        }}</summary>
        <form class="filters" aria-label="Filters" on:submit=submit_text>
            <div class="field grow">
                <label for="dash-q">"Search"</label>
                <input id="dash-q" type="search" placeholder="Title or description"
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
            </div>
            {select("dash-status", "Status", "status", fixed(&[("triggered", "Triggered"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved")]))}
            {select("dash-source", "Source", "source", fixed(&[("pagerduty", "PagerDuty"), ("opsgenie", "Opsgenie"), ("sample", "Sample")]))}
            {select("dash-urgency", "Urgency", "urgency", fixed(&[("high", "High"), ("low", "Low")]))}
            {select("dash-service", "Service", "service", service_options)}
            {select("dash-team", "Team", "team", team_options)}
            <button class="btn" type="submit">"Apply"</button>
        </form>
        </details>
        {move || {
            let id = applied.with(|q| q.filter("pattern")).parse().ok()?;
            let clear = move || go.run(applied.get_untracked().with_filter("pattern", String::new()));
            Some(view! { <PatternChip org=org id=id clear=Callback::new(move |()| clear()) /> })
        }}
    }
}
