//! The automation editor (`/orgs/:org/automations/new` and `/orgs/:org/automations/:automation`): the
//! action and its own settings (function of a connected account, recipients, Slack or webhook URL — secrets
//! are write-only), the template with a live preview of the exact payload against a chosen incident
//! (debounced), "Test invoke" with the run's result, retries and limits, approval, posting back; and for a
//! saved automation, its recent runs and "Delete".

use super::runs::{RunList, RunResult, watch_run};
use super::{ACTING_ROLES, action_label, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner, SubmitButton, TextField, field_error};
use crate::pages::settings::can;
use crate::session::use_session;
use insights_types::api::{
    ActionSettingsIn, AutomationAction, AutomationIn, AutomationLimits, AutomationOut,
    BreakerState, IncidentOut, Invocation, PreviewIn, PreviewOut, RunIn, RunOut, RunSubjectIn,
};
use insights_types::{AutomationId, AwsConnectionId, IncidentId, OrgId, Permission, Role};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use std::time::Duration;

/// Every action, in the picker's order, with its value.
const ACTIONS: [(AutomationAction, &str); 5] = [
    (AutomationAction::Lambda, "lambda"),
    (AutomationAction::Note, "note"),
    (AutomationAction::Email, "email"),
    (AutomationAction::Slack, "slack"),
    (AutomationAction::Webhook, "webhook"),
];

/// A starting template per action: what most automations send.
fn starter(action: AutomationAction) -> &'static str {
    match action {
        AutomationAction::Lambda | AutomationAction::Webhook => {
            "{\n  \"incident\": {{ incident.id }},\n  \"title\": {{ incident.title }},\n  \"service\": {{ incident.service }},\n  \"params\": {{ params }}\n}"
        }
        _ => "{{ incident.title }} ({{ incident.status }})",
    }
}

/// An optional number field's text as the API's value (blank: none).
fn opt_num(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.is_empty() { None } else { s.parse().ok() }
}

/// The editor's fields, one signal each.
#[derive(Clone, Copy)]
struct Form {
    name: RwSignal<String>,
    description: RwSignal<String>,
    action: RwSignal<AutomationAction>,
    connection: RwSignal<String>,
    function: RwSignal<String>,
    invocation: RwSignal<Invocation>,
    recipients: RwSignal<String>,
    subject: RwSignal<String>,
    slack_url: RwSignal<String>,
    webhook_url: RwSignal<String>,
    signing_secret: RwSignal<String>,
    template: RwSignal<String>,
    remote_command: RwSignal<bool>,
    timeout: RwSignal<String>,
    attempts: RwSignal<String>,
    backoff: RwSignal<String>,
    idempotent: RwSignal<bool>,
    needs_approval: RwSignal<bool>,
    run_role: RwSignal<Role>,
    approve_role: RwSignal<Role>,
    per_hour: RwSignal<String>,
    cooldown: RwSignal<String>,
    concurrent: RwSignal<String>,
    breaker_threshold: RwSignal<String>,
    breaker_cooldown: RwSignal<String>,
    post_result: RwSignal<bool>,
    enabled: RwSignal<bool>,
    version: Option<i32>,
}

impl Form {
    fn new(a: Option<&AutomationOut>) -> Self {
        let s = |v: String| RwSignal::new(v);
        let n = |v: Option<i32>| RwSignal::new(v.map(|x| x.to_string()).unwrap_or_default());
        let limits = a.map(|a| a.limits.clone()).unwrap_or_default();
        Self {
            name: s(a.map(|a| a.name.clone()).unwrap_or_default()),
            description: s(a.map(|a| a.description.clone()).unwrap_or_default()),
            action: RwSignal::new(a.map_or(AutomationAction::Lambda, |a| a.action)),
            connection: s(a
                .and_then(|a| a.connection.as_ref())
                .map(|c| c.id.to_string())
                .unwrap_or_default()),
            function: s(a.and_then(|a| a.function_name.clone()).unwrap_or_default()),
            invocation: RwSignal::new(a.map(|a| a.invocation).unwrap_or_default()),
            recipients: s(a.map(|a| a.recipients.join(", ")).unwrap_or_default()),
            subject: s(a.and_then(|a| a.subject.clone()).unwrap_or_default()),
            slack_url: s(String::new()),
            webhook_url: s(String::new()),
            signing_secret: s(String::new()),
            template: s(a.map_or_else(
                || starter(AutomationAction::Lambda).to_owned(),
                |a| a.template.clone(),
            )),
            remote_command: RwSignal::new(a.is_some_and(|a| a.remote_command)),
            timeout: s(a.map_or(30, |a| a.timeout_secs).to_string()),
            attempts: s(a.map_or(3, |a| a.max_attempts).to_string()),
            backoff: s(a.map_or(1000, |a| a.backoff_ms).to_string()),
            idempotent: RwSignal::new(a.is_some_and(|a| a.idempotent)),
            needs_approval: RwSignal::new(a.is_some_and(|a| a.needs_approval)),
            run_role: RwSignal::new(a.map_or(Role::Member, |a| a.run_role)),
            approve_role: RwSignal::new(a.map_or(Role::Admin, |a| a.approve_role)),
            per_hour: n(limits.max_runs_per_hour),
            cooldown: n(limits.cooldown_secs),
            concurrent: n(limits.max_concurrent),
            breaker_threshold: s(limits.breaker_threshold.to_string()),
            breaker_cooldown: s(limits.breaker_cooldown_secs.to_string()),
            post_result: RwSignal::new(a.is_some_and(|a| a.post_result)),
            enabled: RwSignal::new(a.is_none_or(|a| a.enabled)),
            version: a.map(|a| a.version),
        }
    }

