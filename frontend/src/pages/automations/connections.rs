//! The AWS accounts automations act in (`/orgs/:org/automations/connections`) and the connect wizard
//! (`…/connections/:connection`): create the connection (its external id is generated), copy the
//! CloudFormation or Terraform template that creates the role, give the role's ARN and the functions
//! automations may invoke, then verify — the worker assumes the role and checks each function, and the page
//! shows every check's sentence as it lands.

use super::{AutomationsHead, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{
    CopyField, EmptyState, ErrorBanner, Spinner, SubmitButton, TextField, field_error,
};
use crate::pages::settings::can;
use crate::session::use_session;
use crate::time;
use insights_types::api::{
    AwsConnectionIn, AwsConnectionMode, AwsConnectionOut, AwsConnectionPatch, AwsConnectionStatus,
    AwsKeysIn,
};
use insights_types::{AwsConnectionId, OrgId, Permission};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use std::time::Duration;

/// A status in words, and its pill's class.
fn status_label(s: AwsConnectionStatus) -> (&'static str, &'static str) {
    match s {
        AwsConnectionStatus::Unverified => ("not verified", "pill warn"),
        AwsConnectionStatus::Verifying => ("verifying…", "pill info"),
        AwsConnectionStatus::Verified => ("verified", "pill good"),
        AwsConnectionStatus::Failed => ("verification failed", "pill bad"),
    }
}

/// A status's name in the API (for tests and styles).
fn status_value(s: AwsConnectionStatus) -> &'static str {
    match s {
        AwsConnectionStatus::Unverified => "unverified",
        AwsConnectionStatus::Verifying => "verifying",
        AwsConnectionStatus::Verified => "verified",
        AwsConnectionStatus::Failed => "failed",
    }
}

