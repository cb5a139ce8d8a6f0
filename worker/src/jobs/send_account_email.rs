//! Sends an account's email verification or password reset link. The token is read from its encrypted copy,
//! which is deleted once the email is out; a link used, replaced or expired meanwhile is not sent.

use super::{Outcome, tracked};
use crate::{WorkerState, mail};
use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use insights_core::accounts::{self, Purpose};
use insights_core::crypto::columns::ACCOUNT_TOKEN;
use insights_core::db::account_tokens;
use insights_core::jobs::{Job, SendAccountEmail};

/// The apalis handler.
pub async fn run(job: SendAccountEmail, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let SendAccountEmail::V1 {
        org_id,
        job_run_id,
        token_id,
    } = job;
    tracked(
        &state,
        org_id,
        job_run_id,
        SendAccountEmail::KIND,
        None,
        |_| async {
            let mut conn = state.db.pool().acquire().await?;
            let Some(pending) = account_tokens::pending_email(&mut conn, token_id).await? else {
                return Ok(Outcome::Skipped("the link was used, replaced or expired"));
            };
            let token = String::from_utf8(state.secrets.open(&ACCOUNT_TOKEN.row(token_id), &pending.token_ciphertext)?)
                .context("token is not UTF-8")?;
            let link = accounts::link(&state.config.public_url, pending.purpose, &token);
            let expires = pending.expires_at.format("%Y-%m-%d %H:%M UTC");
            let (subject, body) = match pending.purpose {
                Purpose::VerifyEmail => (
                    "Confirm your email address for Incident Insights".to_owned(),
                    format!(
                        "Hello {name},\n\nConfirm that this is your address: {link}\n\n\
                         The link works once and expires on {expires}.\n\
                         If you did not create an account, ignore this email.\n",
                        name = pending.name,
                    ),
                ),
                Purpose::ResetPassword => (
                    "Choose a new password for Incident Insights".to_owned(),
                    format!(
                        "Hello {name},\n\nSomeone (we hope you) asked to reset the password of your \
                         account. Choose a new one here: {link}\n\n\
                         The link works once and expires on {expires}; using it signs you out everywhere.\n\
                         If you did not ask for this, ignore this email: your password stays as it is.\n",
                        name = pending.name,
                    ),
                ),
            };
            mail::send(&state, &pending.email, subject, body).await?;
            account_tokens::clear_token_ciphertext(&mut conn, token_id).await?;
            tracing::info!(%token_id, purpose = pending.purpose.as_str(), "account email sent");
            Ok(Outcome::Done)
        },
    )
    .await
    .map_err(Into::into)
}
