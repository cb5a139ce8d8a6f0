//! Extractors. Each rejects bad input with the structured error body: malformed JSON is a 400, a mistyped or
//! missing field a 422 naming the field, a non-UUID id a 400, an oversized body a 413, a missing token a 401,
//! and an organization the caller does not belong to a 404 (exactly like one that does not exist).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::{header, request::Parts};
use insights_core::db::cursor;
use insights_types::{FieldError, OrgId, Permission, Role, UserId};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};
use uuid::Uuid;

/// A JSON request body (and, as a response, a JSON body).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::bad_request("unreadable_body", "The request body could not be read.")
                }
            })?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON body, naming the offending field on a type error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, then shape: a well-formed body of the wrong shape is a 422 that names the field.
    parse_json_value("", parse_json_syntax(bytes)?).map_err(|e| ApiError::Validation(vec![e]))
}

/// Parses a body's JSON syntax (400 when it is not JSON). A NUL character (`\u0000`) in any string or key is
/// refused the same way: PostgreSQL stores none, in text or in jsonb.
pub fn parse_json_syntax(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("The body is not valid JSON: {e}."),
        )
    })?;
    if holds_nul(&value) {
        return Err(ApiError::bad_request(
            "malformed_json",
            "The body holds a NUL character (\\u0000), which is not accepted.",
        ));
    }
    Ok(value)
}

fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Deserializes a JSON value found at `prefix` (empty for a whole body), naming the offending field (under
/// the prefix) on a type error.
pub fn parse_json_value<T: DeserializeOwned>(
    prefix: &str,
    value: serde_json::Value,
) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        // Missing fields are reported at their parent; name the field itself.
        let backticked = msg.split('`').nth(1).map(str::to_owned);
        let (field, code) = if msg.starts_with("missing field") {
            (join_path(&path, backticked.as_deref()), "required")
        } else if msg.starts_with("unknown field") {
            (join_path(&path, backticked.as_deref()), "unknown_field")
        } else {
            (if path == "." { String::new() } else { path }, "invalid")
        };
        let field = match (prefix, field.as_str()) {
            ("", f) => f.to_owned(),
            (p, "") => p.to_owned(),
            (p, f) => format!("{p}.{f}"),
        };
        FieldError::new(field, code, msg)
    })
}

fn join_path(parent: &str, field: Option<&str>) -> String {
    match (parent, field) {
        (p, Some(f)) if p == f || p.ends_with(&format!(".{f}")) => p.to_owned(),
        (".", Some(f)) | ("", Some(f)) => f.to_owned(),
        (p, Some(f)) => format!("{p}.{f}"),
        (p, None) => p.to_owned(),
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed id is a 400.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::bad_request("invalid_path", format!("{}.", e.body_text())))
    }
}

/// A query string; a malformed one is a 400.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::bad_request("invalid_query", format!("{}.", e.body_text())))
    }
}

/// `?cursor=&limit=` of list endpoints (limit 1–200, default 50).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

impl ListQuery {
    pub fn parse(&self) -> Result<(Option<cursor::Position>, i64), ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_query",
                "`limit` must be between 1 and 200.",
            ));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(cursor::decode(c).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_cursor",
                    "`cursor` is not a cursor this API issued.",
                )
            })?),
        };
        Ok((after, i64::from(limit)))
    }
}

/// The signed-in user, from `Authorization: Bearer <access token>` whose session is still live.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: UserId,
    /// The login session (refresh-token family).
    pub session_id: Uuid,
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(*user);
        }
        let state = AppState::from_ref(state);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(ApiError::unauthenticated)?;
        let claims = state
            .tokens
            .verify(token.trim())
            .ok_or_else(|| ApiError::Unauthorized {
                code: "invalid_token",
                message: "The access token is invalid or expired; refresh it or sign in again."
                    .into(),
            })?;
        let user = AuthUser {
            user_id: UserId(claims.sub),
            session_id: claims.sid,
        };
        // A token outlives its session by up to its lifetime: logout and a password change end it now.
        if !crate::auth::sessions::is_live(&state, user.user_id, user.session_id).await? {
            return Err(ApiError::Unauthorized {
                code: "session_ended",
                message: "This session has ended (signed out, or the password was changed): sign in again."
                    .into(),
            });
        }
        tracing::Span::current().record("user_id", tracing::field::display(user.user_id));
        parts.extensions.insert(user);
        Ok(user)
    }
}

