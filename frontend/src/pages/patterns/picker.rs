//! The dialog that picks a pattern (to merge into, or to move an incident to): a search over the patterns'
//! names and templates and over their incidents' titles, a list to choose from, and a confirmation.

use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, trap_focus};
use crate::pages::dashboard::query::enc;
use crate::session::use_session;
use crate::time;
use insights_types::api::PatternOut;
use insights_types::{OrgId, PatternId};
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::JsCast;

/// How many patterns a search shows.
const SHOWN: usize = 20;

/// Whether a pattern's name or template contains every word of `text` (case-insensitive).
fn matches(p: &PatternOut, text: &str) -> bool {
    let hay = format!("{} {}", p.name, p.template).to_lowercase();
    text.to_lowercase()
        .split_whitespace()
        .all(|w| hay.contains(w))
}

/// A modal dialog: `title`, a search, the patterns found (never `exclude`), and once one is chosen, `confirm`'s
/// sentence about it with a button labelled `action`. `extra` is one more choice beside the list (e.g. "a new
/// pattern"), by its label. `done` runs with the chosen pattern (`None`: the extra choice) and answers the
/// failure to show, if any.
#[component]
pub fn PatternPicker(
    org: OrgId,
    #[prop(into)] title: String,
    exclude: Option<PatternId>,
    #[prop(into)] action: String,
    confirm: fn(&PatternOut) -> String,
    #[prop(optional, into)] extra: Option<String>,
    done: Callback<Option<PatternOut>>,
    close: Callback<()>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<ApiFailure>>,
) -> impl IntoView {
    let session = use_session();
    let text = RwSignal::new(String::new());
    let chosen = RwSignal::new(None::<PatternOut>);
    // The most frequent patterns of all time (muted ones too), searched by name here; the server searches the
    // incidents' titles for the rest.
    let top = LocalResource::new(move || async move {
        api::patterns::list_patterns(session, org, &["muted=all".to_owned()], 100, None)
            .await
            .map(|p| p.items)
    });
    let generation = StoredValue::new(0u32);
    let by_title = RwSignal::new(Vec::<PatternOut>::new());
    Effect::new(move |_| {
        let t = text.get();
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        if t.trim().is_empty() {
            by_title.set(Vec::new());
            return;
        }
        leptos::task::spawn_local(async move {
            time::sleep(Duration::from_millis(250)).await;
            if generation.try_get_value() != Some(mine) {
                return;
            }
            let params = ["muted=all".to_owned(), format!("q={}", enc(t.trim()))];
            let r = api::patterns::list_patterns(session, org, &params, SHOWN as u32, None).await;
            if generation.try_get_value() == Some(mine) {
                let _ = by_title.try_set(r.map(|p| p.items).unwrap_or_default());
            }
        });
    });
    let found = Memo::new(move |_| {
        let t = text.get();
        let mut out: Vec<PatternOut> = top
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| matches(p, &t))
            .collect();
        for p in by_title.get() {
            if out.iter().all(|o| o.id != p.id) {
                out.push(p);
            }
        }
        out.retain(|p| Some(p.id) != exclude);
        out.truncate(SHOWN);
        out
    });
    // Closing gives the focus back to what opened the dialog.
    let opener = StoredValue::new_local(
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
    );
    let dismiss = move || {
        if let Some(el) = opener.try_get_value().flatten() {
            let _ = el.focus();
        }
        close.run(());
    };
    let dialog = NodeRef::<leptos::html::Div>::new();
    let search = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = search.get() {
            let _ = input.focus();
        }
    });
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            dismiss();
        } else if let Some(d) = dialog.get_untracked() {
            trap_focus(&d, &ev);
        }
    };
    let title_id = "pattern-picker-title";
    view! {
        <div class="dialog-backdrop">
            <div class="dialog picker" role="dialog" aria-modal="true" aria-labelledby=title_id node_ref=dialog
                on:keydown=keydown>
                <h2 id=title_id>{title}</h2>
                {move || match chosen.get() {
                    None => view! {
                        <div class="field">
                            <label for="pattern-search">"Find a pattern"</label>
                            <input id="pattern-search" type="search" node_ref=search autocomplete="off"
                                placeholder="Name, template or incident title"
                                prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
                        </div>
                        <ul class="picker-list" aria-label="Patterns">
                            {move || found.get().into_iter().map(|p| {
                                let pick = p.clone();
                                view! {
                                    <li>
                                        <button class="btn ghost pick" type="button" data-id=p.id.to_string()
                                            on:click=move |_| { error.set(None); chosen.set(Some(pick.clone())) }>
                                            <span class="pick-name">{p.name.clone()}</span>
                                            <span class="muted">{format!(" · {} incidents", p.total_count)}</span>
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <Show when=move || top.get().is_some() && found.with(Vec::is_empty)>
                            <p class="muted">"No pattern matches."</p>
                        </Show>
                        <ErrorBanner error=error.into() />
                        <div class="actions">
                            {extra.clone().map(|label| view! {
                                <button class="btn extra" type="button" disabled=move || busy.get()
                                    on:click=move |_| done.run(None)>{label}</button>
                            })}
                            <button class="btn" type="button" on:click=move |_| dismiss()>"Cancel"</button>
                        </div>
                    }.into_any(),
                    Some(p) => {
                        let sentence = confirm(&p);
                        let action = action.clone();
                        view! {
                            <p class="confirm">{sentence}</p>
                            <ErrorBanner error=error.into() />
                            <div class="actions">
                                <button class="btn" type="button" on:click=move |_| chosen.set(None)>"Back"</button>
                                <button class="btn primary confirm-pick" type="button" disabled=move || busy.get()
                                    on:click=move |_| done.run(chosen.get_untracked())>
                                    {move || if busy.get() { "Working…".to_owned() } else { action.clone() }}
                                </button>
                            </div>
                        }.into_any()
                    }
                }}
            </div>
        </div>
    }
}
