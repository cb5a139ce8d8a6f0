//! Runbooks: the library (list with filters, one runbook, its versions and their diff, restore, delete,
//! import of Markdown files), search over the index (by text, incident or pattern), drafts generated or
//! assembled from retrieved sources (ask, read while it runs, list, save as a runbook), the index's
//! status, and the organization's generation settings. Filters are passed as query pairs already encoded.

use super::{ApiResult, NO_BODY, call, get};
use crate::session::Session;
use insights_types::api::{
    Page, RunbookDiffOut, RunbookGenerationCreatedOut, RunbookGenerationIn, RunbookGenerationOut,
    RunbookImportIn, RunbookImportOut, RunbookIn, RunbookIndexStatusOut, RunbookOut, RunbookSaveIn,
    RunbookSearchOut, RunbookSettingsIn, RunbookSettingsOut, RunbookSummaryOut, RunbookVersionOut,
};
use insights_types::{OrgId, RunbookGenerationId, RunbookId};

/// `path?{params}` (just `path` without any).
fn with_query(path: String, params: &[String]) -> String {
    if params.is_empty() {
        path
    } else {
        format!("{path}?{}", params.join("&"))
    }
}

/// `key=value`, the value encoded for a query string.
#[must_use]
pub fn pair(key: &str, value: &str) -> String {
    format!("{key}={}", js_sys::encode_uri_component(value))
}

/// `GET /api/v1/orgs/{org}/runbooks?{params}&limit=…&cursor=…`: `params` are the filters (`q`, `tag`,
/// `service`, `pattern`, `source`); `cursor` is the previous page's `next_cursor`.
pub fn list_runbooks(
    session: Session,
    org: OrgId,
    params: &[String],
    limit: u32,
    cursor: Option<&str>,
) -> impl Future<Output = ApiResult<Page<RunbookSummaryOut>>> {
    let mut params = params.to_vec();
    params.push(format!("limit={limit}"));
    if let Some(c) = cursor {
        params.push(pair("cursor", c));
    }
    get(
        session,
        with_query(format!("/api/v1/orgs/{org}/runbooks"), &params),
    )
}

/// `POST /api/v1/orgs/{org}/runbooks`: a new runbook (its version 1).
pub fn create_runbook(
    session: Session,
    org: OrgId,
    body: &RunbookIn,
) -> impl Future<Output = ApiResult<RunbookOut>> {
    call(
        session,
        "POST",
        format!("/api/v1/orgs/{org}/runbooks"),
        Some(body),
    )
}

/// `GET /api/v1/orgs/{org}/runbooks/{id}`: its current version.
pub fn get_runbook(
    session: Session,
    org: OrgId,
    id: RunbookId,
) -> impl Future<Output = ApiResult<RunbookOut>> {
    get(session, format!("/api/v1/orgs/{org}/runbooks/{id}"))
}

/// `PUT /api/v1/orgs/{org}/runbooks/{id}`: saves a new version (409 `version_conflict` when `base_version`
/// is no longer the latest).
pub fn save_runbook(
    session: Session,
    org: OrgId,
    id: RunbookId,
    body: &RunbookIn,
) -> impl Future<Output = ApiResult<RunbookOut>> {
    call(
        session,
        "PUT",
        format!("/api/v1/orgs/{org}/runbooks/{id}"),
        Some(body),
    )
}

/// `DELETE /api/v1/orgs/{org}/runbooks/{id}`.
pub fn delete_runbook(
    session: Session,
    org: OrgId,
    id: RunbookId,
) -> impl Future<Output = ApiResult<()>> {
    call(
        session,
        "DELETE",
        format!("/api/v1/orgs/{org}/runbooks/{id}"),
        NO_BODY,
    )
}

/// `GET /api/v1/orgs/{org}/runbooks/{id}/versions`: every version, newest first (a small bounded list, in
/// the shape of a page).
pub fn list_versions(
    session: Session,
    org: OrgId,
    id: RunbookId,
) -> impl Future<Output = ApiResult<Page<RunbookVersionOut>>> {
    get(
        session,
        format!("/api/v1/orgs/{org}/runbooks/{id}/versions"),
    )
}

/// `GET /api/v1/orgs/{org}/runbooks/{id}/versions/{n}`: one version as it was saved.
pub fn get_version(
    session: Session,
    org: OrgId,
    id: RunbookId,
    n: i32,
) -> impl Future<Output = ApiResult<RunbookOut>> {
    get(
        session,
        format!("/api/v1/orgs/{org}/runbooks/{id}/versions/{n}"),
    )
}

/// `GET /api/v1/orgs/{org}/runbooks/{id}/diff?from=&to=`: the line diff of two versions' Markdown forms.
pub fn diff_versions(
    session: Session,
    org: OrgId,
    id: RunbookId,
    from: i32,
    to: i32,
) -> impl Future<Output = ApiResult<RunbookDiffOut>> {
    get(
        session,
        format!("/api/v1/orgs/{org}/runbooks/{id}/diff?from={from}&to={to}"),
    )
}

