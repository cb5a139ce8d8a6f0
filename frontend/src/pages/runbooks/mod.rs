//! Runbooks: the library (`/orgs/:org/runbooks`: search over the index with highlighted snippets, filters by
//! tag, service, pattern and source, the list, "New runbook", "Import Markdown", "Generate a runbook for…",
//! the index's backlog, one's drafts, and the generation settings for those who manage them), one runbook
//! (`detail`: steps, versions, diff, restore), the editor (`editor`), a draft (`generation`: live progress,
//! citations, what was sent, refine, save), the suggestions on the incident and pattern pages
//! (`suggested`), and a safe Markdown renderer (`markdown`).

mod detail;
mod editor;
mod generation;
pub mod markdown;
mod parts;
mod settings;
mod suggested;

use crate::api::runbooks::pair;
use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner, SubmitButton};
use crate::layout::use_org;
use crate::pages::settings::can;
use crate::session::use_session;
use crate::time;
pub use detail::RunbookPage;
pub use editor::{EditRunbook, NewRunbook};
pub use generation::GenerationPage;
use insights_types::api::{
    GenerationStatus, MarkdownFileIn, RunbookGenerationIn, RunbookImportIn, RunbookSearchOut,
    RunbookSummaryOut, SearchMode,
};
use insights_types::{OrgId, Permission};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use parts::{SearchHit, origin};
use settings::GenerationSettings;
pub use suggested::{Subject, SuggestedRunbooks};

/// How many runbooks a page of the list holds.
const PAGE: u32 = 50;

/// The organization of the route.
fn org_id() -> OrgId {
    use_org()
        .get_untracked()
        .expect("runbook pages render under /orgs/:org")
}

/// The library's view, as kept in its URL: the search text and the filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct LibraryQuery {
    q: String,
    tag: String,
    service: String,
    pattern: String,
    source: String,
    /// The search's kind of hits: `runbook`, `past_fix`, or both.
    kind: String,
}

impl LibraryQuery {
    fn from_query(map: &ParamsMap) -> Self {
        let get = |k: &str| map.get(k).unwrap_or_default();
        Self {
            q: get("q"),
            tag: get("tag"),
            service: get("service"),
            pattern: get("pattern"),
            source: get("source"),
            kind: get("kind"),
        }
    }

    /// The filters as query pairs (without the search text).
    fn filter_pairs(&self) -> Vec<String> {
        [
            ("tag", &self.tag),
            ("service", &self.service),
            ("pattern", &self.pattern),
            ("source", &self.source),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| pair(k, v))
        .collect()
    }

    fn url_query(&self) -> String {
        let mut out = Vec::new();
        if !self.q.is_empty() {
            out.push(pair("q", &self.q));
        }
        out.extend(self.filter_pairs());
        if !self.kind.is_empty() {
            out.push(pair("kind", &self.kind));
        }
        out.join("&")
    }

    /// The search's pairs: the text, and the filters the index knows (tags, services, patterns).
    fn search_pairs(&self) -> Vec<String> {
        let mut out = vec![pair("q", &self.q), "limit=20".to_owned()];
        out.extend(
            [
                ("tag", &self.tag),
                ("service", &self.service),
                ("pattern", &self.pattern),
                ("kind", &self.kind),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| pair(k, v)),
        );
        out
    }
}