/// Function names from a text area: one per line (commas also separate), blanks dropped.
fn functions_of(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `/orgs/:org/automations/connections`: the connections, and the wizard's first step.
#[component]
pub fn AwsConnections() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let may_manage = can(org, Permission::ManageAutomations);
    let list = LocalResource::new(move || async move {
        api::automations::list_connections(session, org)
            .await
            .map(|p| p.items)
    });
    view! {
        <AutomationsHead org=org />
        <section class="card">
            <h2>"AWS accounts"</h2>
            <p class="muted">"Automations invoke Lambda functions in your own AWS account through a role you create, trusted only with the external id shown here, and allowed to invoke only the functions you list."</p>
            {move || match list.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(items)) if items.is_empty() => view! {
                    <EmptyState title="No AWS account connected" hint="Connect one below to invoke your Lambda functions." />
                }.into_any(),
                Some(Ok(items)) => view! {
                    <div class="table-scroll">
                        <table class="table connections-table">
                            <thead><tr>
                                <th scope="col">"Account"</th><th scope="col">"Region"</th><th scope="col">"Functions"</th>
                                <th scope="col">"Status"</th><th scope="col">"Verified"</th>
                            </tr></thead>
                            <tbody>
                                {items.into_iter().map(|c| {
                                    let (label, class) = status_label(c.status);
                                    view! {
                                        <tr data-id=c.id.to_string()>
                                            <th scope="row"><A href=format!("/orgs/{org}/automations/connections/{}", c.id)>{c.name.clone()}</A></th>
                                            <td>{c.region.clone()}</td>
                                            <td>{c.functions.join(", ")}</td>
                                            <td><span class=class>{label}</span></td>
                                            <td class="nowrap">{c.verified_at.map(time::when).unwrap_or_else(|| "—".into())}</td>
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
            <NewConnection org=org />
        </Show>
    }
}

/// Step 1: a name, a region, and how the product gets credentials.
#[component]
fn NewConnection(org: OrgId) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let region = RwSignal::new("us-east-1".to_owned());
    let mode = RwSignal::new(AwsConnectionMode::Role);
    let key_id = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let keys = (mode.get_untracked() == AwsConnectionMode::Keys).then(|| AwsKeysIn {
            access_key_id: key_id.get_untracked().trim().to_owned(),
            secret_access_key: secret.get_untracked(),
        });
        let body = AwsConnectionIn {
            name: name.get_untracked().trim().to_owned(),
            mode: mode.get_untracked(),
            region: region.get_untracked().trim().to_owned(),
            role_arn: None,
            keys,
            functions: Vec::new(),
        };
        let navigate = navigate.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::automations::create_connection(session, org, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(c) => navigate(
                    &format!("/orgs/{org}/automations/connections/{}", c.id),
                    NavigateOptions::default(),
                ),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card connect-aws">
            <h2>"Connect an AWS account"</h2>
            <ol class="wizard-steps muted">
                <li class="current">"Name and region"</li><li>"Create the role"</li><li>"Role and functions"</li><li>"Verify"</li>
            </ol>
            <form on:submit=submit>
                <TextField id="aws-name" label="Name" value=name error=field_error(error, "name") placeholder="Production account" required=true />
                <TextField id="aws-region" label="Region" value=region error=field_error(error, "region") hint="Where the functions are, e.g. eu-west-1." required=true />
                <fieldset class="field">
                    <legend>"Credentials"</legend>
                    <label class="check">
                        <input type="radio" name="aws-mode" id="aws-mode-role" prop:checked=move || mode.get() == AwsConnectionMode::Role
                            on:change=move |_| mode.set(AwsConnectionMode::Role) />
                        "A role in your account (recommended): the product assumes it with an external id"
                    </label>
                    <label class="check">
                        <input type="radio" name="aws-mode" id="aws-mode-keys" prop:checked=move || mode.get() == AwsConnectionMode::Keys
                            on:change=move |_| mode.set(AwsConnectionMode::Keys) />
                        "An access key pair (self-hosted installations without an AWS identity)"
                    </label>
                </fieldset>
                <Show when=move || mode.get() == AwsConnectionMode::Keys>
                    <TextField id="aws-key-id" label="Access key id" value=key_id error=field_error(error, "keys.access_key_id") autocomplete="off" />
                    <TextField id="aws-secret" label="Secret access key" kind="password" value=secret
                        error=field_error(error, "keys.secret_access_key") autocomplete="off" hint="Sealed at rest; never shown again." />
                </Show>
                <ErrorBanner error=error.into() />
                <div class="actions">
                    <SubmitButton label="Continue" busy_label="Creating…" busy=busy.into() />
                </div>
            </form>
        </section>
    }
}

/// `/orgs/:org/automations/connections/:connection`: the rest of the wizard, and the connection afterwards.
#[component]
pub fn AwsConnectionPage() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("connection")
            .and_then(|s| s.parse::<AwsConnectionId>().ok())
    });
    let state = RwSignal::new(None::<Result<AwsConnectionOut, ApiFailure>>);
    // Outlives the re-render after a save: "Saved" stays until the next edit.
    let saved = RwSignal::new(false);
    // Bumped to read the connection again; the loop polls while a verification runs.
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        reload.track();
        let Some(me) = id.get() else {
            state.set(Some(Err(ApiFailure::invalid(Vec::new()))));
            return;
        };
        let round = reload.get_untracked();
        leptos::task::spawn_local(async move {
            loop {
                let r = api::automations::get_connection(session, org, me).await;
                if id.try_get_untracked().flatten() != Some(me)
                    || reload.try_get_untracked() != Some(round)
                {
                    return;
                }
                let verifying = matches!(&r, Ok(c) if c.status == AwsConnectionStatus::Verifying);
                if state.try_set(Some(r)).is_some() {
                    return;
                }
                if !verifying {
                    return;
                }
                time::sleep(Duration::from_millis(1000)).await;
            }
        });
    });
    view! {
        <p><A href=format!("/orgs/{org}/automations/connections")>"← AWS accounts"</A></p>
        {move || match state.get() {
            None => view! { <Spinner /> }.into_any(),
            Some(Err(e)) => view! {
                <p class="banner error">{if e.status == 404 || e.status == 422 { "AWS account not found.".to_owned() } else { e.message() }}</p>
            }.into_any(),
            Some(Ok(c)) => view! { <Connection org=org c=c reload=reload saved=saved /> }.into_any(),
        }}
    }
}

