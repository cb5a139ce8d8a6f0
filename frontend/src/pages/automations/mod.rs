//! Automations (`/orgs/:org/automations`): the list of automations with the kill switch, the editor with a
//! live payload preview and "Test invoke" (`editor`), the AWS connect wizard (`connections`), rules with a
//! dry run (`rules`), schedules (`schedules`), the run log, one run and the approvals inbox (`runs`), the
//! effectiveness report (`effectiveness`), and "Run automation…" on incident, pattern and runbook pages
//! (`run`). The kill switch's banner and the approvals badge in the navigation come from
//! [`AutomationStatus`], which the frame provides and reads again on every navigation.

mod connections;
mod editor;
mod effectiveness;
mod rules;
mod run;
mod runs;
mod schedules;

use crate::api::{self, ApiFailure};
use crate::components::{EmptyState, ErrorBanner, Spinner, SubmitButton};
use crate::layout::use_org;
use crate::pages::settings::can;
use crate::session::use_session;
use crate::time;
pub use connections::{AwsConnectionPage, AwsConnections};
pub use editor::{AutomationPage, NewAutomation};
pub use effectiveness::Effectiveness;
use insights_types::api::{
    AutomationAction, AutomationOut, AutomationSettingsIn, AutomationSettingsOut, BreakerState,
    RunStatus, RunTrigger,
};
use insights_types::{OrgId, Permission, Role};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;
pub use rules::{AutomationRules, RuleEditor};
pub use run::{AutomationsCard, RunAutomation, may_run_any};
pub use runs::{Approvals, AutomationRunPage, AutomationRuns};
pub use schedules::AutomationSchedules;

/// The organization of the route.
fn org_id() -> OrgId {
    use_org()
        .get_untracked()
        .expect("automation pages render under /orgs/:org")
}

/// The organization's automation settings as the frame last read them: the kill switch and the number of
/// runs waiting for the caller's approval. Read again on every navigation and after a change
/// ([`AutomationStatus::refresh`]).
#[derive(Clone, Copy)]
pub struct AutomationStatus {
    pub settings: RwSignal<Option<AutomationSettingsOut>>,
    reload: RwSignal<u32>,
}

impl AutomationStatus {
    /// Creates the status for the frame's organization and provides it to the pages below.
    pub fn provide(org: Signal<Option<OrgId>>) -> Self {
        let session = use_session();
        let location = use_location();
        let settings = RwSignal::new(None::<AutomationSettingsOut>);
        let reload = RwSignal::new(0u32);
        Effect::new(move |_| {
            let o = org.get();
            location.pathname.track();
            reload.track();
            leptos::task::spawn_local(async move {
                let read = match o {
                    Some(o) => api::automations::get_settings(session, o).await.ok(),
                    None => None,
                };
                // A late answer for another organization is dropped.
                if org.try_get_untracked().flatten() == o {
                    let _ = settings.try_set(read);
                }
            });
        });
        let status = Self { settings, reload };
        provide_context(status);
        status
    }

    /// Reads the settings again (after a decision or a change of the kill switch).
    pub fn refresh(&self) {
        self.reload.update(|v| *v += 1);
    }
}

/// The status the frame provides, if any.
pub fn use_automation_status() -> Option<AutomationStatus> {
    use_context::<AutomationStatus>()
}

/// The banner on every page while the kill switch is on.
#[component]
pub fn KillSwitchBanner(org: Signal<Option<OrgId>>) -> impl IntoView {
    let status = use_automation_status();
    move || {
        let s = status.and_then(|s| s.settings.get()).filter(|s| s.killed)?;
        let org = org.get()?;
        Some(view! {
            <div class="banner error kill-banner" role="status">
                <strong>"Automations are stopped."</strong>
                " No new run starts and queued runs are not invoked"
                {match (s.killed_by.map(|u| u.name), s.killed_at.map(time::when)) {
                    (Some(by), Some(at)) => format!(" (turned on by {by}, {at})"),
                    (Some(by), None) => format!(" (turned on by {by})"),
                    (None, Some(at)) => format!(" (since {at})"),
                    (None, None) => String::new(),
                }}
                {(!s.reason.is_empty()).then(|| format!(": {}", s.reason))}
                ". "
                <A href=format!("/orgs/{org}/automations#kill-switch")>"Kill switch"</A>
            </div>
        })
    }
}

/// The count of runs waiting for the caller's approval, beside "Automations" in the navigation.
#[component]
pub fn ApprovalsBadge() -> impl IntoView {
    let status = use_automation_status();
    move || {
        let n = status
            .and_then(|s| s.settings.get())
            .map_or(0, |s| s.pending_approvals);
        (n > 0).then(|| {
            view! {
                <span class="nav-badge" title="Runs waiting for your approval">
                    {n.to_string()}
                    <span class="sr-only">{if n == 1 { " run waits for your approval" } else { " runs wait for your approval" }}</span>
                </span>
            }
        })
    }
}

