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
pub async fn list_integrations(session: Session, org: OrgId) -> ApiResult<Page<IntegrationOut>> {
    get(session, &list_path(org)).await
}

/// `POST /api/v1/orgs/{org}/integrations`: connects a tool (the API tries the key first) and starts the
/// import. An Opsgenie answer holds the webhook secret, shown only this once.
pub async fn create_integration(
    session: Session,
    org: OrgId,
    body: &IntegrationIn,
) -> ApiResult<IntegrationOut> {
    call(session, "POST", &list_path(org), Some(body)).await
}

/// `PATCH /api/v1/orgs/{org}/integrations/{id}`: settings, pause or resume, the signing secret.
pub async fn update_integration(
    session: Session,
    org: OrgId,
    id: IntegrationId,
    body: &IntegrationPatch,
) -> ApiResult<IntegrationOut> {
    call(session, "PATCH", &item_path(org, id, ""), Some(body)).await
}

/// `POST /api/v1/orgs/{org}/integrations/{id}/sync?mode=…`: syncs now (or answers with the sync already
/// queued or running).
pub async fn sync_integration(
    session: Session,
    org: OrgId,
    id: IntegrationId,
    mode: SyncMode,
) -> ApiResult<SyncRunOut> {
    let mode = match mode {
        SyncMode::Incremental => "incremental",
        SyncMode::Backfill => "backfill",
    };
    let path = item_path(org, id, &format!("/sync?mode={mode}"));
    call(session, "POST", &path, NO_BODY).await
}

/// `POST /api/v1/orgs/{org}/integrations/{id}/cancel`: cancels the sync under way.
pub async fn cancel_sync(session: Session, org: OrgId, id: IntegrationId) -> ApiResult<SyncRunOut> {
    call(session, "POST", &item_path(org, id, "/cancel"), NO_BODY).await
}

/// `DELETE /api/v1/orgs/{org}/integrations/{id}?data=…`: disconnects; `data` is `keep` (the imported
/// incidents stay) or `delete`. Answers with the deletion's job when there is one to follow.
pub async fn delete_integration(
    session: Session,
    org: OrgId,
    id: IntegrationId,
    data: &str,
) -> ApiResult<Option<JobRunOut>> {
    let path = item_path(org, id, &format!("?data={data}"));
    call(session, "DELETE", &path, NO_BODY).await
}

/// `POST /api/v1/orgs/{org}/integrations/{id}/webhook-subscription`: creates the webhook in PagerDuty with
/// the integration's key, and keeps its signing secret.
pub async fn create_webhook_subscription(
    session: Session,
    org: OrgId,
    id: IntegrationId,
) -> ApiResult<IntegrationOut> {
    let path = item_path(org, id, "/webhook-subscription");
    call(session, "POST", &path, NO_BODY).await
}

/// `POST /api/v1/orgs/{org}/integrations/{id}/webhook-secret`: makes a new Opsgenie webhook secret (the old
/// one stops working); the answer holds it, shown only this once.
pub async fn rotate_webhook_secret(
    session: Session,
    org: OrgId,
    id: IntegrationId,
) -> ApiResult<IntegrationOut> {
    let path = item_path(org, id, "/webhook-secret");
    call(session, "POST", &path, NO_BODY).await
}
