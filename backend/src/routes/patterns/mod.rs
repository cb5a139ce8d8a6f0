//! Recurring patterns (issue 11): the pattern list with figures over a period, one pattern, and people's
//! corrections — rename, mute, merge, move an incident. Reads come from `insights_core::patterns::query`; the
//! corrections are `insights_core::patterns`' (each survives refinement and bumps the analytics version), and
//! each is audited here. An id that was merged away answers as the pattern it went into.

use crate::error::ApiError;
use crate::http::{ClientIp, Json, OrgMember, Path, Query};
use crate::routes::analytics::{cached, wire};
use crate::routes::incidents::FilterQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use insights_core::db::audit::{self, AuditEntry};
use insights_core::db::incidents::IncidentFilter;
use insights_core::patterns::query::{self, Cursor, ListQuery, MutedFilter};
use insights_core::patterns::{self, MoveTarget};
use insights_types::api::{
    IncidentPatternIn, IncidentPatternMovedOut, PatternDetailOut, PatternMergeIn, PatternPageOut,
    PatternPatch, PatternSort, SortOrder,
};
use insights_types::domain::PatternName;
use insights_types::{FieldError, IncidentId, OrgId, PatternId, Permission};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_patterns))
        .routes(routes!(get_pattern, update_pattern))
        .routes(routes!(merge_pattern))
        .routes(routes!(move_incident))
}

/// The most patterns a page has, and how many by default.
const MAX_LIMIT: u32 = 100;
const DEFAULT_LIMIT: u32 = 25;

/// Which patterns by their muted flag.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum MutedParam {
    /// Muted ones only.
    True,
    /// Unmuted ones only (the default).
    False,
    /// Both.
    All,
}

/// Order, muted filter and page of the pattern list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// `count` (default: incidents in the period), `cost` (total time to resolve), `recent` (last seen) or
    /// `growth` (count minus the previous period's).
    sort: Option<PatternSort>,
    /// `desc` (default) or `asc`; ties go by id.
    order: Option<SortOrder>,
    /// `false` (default: unmuted patterns only), `true` (muted only) or `all`.
    #[param(inline)]
    muted: Option<MutedParam>,
    /// The `next_cursor` of the previous page (for the same `sort` and `order`).
    cursor: Option<String>,
    /// Patterns per page, 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// Every pattern with incidents matching the incident list's filters in the period (`since`–`until`; all time
/// without `since`, and then no previous period: `previous_count` 0, trend `steady`), with its figures over
/// that period: count, the previous period's count and the trend, MTTA, MTTR, off-hours share and cost (total
/// time to resolve), its most frequent services and teams, examples, and a sparkline (the analytics `top`
/// table's buckets). Answers are cached like the analytics ones (per analytics version, which every pattern
/// correction and refinement bumps).
#[utoipa::path(get, path = "/orgs/{org_id}/patterns", tag = "patterns", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), FilterQuery, ListParams), responses((status = 200, body = PatternPageOut)))]
async fn list_patterns(
    State(state): State<AppState>,
    member: OrgMember,
    Query(filter): Query<FilterQuery>,
    Query(p): Query<ListParams>,
) -> Result<Response, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let f = filter.parse(false)?;
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`limit` is from 1 to {MAX_LIMIT}."),
        ));
    }
    let sort = p.sort.unwrap_or_default();
    let order = p.order.unwrap_or_default();
    let after = match p.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(Cursor::decode(c, sort, order).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "`cursor` is not a cursor this list issued for this `sort` and `order`.",
            )
        })?),
    };
    let muted = match p.muted {
        None | Some(MutedParam::False) => MutedFilter::Unmuted,
        Some(MutedParam::True) => MutedFilter::Muted,
        Some(MutedParam::All) => MutedFilter::All,
    };
    let params = [
        ("sort", wire(&sort)),
        ("order", wire(&order)),
        ("muted", format!("{muted:?}")),
        ("cursor", p.cursor.unwrap_or_default()),
        ("limit", limit.to_string()),
    ];
    let q = ListQuery {
        sort,
        order,
        muted,
        after,
        limit: limit as usize,
    };
    cached(&state, &member, "patterns", &f, &params, async |db, at| {
        query::list(db, &f, &q, at).await
    })
    .await
}

/// The pattern's answer; when the id was merged into another pattern, the answer is that pattern's (its `id`)
/// with `Content-Location` naming it.
fn detail_response(org: OrgId, asked: PatternId, d: PatternDetailOut) -> Response {
    let moved = d.pattern.id != asked;
    let location = format!("/api/v1/orgs/{org}/patterns/{}", d.pattern.id);
    let mut r = Json(d).into_response();
    if moved && let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    r
}

/// One pattern with its figures over the period and filters (as in the list), its templates, the ids merged
/// into it, its latest 20 incidents, a count series (buckets chosen like the analytics time series) and the
/// patterns that usually happen together with it. An id merged into another pattern answers that pattern
/// (its `id`, and `Content-Location`).
#[utoipa::path(get, path = "/orgs/{org_id}/patterns/{pattern_id}", tag = "patterns", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("pattern_id" = PatternId, Path), FilterQuery),
    responses((status = 200, body = PatternDetailOut,
        headers(("content-location" = String, description = "The pattern's own URL, when the id asked for was merged into it")))))]
async fn get_pattern(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, PatternId)>,
    Query(filter): Query<FilterQuery>,
) -> Result<Response, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let f = filter.parse(false)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let d = query::detail(&mut db, id, &f, chrono::Utc::now())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(detail_response(member.org_id, id, d))
}

