//! Integrations: connect PagerDuty or Opsgenie (the credential is checked with one call, then stored
//! encrypted and never shown again), follow the import, sync now, cancel, change settings, rotate the webhook
//! secret, and disconnect — keeping or deleting what was imported. [`input`] reads and checks the bodies.

mod input;

use crate::error::ApiError;
use crate::http::{ClientIp, Json, ListQuery, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::crypto::random_token;
use insights_core::db::audit::AuditEntry;
use insights_core::db::integrations::{self, Changes, IntegrationRow, NewIntegration};
use insights_core::db::{self, OrgTx};
use insights_core::jobs::{DeleteIntegration, Job};
use insights_core::sync::{self, SyncStart};
use insights_ingest::client::SourceError;
use insights_ingest::connector::Connector;
use insights_types::api::{
    IntegrationIn, IntegrationKind, IntegrationOut, IntegrationPatch, IntegrationStatus, JobRunOut,
    JobState, Page, SyncMode, SyncRunOut, WebhookOut,
};
use insights_types::domain::Name;
use insights_types::{IntegrationId, JobRunId, OrgId, Permission};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The header Opsgenie must send with every webhook, holding the integration's secret.
pub const OPSGENIE_SECRET_HEADER: &str = "X-Insights-Webhook-Secret";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_integration, list_integrations))
        .routes(routes!(
            get_integration,
            update_integration,
            delete_integration
        ))
        .routes(routes!(sync_integration))
        .routes(routes!(cancel_sync))
        .routes(routes!(list_sync_runs))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(subscribe_webhook))
}

/// A connected integration as the API shows it; `webhook_secret` only right after it was made.
async fn integration_out(
    state: &AppState,
    db: &mut OrgTx,
    row: &IntegrationRow,
    webhook_secret: Option<String>,
) -> Result<IntegrationOut, ApiError> {
    let (current_run, last_error) = integrations::current_run(db, row.id()).await?;
    let incidents = integrations::incident_count(db, row.id()).await?;
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
        incidents,
        webhook: WebhookOut {
            url: state.config.server.public_url.link(&format!(
                "hooks/{}/{}",
                kind.as_str(),
                row.id
            )),
            secret_set: row.webhook_secret.is_some(),
            header: (kind == IntegrationKind::Opsgenie).then(|| OPSGENIE_SECRET_HEADER.to_owned()),
            secret: webhook_secret,
            last_delivery_at,
        },
        credentials_updated_at: row.credentials_updated_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
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

/// Connect PagerDuty or Opsgenie. The credential is checked with one read call first (422 with a sentence
/// when the source refuses it); then it is stored encrypted and the import of the history starts (follow it
/// in `current_run`). For Opsgenie the answer holds the webhook secret, shown this once.
#[utoipa::path(post, path = "/orgs/{org_id}/integrations", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = IntegrationIn,
    responses((status = 201, body = IntegrationOut), (status = 502, description = "The source could not be reached", body = insights_types::ErrorBody)))]
async fn create_integration(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<serde_json::Value>,
) -> Result<(StatusCode, Json<IntegrationOut>), ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let c = input::parse_connect(body, state.config.sources.sync_interval_minutes)?;
    let secret_field = format!("credentials.{}", input::secret_field(c.kind));
    let connector = Connector::new(
        c.kind,
        c.secret.expose().to_owned().into(),
        c.region,
        &c.options,
        &state.config.sources.endpoints(),
        check_policy(&state),
    )
    .map_err(|e| ApiError::Internal(e.into()))?;
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
            credentials: sync::seal_credential(&state.secrets, c.secret.expose()),
            options: &options,
            sync_interval_minutes: c.interval,
            webhook_secret: webhook_secret
                .as_ref()
                .map(|s| state.secrets.seal(s.as_bytes())),
            created_by: member.user_id,
        },
    )
    .await?;
    let row = integrations::get(&mut db, id).await?;
    let started = sync::start(
        &mut db,
        &row,
        SyncMode::Backfill,
        state.config.jobs.max_attempts as i32,
    )
    .await?;
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
    sync::push(&state.jobs, member.org_id, id, started).await;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Every integration of the organization, with its current sync.
