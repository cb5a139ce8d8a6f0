//! Incidents in the unified schema: the filtered, cursor-paginated list, one incident with its timeline, and
//! the export of the whole (filtered) history as CSV or JSON lines.

mod export;

use crate::error::ApiError;
use crate::http::{Json, ListQuery, OrgMember, Path, Query};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, Utc};
use insights_core::db::incidents::{self, IncidentFilter};
use insights_types::api::{
    IncidentDetailOut, IncidentOut, IncidentSource, IncidentStatus, Page, ServiceOut, TeamOut,
    Urgency,
};
use insights_types::{IncidentId, OrgId, Permission};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents))
        .routes(routes!(get_incident))
        .routes(routes!(export::export_incidents))
        .routes(routes!(list_services))
        .routes(routes!(list_teams))
}

/// Sort order of the incident list.
#[derive(Debug, Default, Clone, Copy, Deserialize, utoipa::ToSchema)]
enum IncidentSort {
    /// Newest first (default).
    #[default]
    #[serde(rename = "-triggered_at")]
    NewestFirst,
    /// Oldest first.
    #[serde(rename = "triggered_at")]
    OldestFirst,
}

/// Order and page of the incident list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// `-triggered_at` (newest first, default) or `triggered_at`.
    #[param(inline)]
    sort: Option<IncidentSort>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// The filters of the incident list, shared by the export and the analytics endpoints: one parser, so a number
/// on the dashboard drills into the list with the same query string.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FilterQuery {
    source: Option<IncidentSource>,
    status: Option<IncidentStatus>,
    /// A service id (from an incident's `service.id`).
    service: Option<uuid::Uuid>,
    /// A team id.
    team: Option<uuid::Uuid>,
    urgency: Option<Urgency>,
    /// Triggered at or after (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Triggered before (RFC 3339).
    until: Option<DateTime<Utc>>,
    /// Text in the title or description (case-insensitive), at most 200 characters.
    #[param(max_length = 200)]
    q: Option<String>,
    /// A pattern id (an alias of a merged pattern stands for the pattern it went into).
    pattern: Option<uuid::Uuid>,
}

impl FilterQuery {
    /// The filter, or `400 invalid_query` (`q` too long or holding control characters, `since` not before
    /// `until`).
    pub(crate) fn parse(self, ascending: bool) -> Result<IncidentFilter, ApiError> {
        if self.q.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(ApiError::bad_request(
                "invalid_query",
                "`q` is at most 200 characters.",
            ));
        }
        // No title holds one, and PostgreSQL text cannot hold a NUL at all.
        if self
            .q
            .as_ref()
            .is_some_and(|t| t.chars().any(char::is_control))
        {
            return Err(ApiError::bad_request(
                "invalid_query",
                "`q` must not contain control characters.",
            ));
        }
        // Far enough for any history, near enough that a period and the one before it stay printable dates.
        let sane = |t: DateTime<Utc>| (1970..2200).contains(&t.year());
        if !self.since.into_iter().chain(self.until).all(sane) {
            return Err(ApiError::bad_request(
                "invalid_query",
                "`since` and `until` are between 1970 and 2199.",
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since >= until
        {
            return Err(ApiError::bad_request(
                "invalid_query",
                "`since` must be before `until`.",
            ));
        }
        Ok(IncidentFilter {
            source: self.source,
            status: self.status,
            service_id: self.service,
            team_id: self.team,
            urgency: self.urgency,
            since: self.since,
            until: self.until,
            text: self.q.filter(|t| !t.trim().is_empty()),
            pattern_id: self.pattern,
            ascending,
        })
    }
}

/// Incidents from every connected source, filtered and paginated.
#[utoipa::path(get, path = "/orgs/{org_id}/incidents", tag = "incidents", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), FilterQuery, PageQuery), responses((status = 200, body = Page<IncidentOut>)))]
async fn list_incidents(
    State(state): State<AppState>,
    member: OrgMember,
    Query(filter): Query<FilterQuery>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let (after, limit) = ListQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .parse()?;
    let filter = filter.parse(matches!(
        q.sort.unwrap_or_default(),
        IncidentSort::OldestFirst
    ))?;
    // A page served lately is served again from memory until the organization's incidents change (the page
    // is the same for every member: incidents are the organization's).
    let key = format!("{filter:?}|{after:?}|{limit}");
    if let Some(body) = state.cache.page(member.org_id, &key) {
        return Ok(json_body(body));
    }
    let ticket = state.cache.page_ticket();
    let mut db = state
        .db
        .org_read_tx(member.org_id, Some(member.user_id))
        .await?;
    let (items, next_cursor) = incidents::list(&mut db, &filter, after, limit).await?;
    drop(db);
    let body = Bytes::from(
        serde_json::to_vec(&Page { items, next_cursor })
            .map_err(|e| ApiError::Internal(e.into()))?,
    );
    state
        .cache
        .put_page(ticket, member.org_id, key, body.clone());
    Ok(json_body(body))
}

fn json_body(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// One incident with its description and timeline, and its recurring pattern: why it is there (the template
/// its title matches, the slot values, the similarity), similar incidents of the pattern and related incidents
/// (of patterns that usually happen together with it, started within 5 minutes).
#[utoipa::path(get, path = "/orgs/{org_id}/incidents/{incident_id}", tag = "incidents", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ("incident_id" = IncidentId, Path)), responses((status = 200, body = IncidentDetailOut)))]
async fn get_incident(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(OrgId, IncidentId)>,
) -> Result<Json<IncidentDetailOut>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let mut detail = incidents::get(&mut db, id).await?;
    detail.pattern = insights_core::patterns::query::of_incident(&mut db, id).await?;
    Ok(Json(detail))
}

/// Every service incidents belong to, by name (for filters).
#[utoipa::path(get, path = "/orgs/{org_id}/services", tag = "incidents", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = Page<ServiceOut>)))]
async fn list_services(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<ServiceOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state
        .db
        .org_read_tx(member.org_id, Some(member.user_id))
        .await?;
    Ok(Json(Page {
        items: incidents::services(&mut db).await?,
        next_cursor: None,
    }))
}

/// Every team incidents belong to, by name (for filters).
#[utoipa::path(get, path = "/orgs/{org_id}/teams", tag = "incidents", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), responses((status = 200, body = Page<TeamOut>)))]
async fn list_teams(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Json<Page<TeamOut>>, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let mut db = state
        .db
        .org_read_tx(member.org_id, Some(member.user_id))
        .await?;
    Ok(Json(Page {
        items: incidents::teams(&mut db).await?,
        next_cursor: None,
    }))
}
