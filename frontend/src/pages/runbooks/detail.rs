//! One runbook (`/orgs/:org/runbooks/:runbook`, `?version=n` for an older version — where citations point):
//! its body rendered safely, its steps with risk badges and commands to copy, tags, linked services and
//! patterns, source and authors; its versions, the diff of two, restore; edit and delete for those who may.

use super::markdown::Markdown;
use super::org_id;
use super::parts::{StepView, origin};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner};
use crate::pages::automations::{RunAutomation, may_run_any};
use crate::pages::settings::can;
use crate::session::use_session;
use crate::time;
use insights_types::api::{DiffOp, RunSubjectIn, RunbookDiffOut, RunbookOut, RunbookVersionOut};
use insights_types::{OrgId, Permission, RunbookId};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

/// `/orgs/:org/runbooks/:runbook`.
#[component]
pub fn RunbookPage() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("runbook")
            .and_then(|s| s.parse::<RunbookId>().ok())
    });
    let version = Memo::new(move |_| {
        query
            .read()
            .get("version")
            .and_then(|v| v.parse::<i32>().ok())
    });
    // Bumped by a restore: the page reads the runbook again.
    let reload = RwSignal::new(0u32);
    let runbook = LocalResource::new(move || {
        let (id, version) = (id.get(), version.get());
        reload.track();
        async move {
            let Some(id) = id else { return Ok(None) };
            let r = match version {
                Some(n) => api::runbooks::get_version(session, org, id, n).await?,
                None => api::runbooks::get_runbook(session, org, id).await?,
            };
            Ok::<_, ApiFailure>(Some(r))
        }
    });
    // Once drawn, a step named in the address (a citation's target) scrolls into view.
    Effect::new(move |_| {
        if let Some(Ok(Some(_))) = runbook.get() {
            let hash = web_sys::window()
                .and_then(|w| w.location().hash().ok())
                .unwrap_or_default();
            if let Some(target) = hash.strip_prefix('#').filter(|h| !h.is_empty()) {
                let target = target.to_owned();
                request_animation_frame(move || {
                    if let Some(el) = web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.get_element_by_id(&target))
                    {
                        el.scroll_into_view();
                        let _ = el.class_list().add_1("cited");
                    }
                });
            }
        }
    });
    view! {
        <p><A href=format!("/orgs/{org}/runbooks")>"← Runbooks"</A></p>
        {move || match runbook.get() {
            None => view! { <Spinner /> }.into_any(),
            Some(Ok(None)) => view! { <p class="banner error">"Not a valid runbook link."</p> }.into_any(),
            Some(Err(e)) => view! {
                <p class="banner error">{if e.status == 404 { "Runbook not found.".to_owned() } else { e.message() }}</p>
            }.into_any(),
            Some(Ok(Some(r))) => view! { <RunbookBody org=org r=r reload=reload /> }.into_any(),
        }}
    }
}

/// Names linked to their pages: services to their incidents, patterns to theirs.
fn links(org: OrgId, r: &RunbookOut) -> impl IntoView + use<> {
    let services = r.services.iter().cloned().map(|s| {
        view! { <li><A href=format!("/orgs/{org}/incidents?service={}", s.id) attr:class="service-link">{s.name}</A></li> }
    }).collect_view();
    let patterns = r.patterns.iter().cloned().map(|p| {
        view! { <li><A href=format!("/orgs/{org}/patterns/{}", p.id) attr:class="pattern-link-item">{p.name}</A></li> }
    }).collect_view();
    view! {
        <dt>"Services"</dt>
        <dd>{if r.services.is_empty() { view! { "—" }.into_any() } else { view! { <ul class="inline-list services">{services}</ul> }.into_any() }}</dd>
        <dt>"Patterns"</dt>
        <dd>{if r.patterns.is_empty() { view! { "—" }.into_any() } else { view! { <ul class="inline-list patterns">{patterns}</ul> }.into_any() }}</dd>
    }
}

