//! The small design system every page uses: form fields that show their API error, copyable values, buttons
//! that disable while submitting, cards, empty and loading states, and the feedback dialog.

use crate::api::{self, ApiFailure};
use crate::session::use_session;
use insights_types::OrgId;
use insights_types::api::FeedbackIn;
use leptos::prelude::*;

/// A labelled input; `hint` shows under the label, `error` under the input (and marks it invalid for screen
/// readers).
#[component]
pub fn TextField(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    #[prop(into, optional)] kind: Option<String>,
    #[prop(into, optional)] autocomplete: Option<String>,
    #[prop(into, optional)] placeholder: Option<String>,
    #[prop(into, optional)] hint: Option<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = match hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            <input
                id=id
                type=kind.unwrap_or_else(|| "text".into())
                autocomplete=autocomplete
                placeholder=placeholder
                required=required
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=described
            />
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

/// A value to copy (a URL, a secret): read-only, selectable, with a Copy button that says when it worked.
#[component]
pub fn CopyField(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    #[prop(into)] value: Signal<String>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&value.get_untracked());
            copied.set(true);
        }
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <div class="copy-row">
                <input id=id readonly=true prop:value=move || value.get()
                    on:focus=|ev| {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    } />
                <button type="button" class="btn" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}

/// A form's submit button: disabled and relabelled while the request runs.
#[component]
pub fn SubmitButton(
    #[prop(into)] label: String,
    #[prop(into)] busy_label: String,
    busy: Signal<bool>,
) -> impl IntoView {
    view! {
        <button type="submit" class="btn primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
            {move || if busy.get() { busy_label.clone() } else { label.clone() }}
        </button>
    }
}

/// A banner for an error that belongs to no single field.
#[component]
pub fn ErrorBanner(error: Signal<Option<ApiFailure>>) -> impl IntoView {
    view! {
        <Show when=move || error.get().is_some_and(|e| !e.has_field_errors())>
            <div class="banner error" role="alert">{move || error.get().map(|e| e.message())}</div>
        </Show>
    }
}

/// Keeps Tab and Shift+Tab inside a modal dialog: past its last control, back to its first, and the reverse.
pub fn trap_focus(dialog: &web_sys::Element, ev: &leptos::ev::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    if ev.key() != "Tab" {
        return;
    }
    let Ok(nodes) = dialog.query_selector_all(
        "button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea, a[href]",
    ) else {
        return;
    };
    let items: Vec<web_sys::HtmlElement> = (0..nodes.length())
        .filter_map(|i| nodes.item(i))
        .filter_map(|n| n.dyn_into().ok())
        .collect();
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return;
    };
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let radio_name = |e: &web_sys::Element| {
        e.dyn_ref::<web_sys::HtmlInputElement>()
            .filter(|i| i.type_() == "radio")
            .map(|i| i.name())
    };
    // A radio group is one stop: any of its radios counts as the first.
    let at_first = active.as_ref().is_some_and(|a| {
        a == first.as_ref() || (radio_name(a).is_some() && radio_name(a) == radio_name(first))
    });
    let at_last = active.as_ref().is_some_and(|a| a == last.as_ref());
    if ev.shift_key() && at_first {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && at_last {
        ev.prevent_default();
        let _ = first.focus();
    }
}

/// The field error of `name` in the last failure.
pub fn field_error(
    error: RwSignal<Option<ApiFailure>>,
    name: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.field(name)))
}

/// The first field error of `name` or of anything under it (`options.service_ids[3]`).
pub fn field_error_under(
    error: RwSignal<Option<ApiFailure>>,
    name: impl Into<String>,
) -> Signal<Option<String>> {
    let name = name.into();
    Signal::derive(move || error.get().and_then(|e| e.field_under(&name)))
}

/// A loading indicator, announced to screen readers; `label` defaults to "Loading…".
#[component]
pub fn Spinner(#[prop(into, optional)] label: Option<String>) -> impl IntoView {
    view! {
        <div class="loading" role="status">
            <span class="spinner" aria-hidden="true"></span>
            {label.unwrap_or_else(|| "Loading…".into())}
        </div>
    }
}

/// What an empty list shows: a title, and a hint at how to fill it.
#[component]
pub fn EmptyState(#[prop(into)] title: String, #[prop(into)] hint: String) -> impl IntoView {
    view! {
        <div class="empty">
            <p class="empty-title">{title}</p>
            <p class="muted">{hint}</p>
        </div>
    }
}

