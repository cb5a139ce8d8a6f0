//! The connect wizard, per tool: (1) where to create the API key and what access it needs, (2) the form —
//! checked in the browser with the API's own validators, then by the API, which tries the key once and puts
//! the tool's answer beside the key field — and (3) the import under way, with the webhook setup.

use super::Board;
use super::progress::SyncProgress;
use super::webhook::WebhookSetup;
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, SubmitButton, TextField, field_error, field_error_under};
use crate::time;
use insights_types::FieldError;
use insights_types::api::{
    IntegrationIn, IntegrationKind, IntegrationOut, OpsgenieCredentials, OpsgenieIn,
    OpsgenieOptions, OpsgenieRegion, PagerDutyCredentials, PagerDutyIn, PagerDutyOptions,
};
use insights_types::domain::{
    ApiSecret, FieldErrors, Name, check_opsgenie_options, check_pagerduty_options, sync_interval,
};
use leptos::prelude::*;

/// The form's values, as typed.
#[derive(Clone, Copy)]
struct Form {
    name: RwSignal<String>,
    key: RwSignal<String>,
    region: RwSignal<OpsgenieRegion>,
    since: RwSignal<String>,
    services: RwSignal<String>,
    teams: RwSignal<String>,
    query: RwSignal<String>,
    interval: RwSignal<String>,
}

/// The interval field: empty means the default.
pub fn parse_interval(raw: &str, errors: &mut FieldErrors) -> Option<u32> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<u32>() {
        Ok(m) => errors.check(sync_interval("sync_interval_minutes", m)),
        Err(_) => {
            errors.push(FieldError::new(
                "sync_interval_minutes",
                "invalid",
                "must be a whole number of minutes",
            ));
            None
        }
    }
}

/// The "import since" date field: empty means the whole history.
pub fn parse_since(raw: &str, errors: &mut FieldErrors) -> Option<chrono::DateTime<chrono::Utc>> {
    if raw.trim().is_empty() {
        return None;
    }
    let since = time::day_start(raw);
    if since.is_none() {
        errors.push(FieldError::new(
            "options.since",
            "invalid",
            "must be a date",
        ));
    }
    since
}

impl Form {
    fn new(kind: IntegrationKind) -> Self {
        Self {
            name: RwSignal::new(kind.label().to_owned()),
            key: RwSignal::new(String::new()),
            region: RwSignal::new(OpsgenieRegion::Us),
            since: RwSignal::new(String::new()),
            services: RwSignal::new(String::new()),
            teams: RwSignal::new(String::new()),
            query: RwSignal::new(String::new()),
            interval: RwSignal::new("15".to_owned()),
        }
    }

    /// The request, or every field error the API would give for it.
    fn request(&self, kind: IntegrationKind) -> Result<IntegrationIn, ApiFailure> {
        let mut errors = FieldErrors::default();
        let now = time::now();
        let name = self.name.get_untracked();
        errors.check(Name::parse_field("name", &name));
        let key = self.key.get_untracked();
        let key_field = match kind {
            IntegrationKind::Pagerduty => "credentials.api_token",
            IntegrationKind::Opsgenie => "credentials.api_key",
        };
        errors.check(ApiSecret::parse_field(key_field, &key));
        let sync_interval_minutes = parse_interval(&self.interval.get_untracked(), &mut errors);
        let since = parse_since(&self.since.get_untracked(), &mut errors);
        let name = name.trim().to_owned();
        let key = key.trim().to_owned();
        let request = match kind {
            IntegrationKind::Pagerduty => {
                let options = PagerDutyOptions {
                    since,
                    service_ids: super::split_ids(&self.services.get_untracked()),
                    team_ids: super::split_ids(&self.teams.get_untracked()),
                    statuses: Vec::new(),
                    note_author_email: None,
                };
                check_pagerduty_options("options", &options, now, &mut errors);
                IntegrationIn::Pagerduty(PagerDutyIn {
                    name,
                    credentials: PagerDutyCredentials { api_token: key },
                    options,
                    sync_interval_minutes,
                })
            }
            IntegrationKind::Opsgenie => {
                let query = self.query.get_untracked().trim().to_owned();
                let options = OpsgenieOptions {
                    since,
                    query: (!query.is_empty()).then_some(query),
                };
                check_opsgenie_options("options", &options, now, &mut errors);
                IntegrationIn::Opsgenie(OpsgenieIn {
                    name,
                    credentials: OpsgenieCredentials { api_key: key },
                    region: self.region.get_untracked(),
                    options,
                    sync_interval_minutes,
                })
            }
        };
        errors.finish().map_err(ApiFailure::invalid)?;
        Ok(request)
    }
}

