//! The editor (`/orgs/:org/runbooks/new`, `/orgs/:org/runbooks/:runbook/edit`): title, Markdown body, steps
//! (added, removed, reordered; each with its command's language and its risk), tags, services and patterns.
//! Saving an existing runbook makes a new version on top of the one edited: if someone saved meanwhile, the
//! API answers 409 and the page says so, keeping the edits.

use super::org_id;
use super::parts::{LANGUAGES, RISKS, language};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner, SubmitButton, field_error, field_error_under};
use crate::pages::settings::can;
use crate::session::use_session;
use insights_types::api::{RunbookCommand, RunbookIn, RunbookOut, RunbookStep, StepRisk};
use insights_types::{OrgId, PatternId, Permission, RunbookId, ServiceId};
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

/// One step in the form: a signal per field, and a key that survives reordering.
#[derive(Clone, Copy)]
struct StepForm {
    key: u32,
    title: RwSignal<String>,
    why: RwSignal<String>,
    language: RwSignal<String>,
    command: RwSignal<String>,
    risk: RwSignal<String>,
    expected: RwSignal<String>,
}

impl StepForm {
    fn new(key: u32, s: &RunbookStep) -> Self {
        Self {
            key,
            title: RwSignal::new(s.title.clone()),
            why: RwSignal::new(s.why.clone()),
            language: RwSignal::new(
                s.command
                    .as_ref()
                    .map_or("", |c| language(c.language).0)
                    .to_owned(),
            ),
            command: RwSignal::new(
                s.command
                    .as_ref()
                    .map(|c| c.text.clone())
                    .unwrap_or_default(),
            ),
            risk: RwSignal::new(
                RISKS
                    .iter()
                    .find(|r| r.1 == s.risk)
                    .map_or("read_only", |r| r.0)
                    .to_owned(),
            ),
            expected: RwSignal::new(s.expected.clone().unwrap_or_default()),
        }
    }

    fn step(&self) -> RunbookStep {
        let text = self.command.get_untracked();
        let lang = self.language.get_untracked();
        let command = (!text.trim().is_empty()).then(|| RunbookCommand {
            language: LANGUAGES
                .iter()
                .find(|l| l.0 == lang)
                .map_or(LANGUAGES[0].2, |l| l.2),
            text,
        });
        let expected = self.expected.get_untracked();
        RunbookStep {
            title: self.title.get_untracked().trim().to_owned(),
            why: self.why.get_untracked().trim().to_owned(),
            command,
            risk: RISKS
                .iter()
                .find(|r| r.0 == self.risk.get_untracked())
                .map_or(StepRisk::ReadOnly, |r| r.1),
            expected: (!expected.trim().is_empty()).then(|| expected.trim().to_owned()),
        }
    }
}

/// `/orgs/:org/runbooks/new`.
#[component]
pub fn NewRunbook() -> impl IntoView {
    let org = org_id();
    view! {
        <p><A href=format!("/orgs/{org}/runbooks")>"← Runbooks"</A></p>
        <h1>"New runbook"</h1>
        <Editor org=org existing=None />
    }
}

/// `/orgs/:org/runbooks/:runbook/edit`.
#[component]
pub fn EditRunbook() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let params = use_params_map();
    let id = params
        .read_untracked()
        .get("runbook")
        .and_then(|s| s.parse::<RunbookId>().ok());
    let runbook = LocalResource::new(move || async move {
        match id {
            Some(id) => api::runbooks::get_runbook(session, org, id).await.map(Some),
            None => Ok(None),
        }
    });
    view! {
        <p><A href=match id {
            Some(id) => format!("/orgs/{org}/runbooks/{id}"),
            None => format!("/orgs/{org}/runbooks"),
        }>"← Back to the runbook"</A></p>
        {move || match runbook.get() {
            None => view! { <Spinner /> }.into_any(),
            Some(Ok(None)) => view! { <p class="banner error">"Not a valid runbook link."</p> }.into_any(),
            Some(Err(e)) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
            Some(Ok(Some(r))) => view! {
                <h1>{format!("Edit “{}”", r.title)}</h1>
                <Editor org=org existing=Some(r) />
            }.into_any(),
        }}
    }
}