/// The title and tabs of the automations area.
#[component]
fn AutomationsHead(org: OrgId) -> impl IntoView {
    let status = use_automation_status();
    let pending = move || {
        status
            .and_then(|s| s.settings.get())
            .map_or(0, |s| s.pending_approvals)
    };
    view! {
        <h1>"Automations"</h1>
        <nav class="tabs" aria-label="Automations">
            <A href=format!("/orgs/{org}/automations") exact=true>"Automations"</A>
            <A href=format!("/orgs/{org}/automations/runs")>"Run log"</A>
            <A href=format!("/orgs/{org}/automations/approvals")>
                "Approvals"
                {move || (pending() > 0).then(|| view! { " " <span class="nav-badge">{pending().to_string()}</span> })}
            </A>
            <A href=format!("/orgs/{org}/automations/rules")>"Rules"</A>
            <A href=format!("/orgs/{org}/automations/schedules")>"Schedules"</A>
            <A href=format!("/orgs/{org}/automations/connections")>"AWS accounts"</A>
            <A href=format!("/orgs/{org}/automations/effectiveness")>"Effectiveness"</A>
        </nav>
    }
}

/// An action's name for people.
#[must_use]
pub fn action_label(a: AutomationAction) -> &'static str {
    match a {
        AutomationAction::Lambda => "Lambda function",
        AutomationAction::Note => "Note on the incident",
        AutomationAction::Email => "Email",
        AutomationAction::Slack => "Slack message",
        AutomationAction::Webhook => "Signed webhook",
    }
}

/// A run status: its words and the pill's class.
#[must_use]
pub fn run_status(s: RunStatus) -> (&'static str, &'static str) {
    match s {
        RunStatus::PendingApproval => ("waiting for approval", "pill warn"),
        RunStatus::Queued => ("queued", "pill info"),
        RunStatus::Running => ("running", "pill info"),
        RunStatus::Succeeded => ("succeeded", "pill good"),
        RunStatus::Failed => ("failed", "pill bad"),
        RunStatus::Refused => ("refused", "pill bad"),
        RunStatus::Rejected => ("rejected", "pill bad"),
        RunStatus::Cancelled => ("cancelled", "pill"),
        RunStatus::Unknown => ("outcome unknown", "pill warn"),
    }
}

/// A status's value in the API's filter (`pending_approval`…).
#[must_use]
pub fn run_status_value(s: RunStatus) -> &'static str {
    match s {
        RunStatus::PendingApproval => "pending_approval",
        RunStatus::Queued => "queued",
        RunStatus::Running => "running",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::Refused => "refused",
        RunStatus::Rejected => "rejected",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Unknown => "unknown",
    }
}

/// Every run status, in the filter's order.
pub const RUN_STATUSES: [RunStatus; 9] = [
    RunStatus::PendingApproval,
    RunStatus::Queued,
    RunStatus::Running,
    RunStatus::Succeeded,
    RunStatus::Failed,
    RunStatus::Refused,
    RunStatus::Rejected,
    RunStatus::Cancelled,
    RunStatus::Unknown,
];

/// What started a run, in words (and the filter's value).
#[must_use]
pub fn trigger_label(t: RunTrigger) -> (&'static str, &'static str) {
    match t {
        RunTrigger::Manual => ("by hand", "manual"),
        RunTrigger::Test => ("test", "test"),
        RunTrigger::Schedule => ("schedule", "schedule"),
        RunTrigger::Rule => ("rule", "rule"),
    }
}

/// The roles an automation's run and approve settings may name (viewers never run anything).
pub const ACTING_ROLES: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

/// What an automation acts on, in a few words.
fn target_of(a: &AutomationOut) -> String {
    match a.action {
        AutomationAction::Lambda => format!(
            "{}{}",
            a.function_name.clone().unwrap_or_else(|| "—".into()),
            a.connection
                .as_ref()
                .map(|c| format!(" in {}", c.name))
                .unwrap_or_default()
        ),
        AutomationAction::Email => a.recipients.join(", "),
        AutomationAction::Webhook => a.webhook_host.clone().unwrap_or_else(|| "—".into()),
        AutomationAction::Slack => if a.has_slack_url {
            "incoming webhook set"
        } else {
            "no webhook URL"
        }
        .to_owned(),
        AutomationAction::Note => "the source incident".to_owned(),
    }
}

