//! The HTTP edge's one error type. Client errors carry a code and a message; server errors are opaque to the
//! client (a request id to quote) and their cause chain is logged once, here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use insights_types::{ErrorBody, ErrorDetail, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: a request the server cannot read (malformed JSON, bad query string, malformed id).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 422: well-formed, but some fields are invalid.
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// 401: not signed in, or the credentials are wrong.
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// 403: signed in, but the role does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// 403 for a reason other than the role (e.g. an address not verified yet), said by its code.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// 404: does not exist, or belongs to another organization (the two are not told apart).
    #[error("not found")]
    NotFound,
    /// 409: conflicts with the current state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 413.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 429 with `Retry-After`.
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// 502: a service we called on the caller's behalf (PagerDuty, Opsgenie) failed or could not be reached.
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    /// 409, or 429 with `Retry-After` when the quota renews: a documented quota (a setting) is used up.
    #[error("{message}")]
    Quota {
        /// Which quota: its name in the error body's `details.quota`.
        quota: &'static str,
        message: String,
        limit: u64,
        /// Set for a quota per period: seconds until it renews.
        retry_after_secs: Option<u64>,
    },
    /// 429 with `Retry-After`, said by its code (a monthly token budget spent): `retry_after_secs` until it
    /// renews.
    #[error("{message}")]
    Exhausted {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// 503 said by its code (no worker answered a search in time): the message tells what to do.
    #[error("{message}")]
    NotAnswering { code: &'static str, message: String },
    /// 503: a dependency is down.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 503: the database stopped a statement at the statement timeout, or had no connection free in time.
    #[error("database too slow: {0}")]
    DatabaseTimeout(String),
    /// 500: a bug or an unexpected failure; details are logged, not returned.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// The same answer for an unknown email and a wrong password.
    pub fn invalid_credentials() -> Self {
        Self::Unauthorized {
            code: "invalid_credentials",
            message: "Email or password is incorrect.".into(),
        }
    }

    pub fn unauthenticated() -> Self {
        Self::Unauthorized {
            code: "unauthenticated",
            message: "Sign in first: send a valid `Authorization: Bearer` access token.".into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::Refused { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } | Self::Exhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotAnswering { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Self::Quota {
                retry_after_secs: Some(_),
                ..
            } => StatusCode::TOO_MANY_REQUESTS,
            Self::Quota { .. } => StatusCode::CONFLICT,
            Self::Unavailable(_) | Self::DatabaseTimeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> ErrorDetail {
        let (code, message, details) = match self {
            Self::BadRequest { code, message }
            | Self::Unauthorized { code, message }
            | Self::Conflict { code, message }
            | Self::Refused { code, message }
            | Self::Upstream { code, message }
            | Self::NotAnswering { code, message } => ((*code).to_owned(), message.clone(), None),
            Self::Exhausted {
                code,
                message,
                retry_after_secs,
            } => (
                (*code).to_owned(),
                message.clone(),
                Some(serde_json::json!({ "retry_after": retry_after_secs })),
            ),
            Self::Validation(fields) => (
                "validation_failed".to_owned(),
                match fields.as_slice() {
                    [one] => format!("Invalid field `{}`: {}.", one.field, one.message),
                    _ => format!("{} fields are invalid.", fields.len()),
                },
                Some(FieldError::details(fields)),
            ),
            Self::Forbidden => (
                "forbidden".to_owned(),
                "Your role in this organization does not allow this.".to_owned(),
                None,
            ),
            Self::NotFound => ("not_found".to_owned(), "Not found.".to_owned(), None),
            Self::PayloadTooLarge => (
                "payload_too_large".to_owned(),
                "The request body is too large.".to_owned(),
                None,
            ),
            Self::UnsupportedMediaType => (
                "unsupported_media_type".to_owned(),
                "Send the body as JSON with `Content-Type: application/json`.".to_owned(),
                None,
            ),
            Self::RateLimited { retry_after_secs } => (
                "rate_limited".to_owned(),
                format!("Too many attempts. Try again in {retry_after_secs} seconds."),
                Some(serde_json::json!({ "retry_after": retry_after_secs })),
            ),
            Self::Quota {
                quota,
                message,
                limit,
                retry_after_secs,
            } => (
                "quota_exceeded".to_owned(),
                message.clone(),
                Some(serde_json::json!({ "quota": quota, "limit": limit, "retry_after": retry_after_secs })),
            ),
            Self::DatabaseTimeout(_) => (
                "database_timeout".to_owned(),
                "The database did not finish this request in time (it is busy, or the request asks for too much). Narrow it or try again shortly."
                    .to_owned(),
                None,
            ),
            Self::Unavailable(_) => (
                "unavailable".to_owned(),
                "A service this request needs is unavailable. Try again shortly.".to_owned(),
                None,
            ),
            Self::Internal(_) => (
                "internal".to_owned(),
                "Something went wrong on our side. It has been logged; quote the request id when reporting it."
                    .to_owned(),
                None,
            ),
        };
        ErrorDetail {
            code,
            message,
            details,
        }
    }
}

/// A JSON error response, for places that build one without an `ApiError` (fallbacks, layers).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
            details: None,
        },
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(e) => tracing::error!(error = ?e, "request failed"),
            Self::Unavailable(what) => tracing::warn!(dependency = %what, "dependency unavailable"),
            Self::NotAnswering { message, .. } => tracing::warn!(%message, "not answered in time"),
            Self::DatabaseTimeout(what) => {
                tracing::warn!(error = %what, "database statement over budget")
            }
            _ => {}
        }
        let mut resp = (status, axum::Json(ErrorBody { error: self.body() })).into_response();
        if let Self::RateLimited { retry_after_secs }
        | Self::Exhausted {
            retry_after_secs, ..
        }
        | Self::Quota {
            retry_after_secs: Some(retry_after_secs),
            ..
        } = self
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        resp
    }
}