/// `/orgs/:org/runbooks`.
#[component]
pub fn Runbooks() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let query = use_query_map();
    let navigate = use_navigate();
    let may_edit = can(org, Permission::EditRunbooks);
    let may_manage = can(org, Permission::ManageGeneration);
    let applied = Memo::new(move |_| LibraryQuery::from_query(&query.read()));
    let go = move |q: LibraryQuery| {
        navigate(
            &format!("/orgs/{org}/runbooks?{}", q.url_query()),
            NavigateOptions::default(),
        );
    };
    // Bumped by an import: the list and the index's status are read again.
    let reload = RwSignal::new(0u32);

    // The search form, and the filters (each applied on change).
    let text = RwSignal::new(applied.get_untracked().q);
    Effect::new(move |_| text.set(applied.get().q));
    let submit = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let mut q = applied.get_untracked();
            q.q = text.get_untracked().trim().to_owned();
            go(q);
        }
    };
    let set_filter = {
        let go = go.clone();
        std::sync::Arc::new(
            move |field: fn(&mut LibraryQuery) -> &mut String, value: String| {
                let mut q = applied.get_untracked();
                *field(&mut q) = value;
                go(q);
            },
        )
    };
    let services = LocalResource::new(move || async move {
        api::services::list_services(session, org)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });
    let patterns = LocalResource::new(move || async move {
        api::patterns::list_patterns(session, org, &[], 100, None)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });

    let results = LocalResource::new(move || {
        let q = applied.get();
        reload.track();
        async move {
            if q.q.is_empty() {
                return Ok::<_, ApiFailure>(None);
            }
            api::runbooks::search(session, org, &q.search_pairs())
                .await
                .map(Some)
        }
    });

    let items = RwSignal::new(Vec::<RunbookSummaryOut>::new());
    let cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    // Answers to an older request are dropped.
    let generation = StoredValue::new(0u32);
    let load = move |more: bool| {
        let q = applied.get_untracked();
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
            let r = api::runbooks::list_runbooks(
                session,
                org,
                &q.filter_pairs(),
                PAGE,
                after.as_deref(),
            )
            .await;
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
    Effect::new(move |_| {
        applied.track();
        reload.track();
        load(false);
    });

    let select = {
        let set_filter = set_filter.clone();
        move |id: &'static str,
              label: &'static str,
              field: fn(&mut LibraryQuery) -> &mut String,
              options: Signal<Vec<(String, String)>>| {
            let set_filter = set_filter.clone();
            let current = move || {
                let mut q = applied.get();
                field(&mut q).clone()
            };
            view! {
                <div class="field">
                    <label for=id>{label}</label>
                    <select id=id on:change=move |ev| set_filter(field, event_target_value(&ev))>
                        <option value="" selected=move || current().is_empty()>"Any"</option>
                        {move || options.get().into_iter().map(|(value, name)| {
                            let selected = current() == value;
                            view! { <option value=value selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </div>
            }
        }
    };
    let service_options = Signal::derive(move || {
        services
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.id.to_string(), s.name))
            .collect()
    });
    let pattern_options = Signal::derive(move || {
        patterns
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.id.to_string(), p.name))
            .collect()
    });
    let source_options = Signal::derive(|| {
        ["written", "generated", "imported"]
            .into_iter()
            .map(|s| (s.to_owned(), s.to_owned()))
            .collect()
    });
    let kind_options = Signal::derive(|| {
        [("runbook", "Runbooks"), ("past_fix", "Past fixes")]
            .into_iter()
            .map(|(v, l)| (v.to_owned(), l.to_owned()))
            .collect()
    });
    let tag_input = RwSignal::new(applied.get_untracked().tag);
    Effect::new(move |_| tag_input.set(applied.get().tag));
    let apply_tag = {
        let set_filter = set_filter.clone();
        move |ev: leptos::ev::Event| {
            set_filter(
                |q| &mut q.tag,
                event_target_value(&ev).trim().to_lowercase(),
            );
        }
    };

    view! {
        <div class="page-head">
            <h1>"Runbooks"</h1>
            <Show when=may_edit>
                <div class="pattern-actions">
                    <A href=format!("/orgs/{org}/runbooks/new") attr:class="btn primary" attr:id="new-runbook">"New runbook"</A>
                    <ImportButton org=org imported=Callback::new(move |()| reload.update(|v| *v += 1)) />
                </div>
            </Show>
            <p class="muted page-lead">"Your team's runbooks and the fixes of past incidents, searchable — and drafts for new problems, with every step's source."</p>
        </div>
        <IndexStatus org=org reload=reload />
        <Show when=may_edit>
            <GenerateBox org=org />
        </Show>
        <section class="card">
            <form class="inline-form runbook-search" role="search" on:submit=submit>
                <div class="field grow">
                    <label for="runbook-search">"Search runbooks and past fixes"</label>
                    <input id="runbook-search" type="search" maxlength="200" placeholder="e.g. replication lag, disk full, 502s after deploy"
                        prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
                </div>
                <button class="btn primary" type="submit">"Search"</button>
            </form>
            <div class="filters runbook-filters">
                <div class="field">
                    <label for="runbook-tag">"Tag"</label>
                    <input id="runbook-tag" maxlength="50" prop:value=move || tag_input.get()
                        on:input=move |ev| tag_input.set(event_target_value(&ev)) on:change=apply_tag />
                </div>
                {select("runbook-service", "Service", |q| &mut q.service, service_options)}
                {select("runbook-pattern", "Pattern", |q| &mut q.pattern, pattern_options)}
                {select("runbook-source", "Source", |q| &mut q.source, source_options)}
                {select("runbook-kind", "Search in", |q| &mut q.kind, kind_options)}
            </div>
            {move || results.get().map(|r| match r {
                Ok(None) => ().into_any(),
                Err(e) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Ok(Some(r)) => view! { <SearchResults org=org r=r /> }.into_any(),
            })}
        </section>
        <ErrorBanner error=error.into() />
        <section class="card">
            <h2>"Library"</h2>
            <Show when=move || !items.with(Vec::is_empty) || loading.get() fallback=move || view! {
                <Show when=move || error.with(Option::is_none)>
                    <EmptyState title="No runbooks here"
                        hint="Write one, import your Markdown runbooks, or generate a draft from an incident. Filters may hide some." />
                </Show>
            }>
                <div class="table-scroll">
                    <table class="table runbooks-table">
                        <thead><tr>
                            <th scope="col">"Runbook"</th><th scope="col">"Services and patterns"</th>
                            <th scope="col">"Source"</th><th scope="col" class="num">"Steps"</th>
                            <th scope="col">"Updated"</th>
                        </tr></thead>
                        <tbody>
                            <For each=move || items.get() key=|r| (r.id, r.version) let:r>
                                <RunbookRow org=org r=r />
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
        <RecentDrafts org=org all=may_manage />
        <Show when=may_manage>
            <GenerationSettings org=org />
        </Show>
    }
}

