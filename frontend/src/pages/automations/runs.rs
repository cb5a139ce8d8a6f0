//! The run log (`/orgs/:org/automations/runs`, filters kept in the address: automation, status, trigger,
//! incident, since), one run (`…/runs/:run`: what started it, every event of its append-only history, the
//! payload sent and its hash, the response, the function's error and log tail; approve, reject or cancel
//! while it waits), and the approvals inbox (`…/approvals`).

use super::{
    AutomationsHead, RUN_STATUSES, org_id, run_status, run_status_value, trigger_label,
    use_automation_status,
};
use crate::api::runbooks::pair;
use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner};
use crate::session::{Session, use_session};
use crate::time;
use insights_types::api::{
    DecisionIn, PostBackStatus, RunOut, RunStatus, RunSummaryOut, RunTrigger,
};
use insights_types::{AutomationRunId, OrgId};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use std::time::Duration;

/// How many runs a page of the log holds.
const PAGE: u32 = 50;

/// Keeps `state` on `run` and reads it again every second until it is over (or the page is gone).
pub fn watch_run(session: Session, org: OrgId, run: RunOut, state: RwSignal<Option<RunOut>>) {
    let id = run.summary.id;
    let mut done = run.summary.status.is_final();
    if state.try_set(Some(run)).is_some() {
        return;
    }
    leptos::task::spawn_local(async move {
        while !done {
            time::sleep(Duration::from_millis(1000)).await;
            // Another run replaced this one, or the page is gone.
            if state
                .try_with_untracked(|s| s.as_ref().map(|r| r.summary.id))
                .flatten()
                != Some(id)
            {
                return;
            }
            match api::automations::get_run(session, org, id).await {
                Ok(r) => {
                    done = r.summary.status.is_final();
                    if state.try_set(Some(r)).is_some() {
                        return;
                    }
                }
                Err(e) if e.status != 0 => return,
                Err(_) => {}
            }
        }
    });
}

/// A run's outcome in a few lines (after a test invoke or a run by hand), linking to its detail.
#[component]
pub fn RunResult(org: OrgId, run: RunOut) -> impl IntoView {
    let (label, class) = run_status(run.summary.status);
    let s = run.summary;
    view! {
        <div class="run-result" aria-live="polite" data-status=run_status_value(s.status)>
            <p>
                <A href=format!("/orgs/{org}/automations/runs/{}", s.id)>"Run"</A>
                " " <span class=format!("{class} run-status")>{label}</span>
                {s.reason.map(|r| format!(" — {r}"))}
                {s.duration_ms.map(|d| format!(" in {d} ms"))}
                {(s.attempts > 1).then(|| format!(" after {} attempts", s.attempts))}
            </p>
            {(!s.status.is_final()).then(|| view! { <Spinner label="Waiting for the result…" /> })}
            {run.function_error.map(|e| view! { <p class="banner error">{format!("The function failed ({e}).")}</p> })}
            {run.response.map(|r| view! {
                <span class="label">"Response"</span>
                <pre class="run-response" tabindex="0">{serde_json::to_string_pretty(&r).unwrap_or_default()}</pre>
            })}
            {run.log_tail.filter(|l| !l.is_empty()).map(|l| view! {
                <details><summary>"Log tail"</summary><pre class="log-tail" tabindex="0">{l}</pre></details>
            })}
        </div>
    }
}

