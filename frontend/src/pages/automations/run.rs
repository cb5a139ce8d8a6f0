//! "Run automation…" on the incident page, the pattern page and runbook steps: a dialog choosing one of the
//! automations the caller may run (for a step with a command, the remote-command automations), with
//! parameters — and for remote commands the targets —, the exact payload previewed, then the run followed
//! until it is over (or shown waiting for an approval).

use super::action_label;
use super::runs::{RunResult, watch_run};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, trap_focus};
use crate::session::use_session;
use insights_types::api::{PreviewIn, PreviewOut, RunIn, RunOut, RunSubjectIn};
use insights_types::{AutomationId, OrgId};
use leptos::prelude::*;

/// Targets typed as `tag:role=db,web; tag:env=prod` → `{"tag:role": ["db", "web"], "tag:env": ["prod"]}`.
fn parse_targets(text: &str) -> Result<Option<serde_json::Value>, String> {
    let mut map = serde_json::Map::new();
    for part in text
        .split([';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let Some((key, values)) = part.split_once('=') else {
            return Err(format!("“{part}” is not key=value"));
        };
        let values: Vec<serde_json::Value> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| serde_json::Value::String(v.to_owned()))
            .collect();
        if key.trim().is_empty() || values.is_empty() {
            return Err(format!("“{part}” needs a key and at least one value"));
        }
        map.insert(key.trim().to_owned(), serde_json::Value::Array(values));
    }
    Ok((!map.is_empty()).then_some(serde_json::Value::Object(map)))
}

