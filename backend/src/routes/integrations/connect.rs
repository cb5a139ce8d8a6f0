//! Connect PagerDuty or Opsgenie: check the credential with one call, store it sealed, start the backfill.

use super::{checking_connector, input, integration_out, verify};
use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::crypto::columns::INTEGRATION_WEBHOOK_SECRET;
use insights_core::crypto::random_token;
use insights_core::db::audit::AuditEntry;
use insights_core::db::integrations::{self, NewIntegration};
use insights_core::{db, sync};
use insights_types::api::{IntegrationIn, IntegrationKind, IntegrationOut, SyncMode};
use insights_types::{IntegrationId, OrgId, Permission};

/// Connect PagerDuty or Opsgenie. The credential is checked with one read call first (422 with a sentence
/// when the source refuses it); then it is stored encrypted and the import of the history starts (follow it
/// in `current_run`). For Opsgenie the answer holds the webhook secret, shown this once.
#[utoipa::path(post, path = "/orgs/{org_id}/integrations", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = IntegrationIn,
    responses((status = 201, body = IntegrationOut), (status = 502, description = "The source could not be reached", body = insights_types::ErrorBody)))]
pub(super) async fn create_integration(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<serde_json::Value>,
) -> Result<(StatusCode, Json<IntegrationOut>), ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let c = input::parse_connect(body, state.config.sources.sync_interval_minutes)?;
    let secret_field = format!("credentials.{}", input::secret_field(c.kind));
    let connector = checking_connector(
        &state,
        c.kind,
        c.secret.expose().to_owned().into(),
        c.region,
        &c.options,
    )?;
    verify(&connector, &secret_field).await?;

    // Opsgenie cannot sign its webhooks: it sends a secret header we make up; PagerDuty makes its own signing
    // secret, which the user pastes in later.
    let webhook_secret = (c.kind == IntegrationKind::Opsgenie).then(random_token);
    let id = IntegrationId::new();
    let options = serde_json::to_value(&c.options).expect("options serialize");
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    integrations::create(
        &mut db,
        NewIntegration {
            id,
            kind: c.kind,
            name: c.name.as_str(),
            region: c.region,
            credentials: sync::seal_credential(&state.secrets, id, c.secret.expose()),
            options: &options,
            sync_interval_minutes: c.interval,
            webhook_secret: webhook_secret.as_ref().map(|s| {
                state
                    .secrets
                    .seal(&INTEGRATION_WEBHOOK_SECRET.row(id), s.as_bytes())
            }),
            created_by: member.user_id,
        },
    )
    .await?;
    let row = integrations::get(&mut db, id).await?;
    let started = sync::start(&mut db, &state.jobs, &row, SyncMode::Backfill).await?;
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "integration_created", ip)
            .target("integration", id)
            .details(serde_json::json!({ "kind": c.kind, "name": c.name.as_str() })),
    )
    .await?;
    let row = integrations::get(&mut db, id).await?;
    let out = integration_out(&state, &mut db, &row, webhook_secret).await?;
    db.commit().await?;
    started.push(&state.jobs).await;
    Ok((StatusCode::CREATED, Json(out)))
}