/// The wizard's steps 2–4 for one connection.
#[component]
fn Connection(
    org: OrgId,
    c: AwsConnectionOut,
    reload: RwSignal<u32>,
    saved: RwSignal<bool>,
) -> impl IntoView {
    let may_manage = can(org, Permission::ManageAutomations);
    let (label, class) = status_label(c.status);
    let id = c.id;
    let role = c.mode == AwsConnectionMode::Role;
    let external_id = c.external_id.clone();
    let functions = c.functions.len();
    let editable = c.clone();
    view! {
        <div class="page-head">
            <h1>{c.name.clone()}</h1>
            <span class=format!("{class} connection-status") data-status=status_value(c.status)>{label}</span>
        </div>
        <section class="card">
            <dl class="facts">
                <dt>"Region"</dt><dd>{c.region.clone()}</dd>
                <dt>"Credentials"</dt>
                <dd>{match c.mode {
                    AwsConnectionMode::Role => "assumes a role with an external id".to_owned(),
                    AwsConnectionMode::Keys => format!("access key …{}", c.access_key_hint.clone().unwrap_or_default()),
                }}</dd>
                <dt>"Created"</dt><dd>{time::when(c.created_at)}</dd>
            </dl>
        </section>
        {role.then(|| view! { <RoleTemplates org=org id=id external_id=external_id functions=functions /> })}
        <Show when=may_manage>
            <RoleAndFunctions org=org c=editable.clone() reload=reload saved=saved />
        </Show>
        <Verification org=org c=c reload=reload may_manage=may_manage />
        <Show when=may_manage>
            <DeleteConnection org=org id=id />
        </Show>
    }
}

/// Step 2: the external id and the templates that create the role, each with a Copy button.
#[component]
fn RoleTemplates(
    org: OrgId,
    id: AwsConnectionId,
    external_id: String,
    functions: usize,
) -> impl IntoView {
    let session = use_session();
    let tab = RwSignal::new("cloudformation");
    let copied = RwSignal::new(false);
    let templates = LocalResource::new(move || async move {
        api::automations::connection_templates(session, org, id).await
    });
    let external = Signal::derive(move || external_id.clone());
    let text = move || {
        templates.get().and_then(Result::ok).map(|t| {
            if tab.get() == "terraform" {
                t.terraform
            } else {
                t.cloudformation
            }
        })
    };
    let copy = move |_| {
        if let (Some(w), Some(t)) = (web_sys::window(), text()) {
            let _ = w.navigator().clipboard().write_text(&t);
            copied.set(true);
        }
    };
    view! {
        <section class="card role-templates">
            <h2>"Create the role"</h2>
            <p>"Create a role in your account with one of these templates. It trusts only the product's AWS identity, only with this external id, and may only invoke (and look up) the functions you list below."</p>
            <CopyField id="aws-external-id" label="External id" value=external />
            {move || templates.get().and_then(Result::ok).map(|t| {
                let principal = t.principal.clone();
                view! { <p class="muted">"Trusted principal: " <code class="principal">{principal}</code></p> }
            })}
            {(functions == 0).then(|| view! {
                <p class="banner">"List the functions below first: the template grants access to those functions only."</p>
            })}
            <div class="tabs" role="tablist" aria-label="Template format">
                <button type="button" role="tab" class="btn ghost" id="tab-cloudformation"
                    aria-selected=move || (tab.get() == "cloudformation").to_string()
                    on:click=move |_| { tab.set("cloudformation"); copied.set(false) }>"CloudFormation"</button>
                <button type="button" role="tab" class="btn ghost" id="tab-terraform"
                    aria-selected=move || (tab.get() == "terraform").to_string()
                    on:click=move |_| { tab.set("terraform"); copied.set(false) }>"Terraform"</button>
                <span class="spacer"></span>
                <button type="button" class="btn" id="copy-template" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy template" }}
                </button>
            </div>
            {move || match templates.get() {
                None => view! { <Spinner /> }.into_any(),
                Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                Some(Ok(_)) => view! { <pre class="template-text" tabindex="0" role="tabpanel">{text()}</pre> }.into_any(),
            }}
        </section>
    }
}

