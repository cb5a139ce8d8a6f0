//! Recurring patterns: the list (`/orgs/:org/patterns`: the dashboard's period and filters, quick views, a
//! sortable table with sparklines, "load more"), one pattern (`detail`), the pattern block of the incident
//! page (`incident`), and what they share (`parts`, `picker`). Every count links to the incident list with
//! `pattern=<id>` and the view's period and filters.

mod detail;
mod incident;
mod parts;
mod picker;

use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner};
use crate::layout::use_org;
use crate::pages::dashboard::charts::{Sparkline, short_secs};
use crate::pages::dashboard::query::{drill_href, enc};
use crate::pages::dashboard::{DashQuery, Period, RangeBar};
use crate::session::use_session;
use crate::time;
pub use detail::PatternPage;
pub use incident::IncidentPattern;
use insights_types::OrgId;
use insights_types::api::{PatternOut, PatternSort, PatternTrend, SortOrder};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
pub use parts::PatternChip;
use parts::{Template, TrendNote};

/// How many patterns a page holds.
const PAGE: u32 = 50;

/// The sortable columns: (sort, URL value, label).
const SORTS: [(PatternSort, &str, &str); 4] = [
    (PatternSort::Count, "count", "Incidents"),
    (PatternSort::Cost, "cost", "Cost"),
    (PatternSort::Recent, "recent", "Last seen"),
    (PatternSort::Growth, "growth", "Growth"),
];

fn sort_param(s: PatternSort) -> &'static str {
    SORTS.iter().find(|c| c.0 == s).map_or("count", |c| c.1)
}

/// The list's view, as kept in its URL: the dashboard's period and filters, the sort, whether muted patterns
/// show, and the quick view (`new`: new this week, first; `costliest`; empty: all).
#[derive(Clone, Debug, PartialEq, Eq)]
struct ListQuery {
    dash: DashQuery,
    sort: PatternSort,
    order: SortOrder,
    muted: bool,
    quick: String,
}

impl ListQuery {
    fn from_query(map: &ParamsMap) -> Self {
        let get = |k: &str| map.get(k).unwrap_or_default();
        let sort = get("sort");
        Self {
            dash: DashQuery::from_query(map),
            sort: SORTS
                .iter()
                .find(|c| c.1 == sort)
                .map_or_else(PatternSort::default, |c| c.0),
            order: if get("order") == "asc" {
                SortOrder::Asc
            } else {
                SortOrder::Desc
            },
            muted: get("muted") == "all",
            quick: get("view"),
        }
    }

    fn url_query(&self) -> String {
        let mut out = vec![self.dash.url_query()];
        if self.sort != PatternSort::Count {
            out.push(format!("sort={}", sort_param(self.sort)));
        }
        if self.order == SortOrder::Asc {
            out.push("order=asc".to_owned());
        }
        if self.muted {
            out.push("muted=all".to_owned());
        }
        if !self.quick.is_empty() {
            out.push(format!("view={}", enc(&self.quick)));
        }
        out.retain(|p| !p.is_empty());
        out.join("&")
    }

    /// The API's query pairs over `period`.
    fn api_pairs(&self, period: Period) -> Vec<String> {
        let mut out = period.api_pairs(&self.dash);
        out.push(format!("sort={}", sort_param(self.sort)));
        out.push(format!(
            "order={}",
            if self.order == SortOrder::Asc {
                "asc"
            } else {
                "desc"
            }
        ));
        out.push(format!(
            "muted={}",
            if self.muted { "all" } else { "false" }
        ));
        out
    }

    /// The quick view `quick`: all patterns by count, the new ones of the last 7 days, or the costliest.
    fn quick_view(&self, quick: &str) -> Self {
        let mut next = self.clone();
        next.quick = quick.to_owned();
        next.order = SortOrder::Desc;
        match quick {
            "new" => {
                next.dash.range = "7d".to_owned();
                next.sort = PatternSort::Growth;
            }
            "costliest" => next.sort = PatternSort::Cost,
            _ => next.sort = PatternSort::Count,
        }
        next
    }
}

/// The organization of the route.
fn org_id() -> OrgId {
    use_org()
        .get_untracked()
        .expect("pattern pages render under /orgs/:org")
}

/// A share of incidents: "12%".
fn share(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |s| format!("{:.0}%", s * 100.0))
}

