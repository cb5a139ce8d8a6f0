//! PagerDuty webhooks (v3): signature check (interface only; being written).

use crate::ingest::connector::WebhookUpdate;
use hmac::{Hmac, Mac};

pub fn parse(_body: &[u8]) -> Result<WebhookUpdate, String> {
    Err("not built yet".into())
}

/// Whether any `v1=` signature of the `X-PagerDuty-Signature` header is the HMAC-SHA256 of `body`.
#[must_use]
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|h| hex::decode(h).ok())
        .any(|sig| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
            mac.update(body);
            mac.verify_slice(&sig).is_ok()
        })
}
