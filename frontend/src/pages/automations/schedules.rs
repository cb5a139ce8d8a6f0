//! Schedules (`/orgs/:org/automations/schedules`): automations run on a cron expression in a time zone
//! (daylight-saving changes followed), each with its next fire times as the server computes them; a form
//! below the list creates one or edits the chosen one.

use super::{AutomationsHead, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner, SubmitButton, TextField, field_error};
use crate::pages::settings::can;
use crate::session::use_session;
use crate::time;
use insights_types::api::{AutomationScheduleIn, AutomationScheduleOut};
use insights_types::{AutomationId, AutomationScheduleId, OrgId, Permission};
use leptos::prelude::*;
use leptos_router::components::A;

/// `/orgs/:org/automations/schedules`.
#[component]
pub fn AutomationSchedules() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let may_manage = can(org, Permission::ManageAutomations);
    let reload = RwSignal::new(0u32);
    let editing = RwSignal::new(None::<AutomationScheduleOut>);
    let list = LocalResource::new(move || {
        reload.track();
        async move {
            api::automations::list_schedules(session, org)
                .await
                .map(|p| p.items)
        }
    });
    let error = RwSignal::new(None::<ApiFailure>);
    let delete = move |id: AutomationScheduleId| {
        leptos::task::spawn_local(async move {
            let r = api::automations::delete_schedule(session, org, id).await;
            let _ = error.try_set(r.err());
            reload.update(|v| *v += 1);
        });
    };
    view! {
        <AutomationsHead org=org />
        <section class="card">
            <h2>"Schedules"</h2>
            <ErrorBanner error=error.into() />
            {move || match list.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <EmptyState title="No schedules" hint="Run an automation every night, every hour, or at any cron time in your time zone." />
                }.into_any(),
                Some(Ok(items)) => view! {
                    <div class="table-scroll">
                        <table class="table schedules-table">
                            <thead><tr>
                                <th scope="col">"Schedule"</th><th scope="col">"Runs"</th><th scope="col">"When"</th>
                                <th scope="col">"Next"</th><th scope="col">"Last"</th><th scope="col"><span class="sr-only">"Actions"</span></th>
                            </tr></thead>
                            <tbody>
                                {items.into_iter().map(|s| {
                                    let edit = s.clone();
                                    let id = s.id;
                                    view! {
                                        <tr data-id=s.id.to_string()>
                                            <th scope="row">{s.name.clone()}{(!s.enabled).then(|| view! { " " <span class="pill">"disabled"</span> })}</th>
                                            <td><A href=format!("/orgs/{org}/automations/{}", s.automation.id)>{s.automation.name.clone()}</A></td>
                                            <td><code>{s.cron.clone()}</code>{format!(" ({})", s.time_zone)}</td>
                                            <td class="next-runs">{s.next_runs.iter().take(3).map(|t| view! { <div class="nowrap">{time::when(*t)}</div> }).collect_view()}</td>
                                            <td class="nowrap">{s.last_run_at.map(time::when).unwrap_or_else(|| "—".into())}</td>
                                            <td class="nowrap">
                                                <Show when=may_manage>
                                                    <button class="btn small" on:click={let e = edit.clone(); move |_| editing.set(Some(e.clone()))}>"Edit"</button>
                                                    " " <button class="btn small danger" on:click=move |_| delete(id)>"Delete"</button>
                                                </Show>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
        <Show when=may_manage>
            {move || {
                let s = editing.get();
                view! { <ScheduleForm org=org s=s reload=reload editing=editing /> }
            }}
        </Show>
    }
}

/// Create a schedule, or edit `s`.
#[component]
fn ScheduleForm(
    org: OrgId,
    s: Option<AutomationScheduleOut>,
    reload: RwSignal<u32>,
    editing: RwSignal<Option<AutomationScheduleOut>>,
) -> impl IntoView {
    let session = use_session();
    let id = s.as_ref().map(|s| s.id);
    let name = RwSignal::new(s.as_ref().map(|s| s.name.clone()).unwrap_or_default());
    let automation = RwSignal::new(
        s.as_ref()
            .map(|s| s.automation.id.to_string())
            .unwrap_or_default(),
    );
    let cron = RwSignal::new(
        s.as_ref()
            .map_or_else(|| "0 3 * * *".to_owned(), |s| s.cron.clone()),
    );
    let tz = RwSignal::new(
        s.as_ref()
            .map_or_else(|| "UTC".to_owned(), |s| s.time_zone.clone()),
    );
    let params_text = RwSignal::new(
        s.as_ref()
            .map(|s| &s.params)
            .filter(|p| !p.is_null() && **p != serde_json::json!({}))
            .map(|p| serde_json::to_string(p).unwrap_or_default())
            .unwrap_or_default(),
    );
    let enabled = RwSignal::new(s.as_ref().is_none_or(|s| s.enabled));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let automations = LocalResource::new(move || async move {
        api::automations::list_automations(session, org)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = params_text.get_untracked();
        let params = if text.trim().is_empty() {
            None
        } else {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => Some(v),
                Err(e) => {
                    error.set(Some(ApiFailure::invalid(vec![
                        insights_types::FieldError::new(
                            "params",
                            "invalid",
                            format!("not JSON: {e}"),
                        ),
                    ])));
                    return;
                }
            }
        };
        let Ok(automation_id) = automation.get_untracked().parse::<AutomationId>() else {
            error.set(Some(ApiFailure::invalid(vec![
                insights_types::FieldError::new(
                    "automation_id",
                    "required",
                    "choose the automation to run",
                ),
            ])));
            return;
        };
        let body = AutomationScheduleIn {
            name: name.get_untracked().trim().to_owned(),
            automation_id,
            cron: cron.get_untracked().trim().to_owned(),
            time_zone: Some(tz.get_untracked().trim().to_owned()).filter(|t| !t.is_empty()),
            params,
            enabled: enabled.get_untracked(),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = match id {
                Some(id) => api::automations::save_schedule(session, org, id, &body).await,
                None => api::automations::create_schedule(session, org, &body).await,
            };
            let _ = busy.try_set(false);
            match r {
                Ok(_) => {
                    let _ = error.try_set(None);
                    let _ = editing.try_set(None);
                    reload.update(|v| *v += 1);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card schedule-form">
            <h2>{if id.is_some() { "Edit schedule" } else { "New schedule" }}</h2>
            <form on:submit=submit>
                <TextField id="schedule-name" label="Name" value=name error=field_error(error, "name") required=true />
                <div class="field">
                    <label for="schedule-automation">"Automation"</label>
                    <select id="schedule-automation" on:change=move |ev| automation.set(event_target_value(&ev))>
                        <option value="" selected=move || automation.get().is_empty()>"Choose…"</option>
                        {move || automations.get().unwrap_or_default().into_iter().map(|a| {
                            let v = a.id.to_string();
                            let sel = v.clone();
                            view! { <option value=v selected=move || automation.get() == sel>{a.name}</option> }
                        }).collect_view()}
                    </select>
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("automation_id"))}</p>
                </div>
                <div class="form-grid">
                    <TextField id="schedule-cron" label="Cron" value=cron error=field_error(error, "cron")
                        hint="minute hour day-of-month month day-of-week (or 6 fields, seconds first)" />
                    <TextField id="schedule-tz" label="Time zone" value=tz error=field_error(error, "time_zone") hint="An IANA name, e.g. Europe/Paris" />
                </div>
                <TextField id="schedule-params" label="Parameters (JSON object)" value=params_text error=field_error(error, "params") />
                <label class="check">
                    <input type="checkbox" id="schedule-enabled" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev)) />
                    "Enabled"
                </label>
                <ErrorBanner error=error.into() />
                <div class="actions">
                    {id.is_some().then(|| view! { <button type="button" class="btn" on:click=move |_| editing.set(None)>"Cancel"</button> })}
                    <SubmitButton label=if id.is_some() { "Save" } else { "Create schedule" } busy_label="Saving…" busy=busy.into() />
                </div>
            </form>
        </section>
    }
}