impl From<insights_core::db::DbError> for ApiError {
    fn from(e: insights_core::db::DbError) -> Self {
        use insights_core::db::DbError;
        match e {
            DbError::NotFound => Self::NotFound,
            DbError::Conflict { constraint } => match constraint.as_str() {
                "users_email_key" => Self::Validation(vec![FieldError::new(
                    "email",
                    "taken",
                    "an account with this email already exists; log in instead",
                )]),
                other => Self::Conflict {
                    code: "conflict",
                    message: format!("This conflicts with existing data ({other})."),
                },
            },
            DbError::Unavailable(e) => Self::Unavailable(format!("database: {e}")),
            DbError::TimedOut(e) => Self::DatabaseTimeout(e.to_string()),
            e @ DbError::Unreadable { .. } => Self::Internal(e.into()),
            DbError::Other(e) => Self::Internal(e.into()),
        }
    }
}

impl From<insights_core::invitations::Unusable> for ApiError {
    fn from(e: insights_core::invitations::Unusable) -> Self {
        Self::conflict(e.code(), e.to_string())
    }
}

impl From<insights_core::analytics::AnalyticsError> for ApiError {
    fn from(e: insights_core::analytics::AnalyticsError) -> Self {
        use insights_core::analytics::AnalyticsError;
        match e {
            AnalyticsError::Invalid(message) => Self::bad_request("invalid_query", message),
            AnalyticsError::InvalidSetting(field, message) => {
                Self::field(&field, "invalid_setting", message)
            }
            AnalyticsError::Db(e) => e.into(),
        }
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(v: Vec<FieldError>) -> Self {
        Self::Validation(v)
    }
}

impl From<FieldError> for ApiError {
    fn from(v: FieldError) -> Self {
        Self::Validation(vec![v])
    }
}

impl From<insights_core::patterns::PatternError> for ApiError {
    fn from(e: insights_core::patterns::PatternError) -> Self {
        use insights_core::patterns::PatternError;
        match e {
            PatternError::NotFound => Self::NotFound,
            PatternError::Invalid(field, message) => Self::field(field, "invalid", message),
            PatternError::Db(e) => e.into(),
        }
    }
}

impl From<insights_core::runbooks::RunbookError> for ApiError {
    fn from(e: insights_core::runbooks::RunbookError) -> Self {
        use insights_core::runbooks::RunbookError;
        match e {
            RunbookError::NotFound => Self::NotFound,
            RunbookError::Invalid(fields) => Self::Validation(fields),
            e @ RunbookError::VersionConflict { .. } => Self::conflict(
                "version_conflict",
                format!(
                    "{e}: reload it, apply your change again and save on top of the current version."
                ),
            ),
            RunbookError::BudgetSpent { used, budget } => {
                let now = chrono::Utc::now();
                let next_month = insights_core::runbooks::settings::next_month(now);
                Self::Exhausted {
                    code: "token_budget_spent",
                    message: format!(
                        "This organization's monthly token budget for runbook generation is spent ({used} of {budget} tokens used this month). It renews on {}; an admin can raise it in the runbook settings.",
                        next_month.format("%Y-%m-%d")
                    ),
                    retry_after_secs: u64::try_from((next_month - now).num_seconds())
                        .unwrap_or(0)
                        .max(1),
                }
            }
            RunbookError::DraftState { code, message } => Self::conflict(code, message),
            RunbookError::Db(e) => e.into(),
        }
    }
}

impl From<insights_core::automations::AutomationError> for ApiError {
    fn from(e: insights_core::automations::AutomationError) -> Self {
        use insights_core::automations::AutomationError;
        match e {
            AutomationError::NotFound => Self::NotFound,
            AutomationError::Invalid(fields) => Self::Validation(fields),
            AutomationError::Conflict { code, message } => Self::conflict(code, message),
            AutomationError::Refused { code, message } => Self::Refused { code, message },
            AutomationError::Db(e) => e.into(),
        }
    }
}
