//! Integrations: connecting a tool, the list, changing one (settings, pause, signing secret), syncing and
//! cancelling, the webhook (created in PagerDuty, or a new Opsgenie secret), and disconnecting.

use super::{ApiResult, NO_BODY, call, get};
use crate::session::Session;
use insights_types::api::{
    IntegrationIn, IntegrationOut, IntegrationPatch, JobRunOut, Page, SyncMode, SyncRunOut,
};
use insights_types::{IntegrationId, OrgId};

/// The integrations' path.
fn list_path(org: OrgId) -> String {
    format!("/api/v1/orgs/{org}/integrations")
}

/// One integration's path, with `rest` after it.
fn item_path(org: OrgId, id: IntegrationId, rest: &str) -> String {
    format!("/api/v1/orgs/{org}/integrations/{id}{rest}")
}

/// `GET /api/v1/orgs/{org}/integrations`.
pub fn list_integrations(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<Page<IntegrationOut>>> {
    get(session, list_path(org))
}

/// `POST /api/v1/orgs/{org}/integrations`: connects a tool (the API tries the key first) and starts the
/// import. An Opsgenie answer holds the webhook secret, shown only this once.
pub fn create_integration(
    session: Session,
    org: OrgId,
    body: &IntegrationIn,
) -> impl Future<Output = ApiResult<IntegrationOut>> {
    call(session, "POST", list_path(org), Some(body))
}

/// `PATCH /api/v1/orgs/{org}/integrations/{id}`: settings, pause or resume, the signing secret.
pub fn update_integration(
    session: Session,
    org: OrgId,
    id: IntegrationId,
    body: &IntegrationPatch,
) -> impl Future<Output = ApiResult<IntegrationOut>> {
    call(session, "PATCH", item_path(org, id, ""), Some(body))
}

/// `POST /api/v1/orgs/{org}/integrations/{id}/sync?mode=…`: syncs now (or answers with the sync already
/// queued or running).
pub fn sync_integration(
    session: Session,
    org: OrgId,
    id: IntegrationId,
    mode: SyncMode,
) -> impl Future<Output = ApiResult<SyncRunOut>> {
    let mode = match mode {
        SyncMode::Incremental => "incremental",
        SyncMode::Backfill => "backfill",
    };
    let path = item_path(org, id, &format!("/sync?mode={mode}"));
    call(session, "POST", path, NO_BODY)
}

/// `POST /api/v1/orgs/{org}/integrations/{id}/cancel`: cancels the sync under way.
pub fn cancel_sync(
    session: Session,
    org: OrgId,
    id: IntegrationId,
) -> impl Future<Output = ApiResult<SyncRunOut>> {
    call(session, "POST", item_path(org, id, "/cancel"), NO_BODY)
}

/// `DELETE /api/v1/orgs/{org}/integrations/{id}?data=…`: disconnects; `data` is `keep` (the imported
/// incidents stay) or `delete`. Answers with the deletion's job when there is one to follow.
pub fn delete_integration(
    session: Session,
    org: OrgId,
    id: IntegrationId,
    data: &str,
) -> impl Future<Output = ApiResult<Option<JobRunOut>>> {
    let path = item_path(org, id, &format!("?data={data}"));
    call(session, "DELETE", path, NO_BODY)
}

/// `POST /api/v1/orgs/{org}/integrations/{id}/webhook-subscription`: creates the webhook in PagerDuty with
/// the integration's key, and keeps its signing secret.
pub fn create_webhook_subscription(
    session: Session,
    org: OrgId,
    id: IntegrationId,
) -> impl Future<Output = ApiResult<IntegrationOut>> {
    let path = item_path(org, id, "/webhook-subscription");
    call(session, "POST", path, NO_BODY)
}

/// `POST /api/v1/orgs/{org}/integrations/{id}/webhook-secret`: makes a new Opsgenie webhook secret (the old
/// one stops working); the answer holds it, shown only this once.
pub fn rotate_webhook_secret(
    session: Session,
    org: OrgId,
    id: IntegrationId,
) -> impl Future<Output = ApiResult<IntegrationOut>> {
    let path = item_path(org, id, "/webhook-secret");
    call(session, "POST", path, NO_BODY)
}
