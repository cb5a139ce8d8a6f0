//! Generic webhooks: the rendered JSON payload POSTed to a URL and signed with the Standard Webhooks scheme
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`),
//! through the guarded client. The id is the run's, the same on every attempt, so receivers can drop
//! duplicates; see docs/AUTOMATIONS.md ("Actions") for how to verify a delivery.

use super::outbound::Outbound;
use super::{ActionDone, ActionError};
use insights_automation::signature::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign};
use insights_types::AutomationRunId;

/// The `webhook-id` of a run's deliveries.
#[must_use]
pub fn message_id(run: AutomationRunId) -> String {
    format!("msg_{}", run.0.simple())
}

/// Sends `payload` (which must be JSON) to `url`, signed with `secret`, at Unix time `timestamp`.
///
/// # Errors
/// [`ActionError::Permanent`] when the payload is not JSON or the secret cannot sign; else as
/// [`Outbound::post`].
pub async fn send(
    out: &Outbound,
    url: &str,
    secret: &str,
    run: AutomationRunId,
    timestamp: i64,
    payload: &str,
) -> Result<ActionDone, ActionError> {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(payload) {
        return Err(ActionError::Permanent(format!(
            "the payload is not JSON ({e}): a webhook's template must render to JSON"
        )));
    }
    let id = message_id(run);
    let body = payload.as_bytes().to_vec();
    let signature = sign(secret, &id, timestamp, &body).map_err(|e| {
        ActionError::Permanent(format!("the webhook's signing secret cannot be used: {e}"))
    })?;
    let answer = out
        .post(
            "the webhook",
            url,
            &[
                ("content-type", "application/json".to_owned()),
                (HEADER_ID, id),
                (HEADER_TIMESTAMP, timestamp.to_string()),
                (HEADER_SIGNATURE, signature),
            ],
            body,
        )
        .await?;
    Ok(ActionDone {
        status: Some(answer.status),
        response: answer.to_value(),
        summary: format!("Delivered the webhook (HTTP {})", answer.status),
    })
}
