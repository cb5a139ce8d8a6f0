//! HTTP plumbing shared by every route: extractors that turn bad input into the error body, the caller's
//! identity and organization membership, and middleware (metrics, security headers).

pub mod extract;
pub mod middleware;
pub mod openapi;

pub use extract::{
    AuthUser, ClientIp, Json, ListQuery, OrgMember, Path, Query, parse_json_syntax,
    parse_json_value,
};
