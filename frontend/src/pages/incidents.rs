//! Incidents: the unified history (filters kept in the URL, a pattern's shown as a chip; newest first, "load
//! more", export of what the filters select as CSV or JSON lines) and one incident with its details, its link
//! in the source, its pattern, and its timeline.

use crate::api::{self, ApiFailure, ApiResult};
use crate::components::{EmptyState, ErrorBanner, Spinner};
use crate::layout::use_org;
use crate::pages::automations::AutomationsCard;
use crate::pages::patterns::{IncidentPattern, PatternChip};
use crate::pages::runbooks::{Subject, SuggestedRunbooks};
use crate::session::use_session;
use crate::time;
use insights_types::api::{IncidentOut, IncidentSource, IncidentStatus, Page, RunSubjectIn};
use insights_types::{IncidentId, OrgId};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;

fn org_id() -> OrgId {
    use_org()
        .get_untracked()
        .expect("incident pages render under /orgs/:org")
}

/// Minutes between two times, as "4 min" / "2 h 05".
fn span(from: chrono::DateTime<chrono::Utc>, to: Option<chrono::DateTime<chrono::Utc>>) -> String {
    let Some(to) = to else { return "—".into() };
    let m = (to - from).num_minutes().max(0);
    if m < 60 {
        format!("{m} min")
    } else {
        format!("{} h {:02}", m / 60, m % 60)
    }
}

fn status_class(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Triggered => "pill bad",
        IncidentStatus::Acknowledged => "pill warn",
        IncidentStatus::Resolved => "pill good",
    }
}

/// The list's filters, as in the page's URL (`since`/`until` as `yyyy-mm-dd` dates in UTC, or exact RFC 3339
/// instants as the dashboard's drill-down links give them) — so a filtered view can be linked, reloaded and
/// gone back to.
#[derive(Clone, Debug, Default, PartialEq)]
struct Filters {
    q: String,
    status: String,
    source: String,
    urgency: String,
    service: String,
    team: String,
    pattern: String,
    since: String,
    until: String,
}

impl Filters {
    fn from_query(map: &ParamsMap) -> Self {
        let get = |k: &str| map.get(k).unwrap_or_default();
        Self {
            q: get("q"),
            status: get("status"),
            source: get("source"),
            urgency: get("urgency"),
            service: get("service"),
            team: get("team"),
            pattern: get("pattern"),
            since: get("since"),
            until: get("until"),
        }
    }

    fn pairs(&self) -> [(&'static str, &str); 9] {
        [
            ("q", self.q.trim()),
            ("status", &self.status),
            ("source", &self.source),
            ("urgency", &self.urgency),
            ("service", &self.service),
            ("team", &self.team),
            ("pattern", &self.pattern),
            ("since", &self.since),
            ("until", &self.until),
        ]
    }

    /// The page's query string.
    fn url_query(&self) -> String {
        self.pairs()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The API's query parameters (dates become the UTC day's bounds, instants pass as they are).
    fn api_query(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in self.pairs() {
            let v = match k {
                "since" => time::since_bound(v).map(time::rfc3339),
                "until" => time::until_bound(v).map(time::rfc3339),
                _ => (!v.is_empty()).then(|| v.to_owned()),
            };
            if let Some(v) = v {
                out.push(format!("{k}={}", js_sys::encode_uri_component(&v)));
            }
        }
        out
    }

    /// The date range's error, if the end comes before the start.
    fn range_error(&self) -> Option<String> {
        match (
            time::since_bound(&self.since),
            time::until_bound(&self.until),
        ) {
            (Some(a), Some(b)) if a >= b => Some("must not be before the start date".into()),
            _ => None,
        }
    }

    /// The range in words when it is exact (an instant at either end, as from a dashboard's chart):
    /// "2025-03-01 14:00 UTC – 2025-03-01 15:00 UTC". `None` when both ends are plain dates (the date inputs
    /// show them).
    fn exact_range(&self) -> Option<String> {
        let exact = |s: &str| !s.is_empty() && !time::is_date(s);
        if !exact(&self.since) && !exact(&self.until) {
            return None;
        }
        let from = time::since_bound(&self.since)
            .map_or_else(|| "the first incident".to_owned(), time::when);
        let to = time::until_bound(&self.until).map_or_else(|| "now".to_owned(), time::when);
        Some(format!("{from} – {to}"))
    }
}

/// What a date input shows of a `since`/`until` filter: the date, or nothing for an exact instant (shown in
/// words above the list instead).
fn date_only(v: String) -> String {
    if time::is_date(&v) { v } else { String::new() }
}

/// A source, for people.
fn source_label(s: IncidentSource) -> &'static str {
    match s {
        IncidentSource::Pagerduty => "PagerDuty",
        IncidentSource::Opsgenie => "Opsgenie",
        IncidentSource::Sample => "Sample",
    }
}

