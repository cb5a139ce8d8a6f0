//! Changing an integration: name, credential (checked first), region, options, interval, pause, webhook secret.

use super::{checking_connector, input, integration_out, live_integration, verify};
use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path};
use crate::state::AppState;
use axum::extract::State;
use insights_core::crypto::columns::INTEGRATION_WEBHOOK_SECRET;
use insights_core::db::audit::AuditEntry;
use insights_core::db::integrations::{self, Changes};
use insights_core::{db, sync};
use insights_types::api::{IntegrationOut, IntegrationPatch};
use insights_types::domain::Name;
use insights_types::{IntegrationId, OrgId};

/// Change the name, credential (checked first), region, options, sync interval, pause, or — for PagerDuty —
/// the webhook signing secret.
#[utoipa::path(patch, path = "/orgs/{org_id}/integrations/{integration_id}", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)), request_body = IntegrationPatch,
    responses((status = 200, body = IntegrationOut), (status = 502, description = "The source could not be reached", body = insights_types::ErrorBody)))]
pub(super) async fn update_integration(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
    Json(patch): Json<IntegrationPatch>,
) -> Result<Json<IntegrationOut>, ApiError> {
    let row = live_integration(&state, &member, id).await?;
    let kind = row.kind();
    let input::Update {
        name,
        options,
        secret,
        interval,
        webhook_secret,
    } = input::parse_update(kind, &patch)?;
    let secret_field = input::secret_field(kind);

    // A new credential (or region) is checked before it replaces the old one.
    if secret.is_some() || patch.region.is_some() {
        let credential = match &secret {
            Some(s) => s.expose().to_owned().into(),
            None => sync::open_credential(&state.secrets, id, &row.credentials)
                .map_err(ApiError::Internal)?,
        };
        let connector = checking_connector(
            &state,
            kind,
            credential,
            patch.region.or(row.region()),
            options.as_ref().unwrap_or(&row.options()),
        )?;
        verify(&connector, &format!("credentials.{secret_field}")).await?;
    }
    let options_json = options
        .as_ref()
        .map(|o| serde_json::to_value(o).expect("options serialize"));
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    integrations::update(
        &mut db,
        id,
        Changes {
            name: name.as_ref().map(Name::as_str),
            credentials: secret
                .as_ref()
                .map(|s| sync::seal_credential(&state.secrets, id, s.expose())),
            region: patch.region,
            options: options_json.as_ref(),
            sync_interval_minutes: interval,
            paused: patch.paused,
            webhook_secret: webhook_secret.as_ref().map(|s| {
                state
                    .secrets
                    .seal(&INTEGRATION_WEBHOOK_SECRET.row(id), s.expose().as_bytes())
            }),
        },
    )
    .await?;
    let changed: Vec<&str> = [
        ("name", patch.name.is_some()),
        ("credentials", patch.credentials.is_some()),
        ("region", patch.region.is_some()),
        ("options", patch.options.is_some()),
        (
            "sync_interval_minutes",
            patch.sync_interval_minutes.is_some(),
        ),
        ("paused", patch.paused.is_some()),
        ("webhook_secret", patch.webhook_secret.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect();
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "integration_updated", ip)
            .target("integration", id)
            .details(serde_json::json!({ "changed": changed })),
    )
    .await?;
    let row = integrations::get(&mut db, id).await?;
    let out = integration_out(&state, &mut db, &row, None).await?;
    db.commit().await?;
    Ok(Json(out))
}
