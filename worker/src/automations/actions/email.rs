//! Email: the rendered message sent as plain text to the automation's recipients, through the worker's SMTP
//! relay (`INSIGHTS_SMTP_URL`), in one message.

use super::{ActionDone, ActionError};
use crate::WorkerState;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncTransport, Message};

/// The subject when the automation has none: the message's first line, shortened.
fn default_subject(body: &str) -> String {
    let first = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Automation");
    let mut s: String = first.chars().take(120).collect();
    if s.len() < first.len() {
        s.push('…');
    }
    s
}

/// Sends `body` to `recipients`.
///
/// # Errors
/// [`ActionError::Permanent`] without SMTP, recipients or with an invalid address; a refused delivery is
/// [`ActionError::Retryable`] when the relay says it is temporary.
pub async fn send(
    state: &WorkerState,
    recipients: &[String],
    subject: Option<&str>,
    body: &str,
) -> Result<ActionDone, ActionError> {
    let (Some(mailer), Some(smtp)) = (&state.mailer, state.config.smtp.as_ref()) else {
        return Err(ActionError::Permanent(
            "email cannot be sent: this installation has no SMTP relay (INSIGHTS_SMTP_URL)".into(),
        ));
    };
    if recipients.is_empty() {
        return Err(ActionError::Permanent(
            "the automation has no recipients".into(),
        ));
    }
    let from = smtp
        .from
        .parse::<Mailbox>()
        .map_err(|e| ActionError::Permanent(format!("INSIGHTS_SMTP_FROM cannot be used: {e}")))?;
    let mut message = Message::builder().from(from);
    for to in recipients {
        let to = to.parse::<Mailbox>().map_err(|e| {
            ActionError::Permanent(format!("the recipient {to} is not an email address: {e}"))
        })?;
        message = message.to(to);
    }
    let subject = subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or_else(|| default_subject(body), |s| s.chars().take(200).collect());
    let message = message
        .subject(subject.replace(['\r', '\n'], " "))
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .map_err(|e| ActionError::Permanent(format!("the email cannot be built: {e}")))?;
    match mailer.send(message).await {
        Ok(_) => Ok(ActionDone {
            status: None,
            response: None,
            summary: format!(
                "Sent the email to {} recipient{}",
                recipients.len(),
                if recipients.len() == 1 { "" } else { "s" }
            ),
        }),
        Err(e) if e.is_permanent() => Err(ActionError::Permanent(format!(
            "the SMTP relay refused the email: {e}"
        ))),
        Err(e) => Err(ActionError::Retryable(format!(
            "the email was not sent: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_subject_is_the_first_line() {
        assert_eq!(
            default_subject("\n  Disk full on db-1\nmore"),
            "Disk full on db-1"
        );
        assert_eq!(default_subject(""), "Automation");
        let long = "x".repeat(300);
        assert_eq!(default_subject(&long).chars().count(), 121);
    }
}