#[utoipa::path(get, path = "/orgs/{org_id}/integrations", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = Page<IntegrationOut>)))]
async fn list_integrations(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<IntegrationOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let rows = integrations::list(&mut db).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(integration_out(&state, &mut db, row, None).await?);
    }
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// One integration: settings, status, the running (or last) sync with its progress, and webhook setup.
#[utoipa::path(get, path = "/orgs/{org_id}/integrations/{integration_id}", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)), responses((status = 200, body = IntegrationOut)))]
async fn get_integration(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
) -> Result<Json<IntegrationOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    Ok(Json(integration_out(&state, &mut db, &row, None).await?))
}

/// Change the name, credential (checked first), region, options, sync interval, pause, or — for PagerDuty —
/// the webhook signing secret.
#[utoipa::path(patch, path = "/orgs/{org_id}/integrations/{integration_id}", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)), request_body = IntegrationPatch,
    responses((status = 200, body = IntegrationOut), (status = 502, description = "The source could not be reached", body = insights_types::ErrorBody)))]
async fn update_integration(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
    Json(patch): Json<IntegrationPatch>,
) -> Result<Json<IntegrationOut>, ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    db.commit().await?;
    if row.deleting_at.is_some() {
        return Err(ApiError::NotFound);
    }
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
            None => sync::open_credential(&state.secrets, &row.credentials)
                .map_err(ApiError::Internal)?,
        };
        let connector = Connector::new(
            kind,
            credential,
            patch.region.or(row.region()),
            options.as_ref().unwrap_or(&row.options()),
            &state.config.sources.endpoints(),
            check_policy(&state),
        )
        .map_err(|e| ApiError::Internal(e.into()))?;
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
                .map(|s| sync::seal_credential(&state.secrets, s.expose())),
            region: patch.region,
            options: options_json.as_ref(),
            sync_interval_minutes: interval,
            paused: patch.paused,
            webhook_secret: webhook_secret
                .as_ref()
                .map(|s| state.secrets.seal(s.expose().as_bytes())),
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DeleteQuery {
    /// `keep` the imported incidents (they stay, no longer linked to an integration) or `delete` them.
    data: DataChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum DataChoice {
    Keep,
    Delete,
}

/// Disconnect. `?data=keep` removes the integration at once (204) and keeps its incidents; `?data=delete`
/// also deletes every incident it imported, in the background (202 with the job). Syncs stop either way.
#[utoipa::path(delete, path = "/orgs/{org_id}/integrations/{integration_id}", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path), DeleteQuery),
    responses((status = 204, description = "Removed; incidents kept"), (status = 202, description = "Being deleted with its incidents", body = JobRunOut)))]
async fn delete_integration(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
    Query(q): Query<DeleteQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    if row.deleting_at.is_some() {
        return Err(ApiError::conflict(
            "already_deleting",
            "This integration is already being deleted.",
        ));
    }
    if let Some(run) = integrations::active_run(&mut db, id).await? {
        db::job_runs::request_cancel(&mut db, run).await?;
    }
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "integration_deleted", ip)
            .target("integration", id)
            .details(serde_json::json!({ "kind": row.kind, "name": row.name, "data": q.data })),
    )
    .await?;
    if q.data == DataChoice::Keep {
        integrations::delete(&mut db, id).await?;
        db.commit().await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    integrations::mark_deleting(&mut db, id).await?;
    let job = JobRunId::new();
    db::job_runs::create(
        &mut db,
        job,
        DeleteIntegration::KIND,
        Some(id.0),
        state.config.jobs.max_attempts as i32,
    )
    .await?;
    let out = db::job_runs::get(&mut db, job).await?;
    db.commit().await?;
    state
        .jobs
        .push_or_sweep(
            job,
            DeleteIntegration::V1 {
                org_id: member.org_id,
                job_run_id: job,
                integration_id: id,
            },
        )
        .await;
    Ok((StatusCode::ACCEPTED, Json(out)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SyncQuery {
    /// `incremental` (default): the changes since the last sync; `backfill`: import the whole history again
    /// (e.g. after changing the options). Nothing is stored twice either way.
    mode: Option<SyncMode>,
}

/// Sync now. Answers 202 with the sync (or with the one already queued or running, which is not doubled).
#[utoipa::path(post, path = "/orgs/{org_id}/integrations/{integration_id}/sync", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path), SyncQuery),
    responses((status = 202, body = SyncRunOut)))]
async fn sync_integration(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
    Query(q): Query<SyncQuery>,
) -> Result<(StatusCode, Json<SyncRunOut>), ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    if row.deleting_at.is_some() {
        return Err(ApiError::NotFound);
    }
    let started = sync::start(
        &mut db,
        &row,
        q.mode.unwrap_or(SyncMode::Incremental),
        state.config.jobs.max_attempts as i32,
    )
    .await?;
    if let SyncStart::Started(job, mode) = started {
        db::audit::record(
            &mut db,
            AuditEntry::new(Some(member.user_id), "integration_sync_requested", ip)
                .target("integration", id)
                .details(serde_json::json!({ "job": job, "mode": mode })),
        )
        .await?;
    }
    let (run, _) = integrations::current_run(&mut db, id).await?;
    db.commit().await?;
    sync::push(&state.jobs, member.org_id, id, started).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(run.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("sync run vanished")))?),
    ))
}

