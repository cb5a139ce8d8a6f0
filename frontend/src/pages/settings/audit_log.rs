//! The audit log tab of the settings: who did what and when, newest first, a page at a time.

use super::{SettingsHead, org_id};
use crate::api::{self, ApiFailure};
use crate::components::{ErrorBanner, Spinner};
use crate::session::use_session;
use insights_types::api::AuditEventOut;
use leptos::prelude::*;

/// `/orgs/:org/settings/audit`: the audit log, 50 events at a time.
#[component]
pub fn AuditLog() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let events = RwSignal::new(Vec::<AuditEventOut>::new());
    let cursor = RwSignal::new(None::<String>);
    let loading = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiFailure>);
    let load = move |after: Option<String>| {
        loading.set(true);
        leptos::task::spawn_local(async move {
            match api::audit::list_audit_events(session, org, 50, after.as_deref()).await {
                Ok(page) => {
                    events.update(|e| e.extend(page.items));
                    cursor.set(page.next_cursor);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    load(None);
    view! {
        <SettingsHead />
        <section class="card">
            <h2>"Audit log"</h2>
            <ErrorBanner error=error.into() />
            <table class="table">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"IP"</th></tr></thead>
                <tbody>
                    <For each=move || events.get() key=|e| e.id let:e>
                        <tr>
                            <td>{e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                            <td>{e.actor.map(|a| a.email).unwrap_or_else(|| "system".into())}</td>
                            <td><code>{e.action}</code>" "<span class="muted">{summary(&e.details)}</span></td>
                            <td>{e.ip.unwrap_or_default()}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <Show when=move || loading.get()><Spinner /></Show>
            <Show when=move || cursor.get().is_some() && !loading.get()>
                <button class="btn" on:click=move |_| load(cursor.get_untracked())>"Load more"</button>
            </Show>
        </section>
    }
}

/// A short description of an audit event's details (`email`, `role`, `from → to`).
fn summary(d: &serde_json::Value) -> String {
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    match (s("email"), s("from"), s("to"), s("role")) {
        (e, Some(from), Some(to), _) => format!(
            "{}{from} → {to}",
            e.map(|e| format!("{e}: ")).unwrap_or_default()
        ),
        (Some(e), _, _, Some(r)) => format!("{e} ({r})"),
        (Some(e), ..) => e,
        _ => String::new(),
    }
}
