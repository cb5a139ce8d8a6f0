//! Webhook setup: a new Opsgenie secret, or the PagerDuty subscription created in one click.

use super::{checking_connector, integration_out, live_integration, source_failure};
use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path};
use crate::state::AppState;
use axum::extract::State;
use insights_core::crypto::columns::INTEGRATION_WEBHOOK_SECRET;
use insights_core::crypto::random_token;
use insights_core::db::audit::AuditEntry;
use insights_core::db::integrations::{self, Changes};
use insights_core::db::{self, OrgTx};
use insights_core::sync;
use insights_ingest::connector::Connector;
use insights_types::api::{IntegrationKind, IntegrationOut, WebhookOut};
use insights_types::{IntegrationId, OrgId, Permission};

/// Opsgenie: make a new webhook secret (the old one stops working at once); the answer shows it, this once.
/// PagerDuty makes its own signing secret: paste it with `PATCH` `webhook_secret` instead (409 here).
#[utoipa::path(post, path = "/orgs/{org_id}/integrations/{integration_id}/webhook-secret", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)),
    responses((status = 200, body = IntegrationOut), (status = 409, description = "A PagerDuty integration", body = insights_types::ErrorBody)))]
pub(super) async fn rotate_webhook_secret(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
) -> Result<Json<IntegrationOut>, ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    if row.kind() != IntegrationKind::Opsgenie {
        return Err(ApiError::conflict(
            "signed_by_pagerduty",
            "PagerDuty makes the signing secret when you create the webhook subscription: paste it as `webhook_secret` with PATCH.",
        ));
    }
    let secret = random_token();
    let audit = AuditEntry::new(Some(member.user_id), "webhook_secret_rotated", ip);
    let out = keep_webhook_secret(&state, db, id, &secret, audit).await?;
    Ok(Json(IntegrationOut {
        webhook: WebhookOut {
            secret: Some(secret),
            ..out.webhook
        },
        ..out
    }))
}

/// Stores a new webhook secret (sealed) with its audit entry, and answers with the integration (the secret
/// itself is not in the answer).
async fn keep_webhook_secret(
    state: &AppState,
    mut db: OrgTx,
    id: IntegrationId,
    secret: &str,
    audit: AuditEntry,
) -> Result<IntegrationOut, ApiError> {
    integrations::update(
        &mut db,
        id,
        Changes {
            webhook_secret: Some(
                state
                    .secrets
                    .seal(&INTEGRATION_WEBHOOK_SECRET.row(id), secret.as_bytes()),
            ),
            ..Changes::default()
        },
    )
    .await?;
    db::audit::record(&mut db, audit.target("integration", id)).await?;
    let row = integrations::get(&mut db, id).await?;
    let out = integration_out(state, &mut db, &row, None).await?;
    db.commit().await?;
    Ok(out)
}

/// PagerDuty: create the webhook subscription in PagerDuty with this integration's key (the whole account,
/// every incident event, to this integration's webhook URL) and keep the signing secret PagerDuty returns —
/// the two manual steps in one. Needs a key with write access: a read-only key gets a 422 that says so (then
/// create the webhook in PagerDuty and paste its secret with `PATCH webhook_secret`). Opsgenie: 409.
#[utoipa::path(post, path = "/orgs/{org_id}/integrations/{integration_id}/webhook-subscription", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)),
    responses((status = 200, body = IntegrationOut), (status = 409, description = "An Opsgenie integration", body = insights_types::ErrorBody),
              (status = 422, description = "PagerDuty refused the subscription; `details.fields` says why", body = insights_types::ErrorBody),
              (status = 502, description = "PagerDuty could not be reached", body = insights_types::ErrorBody)))]
pub(super) async fn subscribe_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
) -> Result<Json<IntegrationOut>, ApiError> {
    let row = live_integration(&state, &member, id).await?;
    let connector = checking_connector(
        &state,
        row.kind(),
        sync::open_credential(&state.secrets, id, &row.credentials).map_err(ApiError::Internal)?,
        row.region(),
        &row.options(),
    )?;
    let Connector::Pagerduty(pagerduty) = connector else {
        return Err(ApiError::conflict(
            "added_in_opsgenie",
            "Opsgenie's webhook is added in Opsgenie (Settings → Integrations → Webhook), with this integration's URL and secret header.",
        ));
    };
    let url = state
        .config
        .server
        .public_url
        .link(&format!("hooks/pagerduty/{id}"));
    let secret = pagerduty
        .create_webhook_subscription(&url)
        .await
        .map_err(|e| source_failure(e, "webhook"))?;
    let db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let audit = AuditEntry::new(Some(member.user_id), "webhook_subscription_created", ip);
    Ok(Json(
        keep_webhook_secret(&state, db, id, &secret, audit).await?,
    ))
}
