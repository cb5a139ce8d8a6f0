//! Runbooks (issue 12): the library — list, create, read, save a new version (`base_version` guards against
//! overwriting someone's edit), delete, versions, diff, restore, import Markdown — search over the vector index
//! (`search`), drafts (`generations`), and the organization's generation settings (`settings`). Reads need
//! `ViewOrganization`; writes `EditRunbooks`; every write is audited in its transaction, and every change of a
//! runbook enqueues it for the index there too (`insights_core::runbooks`).

mod generations;
mod search;
mod settings;

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path, Query};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use insights_core::db::audit::{self, AuditEntry};
use insights_core::runbooks::{self, ListFilter, VersionOrigin, import};
use insights_types::api::{
    Page, RunbookDiffOut, RunbookImportIn, RunbookImportOut, RunbookIn, RunbookIndexStatusOut,
    RunbookOrigin, RunbookOut, RunbookSummaryOut, RunbookVersionOut,
};
use insights_types::{FieldError, OrgId, PatternId, Permission, RunbookId, ServiceId};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

/// A runbook may carry 100,000 characters of Markdown and 100 steps: more than the API's usual 64 KiB.
pub const RUNBOOK_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// An import takes up to 50 files of up to 100,000 characters each.
pub const IMPORT_BODY_LIMIT: usize = 8 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(list_runbooks, create_runbook))
                .routes(routes!(get_runbook, update_runbook, delete_runbook))
                .routes(routes!(list_versions))
                .routes(routes!(get_version))
                .routes(routes!(diff_versions))
                .routes(routes!(restore_version))
                .routes(routes!(index_status))
                .routes(routes!(reindex))
                .layer(DefaultBodyLimit::max(RUNBOOK_BODY_LIMIT)),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(import_runbooks))
                .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
        .merge(search::router())
        .merge(generations::router())
        .merge(settings::router())
}

/// Filters and page of the library.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Runbooks whose title contains it (case-insensitive) or with it as a tag; up to 200 characters.
    q: Option<String>,
    /// Runbooks with this tag.
    tag: Option<String>,
    /// Runbooks linked to this service.
    service: Option<ServiceId>,
    /// Runbooks linked to this pattern.
    pattern: Option<PatternId>,
    /// `written`, `generated` or `imported`.
    #[param(inline)]
    source: Option<RunbookOrigin>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Runbooks per page, 1–200 (default 50).
    limit: Option<u32>,
}

/// A free-text query parameter: at most `max` characters, no control characters (400 `invalid_query`).
pub(crate) fn text_param(
    name: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    let Some(v) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`{name}` is at most {max} characters, without control characters."),
        ));
    }
    Ok(Some(v))
}

/// The library: runbooks most recently changed first, filtered by `q` (title or tag), `tag`, `service`,
/// `pattern` and `source`, in pages (`cursor`, `limit`).
#[utoipa::path(get, path = "/orgs/{org_id}/runbooks", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ListParams),
    responses((status = 200, body = Page<RunbookSummaryOut>)))]
async fn list_runbooks(
    State(state): State<AppState>,
    member: OrgMember,
    Query(p): Query<ListParams>,
) -> Result<Json<Page<RunbookSummaryOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let (after, limit) = crate::http::ListQuery {
        cursor: p.cursor,
        limit: p.limit,
    }
    .parse()?;
    let filter = ListFilter {
        q: text_param("q", p.q, 200)?,
        tag: text_param("tag", p.tag, 50)?,
        service: p.service,
        pattern: p.pattern,
        source: p.source,
    };
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    // An alias lists the runbooks of the pattern it was merged into.
    let filter = match filter.pattern {
        Some(p) => ListFilter {
            pattern: Some(
                insights_core::patterns::resolve(&mut db, p)
                    .await?
                    .unwrap_or(p),
            ),
            ..filter
        },
        None => filter,
    };
    let (items, next_cursor) = runbooks::list(&mut db, &filter, after, limit).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// The runbook a body describes, validated (422 naming every invalid field).
fn valid(body: &RunbookIn) -> Result<runbooks::ValidRunbook, ApiError> {
    runbooks::validate("", body).map_err(ApiError::Validation)
}