/// One row of the library.
#[component]
fn RunbookRow(org: OrgId, r: RunbookSummaryOut) -> impl IntoView {
    let now = time::now();
    let links = r
        .services
        .iter()
        .chain(&r.patterns)
        .map(|n| n.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <tr data-id=r.id.to_string()>
            <th scope="row" class="runbook-cell">
                <A href=format!("/orgs/{org}/runbooks/{}", r.id) attr:class="runbook-title">{r.title.clone()}</A>
                <ul class="tag-list">{r.tags.iter().map(|t| view! { <li class="pill tag">{t.clone()}</li> }).collect_view()}</ul>
            </th>
            <td class="links">{if links.is_empty() { "—".to_owned() } else { links }}</td>
            <td><span class="pill source">{origin(r.source)}</span></td>
            <td class="num">{r.step_count.to_string()}</td>
            <td class="nowrap" title=time::when(r.updated_at)>
                {time::relative(r.updated_at, now)}
                {r.updated_by.clone().map(|u| format!(" by {}", u.name))}
            </td>
        </tr>
    }
}

/// The hits of a search, and how it was answered.
#[component]
fn SearchResults(org: OrgId, r: RunbookSearchOut) -> impl IntoView {
    let mode = match r.mode {
        SearchMode::Lexical => "by words",
        SearchMode::Hybrid => "by words and meaning",
    };
    let count = r.items.len();
    view! {
        <div class="search-results" aria-live="polite">
            <p class="muted">{format!("{count} {} for “{}”, matched {mode}.", if count == 1 { "result" } else { "results" }, r.query)}</p>
            {if r.items.is_empty() {
                view! { <EmptyState title="No matches" hint="Try other words, or fewer filters." /> }.into_any()
            } else {
                view! { <ul class="hits">{r.items.into_iter().map(|hit| view! { <SearchHit org=org hit=hit /> }).collect_view()}</ul> }.into_any()
            }}
        </div>
    }
}

/// What the index has not caught up with yet: shown only when changes are waiting or failing.
#[component]
fn IndexStatus(org: OrgId, reload: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let status = LocalResource::new(move || {
        reload.track();
        async move { api::runbooks::index_status(session, org).await.ok() }
    });
    view! {
        {move || status.get().flatten().filter(|s| s.pending > 0).map(|s| {
            let class = if s.failing > 0 { "banner error index-status" } else { "banner index-status" };
            view! {
                <div class=class role="status">
                    {format!("{} {} not in search yet", s.pending, if s.pending == 1 { "change is" } else { "changes are" })}
                    {if s.failing > 0 { format!("; {} failed and will be retried", s.failing) } else { String::new() }}
                    {s.last_error.map(|e| format!(" (last error: {e})"))}
                    ". "
                    <button class="btn small" type="button" on:click=move |_| reload.update(|v| *v += 1)>"Check again"</button>
                </div>
            }
        })}
    }
}

/// "Generate a runbook for…": a free-text problem, sent for a draft.
#[component]
fn GenerateBox(org: OrgId) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let prompt = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = prompt.get_untracked().trim().to_owned();
        if text.is_empty() {
            return;
        }
        let navigate = navigate.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let body = RunbookGenerationIn {
                prompt: Some(text),
                ..Default::default()
            };
            let r = api::runbooks::generate(session, org, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(g) => navigate(
                    &format!("/orgs/{org}/runbooks/drafts/{}", g.id),
                    NavigateOptions::default(),
                ),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card generate-card">
            <form class="inline-form" on:submit=submit>
                <div class="field grow">
                    <label for="generate-prompt">"Generate a runbook for…"</label>
                    <input id="generate-prompt" maxlength="4000" placeholder="e.g. Kafka consumer lag growing on the orders topic"
                        prop:value=move || prompt.get() on:input=move |ev| prompt.set(event_target_value(&ev)) />
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("prompt"))}</p>
                </div>
                <SubmitButton label="Generate" busy_label="Asking…" busy=busy.into() />
            </form>
            <ErrorBanner error=error.into() />
        </section>
    }
}

