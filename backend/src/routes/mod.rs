//! The HTTP API, one module per resource; each owns its router. This module only merges them.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod automations;
pub mod dashboard;
pub mod feedback;
pub mod incidents;
pub mod integrations;
pub mod invitations;
pub mod jobs;
pub mod me;
pub mod members;
pub mod operations;
pub mod orgs;
pub mod patterns;
pub mod runbooks;
pub mod sample_data;
pub mod webhooks;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every `/api/v1` route, with its OpenAPI description.
pub fn api_v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(orgs::router())
        .merge(members::router())
        .merge(invitations::router())
        .merge(audit::router())
        .merge(jobs::router())
        .merge(feedback::router())
        .merge(incidents::router())
        .merge(sample_data::router())
        .merge(integrations::router())
        .merge(analytics::router())
        .merge(dashboard::router())
        .merge(patterns::router())
        .merge(runbooks::router())
        .merge(automations::router())
}