    /// The request body. Numbers that do not parse are sent as 0 so the API names the field.
    fn body(&self) -> AutomationIn {
        let g = |s: RwSignal<String>| s.get_untracked().trim().to_owned();
        let num = |s: RwSignal<String>| g(s).parse::<i32>().unwrap_or(0);
        let secret = |s: RwSignal<String>| Some(g(s)).filter(|v| !v.is_empty());
        let action = self.action.get_untracked();
        let mut settings = ActionSettingsIn::default();
        match action {
            AutomationAction::Lambda => {
                settings.connection_id = g(self.connection).parse::<AwsConnectionId>().ok();
                settings.function_name = Some(g(self.function)).filter(|f| !f.is_empty());
                settings.invocation = Some(self.invocation.get_untracked());
            }
            AutomationAction::Email => {
                settings.recipients = g(self.recipients)
                    .split([',', ';', '\n'])
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect();
                settings.subject = Some(g(self.subject)).filter(|s| !s.is_empty());
            }
            AutomationAction::Slack => settings.slack_url = secret(self.slack_url),
            AutomationAction::Webhook => {
                settings.webhook_url = secret(self.webhook_url);
                settings.signing_secret = secret(self.signing_secret);
            }
            AutomationAction::Note => {}
        }
        AutomationIn {
            name: g(self.name),
            description: self.description.get_untracked().trim().to_owned(),
            action,
            settings,
            template: self.template.get_untracked(),
            remote_command: action == AutomationAction::Lambda
                && self.remote_command.get_untracked(),
            timeout_secs: num(self.timeout),
            max_attempts: num(self.attempts),
            backoff_ms: num(self.backoff),
            idempotent: self.idempotent.get_untracked(),
            needs_approval: self.needs_approval.get_untracked(),
            run_role: self.run_role.get_untracked(),
            approve_role: self.approve_role.get_untracked(),
            limits: AutomationLimits {
                max_runs_per_hour: opt_num(&g(self.per_hour)),
                cooldown_secs: opt_num(&g(self.cooldown)),
                max_concurrent: opt_num(&g(self.concurrent)),
                breaker_threshold: num(self.breaker_threshold),
                breaker_cooldown_secs: num(self.breaker_cooldown),
            },
            post_result: self.post_result.get_untracked(),
            enabled: self.enabled.get_untracked(),
            base_version: self.version,
        }
    }
}

/// `/orgs/:org/automations/new`.
#[component]
pub fn NewAutomation() -> impl IntoView {
    let org = org_id();
    view! {
        <p><A href=format!("/orgs/{org}/automations")>"← Automations"</A></p>
        <h1>"New automation"</h1>
        <Editor org=org a=None />
    }
}