/// A list read a page at a time through the API's cursor (`next_cursor`), newest first: the items so far,
/// the cursor of the next page (none at the end), whether a page is loading, and the last error.
pub struct Paged<T: Send + Sync + 'static> {
    pub items: RwSignal<Vec<T>>,
    pub cursor: RwSignal<Option<String>>,
    pub loading: RwSignal<bool>,
    pub error: RwSignal<Option<ApiFailure>>,
    /// Reads the next page and appends it.
    pub more: Callback<()>,
}

impl<T: Send + Sync + 'static> Clone for Paged<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Paged<T> {}

impl<T: Send + Sync + 'static> Paged<T> {
    /// Starts reading the first page with `fetch`, which reads the page after a cursor (`None`: the first).
    pub fn load<F, Fut>(fetch: F) -> Self
    where
        F: Fn(Option<String>) -> Fut + Copy + Send + Sync + 'static,
        Fut: Future<Output = api::ApiResult<insights_types::api::Page<T>>> + 'static,
    {
        let items = RwSignal::new(Vec::new());
        let cursor = RwSignal::new(None::<String>);
        let loading = RwSignal::new(false);
        let error = RwSignal::new(None::<ApiFailure>);
        let more = Callback::new(move |()| {
            loading.set(true);
            let after = cursor.get_untracked();
            leptos::task::spawn_local(async move {
                match fetch(after).await {
                    Ok(page) => {
                        let _ = items.try_update(|i| i.extend(page.items));
                        let _ = cursor.try_set(page.next_cursor);
                        let _ = error.try_set(None);
                    }
                    Err(e) => {
                        let _ = error.try_set(Some(e));
                    }
                }
                let _ = loading.try_set(false);
            });
        });
        more.run(());
        Self {
            items,
            cursor,
            loading,
            error,
            more,
        }
    }

    /// Nothing to show: the first page came back empty.
    pub fn is_empty(&self) -> bool {
        self.items.with(Vec::is_empty) && !self.loading.get() && self.error.with(Option::is_none)
    }
}

/// The foot of a [`Paged`] list: a spinner while a page loads, then "Load more" while pages remain.
#[component]
pub fn LoadMore<T: Send + Sync + 'static>(list: Paged<T>) -> impl IntoView {
    view! {
        <Show when=move || list.loading.get()><Spinner /></Show>
        <Show when=move || list.cursor.with(Option::is_some) && !list.loading.get()>
            <button class="btn" on:click=move |_| list.more.run(())>"Load more"</button>
        </Show>
    }
}

/// The feedback button and its dialog: stores a message with the page it came from.
#[component]
pub fn FeedbackButton(org: Signal<Option<OrgId>>) -> impl IntoView {
    let session = use_session();
    let open = RwSignal::new(false);
    let message = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiFailure>);
    let sent = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(org) = org.get_untracked() else {
            return;
        };
        let page = web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .unwrap_or_else(|| "/".into());
        let body = FeedbackIn {
            message: message.get_untracked(),
            page,
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::feedback::send_feedback(session, org, &body).await;
            busy.set(false);
            match r {
                Ok(_) => {
                    sent.set(true);
                    message.set(String::new());
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <Show when=move || org.get().is_some()>
            <button class="btn ghost feedback-button" on:click=move |_| { sent.set(false); open.set(true) }>"Feedback"</button>
        </Show>
        <Show when=move || open.get()>
            <div class="dialog-backdrop">
                <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="feedback-title">
                    <h2 id="feedback-title">"Send feedback"</h2>
                    <p class="muted feedback-troubleshooting">
                        "An integration, an email or an automation failing with a message? "
                        <a
                            href=move || session.me().map(|m| m.help.troubleshooting_url).unwrap_or_default()
                            target="_blank"
                            rel="noopener noreferrer"
                        >
                            "Troubleshooting"
                        </a>
                        " says what each message means and what to do."
                    </p>
                    <Show
                        when=move || !sent.get()
                        fallback=move || view! {
                            <p>"Thank you — your message reached the team."</p>
                            <button class="btn" on:click=move |_| open.set(false)>"Close"</button>
                        }
                    >
                        <form on:submit=submit>
                            <div class="field">
                                <label for="feedback-message">"What works, what doesn't, what you need"</label>
                                <textarea
                                    id="feedback-message"
                                    rows="5"
                                    prop:value=move || message.get()
                                    on:input=move |ev| message.set(event_target_value(&ev))
                                ></textarea>
                                <p class="field-error" role="alert">{move || error.get().and_then(|e| e.field("message"))}</p>
                            </div>
                            <ErrorBanner error=error.into() />
                            <div class="actions">
                                <button type="button" class="btn" on:click=move |_| open.set(false)>"Cancel"</button>
                                <SubmitButton label="Send" busy_label="Sending…" busy=busy.into() />
                            </div>
                        </form>
                    </Show>
                </div>
            </div>
        </Show>
    }
}
