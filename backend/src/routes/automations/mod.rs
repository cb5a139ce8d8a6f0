//! Automations (issue 13): AWS connections (`connections`), automations with their preview, manual runs and
//! effectiveness (`automations`), rules with the dry run (`rules`), schedules (`schedules`), the run log,
//! decisions and the approvals inbox (`runs`), and the kill switch (`settings`). Reading needs
//! `ViewOrganization`; creating and changing connections, automations, rules, schedules and the kill switch
//! needs `ManageAutomations`; who may run an automation by hand and approve its runs is set per automation
//! (`run_role`, `approve_role`). Every write is audited in its transaction, never with a secret.

mod automations;
mod connections;
mod rules;
mod runs;
mod schedules;
mod settings;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(connections::router())
        .merge(automations::router())
        .merge(rules::router())
        .merge(schedules::router())
        .merge(runs::router())
        .merge(settings::router())
}