/// A table of runs read a page at a time with `params` as filters.
#[component]
pub fn RunList(
    org: OrgId,
    params: Vec<String>,
    #[prop(default = PAGE)] limit: u32,
) -> impl IntoView {
    let session = use_session();
    let items = RwSignal::new(Vec::<RunSummaryOut>::new());
    let cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiFailure>);
    let params = StoredValue::new(params);
    let load = move |more: bool| {
        let after = if more { cursor.get_untracked() } else { None };
        loading.set(true);
        leptos::task::spawn_local(async move {
            let p = params.get_value();
            let r = api::automations::list_runs(session, org, &p, limit, after.as_deref()).await;
            let _ = loading.try_set(false);
            match r {
                Ok(page) => {
                    let _ = items.try_update(|i| {
                        if !more {
                            i.clear();
                        }
                        i.extend(page.items);
                    });
                    let _ = cursor.try_set(page.next_cursor);
                    let _ = error.try_set(None);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    load(false);
    view! {
        <ErrorBanner error=error.into() />
        <Show when=move || !items.with(Vec::is_empty) || loading.get() fallback=move || view! {
            <Show when=move || error.with(Option::is_none)>
                <EmptyState title="No runs" hint="Runs appear here when an automation is run by hand, on a schedule, or by a rule." />
            </Show>
        }>
            <RunsTable org=org items=items.into() />
        </Show>
        <Show when=move || loading.get()><Spinner /></Show>
        <Show when=move || cursor.get().is_some() && !loading.get()>
            <button class="btn load-more" on:click=move |_| load(true)>"Load more"</button>
        </Show>
    }
}

/// Runs in a table.
#[component]
fn RunsTable(org: OrgId, items: Signal<Vec<RunSummaryOut>>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table runs-table">
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Automation"</th><th scope="col">"Trigger"</th>
                    <th scope="col">"Incident"</th><th scope="col">"Status"</th><th scope="col" class="num">"Duration"</th>
                </tr></thead>
                <tbody>
                    <For each=move || items.get() key=|r| (r.id, run_status_value(r.status), r.attempts) let:r>
                        <RunRow org=org r=r />
                    </For>
                </tbody>
            </table>
        </div>
    }
}

/// One run in a table.
#[component]
fn RunRow(org: OrgId, r: RunSummaryOut) -> impl IntoView {
    let now = time::now();
    let (label, class) = run_status(r.status);
    let trigger = match (r.trigger, &r.rule, &r.actor) {
        (RunTrigger::Rule, Some(rule), _) => format!("rule {}", rule.name),
        (RunTrigger::Manual | RunTrigger::Test, _, Some(a)) => {
            format!("{} by {}", trigger_label(r.trigger).0, a.name)
        }
        (t, _, _) => trigger_label(t).0.to_owned(),
    };
    view! {
        <tr data-id=r.id.to_string() data-status=run_status_value(r.status)>
            <td class="nowrap"><A href=format!("/orgs/{org}/automations/runs/{}", r.id) attr:title=time::when(r.created_at)>{time::relative(r.created_at, now)}</A></td>
            <td><A href=format!("/orgs/{org}/automations/{}", r.automation.id)>{r.automation.name.clone()}</A></td>
            <td>{trigger}</td>
            <td>{r.incident.clone().map(|i| view! { <A href=format!("/orgs/{org}/incidents/{}", i.id)>{i.name}</A> })}</td>
            <td>
                <span class=class>{label}</span>
                {r.reason.clone().map(|x| view! { <span class="muted reason">{format!(" {x}")}</span> })}
            </td>
            <td class="num">{r.duration_ms.map(|d| format!("{d} ms")).unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}

/// `/orgs/:org/automations/runs`: the log with its filters.
#[component]
pub fn AutomationRuns() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let query = use_query_map();
    let navigate = use_navigate();
    let automations = LocalResource::new(move || async move {
        api::automations::list_automations(session, org)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });
    let keys = ["automation", "status", "trigger", "incident", "since"];
    let filters = Memo::new(move |_| {
        let q = query.read();
        keys.iter()
            .filter_map(|k| {
                q.get(k)
                    .filter(|v| !v.is_empty())
                    .map(|v| (k.to_string(), v))
            })
            .collect::<Vec<_>>()
    });
    let set = move |key: &'static str, value: String| {
        let mut f = filters.get_untracked();
        f.retain(|(k, _)| k != key);
        if !value.is_empty() {
            f.push((key.to_owned(), value));
        }
        let q = f
            .iter()
            .map(|(k, v)| pair(k, v))
            .collect::<Vec<_>>()
            .join("&");
        navigate(
            &format!(
                "/orgs/{org}/automations/runs{}",
                if q.is_empty() {
                    String::new()
                } else {
                    format!("?{q}")
                }
            ),
            NavigateOptions::default(),
        );
    };
    let current = move |key: &str| {
        filters
            .get()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_default()
    };
    let set_a = set.clone();
    let set_s = set.clone();
    let set_t = set.clone();
    let set_since = set.clone();
    view! {
        <AutomationsHead org=org />
        <section class="card">
            <div class="filters run-filters">
                <div class="field">
                    <label for="runs-automation">"Automation"</label>
                    <select id="runs-automation" on:change=move |ev| set_a("automation", event_target_value(&ev))>
                        <option value="">"All"</option>
                        {move || automations.get().unwrap_or_default().into_iter().map(|a| {
                            let v = a.id.to_string();
                            let sel = v.clone();
                            view! { <option value=v selected=move || current("automation") == sel>{a.name}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="runs-status">"Status"</label>
                    <select id="runs-status" on:change=move |ev| set_s("status", event_target_value(&ev))>
                        <option value="">"All"</option>
                        {RUN_STATUSES.iter().map(|s| {
                            let v = run_status_value(*s);
                            view! { <option value=v selected=move || current("status") == v>{run_status(*s).0}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="runs-trigger">"Trigger"</label>
                    <select id="runs-trigger" on:change=move |ev| set_t("trigger", event_target_value(&ev))>
                        <option value="">"All"</option>
                        {[RunTrigger::Manual, RunTrigger::Test, RunTrigger::Schedule, RunTrigger::Rule].iter().map(|t| {
                            let (label, v) = trigger_label(*t);
                            view! { <option value=v selected=move || current("trigger") == v>{label}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="runs-since">"Since"</label>
                    <input id="runs-since" type="date" prop:value=move || current("since").get(..10).unwrap_or_default().to_owned()
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            set_since("since", time::day_start(&v).map(time::rfc3339).unwrap_or_default());
                        } />
                </div>
                {move || (!current("incident").is_empty()).then(|| {
                    let set = set.clone();
                    view! {
                        <button class="btn" on:click=move |_| set("incident", String::new())>"Any incident ✕"</button>
                    }
                })}
            </div>
            {move || {
                let params = filters.get().iter().map(|(k, v)| pair(k, v)).collect::<Vec<_>>();
                view! { <RunList org=org params=params /> }
            }}
        </section>
    }
}

/// `/orgs/:org/automations/runs/:run`: one run, read again every second while it is not over.
#[component]
pub fn AutomationRunPage() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    let run = RwSignal::new(None::<RunOut>);
    let error = RwSignal::new(None::<ApiFailure>);
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        reload.track();
        let Some(id) = params
            .read()
            .get("run")
            .and_then(|s| s.parse::<AutomationRunId>().ok())
        else {
            error.set(Some(ApiFailure::invalid(Vec::new())));
            return;
        };
        leptos::task::spawn_local(async move {
            match api::automations::get_run(session, org, id).await {
                Ok(r) => {
                    let _ = error.try_set(None);
                    let _ = run.try_set(None);
                    watch_run(session, org, r, run);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    });
    view! {
        <p><A href=format!("/orgs/{org}/automations/runs")>"← Run log"</A></p>
        {move || error.get().map(|e| view! {
            <p class="banner error">{if e.status == 404 || e.status == 422 { "Run not found.".to_owned() } else { e.message() }}</p>
        })}
        {move || match run.get() {
            None if error.with(Option::is_none) => view! { <Spinner /> }.into_any(),
            None => ().into_any(),
            Some(r) => view! { <RunDetail org=org r=r reload=reload /> }.into_any(),
        }}
    }
}

/// A run in full.
#[component]
fn RunDetail(org: OrgId, r: RunOut, reload: RwSignal<u32>) -> impl IntoView {
    let s = r.summary.clone();
    let (label, class) = run_status(s.status);
    let posted = match r.posted_back {
        PostBackStatus::NotRequested => "not requested",
        PostBackStatus::Pending => "pending",
        PostBackStatus::Posted => "posted to the incident",
        PostBackStatus::Failed => "failed",
    };
    let started_by = match (s.trigger, &s.rule, &s.actor, &r.schedule) {
        (RunTrigger::Rule, Some(rule), _, _) => format!("the rule {}", rule.name),
        (RunTrigger::Schedule, _, _, Some(sc)) => format!("the schedule {}", sc.name),
        (t, _, Some(a), _) => format!("{} ({})", a.name, trigger_label(t).0),
        (t, _, _, _) => trigger_label(t).0.to_owned(),
    };
    view! {
        <div class="page-head">
            <h1>{format!("Run of {}", s.automation.name)}</h1>
            <span class=format!("{class} run-status") data-status=run_status_value(s.status)>{label}</span>
        </div>
        {s.reason.clone().map(|x| view! { <p class="banner run-reason">{x}</p> })}
        <Decide org=org r=r.clone() reload=reload />
        <section class="card">
            <dl class="facts">
                <dt>"Automation"</dt><dd><A href=format!("/orgs/{org}/automations/{}", s.automation.id)>{s.automation.name.clone()}</A></dd>
                <dt>"Started by"</dt><dd>{started_by}</dd>
                <dt>"Incident"</dt><dd>{s.incident.clone().map(|i| view! { <A href=format!("/orgs/{org}/incidents/{}", i.id)>{i.name}</A> }.into_any()).unwrap_or_else(|| "—".into_any())}</dd>
                {r.pattern.clone().map(|p| view! { <dt>"Pattern"</dt><dd><A href=format!("/orgs/{org}/patterns/{}", p.id)>{p.name}</A></dd> })}
                {r.runbook.clone().map(|rb| view! {
                    <dt>"Runbook step"</dt>
                    <dd><A href=format!("/orgs/{org}/runbooks/{}{}{}", rb.id, r.runbook_version.map(|v| format!("?version={v}")).unwrap_or_default(), r.step_index.map(|i| format!("#step-{}", i + 1)).unwrap_or_default())>
                        {format!("{}{}", rb.name, r.step_index.map(|i| format!(", step {}", i + 1)).unwrap_or_default())}
                    </A></dd>
                })}
                <dt>"Target"</dt><dd class="run-target">{if r.target.is_empty() { "—".to_owned() } else { r.target.clone() }}</dd>
                <dt>"Attempts"</dt><dd>{s.attempts.to_string()}</dd>
                <dt>"Requested"</dt><dd>{time::when(s.created_at)}</dd>
                <dt>"Started"</dt><dd>{r.started_at.map(time::when).unwrap_or_else(|| "—".into())}</dd>
                <dt>"Finished"</dt><dd>{s.finished_at.map(time::when).unwrap_or_else(|| "—".into())}{s.duration_ms.map(|d| format!(" ({d} ms)"))}</dd>
                <dt>"Result on the incident"</dt><dd class="posted-back">{posted}</dd>
            </dl>
        </section>
        {matches!(s.status, RunStatus::Queued | RunStatus::Running).then(|| view! { <Spinner label="In progress — this page follows it." /> })}
        <section class="card">
            <h2>"History"</h2>
            <ol class="timeline run-events">
                {r.events.iter().map(|e| view! {
                    <li data-kind=e.kind.clone()>
                        <time>{e.at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()}</time>
                        " " <strong>{e.kind.replace('_', " ")}</strong>
                        {e.attempt.map(|a| format!(" (attempt {a})"))}
                        {e.actor.clone().map(|a| format!(" by {}", a.name))}
                        {(!e.message.is_empty()).then(|| format!(" — {}", e.message))}
                    </li>
                }).collect_view()}
            </ol>
        </section>
        <section class="card">
            <h2>"Payload"</h2>
            {match r.payload.clone() {
                Some(p) => view! {
                    <pre class="run-payload" tabindex="0">{serde_json::to_string_pretty(&p).unwrap_or_default()}</pre>
                    {r.payload_hash.clone().map(|h| view! { <p class="muted hash">"SHA-256 of the exact bytes sent: " <code>{h}</code></p> })}
                }.into_any(),
                None => view! { <p class="muted">"Nothing rendered (refused before rendering, or the template failed)."</p> }.into_any(),
            }}
            {(r.params != serde_json::Value::Null && r.params != serde_json::json!({})).then(|| view! {
                <span class="label">"Parameters"</span>
                <pre tabindex="0">{serde_json::to_string_pretty(&r.params).unwrap_or_default()}</pre>
            })}
        </section>
        {(r.response.is_some() || r.function_error.is_some() || r.log_tail.is_some()).then(|| view! {
            <section class="card">
                <h2>"Result"</h2>
                {r.function_error.clone().map(|e| view! { <p class="banner error function-error">{format!("Function error: {e}")}</p> })}
                {r.response.clone().map(|x| view! { <pre class="run-response" tabindex="0">{serde_json::to_string_pretty(&x).unwrap_or_default()}</pre> })}
                {r.log_tail.clone().filter(|l| !l.is_empty()).map(|l| view! {
                    <h3>"Log tail"</h3>
                    <pre class="log-tail" tabindex="0">{l}</pre>
                })}
            </section>
        })}
    }
}

/// Approve, reject (with a comment) or cancel a waiting run, for those who may.
#[component]
fn Decide(org: OrgId, r: RunOut, reload: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let status = use_automation_status();
    let comment = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let id = r.summary.id;
    let act = move |decision: &'static str| {
        let body = DecisionIn {
            comment: comment.get_untracked().trim().to_owned(),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let res = api::automations::decide_run(session, org, id, decision, &body).await;
            let _ = busy.try_set(false);
            match res {
                Ok(_) => {
                    let _ = error.try_set(None);
                    if let Some(s) = status {
                        s.refresh();
                    }
                    reload.update(|v| *v += 1);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let waiting = r.summary.status == RunStatus::PendingApproval;
    (r.may_decide || r.may_cancel).then(|| view! {
        <section class="card decide">
            {(r.may_decide && waiting).then(|| view! {
                <h2>"This run waits for an approval"</h2>
                <div class="field">
                    <label for="decision-comment">"Comment (recorded with the decision)"</label>
                    <input id="decision-comment" maxlength="1000" prop:value=move || comment.get()
                        on:input=move |ev| comment.set(event_target_value(&ev)) />
                </div>
            })}
            {(waiting && !r.may_decide).then(|| view! {
                <p class="muted">"Waiting for an approver: someone whose role is at least the automation's approve role, other than the person who asked."</p>
            })}
            <div class="actions">
                {r.may_cancel.then(|| view! {
                    <button class="btn" id="cancel-run" disabled=move || busy.get() on:click=move |_| act("cancel")>"Cancel run"</button>
                })}
                {(r.may_decide && waiting).then(|| view! {
                    <button class="btn danger" id="reject-run" disabled=move || busy.get() on:click=move |_| act("reject")>"Reject"</button>
                    <button class="btn primary" id="approve-run" disabled=move || busy.get() on:click=move |_| act("approve")>"Approve and run"</button>
                })}
            </div>
            <ErrorBanner error=error.into() />
        </section>
    })
}

/// `/orgs/:org/automations/approvals`: runs waiting for a decision the caller may take.
#[component]
pub fn Approvals() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let list = LocalResource::new(move || async move {
        api::automations::list_approvals(session, org)
            .await
            .map(|p| p.items)
    });
    view! {
        <AutomationsHead org=org />
        <section class="card approvals">
            <h2>"Waiting for your approval"</h2>
            {move || match list.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <EmptyState title="Nothing to approve" hint="Runs of automations that need an approval wait here for someone allowed to decide." />
                }.into_any(),
                Some(Ok(items)) => view! { <RunsTable org=org items=Signal::stored(items) /> }.into_any(),
            }}
        </section>
    }
}
