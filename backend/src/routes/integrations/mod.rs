//! Integrations: connect PagerDuty or Opsgenie (the credential is checked with one call, then stored
//! encrypted and never shown again), follow the import, sync now, cancel, change settings, rotate the webhook
//! secret, and disconnect — keeping or deleting what was imported. One module per action: [`connect`],
//! [`read`] (list, get, runs), [`update`], [`delete`], [`sync`] (sync now, cancel), [`webhook`] (secret,
//! subscription); [`input`] reads and checks the bodies; this module holds what they share.

mod connect;
mod delete;
mod input;
mod read;
mod sync;
mod update;
mod webhook;

use crate::error::ApiError;
use crate::http::OrgMember;
use crate::state::AppState;
use insights_core::db::integrations::{self, IntegrationRow};
use insights_core::db::{self, OrgTx};
use insights_ingest::client::SourceError;
use insights_ingest::connector::Connector;
use insights_ingest::opsgenie;
use insights_types::api::{
    IntegrationKind, IntegrationOptions, IntegrationOut, IntegrationStatus, OpsgenieRegion,
    SyncMode, WebhookOut,
};
use insights_types::{IntegrationId, Permission};
use secrecy::SecretString;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            connect::create_integration,
            read::list_integrations
        ))
        .routes(routes!(
            read::get_integration,
            update::update_integration,
            delete::delete_integration
        ))
        .routes(routes!(sync::sync_integration))
        .routes(routes!(sync::cancel_sync))
        .routes(routes!(read::list_sync_runs))
        .routes(routes!(webhook::rotate_webhook_secret))
        .routes(routes!(webhook::subscribe_webhook))
}

/// A connected integration as the API shows it; `webhook_secret` only right after it was made.
async fn integration_out(
    state: &AppState,
    db: &mut OrgTx,
    row: &IntegrationRow,
    webhook_secret: Option<String>,
) -> Result<IntegrationOut, ApiError> {
    let (current_run, last_error) = integrations::current_run(db, row.id()).await?;
    let last_delivery_at = db::webhooks::last_delivery_at(db, row.id()).await?;
    let kind = row.kind();
    let status = if row.deleting_at.is_some() {
        IntegrationStatus::Deleting
    } else if row.paused_at.is_some() {
        IntegrationStatus::Paused
    } else {
        match &current_run {
            Some(r) if r.state.is_active() && r.mode == SyncMode::Backfill => {
                IntegrationStatus::Backfilling
            }
            Some(r) if r.state.is_active() => IntegrationStatus::Syncing,
            _ if last_error.is_some() => IntegrationStatus::Failing,
            _ => IntegrationStatus::Active,
        }
    };
    Ok(IntegrationOut {
        id: row.id(),
        kind,
        name: row.name.clone(),
        region: row.region(),
        options: row.options(),
        status,
        sync_interval_minutes: row.sync_interval_minutes as u32,
        synced_until: row.sync_watermark,
        next_sync_at: row.next_sync_at.filter(|_| row.paused_at.is_none()),
        current_run,
        last_error,
        incidents: row.incident_count,
        webhook: WebhookOut {
            url: state.config.server.public_url.link(&format!(
                "hooks/{}/{}",
                kind.as_str(),
                row.id
            )),
            secret_set: row.webhook_secret.is_some(),
            header: (kind == IntegrationKind::Opsgenie)
                .then(|| opsgenie::webhook::SECRET_HEADER.to_owned()),
            secret: webhook_secret,
            last_delivery_at,
        },
        credentials_updated_at: row.credentials_updated_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// An integration a manager may act on (404 once it is being deleted), read in a transaction of its own, so
/// that no transaction stays open while the source is called.
async fn live_integration(
    state: &AppState,
    member: &OrgMember,
    id: IntegrationId,
) -> Result<IntegrationRow, ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    db.commit().await?;
    if row.deleting_at.is_some() {
        return Err(ApiError::NotFound);
    }
    Ok(row)
}

/// The retry policy of a credential check: someone is waiting on the form, so two attempts and a shorter
/// timeout, not a sync's patience.
fn check_policy(state: &AppState) -> insights_ingest::client::HttpPolicy {
    let policy = state.config.sources.policy();
    insights_ingest::client::HttpPolicy {
        max_attempts: policy.max_attempts.min(2),
        max_rate_limited: 2,
        max_wait: std::time::Duration::from_secs(5),
        timeout: policy.timeout.min(std::time::Duration::from_secs(15)),
        ..policy
    }
}

/// A connector that acts on the caller's behalf (a credential check, a webhook subscription), with the
/// patience of someone waiting on a form.
fn checking_connector(
    state: &AppState,
    kind: IntegrationKind,
    credential: SecretString,
    region: Option<OpsgenieRegion>,
    options: &IntegrationOptions,
) -> Result<Connector, ApiError> {
    Connector::new(
        kind,
        credential,
        region,
        options,
        &state.config.sources.endpoints(),
        check_policy(state),
    )
    .map_err(|e| ApiError::Internal(e.into()))
}

/// Checks a credential against the source with one call. A credential the source refuses is a 422 on
/// `field`; a source that cannot be reached is a 502.
async fn verify(connector: &Connector, field: &str) -> Result<(), ApiError> {
    connector
        .verify()
        .await
        .map_err(|e| source_failure(e, field))
}

/// A call made on the caller's behalf failed: what the source refused is a 422 on `field` with its reason;
/// a source that cannot be reached (or answers nonsense) is a 502.
fn source_failure(e: SourceError, field: &str) -> ApiError {
    match e {
        SourceError::Unauthorized { .. }
        | SourceError::Forbidden { .. }
        | SourceError::NotFound { .. }
        | SourceError::Rejected { .. } => ApiError::field(field, "rejected", e.to_string()),
        _ => ApiError::Upstream {
            code: "source_unavailable",
            message: format!("{e}. Nothing was saved; try again in a moment."),
        },
    }
}
