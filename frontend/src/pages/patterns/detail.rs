//! One pattern (`/orgs/:org/patterns/:pattern`, with the list's period and filters in the URL): its name
//! (renamed inline, or back to its template), template, figures, trend, examples, services and teams, the
//! templates that assign to it and where each came from, related patterns, its latest incidents — and the
//! corrections for those who may make them: mute, merge into another pattern, move an incident.

use super::parts::{Template, TrendNote};
use super::picker::PatternPicker;
use super::{org_id, secs, share};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner, field_error};
use crate::pages::automations::AutomationsCard;
use crate::pages::dashboard::charts::{
    BarChart, ChartPoint, ChartSeries, bucket_names, short_secs,
};
use crate::pages::dashboard::query::drill_href;
use crate::pages::dashboard::{DashQuery, Period, RangeBar};
use crate::pages::runbooks::{Subject, SuggestedRunbooks};
use crate::pages::settings::can;
use crate::session::use_session;
use crate::time;
use insights_types::api::{
    IncidentOut, PatternDetailOut, PatternMergeIn, PatternOut, PatternPatch, RunSubjectIn,
};
use insights_types::domain::PatternName;
use insights_types::{OrgId, PatternId, Permission};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

/// Where a template came from, for people.
pub fn origin_label(origin: &str) -> &'static str {
    match origin {
        "merge" => "merged by a person",
        "move" => "an incident moved here by a person",
        _ => "found by the engine",
    }
}

/// The count for people: "1 incident", "3 incidents".
pub fn incidents(n: i64) -> String {
    if n == 1 {
        "1 incident".to_owned()
    } else {
        format!("{n} incidents")
    }
}

/// What the page shows: the pattern as of a period.
#[derive(Clone)]
struct Loaded {
    d: PatternDetailOut,
    q: DashQuery,
    period: Period,
}

/// `/orgs/:org/patterns/:pattern`.
#[component]
pub fn PatternPage() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    let query = use_query_map();
    let navigate = use_navigate();
    let applied = Memo::new(move |_| DashQuery::from_query(&query.read()));
    let id = Memo::new(move |_| {
        params
            .read()
            .get("pattern")
            .and_then(|s| s.parse::<PatternId>().ok())
    });
    // Bumped by a correction: the page reads the pattern again.
    let version = RwSignal::new(0u32);
    let detail = LocalResource::new(move || {
        let (id, q) = (id.get(), applied.get());
        version.track();
        async move {
            let Some(id) = id else { return Ok(None) };
            let period = q.period(time::now());
            let d = api::patterns::get_pattern(session, org, id, &period.api_pairs(&q)).await?;
            Ok::<_, ApiFailure>(Some(Loaded { d, q, period }))
        }
    });
    // An alias (a pattern merged away) answers as the pattern it went into: the address follows.
    {
        let navigate = navigate.clone();
        Effect::new(move |_| {
            if let (Some(Ok(Some(l))), Some(asked)) = (detail.get(), id.get_untracked())
                && l.d.pattern.id != asked
            {
                let qs = l.q.url_query();
                navigate(
                    &format!("/orgs/{org}/patterns/{}?{qs}", l.d.pattern.id),
                    NavigateOptions {
                        replace: true,
                        ..Default::default()
                    },
                );
            }
        });
    }
    let go = Callback::new(move |q: DashQuery| {
        if let Some(id) = id.get_untracked() {
            navigate(
                &format!("/orgs/{org}/patterns/{id}?{}", q.url_query()),
                NavigateOptions::default(),
            );
        }
    });
    view! {
        <p><A href=move || format!("/orgs/{org}/patterns?{}", applied.with(DashQuery::url_query))>"← Patterns"</A></p>
        {move || match detail.get() {
            None => view! { <Spinner /> }.into_any(),
            Some(Ok(None)) => view! { <p class="banner error">"Not a valid pattern link."</p> }.into_any(),
            Some(Err(e)) => view! {
                <p class="banner error">{if e.status == 404 { "Pattern not found.".to_owned() } else { e.message() }}</p>
            }.into_any(),
            Some(Ok(Some(l))) => view! {
                <PatternBody org=org l=l version=version>
                    <RangeBar applied=applied org=org session=session go=go />
                </PatternBody>
            }.into_any(),
        }}
    }
}