/// `/orgs/:org/automations/:automation`: the editor of a saved automation (read-only for those who may not
/// manage automations), its preview and test invoke, and its recent runs.
#[component]
pub fn AutomationPage() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    let automation = LocalResource::new(move || {
        let id = params
            .read()
            .get("automation")
            .and_then(|s| s.parse::<AutomationId>().ok());
        async move {
            match id {
                Some(id) => api::automations::get_automation(session, org, id)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        }
    });
    view! {
        <p><A href=format!("/orgs/{org}/automations")>"← Automations"</A></p>
        {move || match automation.get() {
            None => view! { <Spinner /> }.into_any(),
            Some(Ok(None)) => view! { <p class="banner error">"Not a valid automation link."</p> }.into_any(),
            Some(Err(e)) => view! {
                <p class="banner error">{if e.status == 404 { "Automation not found.".to_owned() } else { e.message() }}</p>
            }.into_any(),
            Some(Ok(Some(a))) => {
                let id = a.id;
                let filter = vec![crate::api::runbooks::pair("automation", &id.to_string())];
                view! {
                    <div class="page-head">
                        <h1>{a.name.clone()}</h1>
                        {(a.breaker != BreakerState::Closed).then(|| view! {
                            <span class="pill bad breaker-state">{format!(
                                "Circuit breaker {}{}",
                                if a.breaker == BreakerState::Open { "open" } else { "half-open" },
                                a.breaker_retry_at.map(|t| format!(" until {}", crate::time::when(t))).unwrap_or_default()
                            )}</span>
                        })}
                    </div>
                    <Editor org=org a=Some(a) />
                    <section class="card">
                        <h2>"Recent runs"</h2>
                        <RunList org=org params=filter limit=10 />
                    </section>
                }.into_any()
            }
        }}
    }
}

