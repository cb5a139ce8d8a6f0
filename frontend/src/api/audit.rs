//! An organization's audit log.

use super::{ApiResult, get, page_path};
use crate::session::Session;
use insights_types::OrgId;
use insights_types::api::{AuditEventOut, Page};

/// `GET /api/v1/orgs/{org}/audit-log?limit=…&cursor=…`: a page of events, newest first; `cursor` is the
/// previous page's `next_cursor`.
pub fn list_audit_events(
    session: Session,
    org: OrgId,
    limit: u32,
    cursor: Option<&str>,
) -> impl Future<Output = ApiResult<Page<AuditEventOut>>> {
    let path = page_path(&format!("/api/v1/orgs/{org}/audit-log"), limit, cursor);
    get(session, path)
}