/// A duration in seconds, or "—".
fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), short_secs)
}

/// `/orgs/:org/patterns`.
#[component]
pub fn Patterns() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let query = use_query_map();
    let navigate = use_navigate();
    let applied = Memo::new(move |_| ListQuery::from_query(&query.read()));
    let dash = Memo::new(move |_| applied.get().dash);
    let go = move |q: ListQuery| {
        navigate(
            &format!("/orgs/{org}/patterns?{}", q.url_query()),
            NavigateOptions::default(),
        );
    };
    let go_dash = {
        let go = go.clone();
        Callback::new(move |d: DashQuery| {
            let mut q = applied.get_untracked();
            // A different period or filter is no longer a quick view.
            if d.range != q.dash.range {
                q.quick.clear();
            }
            q.dash = d;
            go(q);
        })
    };

    let items = RwSignal::new(Vec::<PatternOut>::new());
    let cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let no_incidents = RwSignal::new(false);
    let period = RwSignal::new(applied.get_untracked().dash.period(time::now()));
    // Answers to an older request are dropped.
    let generation = StoredValue::new(0u32);
    let load = move |more: bool| {
        let q = applied.get_untracked();
        let after = if more {
            cursor.get_untracked()
        } else {
            items.set(Vec::new());
            cursor.set(None);
            period.set(q.dash.period(time::now()));
            None
        };
        let params = q.api_pairs(period.get_untracked());
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        loading.set(true);
        leptos::task::spawn_local(async move {
            let r =
                api::patterns::list_patterns(session, org, &params, PAGE, after.as_deref()).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            // An empty first page: is there no incident at all yet, or none in this view?
            if let Ok(page) = &r
                && !more
                && page.items.is_empty()
            {
                let any = api::analytics::summary(session, org, &[]).await;
                let _ = no_incidents.try_set(any.is_ok_and(|s| s.totals.count == 0));
            }
            if generation.try_get_value() != Some(mine) {
                return;
            }
            match r {
                Ok(page) => {
                    items.update(|i| {
                        i.extend(page.items);
                        // "New this week" shows the new ones first (the rest by growth).
                        if q.quick == "new" {
                            i.sort_by_key(|p| p.trend != PatternTrend::New);
                        }
                    });
                    cursor.set(page.next_cursor);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    Effect::new(move |_| {
        applied.track();
        load(false);
    });

    let quick = {
        let go = go.clone();
        move |v: &'static str, label: &'static str| {
            let go = go.clone();
            view! {
                <button class="btn small range quick" data-view=v
                    aria-pressed=move || applied.with(|q| q.quick == v).to_string()
                    on:click=move |_| go(applied.get_untracked().quick_view(v))>{label}</button>
            }
        }
    };
    let sort_by = {
        let go = go.clone();
        move |s: PatternSort| {
            let mut q = applied.get_untracked();
            if q.sort == s {
                q.order = if q.order == SortOrder::Desc {
                    SortOrder::Asc
                } else {
                    SortOrder::Desc
                };
            } else {
                q.sort = s;
                q.order = SortOrder::Desc;
            }
            q.quick.clear();
            go(q);
        }
    };
    let show_muted = {
        let go = go.clone();
        move |ev| {
            let mut q = applied.get_untracked();
            q.muted = event_target_checked(&ev);
            go(q);
        }
    };
    let header = move |s: PatternSort, label: &'static str| {
        let sort_by = sort_by.clone();
        let aria = move || {
            applied.with(|q| {
                (q.sort == s).then_some(if q.order == SortOrder::Asc {
                    "ascending"
                } else {
                    "descending"
                })
            })
        };
        let arrow = move || {
            applied.with(|q| match (q.sort == s, q.order) {
                (false, _) => "",
                (true, SortOrder::Asc) => " ▲",
                (true, SortOrder::Desc) => " ▼",
            })
        };
        view! {
            <th scope="col" class="num" aria-sort=aria>
                <button class="sort" data-sort=sort_param(s) on:click=move |_| sort_by(s)>{label}{arrow}</button>
            </th>
        }
    };

    view! {
        <div class="page-head">
            <h1>"Patterns"</h1>
            <p class="muted page-lead">"The problems that keep coming back, grouped by title, and what they cost."</p>
        </div>
        <div class="range-bar quick-views" role="group" aria-label="Quick views">
            {quick("", "All")}
            {quick("new", "New this week")}
            {quick("costliest", "Costliest")}
        </div>
        <RangeBar applied=dash org=org session=session go=go_dash />
        <div class="list-options">
            <label class="check">
                <input type="checkbox" id="show-muted" prop:checked=move || applied.with(|q| q.muted) on:change=show_muted />
                "Show muted patterns"
            </label>
        </div>
        <ErrorBanner error=error.into() />
        <section class="card patterns-card">
            <Show when=move || !items.with(Vec::is_empty) || loading.get() fallback=move || {
                let none = no_incidents.get();
                view! {
                    <Show when=move || error.with(Option::is_none)>
                        {if none {
                            view! {
                                <EmptyState title="No incidents yet"
                                    hint="Patterns are found in your incident history. Connect PagerDuty or Opsgenie, or load the sample history, under Integrations." />
                                <p class="empty-actions"><A href=format!("/orgs/{org}/integrations") attr:class="btn primary">"Go to Integrations"</A></p>
                            }.into_any()
                        } else {
                            view! {
                                <EmptyState title="No patterns in this view"
                                    hint="No incident matches this period and these filters (muted patterns are hidden unless shown). Try a longer period or fewer filters." />
                            }.into_any()
                        }}
                    </Show>
                }
            }>
                <div class="table-scroll">
                    <table class="table patterns-table">
                        <thead><tr>
                            <th scope="col">"Pattern"</th>
                            {header(PatternSort::Count, "Incidents")}
                            <th scope="col" class="num">"MTTA"</th>
                            <th scope="col" class="num">"MTTR"</th>
                            <th scope="col" class="num">"Off-hours"</th>
                            {header(PatternSort::Cost, "Cost")}
                            {header(PatternSort::Recent, "Last seen")}
                            {header(PatternSort::Growth, "Trend")}
                        </tr></thead>
                        <tbody>
                            <For each=move || items.get() key=|p| (p.id, p.name.clone(), p.count, p.muted) let:p>
                                <PatternRow org=org p=p q=applied.get_untracked().dash period=period.get_untracked() />
                            </For>
                        </tbody>
                    </table>
                </div>
            </Show>
            <Show when=move || loading.get()><Spinner /></Show>
            <Show when=move || cursor.get().is_some() && !loading.get()>
                <button class="btn load-more" on:click=move |_| load(true)>"Load more"</button>
            </Show>
        </section>
    }
}

/// One row of the list.
#[component]
fn PatternRow(org: OrgId, p: PatternOut, q: DashQuery, period: Period) -> impl IntoView {
    let id = p.id.to_string();
    let page = format!("/orgs/{org}/patterns/{id}?{}", q.url_query());
    let incidents = drill_href(org, &q, period, Some(("pattern", &id)));
    // The services where it happens, at most three.
    let services = p
        .services
        .iter()
        .take(3)
        .map(|s| s.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let now = time::now();
    view! {
        <tr data-id=id.clone() class:muted-row=p.muted>
            <th scope="row" class="pattern-cell">
                // Called by its template until renamed: then the template is shown once, as the link.
                {if p.renamed {
                    view! {
                        <A href=page attr:class="pattern-name">{p.name.clone()}</A>
                        <div class="pattern-template"><Template parts=p.parts.clone() /></div>
                    }.into_any()
                } else {
                    view! {
                        <A href=page attr:class="pattern-name">
                            <Template parts=p.parts.clone() />
                        </A>
                    }.into_any()
                }}
                {p.muted.then(|| view! { " " <span class="pill tag">"muted"</span> })}
                <div class="pattern-services">{services}</div>
            </th>
            <td class="num count">
                <A href=incidents attr:class="count-link">{p.count.to_string()}</A>
                <div><TrendNote trend=p.trend previous=p.previous_count /></div>
            </td>
            <td class="num">{secs(p.mtta_seconds)}</td>
            <td class="num">{secs(p.mttr_seconds)}</td>
            <td class="num">{share(p.off_hours_share)}</td>
            <td class="num cost">{short_secs(p.cost_seconds)}</td>
            <td class="nowrap" title=p.last_seen.map(time::when)>
                {p.last_seen.map_or_else(|| "—".to_owned(), |t| time::relative(t, now))}
            </td>
            <td><Sparkline values=p.sparkline.clone() /></td>
        </tr>
    }
}