/// The form, the preview and the test invoke.
#[component]
fn Editor(org: OrgId, a: Option<AutomationOut>) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let may_manage = can(org, Permission::ManageAutomations);
    let form = Form::new(a.as_ref());
    let id = a.as_ref().map(|a| a.id);
    let stored = a.clone();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<AutomationOut>);
    let connections = LocalResource::new(move || async move {
        api::automations::list_connections(session, org)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });
    let submit = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let body = form.body();
            let navigate = navigate.clone();
            busy.set(true);
            leptos::task::spawn_local(async move {
                let r = match id {
                    Some(id) => api::automations::save_automation(session, org, id, &body).await,
                    None => api::automations::create_automation(session, org, &body).await,
                };
                let _ = busy.try_set(false);
                match r {
                    Ok(out) => {
                        let _ = error.try_set(None);
                        // A generated signing secret is shown once: stay on the page to show it.
                        if id.is_none() && out.new_signing_secret.is_none() {
                            navigate(
                                &format!("/orgs/{org}/automations/{}", out.id),
                                NavigateOptions::default(),
                            );
                        } else {
                            let _ = saved.try_set(Some(out));
                        }
                    }
                    Err(e) => {
                        let _ = error.try_set(Some(e));
                    }
                }
            });
        }
    };
    let conflict = move || error.get().is_some_and(|e| e.status == 409);
    let change_action = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        if let Some((next, _)) = ACTIONS.iter().find(|(_, s)| *s == v) {
            let before = form.action.get_untracked();
            // The starter template follows the action until someone writes their own.
            if form.template.get_untracked() == starter(before) {
                form.template.set(starter(*next).to_owned());
            }
            form.action.set(*next);
        }
    };
    let action_is = move |a: AutomationAction| form.action.get() == a;
    let functions = move || {
        let chosen = form.connection.get();
        connections
            .get()
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.id.to_string() == chosen)
            .map(|c| c.functions)
            .unwrap_or_default()
    };
    view! {
        <form class="automation-form" on:submit=submit>
            <fieldset disabled=move || !may_manage()>
            <section class="card">
                <h2>"What it does"</h2>
                <TextField id="automation-name" label="Name" value=form.name error=field_error(error, "name") required=true />
                <div class="field">
                    <label for="automation-description">"Description"</label>
                    <textarea id="automation-description" rows="2" prop:value=move || form.description.get()
                        on:input=move |ev| form.description.set(event_target_value(&ev))></textarea>
                </div>
                <div class="field">
                    <label for="automation-action">"Action"</label>
                    <select id="automation-action" on:change=change_action>
                        {ACTIONS.iter().map(|(a, v)| view! {
                            <option value=*v selected=move || form.action.get() == *a>{action_label(*a)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <Show when=move || action_is(AutomationAction::Lambda)>
                    <div class="field">
                        <label for="automation-connection">"AWS account"</label>
                        <select id="automation-connection" on:change=move |ev| form.connection.set(event_target_value(&ev))>
                            <option value="" selected=move || form.connection.get().is_empty()>"Choose an account…"</option>
                            {move || connections.get().unwrap_or_default().into_iter().map(|c| {
                                let v = c.id.to_string();
                                let sel = v.clone();
                                view! { <option value=v selected=move || form.connection.get() == sel>{format!("{} ({})", c.name, c.region)}</option> }
                            }).collect_view()}
                        </select>
                        <p class="hint"><A href=format!("/orgs/{org}/automations/connections")>"Connect an AWS account"</A></p>
                        <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("settings.connection_id"))}</p>
                    </div>
                    <div class="field">
                        <label for="automation-function">"Function"</label>
                        <select id="automation-function" on:change=move |ev| form.function.set(event_target_value(&ev))>
                            <option value="" selected=move || form.function.get().is_empty()>"Choose a function…"</option>
                            {move || functions().into_iter().map(|f| {
                                let sel = f.clone();
                                view! { <option value=f.clone() selected=move || form.function.get() == sel>{f.clone()}</option> }
                            }).collect_view()}
                        </select>
                        <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("settings.function_name"))}</p>
                    </div>
                    <div class="field">
                        <label for="automation-invocation">"Invocation"</label>
                        <select id="automation-invocation" on:change=move |ev| form.invocation.set(if event_target_value(&ev) == "async" { Invocation::Async } else { Invocation::Sync })>
                            <option value="sync" selected=move || form.invocation.get() == Invocation::Sync>"Wait for the result (RequestResponse)"</option>
                            <option value="async" selected=move || form.invocation.get() == Invocation::Async>"Queue it (Event): done once Lambda accepts it"</option>
                        </select>
                    </div>
                    <Check id="automation-remote" label="Runs a runbook step's command on your machines (the payload carries the command and targets)" value=form.remote_command />
                </Show>
                <Show when=move || action_is(AutomationAction::Email)>
                    <TextField id="automation-recipients" label="Recipients" value=form.recipients
                        error=Signal::derive(move || error.get().and_then(|e| e.field_under("settings.recipients"))) hint="1–20 addresses, separated by commas." />
                    <TextField id="automation-subject" label="Subject" value=form.subject error=field_error(error, "settings.subject") hint="A template, like the message." />
                </Show>
                <Show when=move || action_is(AutomationAction::Slack)>
                    <TextField id="automation-slack-url" label="Slack incoming webhook URL" kind="password" value=form.slack_url autocomplete="off"
                        error=field_error(error, "settings.slack_url")
                        hint=if stored.as_ref().is_some_and(|a| a.has_slack_url) { "Stored (never shown). Leave empty to keep it." } else { "https://hooks.slack.com/services/…" } />
                </Show>
                <Show when=move || action_is(AutomationAction::Webhook)>
                    <TextField id="automation-webhook-url" label="Webhook URL" kind="password" value=form.webhook_url autocomplete="off"
                        error=field_error(error, "settings.webhook_url")
                        hint=match a.as_ref().and_then(|a| a.webhook_host.clone()) { Some(h) => format!("Stored, to {h} (never shown). Leave empty to keep it."), None => "Where the signed POST goes.".to_owned() } />
                    <TextField id="automation-signing-secret" label="Signing secret" kind="password" value=form.signing_secret autocomplete="off"
                        error=field_error(error, "settings.signing_secret")
                        hint="whsec_… (Standard Webhooks). Leave empty to keep the stored one or, for a new automation, to have one generated." />
                </Show>
            </section>
            <section class="card">
                <h2>{move || if matches!(form.action.get(), AutomationAction::Lambda | AutomationAction::Webhook) { "Payload template" } else { "Message template" }}</h2>
                <p class="hint">"It sees " <code>"incident"</code> ", " <code>"pattern"</code> ", " <code>"step"</code> ", " <code>"params"</code> ", " <code>"run"</code> " and " <code>"targets"</code> ". Payloads must render to JSON: every value is JSON-escaped."</p>
                <div class="field">
                    <label for="automation-template">"Template"</label>
                    <textarea id="automation-template" class="code" rows="10" spellcheck="false"
                        prop:value=move || form.template.get() on:input=move |ev| form.template.set(event_target_value(&ev))></textarea>
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("template"))}</p>
                </div>
                {match id {
                    Some(id) => view! { <Preview org=org id=id template=form.template /> }.into_any(),
                    None => view! { <p class="muted">"Save it to preview the payload against an incident and test it."</p> }.into_any(),
                }}
            </section>
            <section class="card">
                <h2>"Retries and limits"</h2>
                <div class="form-grid">
                    <TextField id="automation-timeout" label="Time limit (s)" kind="number" value=form.timeout error=field_error(error, "timeout_secs") hint="1–900" />
                    <TextField id="automation-attempts" label="Attempts in all" kind="number" value=form.attempts error=field_error(error, "max_attempts") hint="1–10" />
                    <TextField id="automation-backoff" label="First retry after (ms)" kind="number" value=form.backoff error=field_error(error, "backoff_ms") hint="Doubles each time, with jitter" />
                    <TextField id="automation-per-hour" label="Runs per hour at most" kind="number" value=form.per_hour error=field_error(error, "limits.max_runs_per_hour") hint="Blank: no limit" />
                    <TextField id="automation-cooldown" label="Cool-down per incident (s)" kind="number" value=form.cooldown error=field_error(error, "limits.cooldown_secs") hint="Blank: none" />
                    <TextField id="automation-concurrent" label="At once on one target" kind="number" value=form.concurrent error=field_error(error, "limits.max_concurrent") hint="Blank: no limit" />
                    <TextField id="automation-breaker" label="Breaker opens after failures" kind="number" value=form.breaker_threshold error=field_error(error, "limits.breaker_threshold") />
                    <TextField id="automation-breaker-cooldown" label="Breaker trial after (s)" kind="number" value=form.breaker_cooldown error=field_error(error, "limits.breaker_cooldown_secs") />
                </div>
                <Check id="automation-idempotent" label="Idempotent: invoking again after an attempt of unknown outcome is safe" value=form.idempotent />
            </section>
            <section class="card">
                <h2>"Who, and what happens after"</h2>
                <RoleSelect id="automation-run-role" label="Least role that may run it" value=form.run_role />
                <Check id="automation-needs-approval" label="Runs wait for an approval" value=form.needs_approval />
                <RoleSelect id="automation-approve-role" label="Least role that may approve its runs" value=form.approve_role />
                <Check id="automation-post-result" label="Post the result as a note on the incident" value=form.post_result />
                <Check id="automation-enabled" label="Enabled" value=form.enabled />
            </section>
            </fieldset>
            {move || saved.get().and_then(|s| s.new_signing_secret.map(|secret| view! {
                <div class="banner success" role="status">
                    <p>"Saved. This signing secret is shown once — verify the webhooks you receive with it:"</p>
                    <code class="new-secret">{secret}</code>
                    <p><A href=format!("/orgs/{org}/automations/{}", s.id)>"Open the automation"</A></p>
                </div>
            }))}
            {move || saved.get().filter(|s| s.new_signing_secret.is_none()).map(|_| view! {
                <p class="banner success" role="status">"Saved."</p>
            })}
            <Show when=conflict>
                <p class="banner error" role="alert">"Someone else saved this automation meanwhile. Reload the page to see their version; your changes are still in the form."</p>
            </Show>
            <Show when=move || !conflict()>
                <ErrorBanner error=error.into() />
            </Show>
            <Show when=may_manage>
                <div class="actions">
                    {id.map(|id| view! { <DeleteAutomation org=org id=id /> })}
                    <SubmitButton label=if id.is_some() { "Save" } else { "Create automation" } busy_label="Saving…" busy=busy.into() />
                </div>
            </Show>
        </form>
    }
}

