//! The organization's settings, a page per tab: the organization itself (and creating another one), members,
//! the analytics' definitions (time zone, business hours…), invitations, the audit log and the feedback received. Actions a role may not use are hidden; the server
//! enforces the same table regardless.

mod analytics;
mod audit_log;
mod feedback;
mod invitations;
mod members;
mod organization;

pub use analytics::AnalyticsSettingsPage;
pub use audit_log::AuditLog;
pub use feedback::FeedbackList;
pub use invitations::Invitations;
pub use members::Members;
pub use organization::{CreateOrg, OrgSettings};

use crate::api::{ApiFailure, ApiResult};
use crate::layout::use_org;
use crate::session::use_session;
use insights_types::{OrgId, Permission};
use leptos::prelude::*;
use leptos_router::components::A;

/// Applies a change (role, removal, revocation), shows its error if any, and reloads the list.
async fn apply<T>(
    request: impl Future<Output = ApiResult<T>>,
    error: RwSignal<Option<ApiFailure>>,
    reload: RwSignal<u32>,
) {
    error.set(request.await.err());
    reload.update(|v| *v += 1);
}

/// The organization of the route (the shell only renders pages for members).
fn org_id() -> OrgId {
    use_org()
        .get_untracked()
        .expect("organization pages render under /orgs/:org")
}

/// Whether the signed-in user's role allows `p` here. A plain closure over the app-wide session (not a
/// signal owned by the page), so it stays valid while a page is being torn down.
pub(crate) fn can(org: OrgId, p: Permission) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    let session = use_session();
    move || session.role_in(org).is_some_and(|r| r.can(p))
}

/// The title and tabs of the settings area, above each tab's page.
#[component]
fn SettingsHead() -> impl IntoView {
    let org = org_id();
    let admin = can(org, Permission::ViewAuditLog);
    let invite = can(org, Permission::InviteMembers);
    view! {
        <h1>"Settings"</h1>
        <nav class="tabs" aria-label="Settings">
            <A href=format!("/orgs/{org}/settings") exact=true>"Organization"</A>
            <A href=format!("/orgs/{org}/settings/members")>"Members"</A>
            <A href=format!("/orgs/{org}/settings/analytics")>"Analytics"</A>
            <Show when=move || invite()><A href=format!("/orgs/{org}/settings/invitations")>"Invitations"</A></Show>
            <Show when=move || admin()>
                <A href=format!("/orgs/{org}/settings/audit")>"Audit log"</A>
                <A href=format!("/orgs/{org}/settings/feedback")>"Feedback"</A>
            </Show>
        </nav>
    }
}
