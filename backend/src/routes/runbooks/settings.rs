//! The organization's generation settings: whether drafts may be written by a model (off, redacted, on),
//! whether emails and IP addresses are redacted too, and the monthly token budget; with this month's use and
//! the installation's models.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember};
use crate::state::AppState;
use axum::extract::State;
use insights_core::db::OrgTx;
use insights_core::db::audit::{self, AuditEntry};
use insights_core::runbooks::settings;
use insights_types::api::{RunbookSettingsIn, RunbookSettingsOut};
use insights_types::{OrgId, Permission};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_runbook_settings, put_runbook_settings))
}

async fn current(state: &AppState, db: &mut OrgTx) -> Result<RunbookSettingsOut, ApiError> {
    let s = settings::get(db).await?;
    Ok(RunbookSettingsOut {
        generation: s.generation,
        redact_contacts: s.redact_contacts,
        monthly_token_budget: s.monthly_token_budget,
        tokens_used_this_month: settings::tokens_used_this_month(db).await?,
        model: state.config.llm.model.clone(),
        embedding_model: state.config.llm.embedding_model.clone(),
    })
}

/// The organization's generation settings (defaults: `redacted`, no contact redaction, no budget), the
/// tokens used this calendar month (UTC), and the models this installation has (`null`: none, and then every
/// draft is assembled from the retrieved sources without a model).
#[utoipa::path(get, path = "/orgs/{org_id}/runbook-settings", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = RunbookSettingsOut)))]
async fn get_runbook_settings(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<RunbookSettingsOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(current(&state, &mut db).await?))
}

/// Set whether drafts may be written by a model (`off`: never — drafts are assembled from the retrieved
/// sources; `redacted`: secrets are removed first, and emails and IP addresses with `redact_contacts`; `on`),
/// and the monthly token budget (`null`: no limit; once spent, asking for a draft answers 429
/// `token_budget_spent` until the month ends).
#[utoipa::path(put, path = "/orgs/{org_id}/runbook-settings", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = RunbookSettingsIn,
    responses((status = 200, body = RunbookSettingsOut)))]
async fn put_runbook_settings(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<RunbookSettingsIn>,
) -> Result<Json<RunbookSettingsOut>, ApiError> {
    member.require(Permission::ManageGeneration)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    settings::put(&mut db, member.user_id, &body).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbook_settings_changed", ip)
            .details(serde_json::to_value(&body).unwrap_or_default()),
    )
    .await?;
    let out = current(&state, &mut db).await?;
    db.commit().await?;
    Ok(Json(out))
}
