//! The pattern block of the incident page: the incident's pattern, why it is there (its title in the
//! template, the similarity, and how it was assigned), the corrections for those who may make them, similar
//! incidents, and incidents of patterns that usually happen together with it.

use super::detail::{MoveDialog, incidents};
use super::parts::Template;
use crate::api::{self, ApiFailure};
use crate::components::ErrorBanner;
use crate::pages::settings::can;
use crate::session::use_session;
use crate::time;
use insights_types::api::{AssignedBy, IncidentOut, IncidentPatternOut};
use insights_types::{OrgId, Permission};
use leptos::prelude::*;
use leptos_router::components::A;

/// How an incident came to its pattern, for people.
pub fn assigned_label(a: AssignedBy) -> &'static str {
    match a {
        AssignedBy::Mined => "assigned by the engine",
        AssignedBy::Rule => "assigned by a person's correction (a rule)",
        AssignedBy::Manual => "moved by a person",
    }
}

/// The block; `moved` runs after a correction (the page reads the incident again). Its patterns open over all
/// time, so that this incident is among theirs whenever it happened.
#[component]
pub fn IncidentPattern(
    org: OrgId,
    incident: IncidentOut,
    pattern: Option<IncidentPatternOut>,
    moved: Callback<()>,
) -> impl IntoView {
    let may_edit = can(org, Permission::EditPatterns);
    let moving = RwSignal::new(false);
    let from = pattern.as_ref().map(|p| p.id);
    let body = match pattern {
        None => view! {
            <p class="muted">"Not in a pattern yet: patterns are assigned as incidents are stored."</p>
        }
        .into_any(),
        Some(p) => {
            let why = p.why;
            let (similar, related) = (p.similar, p.related);
            view! {
                <p class="pattern-link">
                    <A href=format!("/orgs/{org}/patterns/{}?range=all", p.id) attr:id="incident-pattern-name">{p.name.clone()}</A>
                    {p.muted.then(|| view! { " " <span class="pill tag">"muted"</span> })}
                    <span class="muted">{format!(" · {} of all time", incidents(p.total_count))}</span>
                </p>
                <div class="why">
                    <p class="why-template"><Template parts=why.parts values=why.slots /></p>
                    <p class="why-how">
                        <span class="assigned" data-assigned=format!("{:?}", why.assigned_by).to_lowercase()>
                            {assigned_label(why.assigned_by)}
                        </span>
                        {format!(" · similarity {:.0}%", f64::from(why.score) * 100.0)}
                        <span class="muted">{format!(" · template {}", why.template)}</span>
                    </p>
                </div>
                {(!similar.is_empty()).then(|| view! {
                    <h3>"Similar incidents"</h3>
                    <ul class="similar">
                        {similar.into_iter().map(|i| view! {
                            <li>
                                <A href=format!("/orgs/{org}/incidents/{}", i.id)>{i.title.clone()}</A>
                                <span class="muted">{format!(" · {}", time::when(i.triggered_at))}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                })}
                {(!related.is_empty()).then(|| view! {
                    <h3>"Related incidents"</h3>
                    <ul class="related">
                        {related.into_iter().map(|r| view! {
                            <li>
                                <A href=format!("/orgs/{org}/incidents/{}", r.incident.id)>{r.incident.title.clone()}</A>
                                <span class="muted">{format!(" · {}", time::when(r.incident.triggered_at))}</span>
                                <br />
                                <span class="hint">"Usually happens together with this one's pattern: "
                                    <A href=format!("/orgs/{org}/patterns/{}?range=all", r.pattern.id)>{r.pattern.name.clone()}</A>
                                    {format!(" — {} times", r.pattern.times)}
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                })}
            }
            .into_any()
        }
    };
    let session = use_session();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let id = incident.id;
    let to_new = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let body = api::patterns::move_to(None);
            let r = api::patterns::move_incident(session, org, id, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(_) => moved.run(()),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card incident-pattern" aria-labelledby="incident-pattern-title">
            <h2 id="incident-pattern-title">"Pattern"</h2>
            {body}
            <Show when=may_edit>
                <div class="pattern-actions" role="group" aria-label="Correct the pattern">
                    <button class="btn small" id="move-incident" on:click=move |_| moving.set(true)>
                        "Move to another pattern…"
                    </button>
                    <button class="btn small" id="move-incident-new" disabled=move || busy.get() on:click=to_new>
                        "Move to a new pattern"
                    </button>
                </div>
            </Show>
            <ErrorBanner error=error.into() />
            <Show when=move || moving.get()>
                <MoveDialog org=org incident=incident.clone() from=from
                    moved=Callback::new(move |_| { moving.set(false); moved.run(()) })
                    close=Callback::new(move |()| moving.set(false)) />
            </Show>
        </section>
    }
}