/// The page once the runbook is read.
#[component]
fn RunbookBody(org: OrgId, r: RunbookOut, reload: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let may_edit = can(org, Permission::EditRunbooks);
    let may_run = may_run_any(org);
    let id = r.id;
    let latest = r.version == r.current_version;
    let deleting = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let delete = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::runbooks::delete_runbook(session, org, id).await {
                Ok(()) => navigate(&format!("/orgs/{org}/runbooks"), NavigateOptions::default()),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let facts = links(org, &r);
    view! {
        <div class="page-head">
            <h1 id="runbook-title">{r.title.clone()}</h1>
            <Show when=move || may_edit() && latest>
                <div class="pattern-actions">
                    <A href=format!("/orgs/{org}/runbooks/{id}/edit") attr:class="btn" attr:id="edit-runbook">"Edit"</A>
                    <button class="btn danger" id="delete-runbook" on:click=move |_| deleting.set(true)>"Delete"</button>
                </div>
            </Show>
        </div>
        {(!latest).then(|| view! {
            <p class="banner old-version">
                {format!("You are reading version {} of {}. ", r.version, r.current_version)}
                <A href=format!("/orgs/{org}/runbooks/{id}")>"Open the current version"</A>
            </p>
        })}
        <ErrorBanner error=error.into() />
        <section class="card">
            <dl class="facts runbook-facts">
                <dt>"Source"</dt>
                <dd class="runbook-source">
                    <span class="pill source">{origin(r.source)}</span>
                    {r.generation_id.map(|g| view! { " · " <A href=format!("/orgs/{org}/runbooks/drafts/{g}")>"the draft it came from"</A> })}
                </dd>
                <dt>"Tags"</dt>
                <dd>{if r.tags.is_empty() {
                    view! { "—" }.into_any()
                } else {
                    view! { <ul class="tag-list">{r.tags.iter().cloned().map(|t| view! {
                        <li><A href=format!("/orgs/{org}/runbooks?tag={}", js_sys::encode_uri_component(&t)) attr:class="pill tag">{t}</A></li>
                    }).collect_view()}</ul> }.into_any()
                }}</dd>
                {facts}
                <dt>"Written"</dt>
                <dd>{format!("{}{}", time::when(r.created_at), r.created_by.as_ref().map(|u| format!(" by {}", u.name)).unwrap_or_default())}</dd>
                <dt>"Version"</dt>
                <dd class="runbook-version">{format!("{} — saved {}{}", r.version, time::when(r.updated_at), r.updated_by.as_ref().map(|u| format!(" by {}", u.name)).unwrap_or_default())}</dd>
            </dl>
            {(!r.body.trim().is_empty()).then(|| view! { <Markdown source=r.body.clone() /> })}
        </section>
        <section class="card">
            <h2>"Steps"</h2>
            {if r.steps.is_empty() {
                view! { <p class="muted">"No structured steps."</p> }.into_any()
            } else {
                view! {
                    <ol class="steps-list">
                        {r.steps.iter().cloned().enumerate().map(|(i, s)| {
                            // A step with a command offers the remote-command automations, for this version and step.
                            let subject = RunSubjectIn {
                                runbook_id: Some(id),
                                runbook_version: Some(r.version),
                                step_index: i32::try_from(i).ok(),
                                ..Default::default()
                            };
                            let command = s.command.is_some();
                            view! {
                                <StepView n=i + 1 step=s>
                                    {(command && may_run()).then(|| view! {
                                        <div class="step-run"><RunAutomation org=org subject=subject.clone() commands=true label="Run on machines…" /></div>
                                    })}
                                </StepView>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
        <Versions org=org id=id shown=r.version current=r.current_version may_edit=may_edit reload=reload />
        <Show when=move || deleting.get()>
            <div class="dialog-backdrop">
                <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="delete-title">
                    <h2 id="delete-title">"Delete this runbook?"</h2>
                    <p>"It leaves the library and search, with all its versions."</p>
                    <div class="actions">
                        <button class="btn" on:click=move |_| deleting.set(false)>"Keep it"</button>
                        <button class="btn danger" id="confirm-delete" on:click=delete.clone()>"Delete"</button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

/// The versions, the diff of two, and restore.
#[component]
fn Versions(
    org: OrgId,
    id: RunbookId,
    shown: i32,
    current: i32,
    may_edit: impl Fn() -> bool + Copy + Send + Sync + 'static,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let versions = LocalResource::new(move || async move {
        api::runbooks::list_versions(session, org, id)
            .await
            .map(|p| p.items)
    });
    let from = RwSignal::new((current - 1).max(1));
    let to = RwSignal::new(current);
    let diff = RwSignal::new(None::<RunbookDiffOut>);
    let error = RwSignal::new(None::<ApiFailure>);
    let compare = move |_| {
        let (a, b) = (from.get_untracked(), to.get_untracked());
        leptos::task::spawn_local(async move {
            match api::runbooks::diff_versions(session, org, id, a, b).await {
                Ok(d) => {
                    let _ = diff.try_set(Some(d));
                    let _ = error.try_set(None);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let restore = move |n: i32| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::runbooks::restore_version(session, org, id, n).await {
                Ok(_) => {
                    navigate(
                        &format!("/orgs/{org}/runbooks/{id}"),
                        NavigateOptions::default(),
                    );
                    reload.update(|v| *v += 1);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let picker = move |sel_id: &'static str,
                       label: &'static str,
                       value: RwSignal<i32>,
                       list: Vec<RunbookVersionOut>| {
        view! {
            <div class="field">
                <label for=sel_id>{label}</label>
                <select id=sel_id on:change=move |ev| {
                    if let Ok(n) = event_target_value(&ev).parse() { value.set(n) }
                }>
                    {list.into_iter().map(|v| {
                        let n = v.number;
                        view! { <option value=n.to_string() selected=move || value.get() == n>{format!("Version {n}")}</option> }
                    }).collect_view()}
                </select>
            </div>
        }
    };
    view! {
        <section class="card versions">
            <h2>"Versions"</h2>
            <ErrorBanner error=error.into() />
            {move || match versions.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(list)) => {
                    let restore = restore.clone();
                    let rows = list.iter().map(|v| {
                        let restore = restore.clone();
                        let n = v.number;
                        view! {
                            <tr data-version=n.to_string() class:shown=n == shown>
                                <td><A href=format!("/orgs/{org}/runbooks/{id}?version={n}")>{format!("Version {n}")}</A>
                                    {(n == current).then_some(" (current)")}</td>
                                <td>{v.title.clone()}</td>
                                <td>{v.author.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| "—".to_owned())}</td>
                                <td class="nowrap">{time::when(v.created_at)}</td>
                                <td>{v.restored_from.map(|r| format!("restored from version {r}"))}</td>
                                <td>
                                    <Show when=move || may_edit() && n != current>
                                        {
                                            let restore = restore.clone();
                                            view! { <button class="btn small restore" on:click=move |_| restore(n)>"Restore"</button> }
                                        }
                                    </Show>
                                </td>
                            </tr>
                        }
                    }).collect_view();
                    let many = list.len() > 1;
                    view! {
                        <div class="table-scroll">
                            <table class="table versions-table">
                                <thead><tr>
                                    <th scope="col">"Version"</th><th scope="col">"Title"</th><th scope="col">"By"</th>
                                    <th scope="col">"Saved (UTC)"</th><th scope="col">"Note"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                        {many.then(|| view! {
                            <div class="inline-form diff-form">
                                {picker("diff-from", "Compare", from, list.clone())}
                                {picker("diff-to", "with", to, list.clone())}
                                <button class="btn" id="show-diff" on:click=compare>"Show changes"</button>
                            </div>
                        })}
                    }.into_any()
                }
            }}
            {move || diff.get().map(|d| view! { <DiffView d=d /> })}
        </section>
    }
}

/// A line diff: removed lines marked `−`, added `+`.
#[component]
fn DiffView(d: RunbookDiffOut) -> impl IntoView {
    let changed = d.lines.iter().any(|l| l.op != DiffOp::Same);
    view! {
        <div class="diff" aria-label=format!("Changes from version {} to {}", d.from, d.to)>
            <p class="muted">{format!("From version {} to version {}{}", d.from, d.to, if changed { ":" } else { ": no changes." })}</p>
            <pre class="diff-lines">{d.lines.into_iter().map(|l| {
                let (class, mark, sr) = match l.op {
                    DiffOp::Same => ("same", "  ", ""),
                    DiffOp::Added => ("added", "+ ", "added: "),
                    DiffOp::Removed => ("removed", "− ", "removed: "),
                };
                view! { <span class=format!("diff-line {class}")><span aria-hidden="true">{mark}</span><span class="sr-only">{sr}</span>{l.text}"\n"</span> }
            }).collect_view()}</pre>
        </div>
    }
}
