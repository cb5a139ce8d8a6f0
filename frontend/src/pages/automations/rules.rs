//! Rules (`/orgs/:org/automations/rules`): which incident changes start which automation. The editor
//! (`…/rules/new`, `…/rules/:rule`) has pickers for transitions, sources, services, teams, urgencies and
//! patterns, priorities, tags and a title regex, the template's parameters, the rule's hourly cap, and "Dry
//! run on the last N incidents" showing, per incident, whether it matched, why, and what would have happened.

use super::{AutomationsHead, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner, SubmitButton, TextField, field_error};
use crate::pages::settings::can;
use crate::session::use_session;
use insights_types::api::{
    AutomationRuleIn, AutomationRuleOut, DryRunIn, DryRunOut, IncidentSource, RuleConditions,
    Transition, Urgency,
};
use insights_types::{
    AutomationId, AutomationRuleId, OrgId, PatternId, Permission, ServiceId, TeamId,
};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

/// A transition in words.
fn transition_label(t: Transition) -> &'static str {
    match t {
        Transition::Triggered => "triggered (new)",
        Transition::Acknowledged => "acknowledged",
        Transition::Resolved => "resolved",
        Transition::Reopened => "reopened",
        Transition::Updated => "updated",
    }
}

/// A rule's conditions in one line.
fn summary(c: &RuleConditions) -> String {
    let mut out = Vec::new();
    let transitions = if c.transitions.is_empty() {
        "triggered".to_owned()
    } else {
        c.transitions
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    out.push(format!("when {transitions}"));
    let count = |n: usize, what: &str| (n > 0).then(|| format!("{n} {what}"));
    out.extend(count(c.sources.len(), "source(s)"));
    out.extend(count(c.service_ids.len(), "service(s)"));
    out.extend(count(c.team_ids.len(), "team(s)"));
    out.extend(count(c.pattern_ids.len(), "pattern(s)"));
    if !c.urgencies.is_empty() {
        out.push(format!(
            "urgency {}",
            c.urgencies
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join("/")
        ));
    }
    if !c.priorities.is_empty() {
        out.push(format!("priority {}", c.priorities.join("/")));
    }
    if !c.tags_any.is_empty() {
        out.push(format!("tagged {}", c.tags_any.join(" or ")));
    }
    if let Some(r) = &c.title_regex {
        out.push(format!("title ~ /{r}/"));
    }
    out.join(", ")
}

/// Comma-separated words, trimmed, blanks dropped.
fn words(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `/orgs/:org/automations/rules`.
#[component]
pub fn AutomationRules() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let may_manage = can(org, Permission::ManageAutomations);
    let list = LocalResource::new(move || async move {
        api::automations::list_rules(session, org)
            .await
            .map(|p| p.items)
    });
    view! {
        <AutomationsHead org=org />
        <div class="page-head">
            <p class="muted">"A rule starts an automation when an incident changes and every condition holds. Each rule has an hourly cap, on top of the automation's own limits."</p>
            <Show when=may_manage>
                <A href=format!("/orgs/{org}/automations/rules/new") attr:class="btn primary" attr:id="new-rule">"New rule"</A>
            </Show>
        </div>
        <section class="card">
            {move || match list.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <EmptyState title="No rules yet" hint="Add one to run an automation when matching incidents arrive." />
                }.into_any(),
                Some(Ok(items)) => view! {
                    <div class="table-scroll">
                        <table class="table rules-table">
                            <thead><tr>
                                <th scope="col">"Rule"</th><th scope="col">"Runs"</th><th scope="col">"Conditions"</th>
                                <th scope="col" class="num">"Last hour"</th><th scope="col">"State"</th>
                            </tr></thead>
                            <tbody>
                                {items.into_iter().map(|r| view! {
                                    <tr data-id=r.id.to_string()>
                                        <th scope="row"><A href=format!("/orgs/{org}/automations/rules/{}", r.id)>{r.name.clone()}</A></th>
                                        <td><A href=format!("/orgs/{org}/automations/{}", r.automation.id)>{r.automation.name.clone()}</A></td>
                                        <td class="muted">{summary(&r.conditions)}</td>
                                        <td class="num">{format!("{} / {}", r.runs_last_hour, r.max_runs_per_hour)}</td>
                                        <td>{if r.enabled { view! { <span class="pill good">"enabled"</span> } } else { view! { <span class="pill">"disabled"</span> } }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// `/orgs/:org/automations/rules/new` and `/orgs/:org/automations/rules/:rule`.
#[component]
pub fn RuleEditor() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    let rule = LocalResource::new(move || {
        let id = params
            .read()
            .get("rule")
            .and_then(|s| s.parse::<AutomationRuleId>().ok());
        async move {
            match id {
                Some(id) => api::automations::get_rule(session, org, id).await.map(Some),
                None => Ok(None),
            }
        }
    });
    view! {
        <p><A href=format!("/orgs/{org}/automations/rules")>"← Rules"</A></p>
        {move || match rule.get() {
            None => view! { <Spinner /> }.into_any(),
            Some(Err(e)) => view! {
                <p class="banner error">{if e.status == 404 { "Rule not found.".to_owned() } else { e.message() }}</p>
            }.into_any(),
            Some(Ok(r)) => view! {
                <h1>{r.as_ref().map_or_else(|| "New rule".to_owned(), |r| r.name.clone())}</h1>
                <RuleForm org=org r=r />
            }.into_any(),
        }}
    }
}

/// A list of choices as checkboxes; `value` holds the chosen ids.
#[component]
fn Choices(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    value: RwSignal<Vec<String>>,
    #[prop(into, optional)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <fieldset class="field choices" id=id.clone()>
            <legend>{label}</legend>
            {hint.map(|h| view! { <p class="hint">{h}</p> })}
            <div class="choice-list">
                {move || options.get().into_iter().map(|(v, text)| {
                    let key = v.clone();
                    let checked = v.clone();
                    view! {
                        <label class="check">
                            <input type="checkbox" value=v prop:checked=move || value.with(|x| x.contains(&checked))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    value.update(|x| {
                                        x.retain(|k| *k != key);
                                        if on { x.push(key.clone()); }
                                    });
                                } />
                            {text}
                        </label>
                    }
                }).collect_view()}
            </div>
        </fieldset>
    }
}

/// The rule's form and its dry run.
#[component]
fn RuleForm(org: OrgId, r: Option<AutomationRuleOut>) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let may_manage = can(org, Permission::ManageAutomations);
    let id = r.as_ref().map(|r| r.id);
    let c = r.as_ref().map(|r| r.conditions.clone()).unwrap_or_default();
    let strings = |v: Vec<String>| RwSignal::new(v);
    let name = RwSignal::new(r.as_ref().map(|r| r.name.clone()).unwrap_or_default());
    let automation = RwSignal::new(
        r.as_ref()
            .map(|r| r.automation.id.to_string())
            .unwrap_or_default(),
    );
    let transitions = strings(
        c.transitions
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
    );
    let sources = strings(c.sources.iter().map(|s| s.as_str().to_owned()).collect());
    let services = strings(c.service_ids.iter().map(ToString::to_string).collect());
    let teams = strings(c.team_ids.iter().map(ToString::to_string).collect());
    let urgencies = strings(c.urgencies.iter().map(|u| u.as_str().to_owned()).collect());
    let patterns = strings(c.pattern_ids.iter().map(ToString::to_string).collect());
    let priorities = RwSignal::new(c.priorities.join(", "));
    let tags = RwSignal::new(c.tags_any.join(", "));
    let regex = RwSignal::new(c.title_regex.clone().unwrap_or_default());
    let params_text = RwSignal::new(
        r.as_ref()
            .map(|r| &r.params)
            .filter(|p| !p.is_null() && **p != serde_json::json!({}))
            .map(|p| serde_json::to_string_pretty(p).unwrap_or_default())
            .unwrap_or_default(),
    );
    let cap = RwSignal::new(r.as_ref().map_or(10, |r| r.max_runs_per_hour).to_string());
    let enabled = RwSignal::new(r.as_ref().is_none_or(|r| r.enabled));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(false);

    let automations = LocalResource::new(move || async move {
        api::automations::list_automations(session, org)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });
    let service_opts = LocalResource::new(move || async move {
        api::services::list_services(session, org)
            .await
            .map(|p| {
                p.items
                    .into_iter()
                    .map(|s| (s.id.to_string(), s.name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let team_opts = LocalResource::new(move || async move {
        api::teams::list_teams(session, org)
            .await
            .map(|p| {
                p.items
                    .into_iter()
                    .map(|s| (s.id.to_string(), s.name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let pattern_opts = LocalResource::new(move || async move {
        api::patterns::list_patterns(
            session,
            org,
            &["muted=all".to_owned(), "period=all".to_owned()],
            100,
            None,
        )
        .await
        .map(|p| {
            p.items
                .into_iter()
                .map(|s| (s.id.to_string(), s.name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    });

    // The body; a parameters text that is not JSON is reported on its field without asking the server.
    let body = move || -> Result<AutomationRuleIn, ApiFailure> {
        let text = params_text.get_untracked();
        let params = if text.trim().is_empty() {
            None
        } else {
            Some(
                serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
                    ApiFailure::invalid(vec![insights_types::FieldError::new(
                        "params",
                        "invalid",
                        format!("not JSON: {e}"),
                    )])
                })?,
            )
        };
        let ids = |v: RwSignal<Vec<String>>| v.get_untracked();
        let automation_id = automation
            .get_untracked()
            .parse::<AutomationId>()
            .map_err(|_| {
                ApiFailure::invalid(vec![insights_types::FieldError::new(
                    "automation_id",
                    "required",
                    "choose the automation this rule runs",
                )])
            })?;
        Ok(AutomationRuleIn {
            name: name.get_untracked().trim().to_owned(),
            automation_id,
            conditions: RuleConditions {
                transitions: ids(transitions)
                    .iter()
                    .filter_map(|t| Transition::parse(t))
                    .collect(),
                sources: ids(sources)
                    .iter()
                    .filter_map(|s| IncidentSource::parse(s))
                    .collect(),
                service_ids: ids(services)
                    .iter()
                    .filter_map(|s| s.parse::<ServiceId>().ok())
                    .collect(),
                team_ids: ids(teams)
                    .iter()
                    .filter_map(|s| s.parse::<TeamId>().ok())
                    .collect(),
                urgencies: ids(urgencies)
                    .iter()
                    .filter_map(|s| Urgency::parse(s))
                    .collect(),
                priorities: words(&priorities.get_untracked()),
                pattern_ids: ids(patterns)
                    .iter()
                    .filter_map(|s| s.parse::<PatternId>().ok())
                    .collect(),
                tags_any: words(&tags.get_untracked()),
                title_regex: Some(regex.get_untracked().trim().to_owned())
                    .filter(|r| !r.is_empty()),
            },
            params,
            max_runs_per_hour: cap.get_untracked().trim().parse().unwrap_or(0),
            enabled: enabled.get_untracked(),
        })
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let b = match body() {
            Ok(b) => b,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        let navigate = navigate.clone();
        busy.set(true);
        saved.set(false);
        leptos::task::spawn_local(async move {
            let res = match id {
                Some(id) => api::automations::save_rule(session, org, id, &b).await,
                None => api::automations::create_rule(session, org, &b).await,
            };
            let _ = busy.try_set(false);
            match res {
                Ok(out) => {
                    let _ = error.try_set(None);
                    if id.is_none() {
                        navigate(
                            &format!("/orgs/{org}/automations/rules/{}", out.id),
                            NavigateOptions::default(),
                        );
                    } else {
                        let _ = saved.try_set(true);
                    }
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };

    let transition_opts = Signal::stored(
        Transition::ALL
            .iter()
            .map(|t| (t.as_str().to_owned(), transition_label(*t).to_owned()))
            .collect::<Vec<_>>(),
    );
    let source_opts = Signal::stored(
        [
            IncidentSource::Pagerduty,
            IncidentSource::Opsgenie,
            IncidentSource::Sample,
        ]
        .iter()
        .map(|s| (s.as_str().to_owned(), s.as_str().to_owned()))
        .collect::<Vec<_>>(),
    );
    let urgency_opts = Signal::stored(
        [Urgency::High, Urgency::Low]
            .iter()
            .map(|u| (u.as_str().to_owned(), u.as_str().to_owned()))
            .collect::<Vec<_>>(),
    );
    let conditions_error =
        Signal::derive(move || error.get().and_then(|e| e.field_under("conditions")));
    view! {
        <form class="rule-form" on:submit=submit>
            <fieldset disabled=move || !may_manage()>
            <section class="card">
                <TextField id="rule-name" label="Name" value=name error=field_error(error, "name") required=true />
                <div class="field">
                    <label for="rule-automation">"Runs the automation"</label>
                    <select id="rule-automation" on:change=move |ev| automation.set(event_target_value(&ev))>
                        <option value="" selected=move || automation.get().is_empty()>"Choose…"</option>
                        {move || automations.get().unwrap_or_default().into_iter().map(|a| {
                            let v = a.id.to_string();
                            let sel = v.clone();
                            view! { <option value=v selected=move || automation.get() == sel>{a.name}</option> }
                        }).collect_view()}
                    </select>
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("automation_id"))}</p>
                </div>
            </section>
            <section class="card">
                <h2>"When"</h2>
                <p class="hint">"Every condition given must hold; within one, any value. Nothing chosen means any."</p>
                <Choices id="rule-transitions" label="Changes" options=transition_opts value=transitions hint="None chosen: new incidents only." />
                <Choices id="rule-sources" label="Sources" options=source_opts value=sources />
                <Choices id="rule-urgencies" label="Urgency" options=urgency_opts value=urgencies />
                <Choices id="rule-services" label="Services" options=Signal::derive(move || service_opts.get().unwrap_or_default()) value=services />
                <Choices id="rule-teams" label="Teams" options=Signal::derive(move || team_opts.get().unwrap_or_default()) value=teams />
                <Choices id="rule-patterns" label="Patterns" options=Signal::derive(move || pattern_opts.get().unwrap_or_default()) value=patterns />
                <TextField id="rule-priorities" label="Priorities" value=priorities error=field_error(error, "conditions.priorities") hint="As the source names them, separated by commas (P1, P2)." />
                <TextField id="rule-tags" label="Tagged with any of" value=tags error=field_error(error, "conditions.tags_any") hint="Separated by commas." />
                <TextField id="rule-title-regex" label="Title matches" value=regex error=field_error(error, "conditions.title_regex")
                    hint="A regular expression, case-insensitive (no look-around or back-references)." placeholder="(?:disk|volume) (?:full|space)" />
                <p class="field-error" role="alert">{move || conditions_error.get()}</p>
            </section>
            <section class="card">
                <h2>"With"</h2>
                <div class="field">
                    <label for="rule-params">"Parameters for the template (JSON object)"</label>
                    <textarea id="rule-params" class="code" rows="4" spellcheck="false" placeholder="{\"dry_run\": false}"
                        prop:value=move || params_text.get() on:input=move |ev| params_text.set(event_target_value(&ev))></textarea>
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("params"))}</p>
                </div>
                <TextField id="rule-cap" label="At most this many runs per hour from this rule" kind="number" value=cap error=field_error(error, "max_runs_per_hour") hint="1–10,000: the rule's blast radius." />
                <label class="check">
                    <input type="checkbox" id="rule-enabled" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev)) />
                    "Enabled"
                </label>
            </section>
            </fieldset>
            <ErrorBanner error=error.into() />
            <Show when=move || saved.get()><p class="banner success" role="status">"Saved. The rule applies to the next changes."</p></Show>
            <Show when=may_manage>
                <div class="actions">
                    {id.map(|id| view! { <DeleteRule org=org id=id /> })}
                    <SubmitButton label=if id.is_some() { "Save" } else { "Create rule" } busy_label="Saving…" busy=busy.into() />
                </div>
            </Show>
        </form>
        <DryRun org=org body=Callback::new(move |()| body()) />
    }
}

/// "Dry run on the last N incidents": nothing runs.
#[component]
fn DryRun(org: OrgId, body: Callback<(), Result<AutomationRuleIn, ApiFailure>>) -> impl IntoView {
    let session = use_session();
    let last = RwSignal::new("100".to_owned());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let result = RwSignal::new(None::<DryRunOut>);
    let only_matched = RwSignal::new(true);
    let run = move |_| {
        let rule = match body.run(()) {
            Ok(b) => b,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        let req = DryRunIn {
            rule,
            last: last.get_untracked().trim().parse().unwrap_or(0),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::automations::dry_run(session, org, &req).await;
            let _ = busy.try_set(false);
            match r {
                Ok(out) => {
                    let _ = error.try_set(None);
                    let _ = result.try_set(Some(out));
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card dry-run">
            <h2>"Dry run"</h2>
            <div class="inline-form">
                <TextField id="dry-run-last" label="On the last N incidents" kind="number" value=last error=field_error(error, "last") />
                <button type="button" class="btn primary" id="dry-run" disabled=move || busy.get() on:click=run>
                    {move || if busy.get() { "Running…" } else { "Dry run" }}
                </button>
            </div>
            <p class="hint">"Each incident is taken as just triggered. Nothing is invoked or recorded."</p>
            <ErrorBanner error=error.into() />
            // A rule the API refused: its fields are in the form above, so say which here.
            {move || error.get().filter(|e| e.has_field_errors() && e.field("last").is_none()).map(|e| {
                let fields = e.body.field_errors().into_iter()
                    .map(|f| format!("{}: {}", f.field.trim_start_matches("rule."), f.message))
                    .collect::<Vec<_>>().join("; ");
                view! { <p class="banner error dry-run-error" role="alert">{format!("Check the rule above — {fields}.")}</p> }
            })}
            {move || result.get().map(|r| view! {
                <p class="dry-run-summary" role="status">
                    {format!("{} examined, {} matched, {} would have run (the rule's cap and the automation's limits applied).", r.examined, r.matched, r.would_run)}
                </p>
                <label class="check">
                    <input type="checkbox" id="dry-run-matched" prop:checked=move || only_matched.get() on:change=move |ev| only_matched.set(event_target_checked(&ev)) />
                    "Matched only"
                </label>
                <div class="table-scroll">
                    <table class="table dry-run-table">
                        <thead><tr><th scope="col">"Incident"</th><th scope="col">"Matched"</th><th scope="col">"Why"</th><th scope="col">"Outcome"</th></tr></thead>
                        <tbody>
                            {move || r.incidents.clone().into_iter().filter(|m| m.matched || !only_matched.get()).map(|m| view! {
                                <tr class:matched=m.matched>
                                    <td><A href=format!("/orgs/{org}/incidents/{}", m.incident.id)>{m.incident.name.clone()}</A></td>
                                    <td>{if m.matched { view! { <span class="pill good">"yes"</span> } } else { view! { <span class="pill">"no"</span> } }}</td>
                                    <td><ul class="why">{m.why.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}</ul></td>
                                    <td>
                                        {m.outcome.clone()}
                                        {m.error.clone().map(|e| view! { <p class="field-error">{e}</p> })}
                                        {m.rendered.clone().map(|p| view! { <details><summary>"Payload"</summary><pre tabindex="0">{p}</pre></details> })}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
        </section>
    }
}

/// "Delete" for a rule.
#[component]
fn DeleteRule(org: OrgId, id: AutomationRuleId) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let error = RwSignal::new(None::<ApiFailure>);
    let delete = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::automations::delete_rule(session, org, id).await {
                Ok(_) => navigate(
                    &format!("/orgs/{org}/automations/rules"),
                    NavigateOptions::default(),
                ),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <button type="button" class="btn danger" id="delete-rule" on:click=delete>"Delete rule"</button>
        {move || error.get().map(|e| view! { <span class="field-error" role="alert">{e.message()}</span> })}
    }
}
