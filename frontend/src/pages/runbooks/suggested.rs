//! "Suggested runbooks" on the incident and pattern pages: the index searched with the incident or the
//! pattern (no model involved), and "Generate runbook", which asks for a draft and opens it.

use super::parts::SearchHit;
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner};
use crate::pages::settings::can;
use crate::session::use_session;
use insights_types::api::RunbookGenerationIn;
use insights_types::{IncidentId, OrgId, PatternId, Permission};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

/// What suggestions are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Incident(IncidentId),
    Pattern(PatternId),
}

impl Subject {
    fn search_pair(self) -> String {
        match self {
            Subject::Incident(id) => format!("incident_id={id}"),
            Subject::Pattern(id) => format!("pattern_id={id}"),
        }
    }

    fn generation(self) -> RunbookGenerationIn {
        match self {
            Subject::Incident(id) => RunbookGenerationIn {
                incident_id: Some(id),
                ..Default::default()
            },
            Subject::Pattern(id) => RunbookGenerationIn {
                pattern_id: Some(id),
                ..Default::default()
            },
        }
    }
}

/// Asks for a draft and opens its page; the error (a spent budget, a missing permission) shows beside.
#[component]
pub fn GenerateButton(
    org: OrgId,
    body: RunbookGenerationIn,
    #[prop(into)] label: String,
) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let go = move |_| {
        let body = body.clone();
        let navigate = navigate.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
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
        <button type="button" class="btn primary generate" disabled=move || busy.get() on:click=go>
            {move || if busy.get() { "Asking…".to_owned() } else { label.clone() }}
        </button>
        <ErrorBanner error=error.into() />
    }
}

/// The suggested runbooks for an incident or a pattern, and "Generate runbook".
#[component]
pub fn SuggestedRunbooks(org: OrgId, subject: Subject) -> impl IntoView {
    let session = use_session();
    let may_generate = can(org, Permission::EditRunbooks);
    let hits = LocalResource::new(move || async move {
        api::runbooks::search(session, org, &[subject.search_pair(), "limit=5".to_owned()]).await
    });
    view! {
        <section class="card suggested-runbooks" aria-labelledby="suggested-title">
            <div class="page-head">
                <h2 id="suggested-title">"Suggested runbooks"</h2>
                <Show when=may_generate>
                    <div class="generate-box">
                        <GenerateButton org=org body=subject.generation() label="Generate runbook" />
                    </div>
                </Show>
            </div>
            <p class="muted hint">"From your runbooks and past fixes, by what this is about — no model involved."</p>
            {move || match hits.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(r)) if r.items.is_empty() => view! {
                    <p class="muted">"Nothing in your runbooks or past fixes matches yet. "
                        <A href=format!("/orgs/{org}/runbooks")>"Open the runbook library"</A></p>
                }.into_any(),
                Some(Ok(r)) => view! {
                    <ul class="hits">
                        {r.items.into_iter().map(|hit| view! { <SearchHit org=org hit=hit /> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
