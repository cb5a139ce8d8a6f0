//! Tells the approvers of a run that waits for approval: one email each (members whose role is at least the
//! automation's approve role, never the person who asked), with a link to the run where they approve or reject
//! it. Without SMTP nothing is sent — the run waits in their approvals inbox and the navigation's badge counts
//! it, as always.

use super::{Outcome, tracked};
use crate::{WorkerState, mail};
use apalis::prelude::{BoxDynError, Data};
use insights_core::automations::approvals;
use insights_core::jobs::{Job, NotifyApprovers};

/// The apalis handler.
pub async fn run(job: NotifyApprovers, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let NotifyApprovers::V1 { org_id, job_run_id, run_id } = job;
    let state = &*state;
    tracked(state, org_id, job_run_id, NotifyApprovers::KIND, None, |_| async move {
        if state.mailer.is_none() {
            return Ok(Outcome::Skipped(
                "no SMTP server is configured: approvers see the run in their inbox",
            ));
        }
        let mut db = state.db.org_tx(org_id, None).await?;
        let request = approvals::approval_request(&mut db, run_id).await?;
        db.commit().await?;
        let Some(request) = request else {
            return Ok(Outcome::Skipped("the run no longer waits for approval"));
        };
        let link = state
            .config
            .public_url
            .link(&format!("/orgs/{org_id}/automations/runs/{run_id}"));
        let who = request.requested_by.as_deref().unwrap_or("A rule or a schedule");
        let about = request
            .incident_title
            .as_deref()
            .map(|t| format!(" for the incident \"{t}\""))
            .unwrap_or_default();
        let subject = format!("Approval needed: {}", request.automation_name);
        let body = format!(
            "{who} asked to run the automation \"{name}\"{about}, which needs an approval.\n\n\
             See exactly what it would send, then approve or reject it: {link}\n\n\
             You get this email because your role may approve this automation's runs.\n",
            name = request.automation_name,
        );
        let mut sent = 0usize;
        for (email, _name) in &request.approvers {
            mail::send(state, email, subject.clone(), body.clone()).await?;
            sent += 1;
        }
        tracing::info!(%run_id, approvers = sent, "approvers told of a run waiting for approval");
        Ok(Outcome::Done)
    })
    .await
    .map_err(Into::into)
}
