//! Recurring patterns: a page of them with their figures over a period and the incident list's filters, one
//! with its templates, incidents, trend and related patterns, and people's corrections (rename, mute, merge,
//! move an incident). Filters and the period are passed as query pairs already encoded, as the analytics
//! reads take them.

use super::{ApiResult, call, get};
use crate::session::Session;
use insights_types::api::{
    IncidentPatternIn, IncidentPatternMovedOut, PatternDetailOut, PatternMergeIn, PatternPageOut,
    PatternPatch,
};
use insights_types::{IncidentId, OrgId, PatternId};

/// `path?{params}` (just `path` without any).
fn with_query(path: String, params: &[String]) -> String {
    if params.is_empty() {
        path
    } else {
        format!("{path}?{}", params.join("&"))
    }
}

/// `GET /api/v1/orgs/{org}/patterns?{params}&limit=…&cursor=…`: `params` are the filters, the period, and
/// `sort`, `order` and `muted`; `cursor` is the previous page's `next_cursor`.
pub fn list_patterns(
    session: Session,
    org: OrgId,
    params: &[String],
    limit: u32,
    cursor: Option<&str>,
) -> impl Future<Output = ApiResult<PatternPageOut>> {
    let mut params = params.to_vec();
    params.push(format!("limit={limit}"));
    if let Some(c) = cursor {
        params.push(format!("cursor={}", js_sys::encode_uri_component(c)));
    }
    get(
        session,
        with_query(format!("/api/v1/orgs/{org}/patterns"), &params),
    )
}

/// `GET /api/v1/orgs/{org}/patterns/{id}?{params}`: the pattern (the one it was merged into, for an alias),
/// its figures over the period and filters of `params`.
pub fn get_pattern(
    session: Session,
    org: OrgId,
    id: PatternId,
    params: &[String],
) -> impl Future<Output = ApiResult<PatternDetailOut>> {
    get(
        session,
        with_query(format!("/api/v1/orgs/{org}/patterns/{id}"), params),
    )
}

/// `PATCH /api/v1/orgs/{org}/patterns/{id}`: renames (`name: Some(None)` goes back to the template) or mutes;
/// answers the pattern over all time.
pub fn update_pattern(
    session: Session,
    org: OrgId,
    id: PatternId,
    body: &PatternPatch,
) -> impl Future<Output = ApiResult<PatternDetailOut>> {
    let path = format!("/api/v1/orgs/{org}/patterns/{id}");
    call(session, "PATCH", path, Some(body))
}

/// `POST /api/v1/orgs/{org}/patterns/{id}/merge`: merges the pattern into `body.into`; answers that one over
/// all time.
pub fn merge_pattern(
    session: Session,
    org: OrgId,
    id: PatternId,
    body: &PatternMergeIn,
) -> impl Future<Output = ApiResult<PatternDetailOut>> {
    let path = format!("/api/v1/orgs/{org}/patterns/{id}/merge");
    call(session, "POST", path, Some(body))
}

/// The body that moves an incident to `to` (`None`: to a new pattern).
#[must_use]
pub fn move_to(to: Option<PatternId>) -> IncidentPatternIn {
    IncidentPatternIn {
        pattern_id: to,
        new: to.is_none().then_some(true),
    }
}

/// `POST /api/v1/orgs/{org}/incidents/{id}/pattern`: moves the incident (see [`move_to`]); answers its new
/// pattern.
pub fn move_incident(
    session: Session,
    org: OrgId,
    id: IncidentId,
    body: &IncidentPatternIn,
) -> impl Future<Output = ApiResult<IncidentPatternMovedOut>> {
    let path = format!("/api/v1/orgs/{org}/incidents/{id}/pattern");
    call(session, "POST", path, Some(body))
}