/// `POST /api/v1/orgs/{org}/runbooks/{id}/versions/{n}/restore`: a new version with version `n`'s content.
pub fn restore_version(
    session: Session,
    org: OrgId,
    id: RunbookId,
    n: i32,
) -> impl Future<Output = ApiResult<RunbookOut>> {
    call(
        session,
        "POST",
        format!("/api/v1/orgs/{org}/runbooks/{id}/versions/{n}/restore"),
        NO_BODY,
    )
}

/// `POST /api/v1/orgs/{org}/runbooks/import`: Markdown files, imported together or not at all.
pub fn import_runbooks(
    session: Session,
    org: OrgId,
    body: &RunbookImportIn,
) -> impl Future<Output = ApiResult<RunbookImportOut>> {
    call(
        session,
        "POST",
        format!("/api/v1/orgs/{org}/runbooks/import"),
        Some(body),
    )
}

/// `GET /api/v1/orgs/{org}/runbooks/search?{params}`: `params` hold `q`, `incident_id` or `pattern_id`, and
/// the filters (`tag`, `service`, `pattern`, `kind`, `limit`). No model is involved.
pub fn search(
    session: Session,
    org: OrgId,
    params: &[String],
) -> impl Future<Output = ApiResult<RunbookSearchOut>> {
    get(
        session,
        with_query(format!("/api/v1/orgs/{org}/runbooks/search"), params),
    )
}

/// `GET /api/v1/orgs/{org}/runbooks/index-status`: changes the index has not caught up with yet.
pub fn index_status(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<RunbookIndexStatusOut>> {
    get(session, format!("/api/v1/orgs/{org}/runbooks/index-status"))
}

/// `POST /api/v1/orgs/{org}/runbooks/reindex`: indexes every runbook and past fix again (202).
pub fn reindex(session: Session, org: OrgId) -> impl Future<Output = ApiResult<serde_json::Value>> {
    call(
        session,
        "POST",
        format!("/api/v1/orgs/{org}/runbooks/reindex"),
        NO_BODY,
    )
}

/// `POST /api/v1/orgs/{org}/runbook-generations`: asks for a draft (202; 429 `token_budget_spent` when the
/// month's budget is spent).
pub fn generate(
    session: Session,
    org: OrgId,
    body: &RunbookGenerationIn,
) -> impl Future<Output = ApiResult<RunbookGenerationCreatedOut>> {
    call(
        session,
        "POST",
        format!("/api/v1/orgs/{org}/runbook-generations"),
        Some(body),
    )
}

/// `GET /api/v1/orgs/{org}/runbook-generations/{id}`: its status, progress, draft, sources and what was sent.
pub fn get_generation(
    session: Session,
    org: OrgId,
    id: RunbookGenerationId,
) -> impl Future<Output = ApiResult<RunbookGenerationOut>> {
    get(
        session,
        format!("/api/v1/orgs/{org}/runbook-generations/{id}"),
    )
}

/// `GET /api/v1/orgs/{org}/runbook-generations[?all=true]`: one's own drafts (`all`: everyone's, for those
/// who manage generation).
pub fn list_generations(
    session: Session,
    org: OrgId,
    all: bool,
    cursor: Option<&str>,
) -> impl Future<Output = ApiResult<Page<RunbookGenerationOut>>> {
    let mut params = vec!["limit=20".to_owned()];
    if all {
        params.push("all=true".to_owned());
    }
    if let Some(c) = cursor {
        params.push(pair("cursor", c));
    }
    get(
        session,
        with_query(format!("/api/v1/orgs/{org}/runbook-generations"), &params),
    )
}

/// `POST /api/v1/orgs/{org}/runbook-generations/{id}/save`: the draft becomes a runbook (source `generated`).
pub fn save_generation(
    session: Session,
    org: OrgId,
    id: RunbookGenerationId,
    body: &RunbookSaveIn,
) -> impl Future<Output = ApiResult<RunbookOut>> {
    call(
        session,
        "POST",
        format!("/api/v1/orgs/{org}/runbook-generations/{id}/save"),
        Some(body),
    )
}

/// `GET /api/v1/orgs/{org}/runbook-settings`.
pub fn get_settings(
    session: Session,
    org: OrgId,
) -> impl Future<Output = ApiResult<RunbookSettingsOut>> {
    get(session, format!("/api/v1/orgs/{org}/runbook-settings"))
}

/// `PUT /api/v1/orgs/{org}/runbook-settings`.
pub fn put_settings(
    session: Session,
    org: OrgId,
    body: &RunbookSettingsIn,
) -> impl Future<Output = ApiResult<RunbookSettingsOut>> {
    call(
        session,
        "PUT",
        format!("/api/v1/orgs/{org}/runbook-settings"),
        Some(body),
    )
}
