//! Opsgenie webhooks (interface only; being written).

use crate::ingest::connector::WebhookUpdate;

pub fn parse(_body: &[u8]) -> Result<WebhookUpdate, String> {
    Err("not built yet".into())
}
