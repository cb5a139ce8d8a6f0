//! Slack: the rendered message posted to an incoming webhook (`{"text": …}`), through the guarded client.

use super::outbound::Outbound;
use super::{ActionDone, ActionError};

/// Slack truncates longer texts; stay under its 40,000 characters.
const MAX_TEXT: usize = 39_000;

/// Posts `text` to the incoming webhook at `url`.
///
/// # Errors
/// As [`Outbound::post`]; Slack's own error code (`no_service`, `channel_is_archived`, …) is in the message.
pub async fn send(out: &Outbound, url: &str, text: &str) -> Result<ActionDone, ActionError> {
    let text: String = text.chars().take(MAX_TEXT).collect();
    let body = serde_json::to_vec(&serde_json::json!({ "text": text })).expect("JSON serializes");
    let answer = out
        .post(
            "the Slack webhook",
            url,
            &[("content-type", "application/json".to_owned())],
            body,
        )
        .await
        .map_err(|e| match e {
            ActionError::Permanent(m) if m.contains("no_service") || m.contains("HTTP 404") => {
                ActionError::Permanent(format!(
                    "{m} — the webhook was removed (or its Slack app uninstalled): create a new incoming \
                     webhook and put its URL in the automation"
                ))
            }
            ActionError::Permanent(m) if m.contains("channel_is_archived") || m.contains("HTTP 410") => {
                ActionError::Permanent(format!(
                    "{m} — the channel is archived: point the webhook at another channel"
                ))
            }
            other => other,
        })?;
    Ok(ActionDone {
        status: Some(answer.status),
        response: answer.to_value(),
        summary: "Posted the message to Slack".into(),
    })
}
