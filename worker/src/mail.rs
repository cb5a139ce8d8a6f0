//! Sending one plain-text email through the configured SMTP relay (lettre), for the jobs that send mail.

use crate::WorkerState;
use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncTransport, Message};

/// Sends `body` to `to` from `INSIGHTS_SMTP_FROM`; an error when this worker has no SMTP configured.
pub async fn send(
    state: &WorkerState,
    to: &str,
    subject: String,
    body: String,
) -> anyhow::Result<()> {
    let (Some(mailer), Some(smtp)) = (&state.mailer, state.config.smtp.as_ref()) else {
        anyhow::bail!("SMTP is not configured on this worker (INSIGHTS_SMTP_URL)");
    };
    let message = Message::builder()
        .from(smtp.from.parse::<Mailbox>().context("INSIGHTS_SMTP_FROM")?)
        .to(to.parse::<Mailbox>().context("recipient address")?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .context("building the email")?;
    mailer.send(message).await.context("SMTP delivery")?;
    Ok(())
}