/// The page once the pattern is read; `children` is the period and filters bar, under its head.
#[component]
fn PatternBody(org: OrgId, l: Loaded, version: RwSignal<u32>, children: Children) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let may_edit = can(org, Permission::EditPatterns);
    let Loaded { d, q, period } = l;
    let p = d.pattern.clone();
    let id = p.id;
    let error = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let patch = move |body: PatternPatch, after: Box<dyn FnOnce() + Send + Sync>| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::patterns::update_pattern(session, org, id, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(_) => {
                    after();
                    let _ = error.try_set(None);
                    version.update(|v| *v += 1);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };

    // Rename, inline.
    let renaming = RwSignal::new(false);
    let name = RwSignal::new(p.name.clone());
    let name_error = field_error(error, "name");
    let rename = {
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            // The API's own rule, checked before anything is sent.
            match PatternName::parse_field("name", &name.get_untracked()) {
                Ok(n) => patch(
                    PatternPatch {
                        name: Some(Some(n.into_inner())),
                        muted: None,
                    },
                    Box::new(move || renaming.set(false)),
                ),
                Err(e) => error.set(Some(ApiFailure::invalid(vec![e]))),
            }
        }
    };
    let reset_name = {
        move |_| {
            patch(
                PatternPatch {
                    name: Some(None),
                    muted: None,
                },
                Box::new(move || renaming.set(false)),
            )
        }
    };
    let muted = p.muted;
    let toggle_mute = {
        move |_| {
            patch(
                PatternPatch {
                    name: None,
                    muted: Some(!muted),
                },
                Box::new(|| ()),
            )
        }
    };

    // Merge into another pattern, then show it.
    let merging = RwSignal::new(false);
    let merge_busy = RwSignal::new(false);
    let merge_error = RwSignal::new(None::<ApiFailure>);
    let here = q.url_query();
    let qs = here.clone();
    let merge = Callback::new(move |into: Option<PatternOut>| {
        let Some(into) = into else { return };
        merge_busy.set(true);
        let navigate = navigate.clone();
        let qs = qs.clone();
        leptos::task::spawn_local(async move {
            let body = PatternMergeIn { into: into.id };
            let r = api::patterns::merge_pattern(session, org, id, &body).await;
            let _ = merge_busy.try_set(false);
            match r {
                Ok(target) => navigate(
                    &format!("/orgs/{org}/patterns/{}?{qs}", target.pattern.id),
                    NavigateOptions::default(),
                ),
                Err(e) => {
                    let _ = merge_error.try_set(Some(e));
                }
            }
        });
    });

    let drill = drill_href(org, &q, period, Some(("pattern", &id.to_string())));
    let chart = trend_series(org, &d, &q, period);
    let template_parts = p.parts.clone();
    view! {
        <div class="page-head pattern-head">
            <Show when=move || renaming.get() fallback={
                let shown = p.name.clone();
                move || view! { <h1 id="pattern-name">{shown.clone()}</h1> }
            }>
                <form class="inline-form rename" on:submit=rename>
                    <div class="field">
                        <label for="pattern-rename">"Name"</label>
                        <input id="pattern-rename" maxlength="200" prop:value=move || name.get()
                            aria-invalid=move || name_error.get().is_some().to_string() aria-describedby="pattern-rename-error"
                            on:input=move |ev| name.set(event_target_value(&ev)) />
                        <p class="field-error" id="pattern-rename-error" role="alert">{move || name_error.get()}</p>
                    </div>
                    <button class="btn primary" type="submit" disabled=move || busy.get()>"Save"</button>
                    <button class="btn" type="button" on:click=move |_| renaming.set(false)>"Cancel"</button>
                </form>
            </Show>
            <Show when=may_edit>
                <div class="pattern-actions" role="group" aria-label="Correct this pattern">
                    <Show when=move || !renaming.get()>
                        <button class="btn small" id="rename" on:click=move |_| renaming.set(true)>"Rename"</button>
                    </Show>
                    {p.renamed.then(|| {
                        view! { <button class="btn small" id="reset-name" on:click=reset_name>"Reset to template"</button> }
                    })}
                    <button class="btn small" id="mute" aria-pressed=muted.to_string() on:click=toggle_mute>
                        {if muted { "Unmute" } else { "Mute" }}
                    </button>
                    <button class="btn small" id="merge" on:click=move |_| { merge_error.set(None); merging.set(true) }>"Merge into…"</button>
                </div>
            </Show>
        </div>
        <ErrorBanner error=error.into() />
        {children()}
        {p.muted.then(|| view! {
            <p class="banner muted-note">"Muted: hidden from the pattern list unless muted patterns are shown."</p>
        })}
        <section class="card">
            <p class="template-line"><span class="muted">"Template: "</span><Template parts=template_parts /></p>
            <div class="tiles pattern-figures">
                <div class="tile" data-tile="count">
                    <p class="tile-label">"Incidents in the period"</p>
                    <A href=drill.clone() attr:class="tile-value">{p.count.to_string()}</A>
                    <p class="tile-delta"><TrendNote trend=p.trend previous=p.previous_count /></p>
                </div>
                <div class="tile" data-tile="total">
                    <p class="tile-label">"All time"</p>
                    <span class="tile-value">{p.total_count.to_string()}</span>
                    <p class="tile-detail muted">{p.first_seen.map(|t| format!("since {}", t.format("%Y-%m-%d")))}</p>
                </div>
                <div class="tile"><p class="tile-label">"MTTA"</p><span class="tile-value">{secs(p.mtta_seconds)}</span></div>
                <div class="tile"><p class="tile-label">"MTTR"</p><span class="tile-value">{secs(p.mttr_seconds)}</span></div>
                <div class="tile"><p class="tile-label">"Off hours"</p><span class="tile-value">{share(p.off_hours_share)}</span></div>
                <div class="tile" data-tile="cost">
                    <p class="tile-label">"Cost (time to resolve)"</p>
                    <span class="tile-value">{short_secs(p.cost_seconds)}</span>
                </div>
            </div>
            <p class="muted last-seen">{p.last_seen.map(|t| format!("Last seen {}.", time::when(t)))}</p>
        </section>
        <SuggestedRunbooks org=org subject=Subject::Pattern(id) />
        <AutomationsCard org=org subject=RunSubjectIn { pattern_id: Some(id), ..Default::default() } />
        <section class="card">
            <h2>"Trend"</h2>
            <BarChart label="Incidents of this pattern per period" series=chart fmt=|v| format!("{}", v.round() as i64) rows=1 />
        </section>
        <div class="pattern-columns">
            <section class="card">
                <h2>"Example titles"</h2>
                <ul class="examples">{p.examples.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}</ul>
                <h2>"Services and teams"</h2>
                <p class="services">{names(&p.services)}</p>
                <p class="teams">{names(&p.teams)}</p>
            </section>
            <section class="card">
                <h2>"Templates"</h2>
                <ul class="templates">
                    {d.templates.iter().map(|t| view! {
                        <li data-origin=t.origin.clone()>
                            <Template parts=t.parts.clone() />
                            <span class="muted">{format!(" — {}", origin_label(&t.origin))}</span>
                        </li>
                    }).collect_view()}
                </ul>
                <h2>"Related patterns"</h2>
                {if d.related.is_empty() {
                    view! { <p class="muted">"None: no other pattern usually starts within a few minutes of this one."</p> }.into_any()
                } else {
                    view! {
                        <ul class="related">
                            {d.related.clone().into_iter().map(|r| view! {
                                <li>"Usually happens together with "
                                    <A href=format!("/orgs/{org}/patterns/{}?{}", r.id, here)>{r.name.clone()}</A>
                                    {format!(" — {} times, last {}", r.times, time::when(r.last_at))}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
        <section class="card">
            <div class="page-head">
                <h2>"Latest incidents"</h2>
                <A href=drill>"All of them in the incident list"</A>
            </div>
            <IncidentTable org=org pattern=id incidents=d.incidents.clone() may_edit=may_edit version=version />
        </section>
        <Show when=move || merging.get()>
            <PatternPicker org=org title="Merge into another pattern" exclude=Some(id) action="Merge"
                confirm=|into| format!("Merge this pattern into “{}”? Its incidents and templates go there, and future incidents like them too; its address will show “{}”.", into.name, into.name)
                done=merge close=Callback::new(move |()| merging.set(false)) busy=merge_busy error=merge_error />
        </Show>
    }
}

/// Names of services or teams, or "—".
fn names(list: &[insights_types::api::NamedRef]) -> String {
    if list.is_empty() {
        "—".to_owned()
    } else {
        list.iter()
            .map(|n| n.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The pattern's trend as a chart series: each bar links to its bucket's incidents of the pattern.
fn trend_series(
    org: OrgId,
    d: &PatternDetailOut,
    q: &DashQuery,
    period: Period,
) -> Vec<ChartSeries> {
    let id = d.pattern.id.to_string();
    let points = d
        .series
        .iter()
        .zip(&d.series_starts)
        .enumerate()
        .map(|(i, (count, start))| {
            let end = d.series_starts.get(i + 1).copied().unwrap_or(period.until);
            let (x, when) = bucket_names(d.series_bucket, *start, end);
            ChartPoint {
                x,
                when,
                value: Some(*count as f64),
                href: (*count > 0)
                    .then(|| drill_href(org, q, period.clip(*start, end), Some(("pattern", &id)))),
            }
        })
        .collect();
    vec![ChartSeries {
        key: "all".to_owned(),
        label: "Incidents".to_owned(),
        points,
    }]
}

/// The latest incidents, each with "Move…" for those who may correct patterns.
#[component]
fn IncidentTable(
    org: OrgId,
    pattern: PatternId,
    incidents: Vec<IncidentOut>,
    may_edit: impl Fn() -> bool + Copy + Send + Sync + 'static,
    version: RwSignal<u32>,
) -> impl IntoView {
    let moving = RwSignal::new(None::<IncidentOut>);
    view! {
        <div class="table-scroll">
            <table class="table pattern-incidents">
                <thead><tr>
                    <th scope="col">"Incident"</th><th scope="col">"Service"</th><th scope="col">"Triggered (UTC)"</th>
                    <Show when=may_edit><th scope="col"><span class="sr-only">"Correct"</span></th></Show>
                </tr></thead>
                <tbody>
                    {incidents.into_iter().map(|i| {
                        let target = i.clone();
                        view! {
                            <tr data-id=i.id.to_string()>
                                <td><A href=format!("/orgs/{org}/incidents/{}", i.id)>{i.title.clone()}</A></td>
                                <td>{i.service.as_ref().map(|s| s.name.clone()).unwrap_or_default()}</td>
                                <td class="nowrap">{i.triggered_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                <Show when=may_edit>
                                    {
                                        let target = target.clone();
                                        view! {
                                            <td><button class="btn small move" on:click=move |_| moving.set(Some(target.clone()))>
                                                "Move…"<span class="sr-only">{format!(" {}", target.title)}</span>
                                            </button></td>
                                        }
                                    }
                                </Show>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {move || moving.get().map(|i| view! {
            <MoveDialog org=org incident=i from=Some(pattern)
                moved=Callback::new(move |_| { moving.set(None); version.update(|v| *v += 1) })
                close=Callback::new(move |()| moving.set(None)) />
        })}
    }
}

/// Moves an incident to a pattern picked in the dialog, or to a new one; `moved` gets its new pattern.
#[component]
pub fn MoveDialog(
    org: OrgId,
    incident: IncidentOut,
    from: Option<PatternId>,
    moved: Callback<PatternOut>,
    close: Callback<()>,
) -> impl IntoView {
    let session = use_session();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let id = incident.id;
    let done = Callback::new(move |to: Option<PatternOut>| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let body = api::patterns::move_to(to.map(|p| p.id));
            let r = api::patterns::move_incident(session, org, id, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(m) => moved.run(m.pattern),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    });
    view! {
        <PatternPicker org=org title=format!("Move “{}”", incident.title) exclude=from action="Move"
            confirm=|to| format!("Move this incident to “{}”? Future incidents with the same title pattern will go there too.", to.name)
            extra="Move to a new pattern" done=done close=close busy=busy error=error />
    }
}
