//! Drafts (`…/runbook-generations`): ask for one (202; the worker's `generate_runbook` job writes it), follow
//! it, list them, save one as a runbook. A draft is private: its creator and `ManageGeneration` roles see it;
//! another member gets 404. `all=true` lists everyone's (every prompt the organization sent) for
//! `ManageGeneration` roles.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db::audit::{self, AuditEntry};
use insights_core::runbooks::query::{self, Viewer};
use insights_core::runbooks::{self, drafts};
use insights_types::api::{
    GenerationStatus, Page, RunbookGenerationCreatedOut, RunbookGenerationIn, RunbookGenerationOut,
    RunbookOut, RunbookSaveIn,
};
use insights_types::{OrgId, Permission, RunbookGenerationId};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_generations, create_generation))
        .routes(routes!(get_generation))
        .routes(routes!(save_generation))
}

fn viewer(member: &OrgMember) -> Viewer {
    Viewer {
        user_id: member.user_id,
        sees_all: member.role.can(Permission::ManageGeneration),
    }
}

/// Ask for a draft runbook for an incident (`incident_id`), a pattern (`pattern_id`) or a free-text problem
/// (`prompt`, 1–4000 characters) — exactly one — or refine a finished draft of yours (`refine_of` with
/// `instructions`, 1–2000 characters: "use kubectl", "shorter", "for eu-west-1"). The worker retrieves
/// sources, redacts them as the organization's settings say, and asks the model (or assembles the draft
/// without one); follow it at `GET …/runbook-generations/{id}`. 429 `token_budget_spent` once this month's
/// tokens reached the organization's budget.
#[utoipa::path(post, path = "/orgs/{org_id}/runbook-generations", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = RunbookGenerationIn,
    responses((status = 202, body = RunbookGenerationCreatedOut),
        (status = 429, description = "`token_budget_spent`: this month's token budget is spent; see `Retry-After`", body = insights_types::ErrorBody)))]
async fn create_generation(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<RunbookGenerationIn>,
) -> Result<(StatusCode, Json<RunbookGenerationCreatedOut>), ApiError> {
    member.require(Permission::EditRunbooks)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let (id, job) = drafts::request(&mut db, &state.jobs, viewer(&member), &body).await?;
    let subject = if body.refine_of.is_some() {
        "refinement"
    } else if body.incident_id.is_some() {
        "incident"
    } else if body.pattern_id.is_some() {
        "pattern"
    } else {
        "prompt"
    };
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbook_generation_requested", ip)
            .target("runbook_generation", id)
            .details(serde_json::json!({
                "for": subject,
                "incident_id": body.incident_id,
                "pattern_id": body.pattern_id,
                "refine_of": body.refine_of,
                "job_id": job.job_run_id(),
            })),
    )
    .await?;
    db.commit().await?;
    state.jobs.push(job).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(RunbookGenerationCreatedOut {
            id,
            status: GenerationStatus::Queued,
        }),
    ))
}

/// A draft: status and progress, the draft with each step's citations (and whether it is grounded in the
/// team's history), the sources retrieved, exactly what was sent to the model (after redaction; `null` when
/// nothing was), what redaction removed (counts), tokens used, and the error if it failed.
#[utoipa::path(get, path = "/orgs/{org_id}/runbook-generations/{generation_id}", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("generation_id" = RunbookGenerationId, Path)),
    responses((status = 200, body = RunbookGenerationOut)))]
async fn get_generation(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, RunbookGenerationId)>,
) -> Result<Json<RunbookGenerationOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(query::get(&mut db, viewer(&member), id).await?))
}

/// Whose drafts, and the page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// `true`: everyone's drafts — every prompt the organization sent (`ManageGeneration` roles only; 403
    /// otherwise). Default: your own.
    all: Option<bool>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Drafts per page, 1–200 (default 50).
    limit: Option<u32>,
}

/// Your drafts, newest first (`all=true`: everyone's, for `ManageGeneration` roles).
#[utoipa::path(get, path = "/orgs/{org_id}/runbook-generations", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ListParams),
    responses((status = 200, body = Page<RunbookGenerationOut>)))]
async fn list_generations(
    State(state): State<AppState>,
    member: OrgMember,
    Query(p): Query<ListParams>,
) -> Result<Json<Page<RunbookGenerationOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let all = p.all.unwrap_or(false);
    if all {
        member.require(Permission::ManageGeneration)?;
    }
    let (after, limit) = crate::http::ListQuery {
        cursor: p.cursor,
        limit: p.limit,
    }
    .parse()?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let (items, next_cursor) = query::list(&mut db, viewer(&member), all, after, limit).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// Save a finished draft as a runbook (source `generated`; its version names the draft, and it is indexed for
/// search). `title`, `tags`, `service_ids`, `pattern_ids` replace the draft's; without them it links the
/// incident's service and pattern, or the pattern. 409 `draft_not_ready` before it finished, `draft_failed`
/// for a failed one, `already_saved` the second time.
#[utoipa::path(post, path = "/orgs/{org_id}/runbook-generations/{generation_id}/save", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("generation_id" = RunbookGenerationId, Path)), request_body = RunbookSaveIn,
    responses((status = 201, body = RunbookOut),
        (status = 409, description = "`draft_not_ready`, `draft_failed` or `already_saved`", body = insights_types::ErrorBody)))]
async fn save_generation(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, RunbookGenerationId)>,
    Json(body): Json<RunbookSaveIn>,
) -> Result<(StatusCode, Json<RunbookOut>), ApiError> {
    member.require(Permission::EditRunbooks)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let runbook = drafts::save_draft(&mut db, viewer(&member), id, &body).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbook_draft_saved", ip)
            .target("runbook", runbook)
            .details(serde_json::json!({ "generation_id": id })),
    )
    .await?;
    let out = runbooks::get(&mut db, runbook, None).await?;
    db.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}
