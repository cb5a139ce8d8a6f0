//! The feedback tab of the settings: the messages sent with the Feedback button, newest first.

use super::{SettingsHead, org_id};
use crate::api;
use crate::components::{EmptyState, Spinner};
use crate::session::use_session;
use leptos::prelude::*;

/// `/orgs/:org/settings/feedback`: the last 100 feedback messages.
#[component]
pub fn FeedbackList() -> impl IntoView {
    let session = use_session();
    let org = org_id();
    let list =
        LocalResource::new(
            move || async move { api::feedback::list_feedback(session, org, 100).await },
        );
    view! {
        <SettingsHead />
        <section class="card">
            <h2>"Feedback"</h2>
            <Suspense fallback=|| view! { <Spinner /> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <p class="banner error">{e.message()}</p> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! { <EmptyState title="No feedback yet" hint="Messages sent with the Feedback button appear here, with the page they came from." /> }.into_any(),
                    Ok(p) => p.items.into_iter().map(|f| view! {
                        <article class="feedback">
                            <p>{f.message}</p>
                            <p class="muted">{format!("{} · on {} · {}", f.author.map(|a| a.email).unwrap_or_default(), f.page, f.created_at.format("%Y-%m-%d %H:%M UTC"))}</p>
                        </article>
                    }).collect_view().into_any(),
                })}
            </Suspense>
        </section>
    }
}
