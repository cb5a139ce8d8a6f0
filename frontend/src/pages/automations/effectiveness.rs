//! The effectiveness report (`/orgs/:org/automations/effectiveness`): per automation over a window, its
//! runs, success rate, refusals, how often its incident was resolved soon after, how often the pattern came
//! back within a day, and its median duration.

use super::{AutomationsHead, org_id};
use crate::api;
use crate::components::{EmptyState, Spinner};
use crate::session::use_session;
use leptos::prelude::*;
use leptos_router::components::A;

/// `/orgs/:org/automations/effectiveness`.
#[component]
pub fn Effectiveness() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let days = RwSignal::new(30u32);
    let within = RwSignal::new(60u32);
    let report = LocalResource::new(move || {
        let (d, w) = (days.get(), within.get());
        async move { api::automations::effectiveness(session, org, d, w).await }
    });
    let pct = |n: i64, of: i64| {
        if of == 0 {
            "—".to_owned()
        } else {
            format!("{:.0}%", n as f64 * 100.0 / of as f64)
        }
    };
    view! {
        <AutomationsHead org=org />
        <section class="card">
            <div class="filters">
                <div class="field">
                    <label for="eff-days">"Over the last"</label>
                    <select id="eff-days" on:change=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(30))>
                        {[7u32, 30, 90, 365].into_iter().map(|d| view! { <option value=d.to_string() selected=move || days.get() == d>{format!("{d} days")}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="eff-within">"Resolved within"</label>
                    <select id="eff-within" on:change=move |ev| within.set(event_target_value(&ev).parse().unwrap_or(60))>
                        {[15u32, 30, 60, 240, 1440].into_iter().map(|m| view! { <option value=m.to_string() selected=move || within.get() == m>{format!("{m} minutes")}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            {move || match report.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(r)) if r.automations.is_empty() => view! {
                    <EmptyState title="No runs in this period" hint="The report fills in as automations run." />
                }.into_any(),
                Some(Ok(r)) => view! {
                    <div class="table-scroll">
                        <table class="table effectiveness-table">
                            <thead><tr>
                                <th scope="col">"Automation"</th><th scope="col" class="num">"Runs"</th>
                                <th scope="col" class="num">"Success rate"</th><th scope="col" class="num">"Failed"</th>
                                <th scope="col" class="num">"Refused"</th>
                                <th scope="col" class="num">{format!("Resolved within {} min", r.resolved_within_minutes)}</th>
                                <th scope="col" class="num">"Pattern back within 24 h"</th>
                                <th scope="col" class="num">"Median duration"</th>
                            </tr></thead>
                            <tbody>
                                {r.automations.into_iter().map(|e| view! {
                                    <tr>
                                        <th scope="row"><A href=format!("/orgs/{org}/automations/{}", e.automation.id)>{e.automation.name.clone()}</A></th>
                                        <td class="num">{e.runs.to_string()}</td>
                                        <td class="num">{e.success_rate.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "—".into())}</td>
                                        <td class="num">{e.failed.to_string()}</td>
                                        <td class="num">{e.refused.to_string()}</td>
                                        <td class="num">{format!("{} of {} ({})", e.resolved_within, e.incidents, pct(e.resolved_within, e.incidents))}</td>
                                        <td class="num">{format!("{} ({})", e.recurred_within_24h, pct(e.recurred_within_24h, e.incidents))}</td>
                                        <td class="num">{e.median_duration_ms.map(|d| format!("{d} ms")).unwrap_or_else(|| "—".into())}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <p class="muted">{format!("Since {}.", crate::time::when(r.since))}</p>
                }.into_any(),
            }}
        </section>
    }
}