/// Comma- or space-separated tags, lower-cased, without repeats.
fn tags_of(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in text
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let t = t.to_lowercase();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The form.
#[component]
fn Editor(org: OrgId, existing: Option<RunbookOut>) -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let may_edit = can(org, Permission::EditRunbooks);
    let id = existing.as_ref().map(|r| r.id);
    let base_version = RwSignal::new(existing.as_ref().map(|r| r.version));
    let title = RwSignal::new(
        existing
            .as_ref()
            .map(|r| r.title.clone())
            .unwrap_or_default(),
    );
    let body = RwSignal::new(
        existing
            .as_ref()
            .map(|r| r.body.clone())
            .unwrap_or_default(),
    );
    let tags = RwSignal::new(
        existing
            .as_ref()
            .map(|r| r.tags.join(", "))
            .unwrap_or_default(),
    );
    let services = RwSignal::new(
        existing
            .as_ref()
            .map(|r| {
                r.services
                    .iter()
                    .map(|s| s.id.to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    let patterns = RwSignal::new(
        existing
            .as_ref()
            .map(|r| {
                r.patterns
                    .iter()
                    .map(|s| s.id.to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    let next_key = StoredValue::new(0u32);
    let new_key = move || {
        let k = next_key.get_value();
        next_key.set_value(k + 1);
        k
    };
    let steps = RwSignal::new(
        existing
            .as_ref()
            .map(|r| {
                r.steps
                    .iter()
                    .map(|s| StepForm::new(new_key(), s))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let conflict = RwSignal::new(false);

    let service_list = LocalResource::new(move || async move {
        api::services::list_services(session, org)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });
    let pattern_list = LocalResource::new(move || async move {
        api::patterns::list_patterns(session, org, &[], 100, None)
            .await
            .map(|p| p.items)
            .unwrap_or_default()
    });

    let add_step = move |_| {
        let k = new_key();
        steps.update(|s| {
            s.push(StepForm::new(
                k,
                &RunbookStep {
                    title: String::new(),
                    why: String::new(),
                    command: None,
                    risk: StepRisk::ReadOnly,
                    expected: None,
                },
            ));
        });
        // The new step's title takes the focus.
        request_animation_frame(move || {
            if let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(&format!("step-title-{k}")))
            {
                use wasm_bindgen::JsCast;
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        });
    };
    let shift = move |key: u32, by: isize| {
        steps.update(|s| {
            if let Some(i) = s.iter().position(|x| x.key == key) {
                let j = i as isize + by;
                if j >= 0 && (j as usize) < s.len() {
                    s.swap(i, j as usize);
                }
            }
        });
    };
    let remove = move |key: u32| steps.update(|s| s.retain(|x| x.key != key));

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let service_ids: Vec<ServiceId> = services
            .get_untracked()
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let pattern_ids: Vec<PatternId> = patterns
            .get_untracked()
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let input = RunbookIn {
            title: title.get_untracked().trim().to_owned(),
            body: body.get_untracked(),
            steps: steps.get_untracked().iter().map(StepForm::step).collect(),
            tags: tags_of(&tags.get_untracked()),
            service_ids,
            pattern_ids,
            base_version: base_version.get_untracked(),
        };
        let navigate = navigate.clone();
        busy.set(true);
        conflict.set(false);
        leptos::task::spawn_local(async move {
            let r = match id {
                Some(id) => api::runbooks::save_runbook(session, org, id, &input).await,
                None => api::runbooks::create_runbook(session, org, &input).await,
            };
            let _ = busy.try_set(false);
            match r {
                Ok(saved) => navigate(
                    &format!("/orgs/{org}/runbooks/{}", saved.id),
                    NavigateOptions::default(),
                ),
                Err(e) => {
                    let _ = conflict.try_set(e.status == 409);
                    let _ = error.try_set(Some(e));
                }
            }
        });
    };
    // On a conflict: save on top of the latest version anyway (the edits here win).
    let overwrite = move |_| {
        let Some(id) = id else { return };
        leptos::task::spawn_local(async move {
            if let Ok(latest) = api::runbooks::get_runbook(session, org, id).await {
                let _ = base_version.try_set(Some(latest.current_version));
                let _ = conflict.try_set(false);
                let _ = error.try_set(None);
            }
        });
    };

    let title_error = field_error(error, "title");
    let body_error = field_error(error, "body");
    let tags_error = field_error_under(error, "tags");
    view! {
        <Show when=may_edit fallback=|| view! { <p class="banner error">"Your role cannot edit runbooks."</p> }>
        <form class="card runbook-editor" on:submit=submit.clone()>
            <div class="field">
                <label for="runbook-title-input">"Title"</label>
                <input id="runbook-title-input" maxlength="200" required=true prop:value=move || title.get()
                    on:input=move |ev| title.set(event_target_value(&ev))
                    aria-invalid=move || title_error.get().is_some().to_string() aria-describedby="runbook-title-error" />
                <p class="field-error" id="runbook-title-error" role="alert">{move || title_error.get()}</p>
            </div>
            <div class="field">
                <label for="runbook-body">"Body (Markdown)"</label>
                <p class="hint">"Context, links, anything that is not a step. Raw HTML shows as text."</p>
                <textarea id="runbook-body" rows="8" prop:value=move || body.get()
                    on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                <p class="field-error" role="alert">{move || body_error.get()}</p>
            </div>
            <fieldset class="steps-editor">
                <legend>"Steps"</legend>
                <ol class="step-forms">
                    <For each=move || steps.get() key=|s| s.key let:s>
                        <StepFields s=s error=error
                            index=Signal::derive(move || steps.with(|all| all.iter().position(|x| x.key == s.key).unwrap_or(0)))
                            count=Signal::derive(move || steps.with(Vec::len))
                            up=Callback::new(move |()| shift(s.key, -1))
                            down=Callback::new(move |()| shift(s.key, 1))
                            remove=Callback::new(move |()| remove(s.key)) />
                    </For>
                </ol>
                <button type="button" class="btn" id="add-step" on:click=add_step>"Add a step"</button>
            </fieldset>
            <div class="field">
                <label for="runbook-tags">"Tags"</label>
                <p class="hint">"Separated by commas: letters, digits, - _ . / :"</p>
                <input id="runbook-tags" prop:value=move || tags.get() on:input=move |ev| tags.set(event_target_value(&ev)) />
                <p class="field-error" role="alert">{move || tags_error.get()}</p>
            </div>
            <div class="link-pickers">
                <div class="field">
                    <label for="runbook-services">"Services"</label>
                    <select id="runbook-services" multiple=true size="5" on:change=move |ev| services.set(selected_values(&ev))>
                        {move || service_list.get().unwrap_or_default().into_iter().map(|s| {
                            let v = s.id.to_string();
                            let selected = services.with(|l| l.contains(&v));
                            view! { <option value=v selected=selected>{s.name}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="runbook-patterns">"Patterns"</label>
                    <select id="runbook-patterns" multiple=true size="5" on:change=move |ev| patterns.set(selected_values(&ev))>
                        {move || pattern_list.get().unwrap_or_default().into_iter().map(|p| {
                            let v = p.id.to_string();
                            let selected = patterns.with(|l| l.contains(&v));
                            view! { <option value=v selected=selected>{p.name}</option> }
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <Show when=move || conflict.get()>
                <div class="banner error conflict" role="alert">
                    "Someone saved a newer version while you were editing. Your edits are still here: open the runbook in another tab to see theirs, or "
                    <button type="button" class="btn small" id="save-anyway" on:click=overwrite>"save mine on top of theirs"</button>
                    " (then press Save)."
                </div>
            </Show>
            <Show when=move || !conflict.get()>
                <ErrorBanner error=error.into() />
            </Show>
            <div class="actions">
                <SubmitButton label="Save" busy_label="Saving…" busy=busy.into() />
            </div>
        </form>
        </Show>
    }
}

/// The values selected in a `<select multiple>`.
fn selected_values(ev: &leptos::ev::Event) -> Vec<String> {
    use wasm_bindgen::JsCast;
    let Some(select) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
    else {
        return Vec::new();
    };
    let options = select.selected_options();
    (0..options.length())
        .filter_map(|i| options.item(i))
        .filter_map(|o| o.get_attribute("value"))
        .collect()
}

/// One step's fields, with move and remove buttons.
#[component]
fn StepFields(
    s: StepForm,
    error: RwSignal<Option<ApiFailure>>,
    index: Signal<usize>,
    count: Signal<usize>,
    up: Callback<()>,
    down: Callback<()>,
    remove: Callback<()>,
) -> impl IntoView {
    let k = s.key;
    let title_error = Signal::derive(move || {
        let i = index.get();
        error
            .get()
            .and_then(|e| e.field_under(&format!("steps[{i}]")))
    });
    view! {
        <li class="step-form" data-key=k.to_string()>
            <div class="step-form-head">
                <span class="step-n">{move || format!("Step {}", index.get() + 1)}</span>
                <div class="step-form-actions">
                    <button type="button" class="btn small move-up" disabled=move || index.get() == 0 on:click=move |_| up.run(())>
                        "↑"<span class="sr-only">{move || format!(" Move step {} up", index.get() + 1)}</span>
                    </button>
                    <button type="button" class="btn small move-down" disabled=move || { index.get() + 1 >= count.get() } on:click=move |_| down.run(())>
                        "↓"<span class="sr-only">{move || format!(" Move step {} down", index.get() + 1)}</span>
                    </button>
                    <button type="button" class="btn small remove-step" on:click=move |_| remove.run(())>
                        "Remove"<span class="sr-only">{move || format!(" step {}", index.get() + 1)}</span>
                    </button>
                </div>
            </div>
            <div class="field">
                <label for=format!("step-title-{k}")>"Title"</label>
                <input id=format!("step-title-{k}") class="step-title-input" maxlength="200" prop:value=move || s.title.get()
                    on:input=move |ev| s.title.set(event_target_value(&ev)) />
            </div>
            <div class="field">
                <label for=format!("step-why-{k}")>"Why"</label>
                <textarea id=format!("step-why-{k}") class="step-why-input" rows="2" prop:value=move || s.why.get()
                    on:input=move |ev| s.why.set(event_target_value(&ev))></textarea>
            </div>
            <div class="step-command-row">
                <div class="field">
                    <label for=format!("step-lang-{k}")>"Command language"</label>
                    <select id=format!("step-lang-{k}") class="step-lang-input" on:change=move |ev| s.language.set(event_target_value(&ev))>
                        {LANGUAGES.iter().map(|(v, label, _)| view! {
                            <option value=*v selected=move || s.language.get() == *v || (s.language.get().is_empty() && *v == "shell")>{*label}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for=format!("step-risk-{k}")>"Risk"</label>
                    <select id=format!("step-risk-{k}") class="step-risk-input" on:change=move |ev| s.risk.set(event_target_value(&ev))>
                        {RISKS.iter().map(|(v, r)| {
                            let label = super::parts::risk(*r).1;
                            view! { <option value=*v selected=move || s.risk.get() == *v>{label}</option> }
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <div class="field">
                <label for=format!("step-command-{k}")>"Command (optional; copied by people, never run here)"</label>
                <textarea id=format!("step-command-{k}") class="step-command-input code" rows="2" spellcheck="false"
                    prop:value=move || s.command.get() on:input=move |ev| s.command.set(event_target_value(&ev))></textarea>
            </div>
            <div class="field">
                <label for=format!("step-expected-{k}")>"Expected result"</label>
                <input id=format!("step-expected-{k}") class="step-expected-input" prop:value=move || s.expected.get()
                    on:input=move |ev| s.expected.set(event_target_value(&ev)) />
            </div>
            <p class="field-error" role="alert">{move || title_error.get()}</p>
        </li>
    }
}