/// Reads the chosen files' text in the browser.
async fn read_files(input: web_sys::HtmlInputElement) -> Result<Vec<MarkdownFileIn>, String> {
    let Some(list) = input.files() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for i in 0..list.length() {
        let Some(file) = list.item(i) else { continue };
        let text = wasm_bindgen_futures::JsFuture::from(file.text())
            .await
            .map_err(|_| format!("Could not read {}.", file.name()))?;
        out.push(MarkdownFileIn {
            name: file.name(),
            content: text.as_string().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// "Import Markdown": several files at once, imported together or not at all.
#[component]
fn ImportButton(org: OrgId, imported: Callback<()>) -> impl IntoView {
    let session = use_session();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let done = RwSignal::new(None::<Vec<RunbookSummaryOut>>);
    let input = NodeRef::<leptos::html::Input>::new();
    let chosen = move |_| {
        let Some(el) = input.get_untracked() else {
            return;
        };
        let el: web_sys::HtmlInputElement = el;
        busy.set(true);
        error.set(None);
        done.set(None);
        leptos::task::spawn_local(async move {
            let files = match read_files(el.clone()).await {
                Ok(f) => f,
                Err(message) => {
                    let _ = busy.try_set(false);
                    let _ = error.try_set(Some(ApiFailure::invalid(vec![
                        insights_types::FieldError::new("files", "unreadable", message),
                    ])));
                    return;
                }
            };
            el.set_value("");
            if files.is_empty() {
                let _ = busy.try_set(false);
                return;
            }
            let body = RunbookImportIn {
                files,
                tags: Vec::new(),
            };
            let r = api::runbooks::import_runbooks(session, org, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(out) => {
                    let _ = done.try_set(Some(out.items));
                    imported.run(());
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <label class="btn file-button" class:busy=move || busy.get()>
            {move || if busy.get() { "Importing…" } else { "Import Markdown" }}
            <input id="import-files" node_ref=input type="file" multiple=true class="sr-only"
                accept=".md,.markdown,text/markdown,text/plain" on:change=chosen />
        </label>
        {move || done.get().map(|items| view! {
            <p class="banner success import-done" role="status">
                {format!("Imported {} {}: ", items.len(), if items.len() == 1 { "runbook" } else { "runbooks" })}
                {items.iter().map(|r| r.title.clone()).collect::<Vec<_>>().join(", ")}
            </p>
        })}
        {move || error.get().map(|e| {
            let detail = e.field_under("files").map(|f| format!(" {f}")).unwrap_or_default();
            view! { <p class="banner error import-error" role="alert">{format!("{}{detail}", e.message())}</p> }
        })}
    }
}

/// Recent drafts: one's own, or (for those who manage generation) everyone's, with what was asked.
#[component]
fn RecentDrafts(
    org: OrgId,
    all: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let session = use_session();
    let everyone = RwSignal::new(false);
    let drafts = LocalResource::new(move || {
        let e = everyone.get();
        async move { api::runbooks::list_generations(session, org, e, None).await }
    });
    view! {
        <section class="card recent-drafts">
            <div class="page-head">
                <h2>"Drafts"</h2>
                <Show when=all>
                    <label class="check">
                        <input type="checkbox" id="all-drafts" prop:checked=move || everyone.get()
                            on:change=move |ev| everyone.set(event_target_checked(&ev)) />
                        "Everyone's (every prompt sent)"
                    </label>
                </Show>
            </div>
            {move || match drafts.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(page)) if page.items.is_empty() => view! {
                    <p class="muted">"No drafts yet. Generate one above, or from an incident or pattern page."</p>
                }.into_any(),
                Some(Ok(page)) => view! {
                    <ul class="drafts">
                        {page.items.into_iter().map(|g| {
                            let what = g.draft.as_ref().map(|d| d.title.clone())
                                .or_else(|| g.subject.incident.as_ref().map(|i| i.name.clone()))
                                .or_else(|| g.subject.pattern.as_ref().map(|p| p.name.clone()))
                                .or_else(|| g.subject.prompt.clone())
                                .unwrap_or_else(|| "Draft".to_owned());
                            let status = match g.status {
                                GenerationStatus::Queued => "queued",
                                GenerationStatus::Running => "running",
                                GenerationStatus::Succeeded => "ready",
                                GenerationStatus::Failed => "failed",
                            };
                            view! {
                                <li>
                                    <A href=format!("/orgs/{org}/runbooks/drafts/{}", g.id)>{what}</A>
                                    " " <span class=format!("pill status-{status}")>{status}</span>
                                    <span class="muted">{format!(" — {}", time::when(g.created_at))}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
