//! The one error body every endpoint answers with: `{"error": {"code", "message", "details"}}`.

use serde::{Deserialize, Serialize};

/// The body of every error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable machine-readable `code`, a sentence for people, and optional structured details
/// (for validation errors: `{"fields": [FieldError, ...]}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub details: Option<serde_json::Value>,
}

/// One invalid field of a request body: its path (`password`, `options.since`), a code and a sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }

    /// The `details` value of a validation error carrying these fields.
    #[must_use]
    pub fn details(errors: &[FieldError]) -> serde_json::Value {
        serde_json::json!({ "fields": errors })
    }
}

impl ErrorBody {
    /// The field errors in `details.fields`, if any (used by the web app to put a message beside its input).
    #[must_use]
    pub fn field_errors(&self) -> Vec<FieldError> {
        self.error
            .details
            .as_ref()
            .and_then(|d| d.get("fields"))
            .and_then(|f| serde_json::from_value(f.clone()).ok())
            .unwrap_or_default()
    }
}