/// Step 3: the role's ARN (or the key pair again), the region, and the allow-listed functions.
#[component]
fn RoleAndFunctions(
    org: OrgId,
    c: AwsConnectionOut,
    reload: RwSignal<u32>,
    saved: RwSignal<bool>,
) -> impl IntoView {
    let session = use_session();
    let role_arn = RwSignal::new(c.role_arn.clone().unwrap_or_default());
    let region = RwSignal::new(c.region.clone());
    let functions = RwSignal::new(c.functions.join("\n"));
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let role = c.mode == AwsConnectionMode::Role;
    let id = c.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = AwsConnectionPatch {
            region: Some(region.get_untracked().trim().to_owned()),
            role_arn: role.then(|| role_arn.get_untracked().trim().to_owned()),
            functions: Some(functions_of(&functions.get_untracked())),
            ..Default::default()
        };
        busy.set(true);
        saved.set(false);
        leptos::task::spawn_local(async move {
            let r = api::automations::patch_connection(session, org, id, &body).await;
            let _ = busy.try_set(false);
            match r {
                Ok(_) => {
                    let _ = error.try_set(None);
                    let _ = saved.try_set(true);
                    reload.update(|v| *v += 1);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card role-functions">
            <h2>{if role { "Role and functions" } else { "Functions" }}</h2>
            <form on:submit=submit>
                {role.then(|| view! {
                    <TextField id="aws-role-arn" label="Role ARN" value=role_arn error=field_error(error, "role_arn")
                        placeholder="arn:aws:iam::123456789012:role/incident-insights-automations" hint="The role's ARN, from the stack's outputs or terraform output." />
                })}
                <TextField id="aws-region-edit" label="Region" value=region error=field_error(error, "region") />
                <div class="field">
                    <label for="aws-functions">"Functions automations may invoke"</label>
                    <p class="hint" id="aws-functions-hint">"One name or ARN per line (up to 100). Nothing else can be invoked."</p>
                    <textarea id="aws-functions" rows="4" aria-describedby="aws-functions-hint"
                        prop:value=move || functions.get() on:input=move |ev| functions.set(event_target_value(&ev))></textarea>
                    <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field_under("functions"))}</p>
                </div>
                <ErrorBanner error=error.into() />
                <Show when=move || saved.get()>
                    <p class="banner success" role="status">"Saved. Verify the connection to use it."</p>
                </Show>
                <div class="actions">
                    <SubmitButton label="Save" busy_label="Saving…" busy=busy.into() />
                </div>
            </form>
        </section>
    }
}

/// Step 4: verification — ask for it, then each check's result as the worker records it.
#[component]
fn Verification(
    org: OrgId,
    c: AwsConnectionOut,
    reload: RwSignal<u32>,
    may_manage: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let session = use_session();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let id = c.id;
    let verifying = c.status == AwsConnectionStatus::Verifying;
    let verify = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::automations::verify_connection(session, org, id).await;
            let _ = busy.try_set(false);
            match r {
                Ok(_) => {
                    let _ = error.try_set(None);
                    reload.update(|v| *v += 1);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    view! {
        <section class="card verification" aria-live="polite">
            <div class="page-head">
                <h2>"Verification"</h2>
                <Show when=may_manage>
                    <button class="btn primary" id="verify-connection" disabled=move || busy.get() || verifying on:click=verify>
                        {if verifying { "Verifying…" } else { "Verify" }}
                    </button>
                </Show>
            </div>
            <ErrorBanner error=error.into() />
            {match (c.status, c.checks.is_empty()) {
                (AwsConnectionStatus::Verifying, _) => view! { <Spinner label="Assuming the role and checking each function…" /> }.into_any(),
                (_, true) => view! { <p class="muted">"Not verified yet: the worker assumes the role, then looks up each function."</p> }.into_any(),
                (_, false) => view! {
                    <ul class="checks">
                        {c.checks.iter().map(|k| view! {
                            <li class=if k.ok { "check-ok" } else { "check-failed" } data-check=k.check.clone()>
                                <span class=if k.ok { "pill good" } else { "pill bad" }>{if k.ok { "ok" } else { "failed" }}</span>
                                " " <strong>{k.check.clone()}</strong> " — " {k.message.clone()}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
            {c.verified_at.map(|t| view! { <p class="muted">{format!("Last verified {}.", time::when(t))}</p> })}
        </section>
    }
}

/// Deleting a connection (refused while an automation uses it).
#[component]
fn DeleteConnection(org: OrgId, id: AwsConnectionId) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let error = RwSignal::new(None::<ApiFailure>);
    let confirm = RwSignal::new(false);
    let delete = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::automations::delete_connection(session, org, id).await {
                Ok(_) => navigate(
                    &format!("/orgs/{org}/automations/connections"),
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
        <section class="card">
            <Show when=move || confirm.get() fallback=move || view! {
                <button class="btn danger" id="delete-connection" on:click=move |_| confirm.set(true)>"Delete this connection"</button>
            }>
                <p>"Delete it? Automations can no longer use this account."</p>
                <div class="actions">
                    <button class="btn" on:click=move |_| confirm.set(false)>"Keep it"</button>
                    <button class="btn danger" id="confirm-delete-connection" on:click=delete.clone()>"Delete"</button>
                </div>
            </Show>
            <ErrorBanner error=error.into() />
        </section>
    }
}
