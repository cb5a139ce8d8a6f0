//! Automations (issue 13): the database side shared by the API and the worker — the AWS connections the
//! product acts in, the automations and their sealed secrets, rules, schedules, the kill switch, admission of
//! runs and the append-only run log.
//!
//! Each part's owner adds its module line here.

pub mod admission;
pub mod approvals;
pub mod aws;
pub mod changes;
pub mod connections;
pub mod context;
pub mod definitions;
pub mod notes;
pub mod query;
pub mod rules;
pub mod runs;
pub mod schedule_fires;
pub mod schedules;
pub mod secrets;
pub mod settings;

use crate::db::DbError;
use insights_types::FieldError;

/// Why an automations request of the API did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    /// No such connection, automation, rule, schedule or run in this organization (404).
    #[error("not found")]
    NotFound,
    /// Invalid fields (422), each with its path.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// Conflicts with the current state (409), said by its code.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Not allowed for this caller on this automation or run although the role may use the endpoint (403),
    /// said by its code (`approval_not_allowed`, `run_not_allowed`).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AutomationError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

impl From<FieldError> for AutomationError {
    fn from(e: FieldError) -> Self {
        Self::Invalid(vec![e])
    }
}

impl From<Vec<FieldError>> for AutomationError {
    fn from(e: Vec<FieldError>) -> Self {
        Self::Invalid(e)
    }
}

pub type AutomationResult<T> = Result<T, AutomationError>;

/// Maps "no row" to [`AutomationError::NotFound`] (and keeps every other database error).
fn not_found(e: DbError) -> AutomationError {
    match e {
        DbError::NotFound => AutomationError::NotFound,
        e => AutomationError::Db(e),
    }
}
