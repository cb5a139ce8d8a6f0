//! Incidents: the filtered history a page at a time, its export as a file, and one incident with its
//! timeline. Filters are passed as query pairs already encoded (`status=resolved`), in the page's order.

use super::{ApiResult, download, get};
use crate::session::Session;
use insights_types::api::{IncidentDetailOut, IncidentOut, Page};
use insights_types::{IncidentId, OrgId};

/// `GET /api/v1/orgs/{org}/incidents?{filters}&limit=…&cursor=…`: a page of incidents, newest first;
/// `cursor` is the previous page's `next_cursor`.
pub fn list_incidents(
    session: Session,
    org: OrgId,
    filters: &[String],
    limit: u32,
    cursor: Option<&str>,
) -> impl Future<Output = ApiResult<Page<IncidentOut>>> {
    let mut params = filters.to_vec();
    params.push(format!("limit={limit}"));
    if let Some(c) = cursor {
        params.push(format!("cursor={}", js_sys::encode_uri_component(c)));
    }
    let path = format!("/api/v1/orgs/{org}/incidents?{}", params.join("&"));
    get(session, path)
}

/// `GET /api/v1/orgs/{org}/incidents/export?format={format}&{filters}`: downloads every incident the filters
/// select (`format` is `csv` or `jsonl`) and saves the file, named by the server or `incidents.{format}`.
/// Returns the file name.
pub fn export_incidents(
    session: Session,
    org: OrgId,
    format: &str,
    filters: &[String],
) -> impl Future<Output = ApiResult<String>> {
    let mut params = vec![format!("format={format}")];
    params.extend_from_slice(filters);
    let path = format!("/api/v1/orgs/{org}/incidents/export?{}", params.join("&"));
    download(session, path, format!("incidents.{format}"))
}

/// `GET /api/v1/orgs/{org}/incidents/{id}`: one incident, its description and its timeline.
pub fn get_incident(
    session: Session,
    org: OrgId,
    id: IncidentId,
) -> impl Future<Output = ApiResult<IncidentDetailOut>> {
    get(session, format!("/api/v1/orgs/{org}/incidents/{id}"))
}