/// The button and its dialog. `subject` says what the run is about; `commands` limits the choice to the
/// remote-command automations (a runbook step with a command).
#[component]
pub fn RunAutomation(
    org: OrgId,
    subject: RunSubjectIn,
    #[prop(optional)] commands: bool,
    #[prop(into, default = "Run automation…".to_owned())] label: String,
) -> impl IntoView {
    let session = use_session();
    let open = RwSignal::new(false);
    let chosen = RwSignal::new(String::new());
    let params_text = RwSignal::new(String::new());
    let targets_text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let preview = RwSignal::new(None::<PreviewOut>);
    let run = RwSignal::new(None::<RunOut>);
    let dialog = NodeRef::<leptos::html::Div>::new();
    let subject = StoredValue::new(subject);
    let automations = LocalResource::new(move || {
        let o = open.get();
        async move {
            if !o {
                return Vec::new();
            }
            api::automations::list_automations(session, org)
                .await
                .map(|p| {
                    p.items
                        .into_iter()
                        .filter(|a| a.may_run && a.enabled && (!commands || a.remote_command))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    });
    let remote = move || {
        automations
            .get()
            .unwrap_or_default()
            .iter()
            .any(|a| a.id.to_string() == chosen.get() && a.remote_command)
    };
    // What the run is about, with the parameters and targets typed in.
    let full_subject = move || -> Result<(AutomationId, RunSubjectIn), ApiFailure> {
        let invalid = |field: &str, m: String| {
            ApiFailure::invalid(vec![insights_types::FieldError::new(field, "invalid", m)])
        };
        let id = chosen
            .get_untracked()
            .parse::<AutomationId>()
            .map_err(|_| invalid("automation", "choose an automation".to_owned()))?;
        let mut s = subject.get_value();
        let text = params_text.get_untracked();
        if !text.trim().is_empty() {
            s.params = Some(
                serde_json::from_str(&text)
                    .map_err(|e| invalid("params", format!("not JSON: {e}")))?,
            );
        }
        if remote() {
            s.targets =
                parse_targets(&targets_text.get_untracked()).map_err(|m| invalid("targets", m))?;
        }
        Ok((id, s))
    };
    let do_preview = move |_| match full_subject() {
        Err(e) => error.set(Some(e)),
        Ok((id, s)) => {
            busy.set(true);
            leptos::task::spawn_local(async move {
                let body = PreviewIn {
                    template: None,
                    subject: s,
                };
                let r = api::automations::preview(session, org, id, &body).await;
                let _ = busy.try_set(false);
                match r {
                    Ok(p) => {
                        let _ = error.try_set(None);
                        let _ = preview.try_set(Some(p));
                    }
                    Err(e) => {
                        let _ = error.try_set(Some(e));
                    }
                }
            });
        }
    };
    let do_run = move |_| match full_subject() {
        Err(e) => error.set(Some(e)),
        Ok((id, s)) => {
            busy.set(true);
            leptos::task::spawn_local(async move {
                let body = RunIn {
                    subject: s,
                    test: false,
                };
                let r = api::automations::run_automation(session, org, id, &body).await;
                let _ = busy.try_set(false);
                match r {
                    Ok(out) => {
                        let _ = error.try_set(None);
                        watch_run(session, org, out, run);
                    }
                    Err(e) => {
                        let _ = error.try_set(Some(e));
                    }
                }
            });
        }
    };
    let close = move || {
        open.set(false);
        run.set(None);
        preview.set(None);
        error.set(None);
    };
    view! {
        <button type="button" class="btn run-automation" on:click=move |_| open.set(true)>{label}</button>
        <Show when=move || open.get()>
            <div class="dialog-backdrop">
                <div class="dialog run-dialog" role="dialog" aria-modal="true" aria-labelledby="run-title" node_ref=dialog
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" { close(); }
                        if let Some(d) = dialog.get_untracked() { trap_focus(&d, &ev); }
                    }>
                    <h2 id="run-title">"Run an automation"</h2>
                    {move || match automations.get() {
                        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                        Some(list) if list.is_empty() => view! {
                            <p class="muted">{if commands { "No remote-command automation you may run." } else { "No automation you may run." }}</p>
                        }.into_any(),
                        Some(list) => view! {
                            <div class="field">
                                <label for="run-automation-choice">"Automation"</label>
                                <select id="run-automation-choice" on:change=move |ev| { chosen.set(event_target_value(&ev)); preview.set(None); }>
                                    <option value="" selected=move || chosen.get().is_empty()>"Choose…"</option>
                                    {list.into_iter().map(|a| {
                                        let v = a.id.to_string();
                                        let sel = v.clone();
                                        let note = if a.needs_approval { ", needs approval" } else { "" };
                                        view! { <option value=v selected=move || chosen.get() == sel>{format!("{} ({}{note})", a.name, action_label(a.action))}</option> }
                                    }).collect_view()}
                                </select>
                                <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("automation"))}</p>
                            </div>
                        }.into_any(),
                    }}
                    <Show when=remote>
                        <div class="field">
                            <label for="run-targets">"Targets"</label>
                            <p class="hint">"Instance tags, e.g. tag:role=db; tag:env=prod"</p>
                            <input id="run-targets" prop:value=move || targets_text.get() on:input=move |ev| targets_text.set(event_target_value(&ev)) />
                            <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("targets"))}</p>
                        </div>
                    </Show>
                    <div class="field">
                        <label for="run-params">"Parameters (JSON object, optional)"</label>
                        <textarea id="run-params" class="code" rows="3" spellcheck="false"
                            prop:value=move || params_text.get() on:input=move |ev| params_text.set(event_target_value(&ev))></textarea>
                        <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("params"))}</p>
                    </div>
                    {move || preview.get().map(|p| view! {
                        {p.error.map(|e| view! { <p class="banner error">{e.line.map(|l| format!("Line {l}: ")).unwrap_or_default()}{e.message}</p> })}
                        {p.rendered.map(|r| view! { <pre class="payload-preview" tabindex="0">{r}</pre> })}
                    })}
                    <ErrorBanner error=error.into() />
                    {move || run.get().map(|r| view! { <RunResult org=org run=r /> })}
                    <div class="actions">
                        <button type="button" class="btn" on:click=move |_| close()>"Close"</button>
                        <button type="button" class="btn" id="run-preview" disabled=move || busy.get() || chosen.get().is_empty() on:click=do_preview>"Preview"</button>
                        <button type="button" class="btn primary" id="run-now" disabled=move || busy.get() || chosen.get().is_empty() || run.get().is_some() on:click=do_run>
                            {move || if busy.get() { "Working…" } else { "Run" }}
                        </button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::parse_targets;

    #[test]
    fn targets_are_tag_lists() {
        let t = parse_targets("tag:role=db, web; tag:env=prod")
            .unwrap()
            .unwrap();
        assert_eq!(
            t,
            serde_json::json!({"tag:role": ["db", "web"], "tag:env": ["prod"]})
        );
        assert_eq!(parse_targets("  ").unwrap(), None);
        assert!(parse_targets("tag:role").is_err());
        assert!(parse_targets("tag:role=").is_err());
    }
}

/// Whether the caller's role could run any automation here (viewers never do; each automation's own least
/// role is applied by the dialog's list and by the server).
pub fn may_run_any(org: OrgId) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let session = crate::session::use_session();
    move || {
        session
            .role_in(org)
            .is_some_and(|r| r != insights_types::Role::Viewer)
    }
}

/// The automations card of the incident and pattern pages: "Run automation…" and, for an incident, its
/// runs in the log.
#[component]
pub fn AutomationsCard(org: OrgId, subject: RunSubjectIn) -> impl IntoView {
    let may_run = may_run_any(org);
    let runs = subject.incident_id.map(|i| {
        format!(
            "/orgs/{org}/automations/runs?incident={}",
            js_sys::encode_uri_component(&i.to_string())
        )
    });
    view! {
        <Show when=may_run>
            <section class="card automations-card">
                <div class="page-head">
                    <h2>"Automations"</h2>
                    <RunAutomation org=org subject=subject.clone() />
                </div>
                {runs.clone().map(|href| view! { <leptos_router::components::A href=href>"Runs for this incident"</leptos_router::components::A> })}
            </section>
        </Show>
    }
}
