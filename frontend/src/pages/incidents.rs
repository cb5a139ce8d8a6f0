//! Incidents: the unified history (filters, newest first, "load more"), one incident with its timeline, and
//! the integrations page's one-click sample history.

use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner};
use crate::layout::use_org;
use crate::session::use_session;
use insights_types::api::{
    IncidentDetailOut, IncidentOut, IncidentStatus, JobRunOut, JobState, Page,
};
use insights_types::{IncidentId, OrgId, Permission};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use std::time::Duration;

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

#[component]
pub fn Incidents() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let status = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let items = RwSignal::new(Vec::<IncidentOut>::new());
    let cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let load = move |more: bool| {
        let mut query = vec!["limit=50".to_owned()];
        if !status.get_untracked().is_empty() {
            query.push(format!("status={}", status.get_untracked()));
        }
        let q = text.get_untracked();
        if !q.trim().is_empty() {
            query.push(format!("q={}", js_sys::encode_uri_component(q.trim())));
        }
        if more {
            if let Some(c) = cursor.get_untracked() {
                query.push(format!("cursor={c}"));
            }
        } else {
            items.set(Vec::new());
        }
        loading.set(true);
        leptos::task::spawn_local(async move {
            match api::get::<Page<IncidentOut>>(
                session,
                &format!("/api/v1/orgs/{org}/incidents?{}", query.join("&")),
            )
            .await
            {
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
    load(false);
    view! {
        <h1>"Incidents"</h1>
        <form class="filters" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); load(false) }>
            <div class="field">
                <label for="incident-q">"Search"</label>
                <input id="incident-q" type="search" placeholder="Title or description"
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
            </div>
            <div class="field">
                <label for="incident-status">"Status"</label>
                <select id="incident-status" on:change=move |ev| { status.set(event_target_value(&ev)); load(false) }>
                    <option value="">"Any"</option>
                    <option value="triggered">"Triggered"</option>
                    <option value="acknowledged">"Acknowledged"</option>
                    <option value="resolved">"Resolved"</option>
                </select>
            </div>
            <button class="btn" type="submit">"Apply"</button>
        </form>
        <ErrorBanner error=error.into() />
        <section class="card">
            <Show when=move || !items.get().is_empty() || loading.get() fallback=move || view! {
                <EmptyState title="No incidents" hint="Incidents appear here once a source is connected — or load the sample history under Integrations." />
            }>
                <table class="table incidents">
                    <thead><tr>
                        <th scope="col">"Incident"</th><th scope="col">"Service"</th><th scope="col">"Status"</th>
                        <th scope="col">"Triggered"</th><th scope="col">"To ack"</th><th scope="col">"To resolve"</th>
                    </tr></thead>
                    <tbody>
                        <For each=move || items.get() key=|i| i.id let:i>
                            <tr>
                                <td><A href=format!("/orgs/{org}/incidents/{}", i.id)>{i.title.clone()}</A></td>
                                <td>{i.service.as_ref().map(|s| s.name.clone()).unwrap_or_default()}</td>
                                <td><span class=status_class(i.status)>{i.status.as_str()}</span></td>
                                <td>{i.triggered_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                <td>{span(i.triggered_at, i.acknowledged_at)}</td>
                                <td>{span(i.triggered_at, i.resolved_at)}</td>
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

#[component]
pub fn IncidentPage() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    let detail = LocalResource::new(move || {
        let id: Option<IncidentId> = params.read().get("incident").and_then(|s| s.parse().ok());
        async move {
            match id {
                Some(id) => api::get::<IncidentDetailOut>(
                    session,
                    &format!("/api/v1/orgs/{org}/incidents/{id}"),
                )
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
                    view! {
                        <h1>{i.title.clone()}</h1>
                        <section class="card">
                            <dl class="facts">
                                <dt>"Status"</dt><dd><span class=status_class(i.status)>{i.status.as_str()}</span></dd>
                                <dt>"Service"</dt><dd>{i.service.map(|s| s.name).unwrap_or_default()}</dd>
                                <dt>"Team"</dt><dd>{i.team.map(|t| t.name).unwrap_or_default()}</dd>
                                <dt>"Urgency"</dt><dd>{i.urgency.map(|u| u.as_str()).unwrap_or("—")}</dd>
                                <dt>"Source"</dt><dd>{format!("{} #{}", i.source.as_str(), i.number.map(|n| n.to_string()).unwrap_or_else(|| i.external_id.clone()))}</dd>
                                <dt>"Time to acknowledge"</dt><dd>{span(i.triggered_at, i.acknowledged_at)}</dd>
                                <dt>"Time to resolve"</dt><dd>{span(i.triggered_at, i.resolved_at)}</dd>
                            </dl>
                            <p>{d.description}</p>
                        </section>
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

/// Integrations: connectors are coming; the sample history is one click away.
#[component]
pub fn Integrations() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let allowed = move || {
        session
            .role_in(org)
            .is_some_and(|r| r.can(Permission::ManageIntegrations))
    };
    let job = RwSignal::new(None::<JobRunOut>);
    let error = RwSignal::new(None::<ApiFailure>);
    let poll = move |id: insights_types::JobRunId| {
        leptos::task::spawn_local(async move {
            loop {
                match api::get::<JobRunOut>(session, &format!("/api/v1/orgs/{org}/jobs/{id}")).await
                {
                    Ok(j) => {
                        let done = matches!(j.state, JobState::Succeeded | JobState::Failed);
                        job.set(Some(j));
                        if done {
                            break;
                        }
                    }
                    Err(e) => {
                        error.set(Some(e));
                        break;
                    }
                }
                gloo_sleep(Duration::from_millis(500)).await;
            }
        });
    };
    let load = move |_| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::call::<JobRunOut>(
                session,
                "POST",
                &format!("/api/v1/orgs/{org}/sample-data"),
                None::<&()>,
            )
            .await
            {
                Ok(j) => {
                    let id = j.id;
                    job.set(Some(j));
                    poll(id);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <h1>"Integrations"</h1>
        <section class="card">
            <h2>"PagerDuty and Opsgenie"</h2>
            <p class="badge">"Coming soon"</p>
            <p>"Connect PagerDuty or Opsgenie to import your whole incident history, then keep it in sync."</p>
        </section>
        <section class="card">
            <h2>"Sample history"</h2>
            <p>"Six months of realistic incidents over a dozen services — recurring problems, incident storms, night pages — so you can try everything before connecting a tool. Loading it twice adds nothing."</p>
            <ErrorBanner error=error.into() />
            <Show when=allowed fallback=|| view! { <p class="muted">"Admins and owners can load it."</p> }>
                <button class="btn primary" id="load-sample" on:click=load
                    disabled=move || job.get().is_some_and(|j| !matches!(j.state, JobState::Succeeded | JobState::Failed))>
                    "Load sample history"
                </button>
            </Show>
            {move || job.get().map(|j| {
                let total = j.progress["total"].as_u64().unwrap_or(0);
                let done = j.progress["processed"].as_u64().unwrap_or(0);
                let pct = (done * 100).checked_div(total).unwrap_or(0);
                view! {
                    <div class="job" role="status">
                        <progress max="100" value=pct.to_string()></progress>
                        <p>{match j.state {
                            JobState::Succeeded => format!("Done: {total} incidents."),
                            JobState::Failed => format!("Failed: {}", j.last_error.clone().unwrap_or_default()),
                            _ => format!("{} — {done} of {total}", j.state.as_str()),
                        }}</p>
                        <Show when=move || j.state == JobState::Succeeded>
                            <A href=format!("/orgs/{org}/incidents")>"See the incidents"</A>
                        </Show>
                    </div>
                }
            })}
        </section>
    }
}

/// Waits without blocking the page.
async fn gloo_sleep(d: Duration) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = tx.send(());
        },
        d,
    );
    let _ = rx.await;
}
