//! The Incident Insights web app: a Leptos application rendered in the browser (WASM), served by
//! `insights-api` at `/`. `api` is the typed client, `session` the signed-in state, `layout` the shell and
//! guards, `components` the small design system, `time` the clock and how times read, `pages` one module per
//! group of pages.

pub mod api;
pub mod components;
pub mod layout;
pub mod pages;
pub mod session;
pub mod time;

use layout::{Home, NotFound, OrgShell};
use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;
use pages::account::{ForgotPassword, ResetPassword, VerifyEmail};
use pages::auth::{Join, Login, Signup};
use pages::automations::{
    Approvals, AutomationPage, AutomationRules, AutomationRunPage, AutomationRuns,
    AutomationSchedules, Automations, AwsConnectionPage, AwsConnections, Effectiveness,
    NewAutomation, RuleEditor,
};
use pages::dashboard::Dashboard;
use pages::incidents::{IncidentPage, Incidents};
use pages::integrations::Integrations;
use pages::patterns::{PatternPage, Patterns};
use pages::profile::Profile;
use pages::runbooks::{EditRunbook, GenerationPage, NewRunbook, RunbookPage, Runbooks};
use pages::settings::{
    AnalyticsSettingsPage, AuditLog, CreateOrg, FeedbackList, Invitations, Members, OrgSettings,
};
use session::Session;
use wasm_bindgen::prelude::*;

/// Entry point, run when the module is loaded.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
    // First render done: the first-load benchmark reads this mark.
    if let Some(perf) = web_sys::window().and_then(|w| w.performance()) {
        let _ = perf.mark("insights:mounted");
    }
}

/// The application: the session, then the routes.
#[component]
pub fn App() -> impl IntoView {
    let session = Session::new();
    provide_context(session);
    leptos::task::spawn_local(async move { session.restore().await });
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Home />
                <Route path=path!("/login") view=Login />
                <Route path=path!("/signup") view=Signup />
                <Route path=path!("/join") view=Join />
                <Route path=path!("/verify-email") view=VerifyEmail />
                <Route path=path!("/forgot-password") view=ForgotPassword />
                <Route path=path!("/reset-password") view=ResetPassword />
                <Route path=path!("/profile") view=Profile />
                <Route path=path!("/new-organization") view=CreateOrg />
                <ParentRoute path=path!("/orgs/:org") view=OrgShell>
                    <Route path=path!("") view=|| view! { <Redirect path="dashboard" /> } />
                    <Route path=path!("dashboard") view=Dashboard />
                    <Route path=path!("incidents") view=Incidents />
                    <Route path=path!("incidents/:incident") view=IncidentPage />
                    <Route path=path!("patterns") view=Patterns />
                    <Route path=path!("patterns/:pattern") view=PatternPage />
                    <Route path=path!("runbooks") view=Runbooks />
                    <Route path=path!("runbooks/new") view=NewRunbook />
                    <Route path=path!("runbooks/drafts/:generation") view=GenerationPage />
                    <Route path=path!("runbooks/:runbook") view=RunbookPage />
                    <Route path=path!("runbooks/:runbook/edit") view=EditRunbook />
                    <Route path=path!("automations") view=Automations />
                    <Route path=path!("automations/new") view=NewAutomation />
                    <Route path=path!("automations/runs") view=AutomationRuns />
                    <Route path=path!("automations/runs/:run") view=AutomationRunPage />
                    <Route path=path!("automations/approvals") view=Approvals />
                    <Route path=path!("automations/rules") view=AutomationRules />
                    <Route path=path!("automations/rules/new") view=RuleEditor />
                    <Route path=path!("automations/rules/:rule") view=RuleEditor />
                    <Route path=path!("automations/schedules") view=AutomationSchedules />
                    <Route path=path!("automations/connections") view=AwsConnections />
                    <Route path=path!("automations/connections/:connection") view=AwsConnectionPage />
                    <Route path=path!("automations/effectiveness") view=Effectiveness />
                    <Route path=path!("automations/:automation") view=AutomationPage />
                    <Route path=path!("integrations") view=Integrations />
                    <Route path=path!("settings") view=OrgSettings />
                    <Route path=path!("settings/members") view=Members />
                    <Route path=path!("settings/analytics") view=AnalyticsSettingsPage />
                    <Route path=path!("settings/invitations") view=Invitations />
                    <Route path=path!("settings/audit") view=AuditLog />
                    <Route path=path!("settings/feedback") view=FeedbackList />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
