//! The one-click sample history: realistic incidents to try everything before connecting a tool.

use crate::api::{self, ApiFailure};
use crate::components::ErrorBanner;
use crate::time;
use insights_types::api::{JobRunOut, JobState};
use leptos::prelude::*;
use leptos_router::components::A;
use std::time::Duration;

/// The sample history's card: load it (admins and owners), and follow its job until it is done.
#[component]
pub fn SampleHistory() -> impl IntoView {
    let (org, session, allowed) = super::org_and_permission();
    let job = RwSignal::new(None::<JobRunOut>);
    let error = RwSignal::new(None::<ApiFailure>);
    let poll = move |id: insights_types::JobRunId| {
        leptos::task::spawn_local(async move {
            loop {
                match api::jobs::get_job(session, org, id).await {
                    Ok(j) => {
                        let done = !j.state.is_active();
                        if job.try_set(Some(j)).is_some() || done {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = error.try_set(Some(e));
                        break;
                    }
                }
                time::sleep(Duration::from_millis(500)).await;
            }
        });
    };
    let load = move |_| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::sample_data::load_sample_data(session, org).await {
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
        <section class="card" aria-labelledby="sample-title">
            <h2 id="sample-title">"Sample history"</h2>
            <p>"Six months of realistic incidents over a dozen services — recurring problems, incident storms, night pages — so you can try everything before connecting a tool. Loading it twice adds nothing."</p>
            <ErrorBanner error=error.into() />
            <Show when=allowed fallback=|| view! { <p class="muted">"Admins and owners can load it."</p> }>
                <button class="btn" id="load-sample" on:click=load
                    disabled=move || job.get().is_some_and(|j| j.state.is_active())>
                    "Load sample history"
                </button>
            </Show>
            {move || job.get().map(|j| {
                let total = j.progress["total"].as_u64().unwrap_or(0);
                let done = j.progress["processed"].as_u64().unwrap_or(0);
                let pct = (done * 100).checked_div(total).unwrap_or(0);
                view! {
                    <div class="job" role="status">
                        <progress max="100" value=pct.to_string() aria-label="Sample history"></progress>
                        <p>{match j.state {
                            JobState::Succeeded => format!("Done: {total} incidents."),
                            JobState::Failed => format!("Failed: {}", j.last_error.clone().unwrap_or_default()),
                            _ => format!("{} — {done} of {total}", j.state.as_str()),
                        }}</p>
                        <Show when=move || j.state == JobState::Succeeded>
                            <A href=format!("/orgs/{org}/incidents?source=sample")>"See the incidents"</A>
                        </Show>
                    </div>
                }
            })}
        </section>
    }
}