/// Cancel the running sync: a queued one stops at once, a running one after its current page (what it
/// stored stays). 409 when nothing is running.
#[utoipa::path(post, path = "/orgs/{org_id}/integrations/{integration_id}/cancel", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)),
    responses((status = 202, body = SyncRunOut), (status = 409, description = "No sync is running", body = insights_types::ErrorBody)))]
async fn cancel_sync(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
) -> Result<(StatusCode, Json<SyncRunOut>), ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    integrations::get(&mut db, id).await?;
    let Some(run) = integrations::active_run(&mut db, id).await? else {
        return Err(ApiError::conflict(
            "not_running",
            "No sync of this integration is queued or running.",
        ));
    };
    let state_after = db::job_runs::request_cancel(&mut db, run).await?;
    db::audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "integration_sync_cancelled", ip)
            .target("integration", id)
            .details(serde_json::json!({ "job": run, "state": state_after.map(JobState::as_str) })),
    )
    .await?;
    let (current, _) = integrations::current_run(&mut db, id).await?;
    db.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(current.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("sync run vanished")))?),
    ))
}

/// The integration's syncs, newest first.
#[utoipa::path(get, path = "/orgs/{org_id}/integrations/{integration_id}/runs", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path), ListQuery),
    responses((status = 200, body = Page<SyncRunOut>)))]
async fn list_sync_runs(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<SyncRunOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let (after, limit) = q.parse()?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    integrations::get(&mut db, id).await?;
    let (items, next_cursor) = integrations::runs(&mut db, id, after, limit).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// Opsgenie: make a new webhook secret (the old one stops working at once); the answer shows it, this once.
/// PagerDuty makes its own signing secret: paste it with `PATCH` `webhook_secret` instead (409 here).
#[utoipa::path(post, path = "/orgs/{org_id}/integrations/{integration_id}/webhook-secret", tag = "integrations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("integration_id" = IntegrationId, Path)),
    responses((status = 200, body = IntegrationOut), (status = 409, description = "A PagerDuty integration", body = insights_types::ErrorBody)))]
async fn rotate_webhook_secret(
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
            webhook_secret: Some(state.secrets.seal(secret.as_bytes())),
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
              (status = 502, description = "PagerDuty could not be reached", body = insights_types::ErrorBody)))]
async fn subscribe_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, IntegrationId)>,
) -> Result<Json<IntegrationOut>, ApiError> {
    member.require(Permission::ManageIntegrations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = integrations::get(&mut db, id).await?;
    db.commit().await?;
    if row.deleting_at.is_some() {
        return Err(ApiError::NotFound);
    }
    let connector = Connector::new(
        row.kind(),
        sync::open_credential(&state.secrets, &row.credentials).map_err(ApiError::Internal)?,
        row.region(),
        &row.options(),
        &state.config.sources.endpoints(),
        check_policy(&state),
    )
    .map_err(|e| ApiError::Internal(e.into()))?;
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
