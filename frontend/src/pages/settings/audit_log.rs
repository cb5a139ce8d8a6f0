//! The audit log tab of the settings: who did what and when, newest first, a page at a time.

use super::{SettingsHead, org_id};
use crate::api;
use crate::components::{ErrorBanner, LoadMore, Paged};
use crate::session::use_session;
use leptos::prelude::*;

/// `/orgs/:org/settings/audit`: the audit log, 50 events at a time.
#[component]
pub fn AuditLog() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let list = Paged::load(move |after: Option<String>| async move {
        api::audit::list_audit_events(session, org, 50, after.as_deref()).await
    });
    view! {
        <SettingsHead />
        <section class="card">
            <h2>"Audit log"</h2>
            <ErrorBanner error=list.error.into() />
            <table class="table">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"IP"</th></tr></thead>
                <tbody>
                    <For each=move || list.items.get() key=|e| e.id let:e>
                        <tr>
                            <td>{e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}</td>
                            <td>{e.actor.map(|a| a.email).unwrap_or_else(|| "system".into())}</td>
                            <td><code>{e.action}</code>" "<span class="muted">{summary(&e.details)}</span></td>
                            <td>{e.ip.unwrap_or_default()}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            <LoadMore list=list />
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
