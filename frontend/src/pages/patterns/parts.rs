//! What the pattern pages and the incident page share: a template with its slots highlighted by kind (or
//! filled with one title's values), a pattern's trend, and the chip of the `pattern` filter.

use crate::api;
use crate::session::use_session;
use insights_types::api::{PatternTrend, SlotKindOut, SlotValueOut, TemplatePartOut};
use insights_types::{OrgId, PatternId};
use leptos::prelude::*;
use leptos_router::components::A;

/// A slot's kind: its name in a template's text form (`<num>`, `<*>`), its CSS name, and what it stands for.
pub fn slot_kind(k: SlotKindOut) -> (&'static str, &'static str, &'static str) {
    match k {
        SlotKindOut::Number => ("num", "number", "a number"),
        SlotKindOut::Id => ("id", "id", "an identifier"),
        SlotKindOut::Hex => ("hex", "hex", "a hexadecimal value"),
        SlotKindOut::Uuid => ("uuid", "uuid", "a UUID"),
        SlotKindOut::Ip => ("ip", "ip", "an IP address"),
        SlotKindOut::Host => ("host", "host", "a host name"),
        SlotKindOut::Path => ("path", "path", "a path"),
        SlotKindOut::Url => ("url", "url", "a URL"),
        SlotKindOut::Email => ("email", "email", "an email address"),
        SlotKindOut::Duration => ("duration", "duration", "a duration"),
        SlotKindOut::Quoted => ("quoted", "quoted", "a quoted value"),
        SlotKindOut::Timestamp => ("time", "timestamp", "a time"),
        SlotKindOut::Service => ("service", "service", "the service"),
        SlotKindOut::Var => ("*", "var", "a value that varies"),
    }
}

/// A template: its text, and each slot as a highlighted `<kind>` (or, with `values`, the value one title has
/// there, marked as the slot it filled).
#[component]
pub fn Template(
    parts: Vec<TemplatePartOut>,
    #[prop(optional)] values: Vec<SlotValueOut>,
) -> impl IntoView {
    let parts = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| match p {
            TemplatePartOut::Text { text } => view! { <span>{text}</span> }.into_any(),
            TemplatePartOut::Slot { kind } => {
                let (name, class, what) = slot_kind(kind);
                match values.iter().find(|v| v.part == i) {
                    Some(v) => view! {
                        <mark class=format!("slot filled slot-{class}") title=format!("A slot: {what}")>
                            {v.value.clone()}<span class="sr-only">{format!(" (slot: {what})")}</span>
                        </mark>
                    }
                    .into_any(),
                    None => view! {
                        <mark class=format!("slot slot-{class}") title=format!("A slot: {what}")>
                            {format!("<{name}>")}<span class="sr-only">{format!(" (slot: {what})")}</span>
                        </mark>
                    }
                    .into_any(),
                }
            }
        })
        .collect_view();
    view! { <code class="template">{parts}</code> }
}

/// A trend for people: (CSS class, arrow, words). More incidents is worse.
pub fn trend(t: PatternTrend) -> (&'static str, &'static str, &'static str) {
    match t {
        PatternTrend::New => ("new", "new", "new in this period"),
        PatternTrend::Growing => ("bad", "▲", "growing"),
        PatternTrend::Steady => ("flat", "▬", "steady"),
        PatternTrend::Declining => ("good", "▼", "declining"),
    }
}

/// The count against the previous period: "▲ from 3", "new".
#[component]
pub fn TrendNote(trend: PatternTrend, previous: i64) -> impl IntoView {
    let (class, arrow, words) = self::trend(trend);
    let text = if trend == PatternTrend::New {
        arrow.to_owned()
    } else {
        format!("{arrow} from {previous}")
    };
    view! {
        <span class=format!("trend {class}") title=format!("{words}; {previous} in the previous period")>
            {text}<span class="sr-only">{format!(" ({words})")}</span>
        </span>
    }
}

/// The `pattern` filter of a view, named, with a button that removes it.
#[component]
pub fn PatternChip(org: OrgId, id: PatternId, clear: Callback<()>) -> impl IntoView {
    let session = use_session();
    let name = LocalResource::new(move || async move {
        api::patterns::get_pattern(session, org, id, &[])
            .await
            .map_or_else(|_| "unknown pattern".to_owned(), |p| p.pattern.name)
    });
    view! {
        <p class="chip pattern-chip">
            <span>"Pattern: "
                <A href=format!("/orgs/{org}/patterns/{id}")>{move || name.get().unwrap_or_else(|| "…".to_owned())}</A>
            </span>
            <button class="btn small ghost" type="button" on:click=move |_| clear.run(())>
                "×"<span class="sr-only">" Remove the pattern filter"</span>
            </button>
        </p>
    }
}
