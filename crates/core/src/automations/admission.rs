//! Admission of a run: the one place a run is created. See [`admit`].

use crate::db::{DbError, OrgTx};
use crate::jobs::{JobQueue, Pending, RunAutomation};
use insights_types::api::{RunStatus, RunSubjectIn, RunTrigger};
use insights_types::{
    AutomationId, AutomationRuleId, AutomationRunId, AutomationScheduleId, UserId,
};

/// What asks for a run.
#[derive(Clone, Debug)]
pub struct RunRequest<'a> {
    /// Records the run's job (pushed by the caller once its transaction committed).
    pub queue: &'a JobQueue,
    pub automation_id: AutomationId,
    pub trigger: RunTrigger,
    /// Who asked (manual and test runs).
    pub actor_id: Option<UserId>,
    pub rule_id: Option<AutomationRuleId>,
    pub schedule_id: Option<AutomationScheduleId>,
    /// What the run is about, the targets and the user parameters.
    pub subject: RunSubjectIn,
}

/// The run that was recorded: refused (with its reason), waiting for approval, or queued with its job.
#[derive(Debug)]
pub struct Admitted {
    pub run_id: AutomationRunId,
    pub status: RunStatus,
    /// Why it was refused, in a sentence.
    pub reason: Option<String>,
    /// The run's job when it was queued: push it once the transaction committed.
    pub job: Option<Pending<RunAutomation>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// The automation does not exist in this organization.
    #[error("automation not found")]
    NotFound,
    /// The subject names something that does not exist or is malformed (no run is recorded).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Admits one run of an automation in the caller's transaction: locks the automation (admissions of one
/// automation are serialized, so counts are exact), renders the payload, applies the kill switch, the
/// circuit breaker and the limits, and records the run and its events — refused, pending approval, or queued
/// with its job. Nothing is partial: the caller commits, then pushes `Admitted::job`.
pub async fn admit(db: &mut OrgTx, req: RunRequest<'_>) -> Result<Admitted, AdmitError> {
    let _ = (db, req);
    Err(AdmitError::Invalid(
        "admission is not implemented yet".into(),
    ))
}
