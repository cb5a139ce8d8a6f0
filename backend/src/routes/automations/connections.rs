//! AWS connections: create one (the product generates its external id), read the templates that create the
//! role, change it (it must be verified again), delete it (refused while an automation uses it), and ask for a
//! verification (202; the worker assumes the role and looks up each allow-listed function).

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::automations::connections;
use insights_core::db::audit::{self, AuditEntry};
use insights_types::api::{
    AwsConnectionIn, AwsConnectionOut, AwsConnectionPatch, AwsTemplatesOut, Page,
};
use insights_types::{AwsConnectionId, OrgId, Permission};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_aws_connections, create_aws_connection))
        .routes(routes!(
            get_aws_connection,
            update_aws_connection,
            delete_aws_connection
        ))
        .routes(routes!(verify_aws_connection))
        .routes(routes!(get_aws_connection_templates))
}

/// The organization's AWS connections, oldest first (never their keys: mode `keys` shows the access key id's
/// last four characters).
#[utoipa::path(get, path = "/orgs/{org_id}/aws-connections", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = Page<AwsConnectionOut>)))]
async fn list_aws_connections(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<AwsConnectionOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let items = connections::list(&mut db)
        .await?
        .iter()
        .map(|c| c.out(&state.secrets))
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Connect an AWS account: mode `role` (the default way: the product assumes a role you create with the
/// templates of `…/templates`, trusting the product's principal with the external id generated here; the
/// role ARN may come later) or mode `keys` (an access key pair, for self-hosters: sealed, never shown again).
/// `functions` is the allow-list of what automations may invoke. It starts `unverified`: ask for a
/// verification once the role exists.
#[utoipa::path(post, path = "/orgs/{org_id}/aws-connections", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = AwsConnectionIn,
    responses((status = 201, body = AwsConnectionOut)))]
async fn create_aws_connection(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<AwsConnectionIn>,
) -> Result<(StatusCode, Json<AwsConnectionOut>), ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let id = connections::create(&mut db, &state.secrets, Some(member.user_id), &body).await?;
    let row = connections::get(&mut db, id, false).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "aws_connection_created", ip)
            .target("aws_connection", id)
            .details(serde_json::json!({
                "name": row.name, "mode": row.mode, "region": row.region, "role_arn": row.role_arn,
                "functions": row.functions,
            })),
    )
    .await?;
    let out = row.out(&state.secrets);
    db.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// One AWS connection with its last verification's checks.
#[utoipa::path(get, path = "/orgs/{org_id}/aws-connections/{connection_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("connection_id" = AwsConnectionId, Path)),
    responses((status = 200, body = AwsConnectionOut)))]
async fn get_aws_connection(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, AwsConnectionId)>,
) -> Result<Json<AwsConnectionOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(
        connections::get(&mut db, id, false)
            .await?
            .out(&state.secrets),
    ))
}

/// Change a connection's name, region, role ARN (mode `role`), key pair (mode `keys`) or allow-list; it is
/// `unverified` again until the next verification. A function an automation invokes cannot leave the
/// allow-list (422 naming the automation).
#[utoipa::path(patch, path = "/orgs/{org_id}/aws-connections/{connection_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("connection_id" = AwsConnectionId, Path)), request_body = AwsConnectionPatch,
    responses((status = 200, body = AwsConnectionOut)))]
async fn update_aws_connection(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AwsConnectionId)>,
    Json(patch): Json<AwsConnectionPatch>,
) -> Result<Json<AwsConnectionOut>, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let changed = connections::update(&mut db, &state.secrets, id, &patch).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "aws_connection_updated", ip)
            .target("aws_connection", id)
            .details(serde_json::json!({ "changed": changed })),
    )
    .await?;
    let out = connections::get(&mut db, id, false)
        .await?
        .out(&state.secrets);
    db.commit().await?;
    Ok(Json(out))
}

/// Delete a connection (its sealed keys with it). Refused while an automation uses it: `409
/// connection_in_use` names them.
#[utoipa::path(delete, path = "/orgs/{org_id}/aws-connections/{connection_id}", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("connection_id" = AwsConnectionId, Path)),
    responses((status = 204, description = "Deleted"),
        (status = 409, description = "`connection_in_use`: automations use it", body = insights_types::ErrorBody)))]
async fn delete_aws_connection(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AwsConnectionId)>,
) -> Result<StatusCode, ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = connections::delete(&mut db, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "aws_connection_deleted", ip)
            .target("aws_connection", id)
            .details(serde_json::json!({ "name": row.name })),
    )
    .await?;
    db.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Verify a connection: it becomes `verifying` and the worker assumes the role with the external id (or uses
/// the keys), then calls `GetFunction` on each allow-listed function; each check's result, in a sentence you
/// can act on, appears in `checks` (poll the connection). A verification already running is not started
/// twice. A role connection needs its role ARN first (422 on `role_arn`).
#[utoipa::path(post, path = "/orgs/{org_id}/aws-connections/{connection_id}/verify", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("connection_id" = AwsConnectionId, Path)),
    responses((status = 202, body = AwsConnectionOut)))]
async fn verify_aws_connection(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, AwsConnectionId)>,
) -> Result<(StatusCode, Json<AwsConnectionOut>), ApiError> {
    member.require(Permission::ManageAutomations)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let job = connections::request_verification(&mut db, &state.jobs, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(
            Some(member.user_id),
            "aws_connection_verification_requested",
            ip,
        )
        .target("aws_connection", id),
    )
    .await?;
    let out = connections::get(&mut db, id, false)
        .await?
        .out(&state.secrets);
    db.commit().await?;
    if let Some(job) = job {
        state.jobs.push(job).await;
    }
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// What creates the role, ready to copy: a CloudFormation template (YAML) and the same as Terraform (HCL),
/// trusting the product's principal (`INSIGHTS_AWS_PRINCIPAL_ARN`; a placeholder to fill in when this
/// installation has none) with this connection's external id, and allowing `lambda:InvokeFunction` and
/// `lambda:GetFunction` on the allow-listed functions only.
#[utoipa::path(get, path = "/orgs/{org_id}/aws-connections/{connection_id}/templates", tag = "automations", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("connection_id" = AwsConnectionId, Path)),
    responses((status = 200, body = AwsTemplatesOut)))]
async fn get_aws_connection_templates(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, AwsConnectionId)>,
) -> Result<Json<AwsTemplatesOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let row = connections::get(&mut db, id, false).await?;
    Ok(Json(connections::templates(
        &row,
        state.config.automations.aws_principal.as_deref(),
    )))
}
