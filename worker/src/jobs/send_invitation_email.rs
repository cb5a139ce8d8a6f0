//! Sends an invitation's email with its accept link. The token is read from its encrypted copy, which is
//! deleted once the email is out.

use super::{Outcome, tracked};
use crate::{WorkerState, mail};
use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use insights_core::crypto::columns::INVITATION_TOKEN;
use insights_core::db::{invitations, orgs};
use insights_core::invitations::accept_link;
use insights_core::jobs::{Job, SendInvitationEmail};

/// The apalis handler.
pub async fn run(job: SendInvitationEmail, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let SendInvitationEmail::V1 {
        org_id,
        job_run_id,
        invitation_id,
    } = job;
    tracked(
        &state,
        org_id,
        job_run_id,
        SendInvitationEmail::KIND,
        None,
        |_| async {
            let mut db = state.db.org_tx(org_id, None).await?;
            let Some((inv, sealed)) =
                invitations::pending_token_ciphertext(&mut db, invitation_id).await?
            else {
                return Ok(Outcome::Skipped("the invitation is no longer pending"));
            };
            let org = orgs::get(&mut db).await?;
            db.commit().await?;
            let token =
                String::from_utf8(state.secrets.open(&INVITATION_TOKEN.row(invitation_id), &sealed)?)
                    .context("token is not UTF-8")?;
            let link = accept_link(&state.config.public_url, &token);
            let inviter = inv
                .inviter()
                .map_or_else(|| "Someone".to_owned(), |u| u.name);
            mail::send(
                &state,
                &inv.email,
                format!("{inviter} invited you to {} on Incident Insights", org.name),
                format!(
                    "{inviter} invited you to join {org} on Incident Insights as {role}.\n\n\
                     Accept the invitation: {link}\n\n\
                     The link works once, for an account with this email address, and expires on {expires}.\n\
                     If you did not expect this, ignore this email.\n",
                    org = org.name,
                    role = inv.role(),
                    expires = inv.expires_at.format("%Y-%m-%d %H:%M UTC"),
                ),
            )
            .await?;
            let mut db = state.db.org_tx(org_id, None).await?;
            invitations::clear_token_ciphertext(&mut db, invitation_id).await?;
            db.commit().await?;
            tracing::info!(%invitation_id, "invitation email sent");
            Ok(Outcome::Done)
        },
    )
    .await
    .map_err(Into::into)
}