/// The wizard that connects a tool of `kind`; `close` goes back to the board.
#[component]
pub fn ConnectWizard(
    board: Board,
    kind: IntegrationKind,
    #[prop(into)] close: Callback<()>,
) -> impl IntoView {
    let step = RwSignal::new(1u8);
    let form = Form::new(kind);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let created = RwSignal::new(None::<IntegrationOut>);
    let heading = NodeRef::<leptos::html::H2>::new();
    // Each step starts at its heading, for keyboard and screen-reader users.
    Effect::new(move |_| {
        step.track();
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    let label = kind.label();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = match form.request(kind) {
            Ok(b) => b,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::integrations::create_integration(board.session(), board.org, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(out) => {
                    let mut listed = out.clone();
                    listed.webhook.secret = None;
                    board.put(listed);
                    let _ = created.try_set(Some(out));
                    let _ = step.try_set(3);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    let title = move || match step.get() {
        1 => format!("Connect {label}: create an API key"),
        2 => format!("Connect {label}: your key and what to import"),
        _ => format!("{label} is connected"),
    };
    view! {
        <section class="card wizard" aria-labelledby="wizard-title" data-kind=kind.as_str()>
            <p class="wizard-step muted">{move || format!("Step {} of 3", step.get())}</p>
            <h2 id="wizard-title" tabindex="-1" node_ref=heading>{title}</h2>
            {move || match step.get() {
                1 => view! {
                    <KeyInstructions kind />
                    <div class="actions">
                        <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                        <button type="button" class="btn primary" id="wizard-next" on:click=move |_| step.set(2)>"I have a key"</button>
                    </div>
                }.into_any(),
                2 => view! {
                    <form class="wizard-form" on:submit=submit novalidate>
                        <Fields kind form error />
                        <ErrorBanner error=error.into() />
                        <div class="actions">
                            <button type="button" class="btn" on:click=move |_| step.set(1)>"Back"</button>
                            <SubmitButton label=format!("Connect {label}") busy_label="Checking the key…" busy=busy.into() />
                        </div>
                    </form>
                }.into_any(),
                _ => match created.get_untracked() {
                    Some(out) => view! { <Connected board out close /> }.into_any(),
                    None => ().into_any(),
                },
            }}
        </section>
    }
}

/// Step 1: where the key comes from.
#[component]
fn KeyInstructions(kind: IntegrationKind) -> impl IntoView {
    match kind {
        IntegrationKind::Pagerduty => view! {
            <ol class="steps">
                <li>"In PagerDuty, open "<span class="path">"Integrations → API Access Keys"</span>" and choose "<strong>"Create New API Key"</strong>"."</li>
                <li>"Describe it (for example “Incident Insights”) and tick "<strong>"Read-only API Key"</strong>": reading is all this app does, it never changes anything in PagerDuty."</li>
                <li>"Create it and copy the key — PagerDuty shows it only once."</li>
            </ol>
            <p class="muted">"A user's API token (My Profile → User Settings) works too, but sees only what that user can see. Account keys need an admin or account owner."</p>
        }.into_any(),
        IntegrationKind::Opsgenie => view! {
            <ol class="steps">
                <li>"In Opsgenie, open "<span class="path">"Settings → API key management"</span>" and choose "<strong>"Add new API key"</strong>"."</li>
                <li>"Name it (for example “Incident Insights”) and give it "<strong>"Read"</strong>" access only: reading is all this app does."</li>
                <li>"Add it and copy the key."</li>
                <li>"Note your region: if you sign in at "<strong>"app.eu.opsgenie.com"</strong>", your account is in the EU — pick "<strong>"EU"</strong>" in the next step."</li>
            </ol>
            <p class="muted">"Opsgenie's API key management needs an Opsgenie plan with API access (Standard or Enterprise), and an owner or admin to create the key."</p>
        }.into_any(),
    }
}

/// Step 2: the fields, each with its error beside it.
#[component]
fn Fields(kind: IntegrationKind, form: Form, error: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    let key_field = match kind {
        IntegrationKind::Pagerduty => "credentials.api_token",
        IntegrationKind::Opsgenie => "credentials.api_key",
    };
    let key_label = match kind {
        IntegrationKind::Pagerduty => "PagerDuty API key",
        IntegrationKind::Opsgenie => "Opsgenie API key",
    };
    let region_error = field_error(error, "region");
    let specific = match kind {
        IntegrationKind::Pagerduty => view! {
            <TextField id="connect-services" label="Only these services (optional)" value=form.services
                hint="PagerDuty service ids such as PIJ90N7, separated by commas. Empty: every service."
                error=field_error_under(error, "options.service_ids") />
            <TextField id="connect-teams" label="Only these teams (optional)" value=form.teams
                hint="PagerDuty team ids, separated by commas. Empty: every team."
                error=field_error_under(error, "options.team_ids") />
        }.into_any(),
        IntegrationKind::Opsgenie => view! {
            <TextField id="connect-query" label="Only alerts matching (optional)" value=form.query
                hint="An Opsgenie search query, e.g. teams:platform AND priority:(P1 OR P2). Empty: every alert."
                error=field_error(error, "options.query") />
        }.into_any(),
    };
    view! {
        <TextField id="connect-name" label="Name" value=form.name required=true
            hint="How this connection is shown here, e.g. “PagerDuty (production)”."
            error=field_error(error, "name") />
        <TextField id="connect-key" label=key_label value=form.key kind="password" autocomplete="off" required=true
            hint="Checked once with a read call before anything is saved; stored encrypted and never shown again."
            error=field_error_under(error, key_field) />
        {(kind == IntegrationKind::Opsgenie).then(|| view! {
            <div class="field">
                <label for="connect-region">"Region"</label>
                <select id="connect-region" aria-describedby="connect-region-error"
                    on:change=move |ev| { if let Some(r) = OpsgenieRegion::parse(&event_target_value(&ev)) { form.region.set(r) } }>
                    <option value="us" selected=move || form.region.get() == OpsgenieRegion::Us>"US (app.opsgenie.com)"</option>
                    <option value="eu" selected=move || form.region.get() == OpsgenieRegion::Eu>"EU (app.eu.opsgenie.com)"</option>
                </select>
                <p class="field-error" id="connect-region-error" role="alert">{move || region_error.get()}</p>
            </div>
        })}
        <TextField id="connect-since" label="Import incidents since (optional)" value=form.since kind="date"
            hint="Empty imports the whole history."
            error=field_error(error, "options.since") />
        {specific}
        <TextField id="connect-interval" label="Sync every (minutes)" value=form.interval kind="number"
            hint="Between 1 and 1440. Webhooks bring changes sooner once set up."
            error=field_error(error, "sync_interval_minutes") />
    }
}

/// Step 3: the import has started; the webhook comes next.
#[component]
fn Connected(board: Board, out: IntegrationOut, close: Callback<()>) -> impl IntoView {
    let id = out.id;
    let it = board.get(id);
    let run = Signal::derive(move || it.get().and_then(|i| i.current_run));
    let count = move || it.get().map_or(0, |i| i.incidents);
    view! {
        <p>"The key works. The import of the history has started; it goes on in the background, so you can leave this page."</p>
        <SyncProgress run />
        <p class="wizard-count">{move || format!("{} incidents imported so far.", count())}</p>
        <h3>"Get changes as they happen: add the webhook"</h3>
        <p>"Syncs run on their schedule; with the webhook, changes arrive within seconds."</p>
        <WebhookSetup board id secret=out.webhook.secret.clone() />
        <div class="actions">
            <button type="button" class="btn primary" id="wizard-done" on:click=move |_| close.run(())>"Done"</button>
        </div>
    }
}