/// Write a runbook: title, Markdown body, structured steps (each with an optional command, its risk — raised
/// to what the command implies — and expected result), tags, linked services and patterns (of this
/// organization: an unknown id is a 422 naming it; linking a pattern pins it). It is version 1, source
/// `written`, and is indexed for search within seconds.
#[utoipa::path(post, path = "/orgs/{org_id}/runbooks", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = RunbookIn,
    responses((status = 201, body = RunbookOut),
        (status = 413, description = "Body larger than 2 MiB", body = insights_types::ErrorBody)))]
async fn create_runbook(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<RunbookIn>,
) -> Result<(StatusCode, Json<RunbookOut>), ApiError> {
    member.require(Permission::EditRunbooks)?;
    let r = valid(&body)?;
    if body.base_version.is_some() {
        return Err(FieldError::new(
            "base_version",
            "not_allowed",
            "only a new version of an existing runbook (PUT) has a base version",
        )
        .into());
    }
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let id = runbooks::create(
        &mut db,
        Some(member.user_id),
        r,
        RunbookOrigin::Written,
        VersionOrigin::default(),
        "",
    )
    .await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbook_created", ip).target("runbook", id),
    )
    .await?;
    let out = runbooks::get(&mut db, id, None).await?;
    db.commit().await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// A runbook's current version.
#[utoipa::path(get, path = "/orgs/{org_id}/runbooks/{runbook_id}", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("runbook_id" = RunbookId, Path)),
    responses((status = 200, body = RunbookOut)))]
async fn get_runbook(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, RunbookId)>,
) -> Result<Json<RunbookOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(runbooks::get(&mut db, id, None).await?))
}

/// Save a new version of a runbook (the whole runbook, as for `POST`). With `base_version` — the version the
/// edit started from — a save on top of a newer version answers 409 `version_conflict` instead of silently
/// overwriting someone's edit.
#[utoipa::path(put, path = "/orgs/{org_id}/runbooks/{runbook_id}", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("runbook_id" = RunbookId, Path)), request_body = RunbookIn,
    responses((status = 200, body = RunbookOut),
        (status = 409, description = "`version_conflict`: the runbook has a newer version than `base_version`", body = insights_types::ErrorBody),
        (status = 413, description = "Body larger than 2 MiB", body = insights_types::ErrorBody)))]
async fn update_runbook(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, RunbookId)>,
    Json(body): Json<RunbookIn>,
) -> Result<Json<RunbookOut>, ApiError> {
    member.require(Permission::EditRunbooks)?;
    let r = valid(&body)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let number = runbooks::save(
        &mut db,
        Some(member.user_id),
        id,
        r,
        body.base_version,
        VersionOrigin::default(),
    )
    .await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbook_updated", ip)
            .target("runbook", id)
            .details(serde_json::json!({ "version": number })),
    )
    .await?;
    let out = runbooks::get(&mut db, id, None).await?;
    db.commit().await?;
    Ok(Json(out))
}

/// Delete a runbook with all its versions; it leaves search within seconds.
#[utoipa::path(delete, path = "/orgs/{org_id}/runbooks/{runbook_id}", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("runbook_id" = RunbookId, Path)),
    responses((status = 204, description = "Deleted")))]
async fn delete_runbook(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, RunbookId)>,
) -> Result<StatusCode, ApiError> {
    member.require(Permission::EditRunbooks)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let title = runbooks::get(&mut db, id, None).await?.title;
    runbooks::delete(&mut db, id).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbook_deleted", ip)
            .target("runbook", id)
            .details(serde_json::json!({ "title": title })),
    )
    .await?;
    db.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a runbook, newest first (one page: `next_cursor` is always null).
#[utoipa::path(get, path = "/orgs/{org_id}/runbooks/{runbook_id}/versions", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("runbook_id" = RunbookId, Path)),
    responses((status = 200, body = Page<RunbookVersionOut>)))]
async fn list_versions(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, RunbookId)>,
) -> Result<Json<Page<RunbookVersionOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(Page {
        items: runbooks::versions(&mut db, id).await?,
        next_cursor: None,
    }))
}

/// One version of a runbook (`version` is its number, `current_version` the latest).
#[utoipa::path(get, path = "/orgs/{org_id}/runbooks/{runbook_id}/versions/{number}", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("runbook_id" = RunbookId, Path), ("number" = i32, Path, description = "The version's number, from 1")),
    responses((status = 200, body = RunbookOut)))]
