//! An automation's secrets — a Slack incoming-webhook URL, a webhook URL (both carry tokens), a Standard
//! Webhooks signing secret — stored together as one sealed JSON value in `automations.secrets` and never
//! returned by the API (answers say `has_…`).

use crate::crypto::SecretBox;
use crate::crypto::columns::AUTOMATION_SECRETS;
use insights_types::AutomationId;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// What an automation keeps secret (each may be absent).
#[derive(Debug, Clone, Default)]
pub struct ActionSecrets {
    pub slack_url: Option<SecretString>,
    pub webhook_url: Option<SecretString>,
    /// `whsec_…` (Standard Webhooks).
    pub signing_secret: Option<SecretString>,
}

impl ActionSecrets {
    /// Whether nothing is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slack_url.is_none() && self.webhook_url.is_none() && self.signing_secret.is_none()
    }
}

/// The JSON sealed in the row.
#[derive(Serialize, Deserialize, Default)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slack_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
}

/// Seals an automation's secrets for its row (bound to that row: moved elsewhere, it does not open).
#[must_use]
pub fn seal(secrets: &SecretBox, automation: AutomationId, value: &ActionSecrets) -> Vec<u8> {
    let expose = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
    let json = serde_json::to_vec(&Stored {
        slack_url: expose(&value.slack_url),
        webhook_url: expose(&value.webhook_url),
        signing_secret: expose(&value.signing_secret),
    })
    .expect("secrets serialize");
    secrets.seal(&AUTOMATION_SECRETS.row(automation), &json)
}

/// Opens an automation's stored secrets.
pub fn open(
    secrets: &SecretBox,
    automation: AutomationId,
    sealed: &[u8],
) -> anyhow::Result<ActionSecrets> {
    let plain = secrets.open(&AUTOMATION_SECRETS.row(automation), sealed)?;
    let stored: Stored = serde_json::from_slice(&plain)?;
    Ok(ActionSecrets {
        slack_url: stored.slack_url.map(SecretString::from),
        webhook_url: stored.webhook_url.map(SecretString::from),
        signing_secret: stored.signing_secret.map(SecretString::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn sealed_secrets_open_only_in_their_own_row() {
        let secret_box = SecretBox::new(&[7; 32]);
        let id = AutomationId(Uuid::new_v4());
        let value = ActionSecrets {
            slack_url: None,
            webhook_url: Some("https://hooks.example.com/T0KEN".to_owned().into()),
            signing_secret: Some("whsec_c2VjcmV0".to_owned().into()),
        };
        let sealed = seal(&secret_box, id, &value);
        assert!(!String::from_utf8_lossy(&sealed).contains("T0KEN"));
        let opened = open(&secret_box, id, &sealed).unwrap();
        assert!(opened.slack_url.is_none());
        assert_eq!(
            opened.webhook_url.unwrap().expose_secret(),
            "https://hooks.example.com/T0KEN"
        );
        assert_eq!(
            opened.signing_secret.unwrap().expose_secret(),
            "whsec_c2VjcmV0"
        );
        assert!(open(&secret_box, AutomationId(Uuid::new_v4()), &sealed).is_err());
    }
}
