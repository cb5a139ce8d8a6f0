//! Search over the organization's runbooks and past fixes (`GET …/runbooks/search`). The vector index is
//! owned by the worker, so the API asks it over Redis (`insights_core::search::ask`) and waits at most
//! `INSIGHTS_SEARCH_TIMEOUT_MS`; no answer in time is 503 `search_unavailable`. No model is called.

use super::text_param;
use crate::error::ApiError;
use crate::http::{Json, OrgMember, Query};
use crate::state::AppState;
use axum::extract::State;
use insights_core::runbooks::search_text;
use insights_core::search::{self, SearchError, SearchFilter, SearchQuery};
use insights_types::api::{RunbookSearchHitOut, RunbookSearchOut, SourceKind};
use insights_types::{IncidentId, OrgId, PatternId, Permission, ServiceId};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_runbooks))
}

/// The longest free-text query.
const MAX_QUERY: usize = 1000;
/// Hits per answer by default, and at most.
const DEFAULT_LIMIT: u32 = 10;
const MAX_LIMIT: u32 = 50;

/// What to search for (exactly one of `q`, `incident_id`, `pattern_id`) and what to keep.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchParams {
    /// Free text, up to 1000 characters.
    q: Option<String>,
    /// Search for what fixes this incident: its title, service, pattern and description (its own past fix is
    /// left out).
    incident_id: Option<IncidentId>,
    /// Search for what fixes this pattern: its name or template and example titles.
    pattern_id: Option<PatternId>,
    /// Keep runbooks with this tag.
    tag: Option<String>,
    /// Keep hits linked to this service.
    service: Option<ServiceId>,
    /// Keep hits linked to this pattern.
    pattern: Option<PatternId>,
    /// `runbook` (runbook sections and steps) or `past_fix` (resolved incidents' notes and timeline entries).
    #[param(inline)]
    kind: Option<SourceKind>,
    /// Hits, 1–50 (default 10).
    limit: Option<u32>,
}

/// Search the organization's runbooks and past fixes: hybrid (sparse lexical and, with an embeddings model,
/// dense vectors, fused by reciprocal rank) or lexical (`mode` says which), best first, each hit with its
/// source (runbook version and step, or incident and timeline entry) and a snippet with the matched terms
/// highlighted. `incident_id` or `pattern_id` searches with text built from it (`query` shows it); an unknown
/// one is 404.
#[utoipa::path(get, path = "/orgs/{org_id}/runbooks/search", tag = "runbooks", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), SearchParams),
    responses((status = 200, body = RunbookSearchOut),
        (status = 503, description = "`search_unavailable`: no worker answered in time (or `unavailable`, `database_timeout`)", body = insights_types::ErrorBody)))]
async fn search_runbooks(
    State(state): State<AppState>,
    member: OrgMember,
    Query(p): Query<SearchParams>,
) -> Result<Json<RunbookSearchOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let q = text_param("q", p.q, MAX_QUERY)?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`limit` is from 1 to {MAX_LIMIT}."),
        ));
    }
    let tag = text_param("tag", p.tag, 50)?.map(|t| t.to_lowercase());
    let mut filter = SearchFilter {
        kinds: p.kind.into_iter().collect(),
        tags: tag.into_iter().collect(),
        service_ids: p.service.into_iter().collect(),
        pattern_ids: vec![],
        exclude_incidents: vec![],
    };
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    if let Some(pattern) = p.pattern {
        let resolved = insights_core::patterns::resolve(&mut db, pattern).await?;
        filter.pattern_ids.push(resolved.unwrap_or(pattern));
    }
    let text = match (q, p.incident_id, p.pattern_id) {
        (Some(q), None, None) => q,
        (None, Some(incident), None) => {
            filter.exclude_incidents.push(incident);
            search_text::for_incident(&mut db, incident)
                .await?
                .ok_or(ApiError::NotFound)?
        }
        (None, None, Some(pattern)) => search_text::for_pattern(&mut db, pattern)
            .await?
            .ok_or(ApiError::NotFound)?,
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "Give exactly one of `q`, `incident_id` and `pattern_id`.",
            ));
        }
    };
    db.commit().await?;
    let query = SearchQuery {
        text: text.clone(),
        limit: limit as usize,
        filter,
    };
    let answer = search::ask(
        &state.redis_client,
        &state.config.jobs.redis_prefix,
        member.org_id,
        query,
        state.config.vector.search_timeout,
    )
    .await
    .map_err(|e| match e {
        SearchError::Unavailable(why) => ApiError::NotAnswering {
            code: "search_unavailable",
            message: format!(
                "Search is unavailable: no worker answered in time ({why}). Try again shortly."
            ),
        },
        SearchError::Failed(why) => ApiError::Internal(anyhow::anyhow!("search failed: {why}")),
    })?;
    Ok(Json(RunbookSearchOut {
        items: answer
            .hits
            .into_iter()
            .map(|h| RunbookSearchHitOut {
                source: h.source,
                snippet: h.snippet,
                score: h.score,
            })
            .collect(),
        mode: answer.mode,
        query: text,
    }))
}