/// The pattern `id` stands for, or 404.
async fn existing(db: &mut insights_core::db::OrgTx, id: PatternId) -> Result<PatternId, ApiError> {
    insights_core::patterns::resolve(db, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// The pattern a body's field names, or a 422 on that field.
async fn named_in_body(
    db: &mut insights_core::db::OrgTx,
    field: &str,
    id: PatternId,
) -> Result<PatternId, ApiError> {
    insights_core::patterns::resolve(db, id)
        .await?
        .ok_or_else(|| FieldError::new(field, "not_found", "no such pattern").into())
}

/// The pattern after a correction, over all time.
async fn all_time(
    db: &mut insights_core::db::OrgTx,
    id: PatternId,
) -> Result<PatternDetailOut, ApiError> {
    query::detail(db, id, &IncidentFilter::default(), chrono::Utc::now())
        .await?
        .ok_or(ApiError::NotFound)
}

/// Rename a pattern (`name`, trimmed, 1–200 characters; `null` goes back to its template) or mute it
/// (`muted`): a muted pattern leaves the default pattern list. A renamed pattern keeps its id through
/// refinement. Answers the pattern over all time.
#[utoipa::path(patch, path = "/orgs/{org_id}/patterns/{pattern_id}", tag = "patterns", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("pattern_id" = PatternId, Path)), request_body = PatternPatch,
    responses((status = 200, body = PatternDetailOut)))]
async fn update_pattern(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, PatternId)>,
    Json(body): Json<PatternPatch>,
) -> Result<Response, ApiError> {
    member.require(Permission::EditPatterns)?;
    let name = match body.name {
        Some(Some(n)) => Some(Some(PatternName::parse_field("name", &n)?.into_inner())),
        Some(None) => Some(None),
        None => None,
    };
    if name.is_none() && body.muted.is_none() {
        return Err(FieldError::new("name", "required", "give `name`, `muted` or both").into());
    }
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let pid = existing(&mut db, id).await?;
    if let Some(name) = name {
        patterns::rename(&mut db, member.user_id, pid, name.clone()).await?;
        audit::record(
            &mut db,
            AuditEntry::new(Some(member.user_id), "pattern_renamed", ip)
                .target("pattern", pid)
                .details(serde_json::json!({ "name": name })),
        )
        .await?;
    }
    if let Some(muted) = body.muted {
        patterns::set_muted(&mut db, member.user_id, pid, muted).await?;
        let action = if muted {
            "pattern_muted"
        } else {
            "pattern_unmuted"
        };
        audit::record(
            &mut db,
            AuditEntry::new(Some(member.user_id), action, ip).target("pattern", pid),
        )
        .await?;
    }
    let d = all_time(&mut db, pid).await?;
    db.commit().await?;
    Ok(detail_response(member.org_id, id, d))
}

/// Merge the pattern into `into`, which keeps its id: its incidents and templates go there (future incidents
/// like them too), and its id becomes an alias of `into`. Merging a pattern into itself is a 422 on `into`, as
/// is an `into` that does not exist. Answers `into` over all time.
#[utoipa::path(post, path = "/orgs/{org_id}/patterns/{pattern_id}/merge", tag = "patterns", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("pattern_id" = PatternId, Path)), request_body = PatternMergeIn,
    responses((status = 200, body = PatternDetailOut)))]
async fn merge_pattern(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, id)): Path<(OrgId, PatternId)>,
    Json(body): Json<PatternMergeIn>,
) -> Result<Json<PatternDetailOut>, ApiError> {
    member.require(Permission::EditPatterns)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let from = existing(&mut db, id).await?;
    let into = named_in_body(&mut db, "into", body.into).await?;
    if from == into {
        return Err(
            FieldError::new("into", "same_pattern", "cannot merge a pattern into itself").into(),
        );
    }
    let target = patterns::merge(&mut db, member.user_id, from, into).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "pattern_merged", ip)
            .target("pattern", from)
            .details(serde_json::json!({ "into": target })),
    )
    .await?;
    let d = all_time(&mut db, target).await?;
    db.commit().await?;
    Ok(Json(d))
}

/// Move an incident to another pattern (`{"pattern_id": …}`) or to a new one of its own (`{"new": true}`);
/// exactly one of the two, else 422. The incident stays where it was put through refinement, and future
/// incidents with its title's template follow it. Answers the incident's new pattern over all time.
#[utoipa::path(post, path = "/orgs/{org_id}/incidents/{incident_id}/pattern", tag = "patterns", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("incident_id" = IncidentId, Path)), request_body = IncidentPatternIn,
    responses((status = 200, body = IncidentPatternMovedOut)))]
async fn move_incident(
    State(state): State<AppState>,
    member: OrgMember,
    ClientIp(ip): ClientIp,
    Path((_, incident)): Path<(OrgId, IncidentId)>,
    Json(body): Json<IncidentPatternIn>,
) -> Result<Json<IncidentPatternMovedOut>, ApiError> {
    member.require(Permission::EditPatterns)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let target = match (body.pattern_id, body.new) {
        (Some(p), None) => MoveTarget::Existing(named_in_body(&mut db, "pattern_id", p).await?),
        (None, Some(true)) => MoveTarget::New,
        _ => {
            return Err(FieldError::new(
                "pattern_id",
                "one_of",
                "give either `pattern_id` or `\"new\": true`",
            )
            .into());
        }
    };
    let to = patterns::move_incident(&mut db, member.user_id, incident, target).await?;
    audit::record(
        &mut db,
        AuditEntry::new(Some(member.user_id), "incident_pattern_moved", ip)
            .target("incident", incident)
            .details(serde_json::json!({ "pattern": to, "new": target == MoveTarget::New })),
    )
    .await?;
    let pattern = all_time(&mut db, to).await?.pattern;
    db.commit().await?;
    Ok(Json(IncidentPatternMovedOut {
        incident_id: incident,
        pattern,
    }))
}