/// `/orgs/:org/automations`: the automations, "New automation", and the kill switch.
#[component]
pub fn Automations() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let may_manage = can(org, Permission::ManageAutomations);
    let list = LocalResource::new(move || async move {
        api::automations::list_automations(session, org)
            .await
            .map(|p| p.items)
    });
    view! {
        <AutomationsHead org=org />
        <div class="page-head">
            <p class="muted">"Invoke your own Lambda functions, post notes, send emails, Slack messages or signed webhooks — by hand, on a schedule, or when a rule matches an incident."</p>
            <Show when=may_manage>
                <A href=format!("/orgs/{org}/automations/new") attr:class="btn primary" attr:id="new-automation">"New automation"</A>
            </Show>
        </div>
        <section class="card">
            {move || match list.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <EmptyState title="No automations yet"
                        hint="Connect an AWS account to invoke your Lambda functions, or create a note, email, Slack or webhook automation." />
                }.into_any(),
                Some(Ok(items)) => view! {
                    <div class="table-scroll">
                        <table class="table automations-table">
                            <thead><tr>
                                <th scope="col">"Automation"</th><th scope="col">"Action"</th>
                                <th scope="col">"Target"</th><th scope="col">"State"</th><th scope="col">"Last run"</th>
                            </tr></thead>
                            <tbody>
                                {items.into_iter().map(|a| view! { <AutomationRow org=org a=a /> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
        <KillSwitch org=org may_manage=may_manage />
    }
}

/// One row of the list.
#[component]
fn AutomationRow(org: OrgId, a: AutomationOut) -> impl IntoView {
    let now = time::now();
    let state = if !a.enabled {
        ("disabled", "pill")
    } else {
        match a.breaker {
            BreakerState::Closed => ("enabled", "pill good"),
            BreakerState::Open => ("breaker open", "pill bad"),
            BreakerState::HalfOpen => ("breaker half-open", "pill warn"),
        }
    };
    let target = target_of(&a);
    view! {
        <tr data-id=a.id.to_string()>
            <th scope="row">
                <A href=format!("/orgs/{org}/automations/{}", a.id) attr:class="automation-name">{a.name.clone()}</A>
                {a.needs_approval.then(|| view! { " " <span class="pill info">"needs approval"</span> })}
                {a.remote_command.then(|| view! { " " <span class="pill tag">"remote command"</span> })}
            </th>
            <td>{action_label(a.action)}</td>
            <td class="target">{target}</td>
            <td><span class=state.1>{state.0}</span></td>
            <td class="nowrap">{a.last_run.map(|r| {
                let (label, class) = run_status(r.status);
                view! {
                    <A href=format!("/orgs/{org}/automations/runs/{}", r.id)><span class=class>{label}</span></A>
                    <span class="muted" title=time::when(r.created_at)>{format!(" {}", time::relative(r.created_at, now))}</span>
                }
            })}</td>
        </tr>
    }
}

/// The kill switch: everyone sees its state; those who manage automations turn it on (with a reason) or off.
#[component]
fn KillSwitch(
    org: OrgId,
    may_manage: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let session = use_session();
    let status = use_automation_status();
    let reason = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let killed = move || {
        status
            .and_then(|s| s.settings.get())
            .is_some_and(|s| s.killed)
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = AutomationSettingsIn {
            killed: !killed(),
            reason: if killed() {
                String::new()
            } else {
                reason.get_untracked().trim().to_owned()
            },
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::automations::put_settings(session, org, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(s) => {
                    let _ = error.try_set(None);
                    let _ = reason.try_set(String::new());
                    if let Some(st) = status {
                        let _ = st.settings.try_set(Some(s));
                        st.refresh();
                    }
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card kill-switch" id="kill-switch">
            <h2>"Kill switch"</h2>
            <p>{move || if killed() {
                "On: no new run starts, and queued or waiting runs stay where they are until it is turned off."
            } else {
                "Off: automations run as configured. Turning it on stops every new run at once, for everyone."
            }}</p>
            <Show when=may_manage fallback=|| view! { <p class="muted">"Owners and admins can turn it on or off."</p> }>
                <form class="inline-form" on:submit=submit>
                    <Show when=move || !killed()>
                        <div class="field grow">
                            <label for="kill-reason">"Why (shown to everyone)"</label>
                            <input id="kill-reason" maxlength="500" prop:value=move || reason.get()
                                on:input=move |ev| reason.set(event_target_value(&ev)) />
                            <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("reason"))}</p>
                        </div>
                    </Show>
                    {move || if killed() {
                        view! { <SubmitButton label="Resume automations" busy_label="Resuming…" busy=busy.into() /> }.into_any()
                    } else {
                        view! {
                            <button type="submit" id="kill-on" class="btn danger" disabled=move || busy.get()>
                                {move || if busy.get() { "Stopping…" } else { "Stop all automations" }}
                            </button>
                        }.into_any()
                    }}
                </form>
                <ErrorBanner error=error.into() />
            </Show>
        </section>
    }
}