/// A filter `<select>` whose options are `(value, label)`; changing it applies the filters.
#[component]
fn FilterSelect(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    options: &'static [(&'static str, &'static str)],
    #[prop(into)] apply: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id on:change=move |ev| { value.set(event_target_value(&ev)); apply.run(()) }>
                {options.iter().map(|(v, l)| view! {
                    <option value=*v selected=move || value.get() == *v>{*l}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// A filter `<select>` whose options (`(value, label)`) come from the API, after "Any"; changing it applies
/// the filters.
#[component]
fn ListSelect(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    options: Signal<Vec<(String, String)>>,
    #[prop(into)] apply: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id on:change=move |ev| { value.set(event_target_value(&ev)); apply.run(()) }>
                <option value="" selected=move || value.get().is_empty()>"Any"</option>
                {move || options.get().into_iter().map(|(v, l)| {
                    let chosen = v.clone();
                    view! { <option value=v selected=move || value.get() == chosen>{l}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

/// Options for a service or team filter, from the API's list (none until it answers): `(id, name)` as
/// `parts` gives them, the source added when several sources are listed.
fn ref_options<T>(
    list: Option<ApiResult<Page<T>>>,
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

/// `/orgs/:org/incidents`: the filtered history, newest first, with "load more" and the export.
#[component]
pub fn Incidents() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let navigate = use_navigate();
    let query = use_query_map();
    let applied = Memo::new(move |_| Filters::from_query(&query.read()));
    let initial = applied.get_untracked();
    let q = RwSignal::new(initial.q);
    let status = RwSignal::new(initial.status);
    let source = RwSignal::new(initial.source);
    let urgency = RwSignal::new(initial.urgency);
    let service = RwSignal::new(initial.service);
    let team = RwSignal::new(initial.team);
    let pattern = RwSignal::new(initial.pattern);
    let since = RwSignal::new(initial.since);
    let until = RwSignal::new(initial.until);
    let items = RwSignal::new(Vec::<IncidentOut>::new());
    let cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let range_error = RwSignal::new(None::<String>);
    // Answers to an older request are dropped.
    let generation = StoredValue::new(0u32);
    let typed = move || Filters {
        q: q.get_untracked(),
        status: status.get_untracked(),
        source: source.get_untracked(),
        urgency: urgency.get_untracked(),
        service: service.get_untracked(),
        team: team.get_untracked(),
        pattern: pattern.get_untracked(),
        since: since.get_untracked(),
        until: until.get_untracked(),
    };
    let services =
        LocalResource::new(move || async move { api::services::list_services(session, org).await });
    let teams =
        LocalResource::new(move || async move { api::teams::list_teams(session, org).await });
    let service_options = Signal::derive(move || {
        ref_options(services.get(), |s| (s.id.to_string(), s.name, s.source))
    });
    let team_options =
        Signal::derive(move || ref_options(teams.get(), |t| (t.id.to_string(), t.name, t.source)));

    let load = move |more: bool| {
        let filters = applied.get_untracked().api_query();
        let after = if more {
            cursor.get_untracked()
        } else {
            items.set(Vec::new());
            cursor.set(None);
            None
        };
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        loading.set(true);
        leptos::task::spawn_local(async move {
            let r =
                api::incidents::list_incidents(session, org, &filters, 50, after.as_deref()).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            match r {
                Ok(page) => {
                    items.update(|i| i.extend(page.items));
                    cursor.set(page.next_cursor);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    // The URL is the truth: when it changes (a filter applied, back, a link), the form follows and the list
    // is read again.
    Effect::new(move |_| {
        let f = applied.get();
        q.set(f.q);
        status.set(f.status);
        source.set(f.source);
        urgency.set(f.urgency);
        service.set(f.service);
        team.set(f.team);
        pattern.set(f.pattern);
        since.set(f.since);
        until.set(f.until);
        load(false);
    });
    let apply = Callback::new(move |()| {
        let f = typed();
        range_error.set(f.range_error());
        if range_error.get_untracked().is_some() {
            return;
        }
        if f == applied.get_untracked() {
            load(false);
        } else {
            let qs = f.url_query();
            let sep = if qs.is_empty() { "" } else { "?" };
            navigate(
                &format!("/orgs/{org}/incidents{sep}{qs}"),
                NavigateOptions::default(),
            );
        }
    });

    // Drops an exact range (the date inputs cannot show it) and keeps the other filters.
    let clear_range = move || {
        since.set(String::new());
        until.set(String::new());
        apply.run(());
    };

    let exporting = RwSignal::new(None::<&'static str>);
    let exported = RwSignal::new(None::<String>);
    let export_error = RwSignal::new(None::<ApiFailure>);
    let export = move |format: &'static str| {
        let filters = applied.get_untracked().api_query();
        exporting.set(Some(format));
        exported.set(None);
        export_error.set(None);
        leptos::task::spawn_local(async move {
            let r = api::incidents::export_incidents(session, org, format, &filters).await;
            let _ = exporting.try_set(None);
            match r {
                Ok(name) => {
                    let _ = exported.try_set(Some(name));
                }
                Err(e) => {
                    let _ = export_error.try_set(Some(e));
                }
            }
        });
    };

    view! {
        <div class="page-head">
            <h1>"Incidents"</h1>
            <div class="export" role="group" aria-label="Export the incidents shown">
                <button class="btn small" id="export-csv" disabled=move || exporting.get().is_some()
                    on:click=move |_| export("csv")>
                    {move || if exporting.get() == Some("csv") { "Exporting…" } else { "Export CSV" }}
                </button>
                <button class="btn small" id="export-jsonl" disabled=move || exporting.get().is_some()
                    on:click=move |_| export("jsonl")>
                    {move || if exporting.get() == Some("jsonl") { "Exporting…" } else { "Export JSON lines" }}
                </button>
            </div>
        </div>
        <p class="sr-only" role="status">{move || exported.get().map(|n| format!("Exported {n}."))}</p>
        <ErrorBanner error=export_error.into() />
        <form class="filters" aria-label="Filters" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); apply.run(()) }>
            <div class="field grow">
                <label for="incident-q">"Search"</label>
                <input id="incident-q" type="search" placeholder="Title or description"
                    prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev)) />
            </div>
            <FilterSelect id="incident-status" label="Status" value=status apply=apply options=&[
                ("", "Any"), ("triggered", "Triggered"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved"),
            ] />
            <FilterSelect id="incident-source" label="Source" value=source apply=apply options=&[
                ("", "Any"), ("pagerduty", "PagerDuty"), ("opsgenie", "Opsgenie"), ("sample", "Sample"),
            ] />
            <FilterSelect id="incident-urgency" label="Urgency" value=urgency apply=apply options=&[
                ("", "Any"), ("high", "High"), ("low", "Low"),
            ] />
            <ListSelect id="incident-service" label="Service" value=service options=service_options apply=apply />
            <ListSelect id="incident-team" label="Team" value=team options=team_options apply=apply />
            <div class="field">
                <label for="incident-since">"From (UTC)"</label>
                <input id="incident-since" type="date" prop:value=move || date_only(since.get())
                    on:change=move |ev| { since.set(event_target_value(&ev)); apply.run(()) } />
            </div>
            <div class="field">
                <label for="incident-until">"To (UTC)"</label>
                <input id="incident-until" type="date" prop:value=move || date_only(until.get())
                    aria-invalid=move || range_error.get().is_some().to_string() aria-describedby="incident-until-error"
                    on:change=move |ev| { until.set(event_target_value(&ev)); apply.run(()) } />
                <p class="field-error" id="incident-until-error" role="alert">{move || range_error.get()}</p>
            </div>
            <button class="btn" type="submit">"Apply"</button>
        </form>
        {move || {
            let id = applied.with(|f| f.pattern.parse().ok())?;
            let clear = Callback::new(move |()| {
                pattern.set(String::new());
                apply.run(());
            });
            Some(view! { <PatternChip org=org id=id clear=clear /> })
        }}
        {move || applied.get().exact_range().map(|range| {
            let clear = clear_range;
            view! {
                <p class="banner range" id="incident-range">
                    <span>"Created " <strong>{range}</strong></span>
                    <button class="btn small" type="button" on:click=move |_| clear()>"Clear the range"</button>
                </p>
            }
        })}
        <ErrorBanner error=error.into() />
        <section class="card">
            <Show when=move || !items.get().is_empty() || loading.get() fallback=move || view! {
                <EmptyState title="No incidents" hint="Nothing matches these filters — or no source is connected yet: connect one, or load the sample history, under Integrations." />
            }>
                <table class="table incidents">
                    <thead><tr>
                        <th scope="col">"Incident"</th><th scope="col">"Source"</th><th scope="col">"Service"</th>
                        <th scope="col">"Status"</th><th scope="col">"Triggered (UTC)"</th><th scope="col">"To ack"</th>
                        <th scope="col">"To resolve"</th>
                    </tr></thead>
                    <tbody>
                        <For each=move || items.get() key=|i| i.id let:i>
                            <tr data-source=i.source.as_str()>
                                <td><A href=format!("/orgs/{org}/incidents/{}", i.id)>{i.title.clone()}</A></td>
                                <td>{source_label(i.source)}</td>
                                <td>{i.service.as_ref().map(|s| s.name.clone()).unwrap_or_default()}</td>
                                <td><span class=status_class(i.status)>{i.status.as_str()}</span></td>
                                <td class="nowrap">{i.triggered_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                <td class="nowrap">{span(i.triggered_at, i.acknowledged_at)}</td>
                                <td class="nowrap">{span(i.triggered_at, i.resolved_at)}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </Show>
            <Show when=move || loading.get()><Spinner /></Show>
            <Show when=move || cursor.get().is_some() && !loading.get()>
                <button class="btn" on:click=move |_| load(true)>"Load more"</button>
            </Show>
        </section>
    }
}

/// `/orgs/:org/incidents/:incident`: one incident, its facts, its link in the source, and its timeline.
#[component]
pub fn IncidentPage() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    // Bumped by a correction of the incident's pattern: the page reads the incident again.
    let version = RwSignal::new(0u32);
    let detail = LocalResource::new(move || {
        let id: Option<IncidentId> = params.read().get("incident").and_then(|s| s.parse().ok());
        version.track();
        async move {
            match id {
                Some(id) => api::incidents::get_incident(session, org, id)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        }
    });
    view! {
        <p><A href=format!("/orgs/{org}/incidents")>"← Incidents"</A></p>
        <Suspense fallback=|| view! { <Spinner /> }>
            {move || detail.get().map(|r| match r {
                Ok(Some(d)) => {
                    let i = d.incident;
                    let block = view! {
                        <IncidentPattern org=org incident=i.clone() pattern=d.pattern
                            moved=Callback::new(move |()| version.update(|v| *v += 1)) />
                    };
                    view! {
                        <h1>{i.title.clone()}</h1>
                        <section class="card">
                            <dl class="facts">
                                <dt>"Status"</dt><dd><span class=status_class(i.status)>{i.status.as_str()}</span></dd>
                                <dt>"Service"</dt><dd>{i.service.map(|s| s.name).unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Team"</dt><dd>{i.team.map(|t| t.name).unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Urgency"</dt><dd>{i.urgency.map(|u| u.as_str()).unwrap_or("—")}</dd>
                                <dt>"Priority"</dt><dd class="priority">{i.priority.clone().unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Assignees"</dt>
                                <dd class="assignees">{if i.assignees.is_empty() { "—".to_owned() } else { i.assignees.join(", ") }}</dd>
                                <dt>"Tags"</dt>
                                <dd class="tags">{if i.tags.is_empty() {
                                    view! { "—" }.into_any()
                                } else {
                                    view! { <ul class="tag-list">{i.tags.iter().map(|t| view! { <li class="pill tag">{t.clone()}</li> }).collect_view()}</ul> }.into_any()
                                }}</dd>
                                <dt>"Source"</dt>
                                <dd class="source">
                                    {format!("{} #{}", source_label(i.source), i.number.map(|n| n.to_string()).unwrap_or_else(|| i.external_id.clone()))}
                                    {i.source_url.clone().map(|url| view! {
                                        " · " <a href=url target="_blank" rel="noopener noreferrer" class="source-link">
                                            {format!("Open in {}", source_label(i.source))}
                                            <span class="sr-only">" (opens in a new tab)"</span>
                                        </a>
                                    })}
                                </dd>
                                <dt>"Triggered"</dt><dd>{time::when(i.triggered_at)}</dd>
                                <dt>"Time to acknowledge"</dt><dd>{span(i.triggered_at, i.acknowledged_at)}</dd>
                                <dt>"Time to resolve"</dt><dd>{span(i.triggered_at, i.resolved_at)}</dd>
                            </dl>
                            <p>{d.description}</p>
                        </section>
                        {block}
                        <SuggestedRunbooks org=org subject=Subject::Incident(i.id) />
                        <AutomationsCard org=org subject=RunSubjectIn { incident_id: Some(i.id), ..Default::default() } />
                        <section class="card">
                            <h2>"Timeline"</h2>
                            <ol class="timeline">
                                {d.timeline.into_iter().map(|e| view! {
                                    <li>
                                        <time>{e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</time>
                                        " " <strong>{e.kind}</strong>
                                        {e.actor.map(|a| format!(" by {a}"))}
                                        {e.message.map(|m| format!(" — {m}"))}
                                    </li>
                                }).collect_view()}
                            </ol>
                        </section>
                    }.into_any()
                }
                Ok(None) => view! { <p class="banner error">"Not a valid incident link."</p> }.into_any(),
                Err(e) => view! { <p class="banner error">{if e.status == 404 { "Incident not found.".to_owned() } else { e.message() }}</p> }.into_any(),
            })}
        </Suspense>
    }
}