/// A labelled checkbox.
#[component]
fn Check(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" id=id prop:checked=move || value.get() on:change=move |ev| value.set(event_target_checked(&ev)) />
            {label}
        </label>
    }
}

/// A role picker (owner, admin, member).
#[component]
fn RoleSelect(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: RwSignal<Role>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id on:change=move |ev| { if let Ok(r) = Role::parse(&event_target_value(&ev)) { value.set(r) } }>
                {ACTING_ROLES.iter().map(|r| view! {
                    <option value=r.as_str() selected=move || value.get() == *r>{r.as_str()}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// The live preview (against a chosen incident, read again a moment after the template changes) and
/// "Test invoke".
#[component]
fn Preview(org: OrgId, id: AutomationId, template: RwSignal<String>) -> impl IntoView {
    let session = use_session();
    let incidents = LocalResource::new(move || async move {
        api::incidents::list_incidents(session, org, &[], 20, None)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });
    let incident = RwSignal::new(String::new());
    // The first incident is the default subject once the list arrives.
    Effect::new(move |_| {
        if let Some(first) = incidents
            .get()
            .and_then(|l: Vec<IncidentOut>| l.first().map(|i| i.id))
            && incident.get_untracked().is_empty()
        {
            incident.set(first.to_string());
        }
    });
    let preview = RwSignal::new(None::<Result<PreviewOut, ApiFailure>>);
    let generation = StoredValue::new(0u32);
    let subject = move || RunSubjectIn {
        incident_id: incident.get_untracked().parse::<IncidentId>().ok(),
        ..Default::default()
    };
    Effect::new(move |_| {
        let t = template.get();
        incident.track();
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        leptos::task::spawn_local(async move {
            time_sleep(400).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            let body = PreviewIn {
                template: Some(t),
                subject: subject(),
            };
            let r = api::automations::preview(session, org, id, &body).await;
            if generation.try_get_value() == Some(mine) {
                let _ = preview.try_set(Some(r));
            }
        });
    });
    let run = RwSignal::new(None::<RunOut>);
    let run_error = RwSignal::new(None::<ApiFailure>);
    let testing = RwSignal::new(false);
    let test = move |_| {
        let body = RunIn {
            subject: subject(),
            test: true,
        };
        testing.set(true);
        run.set(None);
        leptos::task::spawn_local(async move {
            let r = api::automations::run_automation(session, org, id, &body).await;
            let _ = testing.try_set(false);
            match r {
                Ok(out) => {
                    let _ = run_error.try_set(None);
                    watch_run(session, org, out, run);
                }
                Err(e) => {
                    let _ = run_error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <div class="preview">
            <div class="inline-form">
                <div class="field grow">
                    <label for="preview-incident">"Preview with the incident"</label>
                    <select id="preview-incident" on:change=move |ev| incident.set(event_target_value(&ev))>
                        <option value="" selected=move || incident.get().is_empty()>"No incident"</option>
                        {move || incidents.get().unwrap_or_default().into_iter().map(|i| {
                            let v = i.id.to_string();
                            let sel = v.clone();
                            view! { <option value=v selected=move || incident.get() == sel>{i.title.clone()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <button type="button" class="btn" id="test-invoke" disabled=move || testing.get() on:click=test
                    title="Runs it now with this incident, recorded as a test and never posted back">
                    {move || if testing.get() { "Starting…" } else { "Test invoke" }}
                </button>
            </div>
            {move || match preview.get() {
                None => view! { <Spinner label="Rendering…" /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(p)) => view! { <PreviewView p=p /> }.into_any(),
            }}
            <ErrorBanner error=run_error.into() />
            {move || run.get().map(|r| view! { <RunResult org=org run=r /> })}
        </div>
    }
}

/// A non-blocking pause of `ms` milliseconds.
async fn time_sleep(ms: u64) {
    crate::time::sleep(Duration::from_millis(ms)).await;
}

/// A rendered payload, or the template's error with its line; and what the template could use.
#[component]
fn PreviewView(p: PreviewOut) -> impl IntoView {
    let context = serde_json::to_string_pretty(&p.context).unwrap_or_default();
    view! {
        {p.error.map(|e| view! {
            <p class="banner error template-error" role="alert">
                {e.line.map(|l| format!("Line {l}: ")).unwrap_or_default()}{e.message}
            </p>
        })}
        {p.rendered.map(|r| view! {
            <div class="field">
                <span class="label">"Exactly what would be sent"</span>
                <pre class="payload-preview" tabindex="0">{r}</pre>
                {p.payload_hash.map(|h| view! { <p class="muted hash">"SHA-256 " <code>{h}</code></p> })}
            </div>
        })}
        <details class="template-context">
            <summary>"What the template sees"</summary>
            <pre tabindex="0">{context}</pre>
        </details>
    }
}

/// "Delete" with a confirmation.
#[component]
fn DeleteAutomation(org: OrgId, id: AutomationId) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let confirm = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let delete = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::automations::delete_automation(session, org, id).await {
                Ok(_) => navigate(
                    &format!("/orgs/{org}/automations"),
                    NavigateOptions::default(),
                ),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                    let _ = confirm.try_set(false);
                }
            }
        });
    };
    view! {
        <Show when=move || confirm.get() fallback=move || view! {
            <button type="button" class="btn danger" id="delete-automation" on:click=move |_| confirm.set(true)>"Delete"</button>
        }>
            <span>"Delete it, with its rules and schedules? Its runs stay in the log."</span>
            <button type="button" class="btn" on:click=move |_| confirm.set(false)>"Keep it"</button>
            <button type="button" class="btn danger" id="confirm-delete-automation" on:click=delete.clone()>"Delete"</button>
        </Show>
        {move || error.get().map(|e| view! { <span class="field-error" role="alert">{e.message()}</span> })}
    }
}