/// The caller's membership in the organization named by the `{org_id}` path parameter. A caller who is not a
/// member gets 404, as for an organization that does not exist.
#[derive(Debug, Clone, Copy)]
pub struct OrgMember {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub role: Role,
}

impl OrgMember {
    /// 403 unless the role allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.can(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OrgMember
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let raw = params
            .iter()
            .find(|(k, _)| *k == "org_id")
            .map(|(_, v)| v.to_owned())
            .ok_or(ApiError::NotFound)?;
        let org_id: OrgId = raw
            .parse()
            .map_err(|_| ApiError::bad_request("invalid_path", "`org_id` must be a UUID."))?;
        let state = AppState::from_ref(state);
        let role = match state.cache.role(org_id, user.user_id) {
            Some(role) => role,
            None => {
                let ticket = state.cache.ticket();
                let mut db = state.db.org_tx(org_id, Some(user.user_id)).await?;
                let role = insights_core::db::members::role_of(&mut db, user.user_id)
                    .await?
                    .ok_or(ApiError::NotFound)?;
                db.commit().await?;
                state.cache.put_role(ticket, org_id, user.user_id, role);
                role
            }
        };
        tracing::Span::current().record("org_id", tracing::field::display(org_id));
        Ok(OrgMember {
            org_id,
            user_id: user.user_id,
            role,
        })
    }
}

/// The client's IP: the socket peer, or — behind trusted proxies (`INSIGHTS_TRUSTED_PROXY_HOPS`,
/// `INSIGHTS_TRUSTED_PROXIES`) — the address the outermost of them saw, from every `X-Forwarded-For` line
/// ([`insights_core::config::TrustedProxies::client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientIp(None));
        };
        // A line that is not text counts as a malformed entry, which ends the walk where it stands.
        let lines = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|v| v.to_str().unwrap_or("?"));
        Ok(ClientIp(Some(
            state
                .config
                .auth
                .trusted_proxies
                .client_ip(peer.ip(), lines),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        inner: Option<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    fn field_of(e: ApiError) -> (String, String) {
        match e {
            ApiError::Validation(f) => (f[0].field.clone(), f[0].code.clone()),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(
            field_of(parse_json::<Body>(b"{}").unwrap_err()),
            ("email".into(), "required".into())
        );
        assert_eq!(
            field_of(parse_json::<Body>(br#"{"email":"a","mail":1}"#).unwrap_err()),
            ("mail".into(), "unknown_field".into())
        );
        assert_eq!(
            field_of(parse_json::<Body>(br#"{"email":5}"#).unwrap_err()),
            ("email".into(), "invalid".into())
        );
        assert_eq!(
            field_of(parse_json::<Body>(br#"{"email":"a","inner":{"n":300}}"#).unwrap_err()),
            ("inner.n".into(), "invalid".into())
        );
        assert_eq!(
            field_of(parse_json::<Body>(br#"{"email":"a","inner":{}}"#).unwrap_err()),
            ("inner.n".into(), "required".into())
        );
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for body in [&b"{"[..], b"not json", b"", b"{\"email\":\"a\",}"] {
            assert!(matches!(
                parse_json::<Body>(body),
                Err(ApiError::BadRequest {
                    code: "malformed_json",
                    ..
                })
            ));
        }
    }

    #[test]
    fn list_query_bounds_the_limit_and_checks_the_cursor() {
        assert_eq!(ListQuery::default().parse().unwrap().1, 50);
        assert!(
            ListQuery {
                limit: Some(0),
                cursor: None
            }
            .parse()
            .is_err()
        );
        assert!(
            ListQuery {
                limit: Some(201),
                cursor: None
            }
            .parse()
            .is_err()
        );
        assert!(
            ListQuery {
                limit: None,
                cursor: Some("zzz".into())
            }
            .parse()
            .is_err()
        );
    }
}