async fn get_version(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id, number)): Path<(OrgId, RunbookId, i32)>,
) -> Result<Json<RunbookOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(runbooks::get(&mut db, id, Some(number)).await?))
}

/// The two versions of a diff.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DiffParams {
    /// The older version's number.
    from: i32,
    /// The newer version's number.
    to: i32,
}

/// A line diff of two versions' Markdown form (title, body, then the steps with their commands, risks and
/// expected results): each line `same`, `added` (only in `to`) or `removed` (only in `from`).
#[utoipa::path(get, path = "/orgs/{org_id}/runbooks/{runbook_id}/diff", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("runbook_id" = RunbookId, Path), DiffParams),
    responses((status = 200, body = RunbookDiffOut)))]
async fn diff_versions(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, RunbookId)>,
    Query(p): Query<DiffParams>,
) -> Result<Json<RunbookDiffOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(runbooks::diff(&mut db, id, p.from, p.to).await?))
}

/// Restore an old version: it is saved again as the newest version (`restored_from` in the history says
/// which); links to services or patterns deleted since are dropped.
#[utoipa::path(post, path = "/orgs/{org_id}/runbooks/{runbook_id}/versions/{number}/restore", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("runbook_id" = RunbookId, Path), ("number" = i32, Path, description = "The version to restore")),
    responses((status = 200, body = RunbookOut)))]
async fn restore_version(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id, number)): Path<(OrgId, RunbookId, i32)>,
) -> Result<Json<RunbookOut>, ApiError> {
    member.require(Permission::EditRunbooks)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let new = runbooks::restore(&mut db, Some(member.user_id), id, number).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbook_restored", ip)
            .target("runbook", id)
            .details(serde_json::json!({ "restored": number, "version": new })),
    )
    .await?;
    let out = runbooks::get(&mut db, id, None).await?;
    db.commit().await?;
    Ok(Json(out))
}

/// Import Markdown files (1–50, each up to 100,000 characters) as runbooks (source `imported`), together or
/// not at all: a bad file answers 422 naming it (`files[i].…`) and nothing is stored. In each file, the first
/// `#` heading (else the file's name) is the title; a step section ("Steps", "Procedure", …: its numbered
/// items or sub-headings), else `## Step n` headings, else the first numbered list, gives the steps; a fenced
/// block under a step is its command (the language from the fence, else from the command); the rest is the
/// body. `tags` are added to every runbook.
#[utoipa::path(post, path = "/orgs/{org_id}/runbooks/import", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = RunbookImportIn,
    responses((status = 201, body = RunbookImportOut),
        (status = 413, description = "Body larger than 8 MiB", body = insights_types::ErrorBody)))]
async fn import_runbooks(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Json(body): Json<RunbookImportIn>,
) -> Result<(StatusCode, Json<RunbookImportOut>), ApiError> {
    member.require(Permission::EditRunbooks)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let ids = import::import(&mut db, Some(member.user_id), &body).await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in &ids {
        items.push(runbooks::summary(&mut db, *id).await?);
    }
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbooks_imported", ip).details(
            serde_json::json!({ "runbooks": ids, "files": body.files.iter().map(|f| &f.name).collect::<Vec<_>>() }),
        ),
    )
    .await?;
    db.commit().await?;
    Ok((StatusCode::CREATED, Json(RunbookImportOut { items })))
}

/// What the search index has still to catch up with: changes not indexed yet, those that failed (retried with
/// backoff) and the last error.
#[utoipa::path(get, path = "/orgs/{org_id}/runbooks/index-status", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)),
    responses((status = 200, body = RunbookIndexStatusOut)))]
async fn index_status(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<RunbookIndexStatusOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    Ok(Json(runbooks::index_status(&mut db).await?))
}

/// Index the organization's runbooks and past fixes again (idempotent; the worker does it). Answers the index
/// status with the request counted.
#[utoipa::path(post, path = "/orgs/{org_id}/runbooks/reindex", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)),
    responses((status = 202, body = RunbookIndexStatusOut)))]
async fn reindex(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
) -> Result<(StatusCode, Json<RunbookIndexStatusOut>), ApiError> {
    member.require(Permission::ManageGeneration)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    runbooks::request_reindex(&mut db).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "runbooks_reindex_requested", ip),
    )
    .await?;
    let status = runbooks::index_status(&mut db).await?;
    db.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(status)))
}
