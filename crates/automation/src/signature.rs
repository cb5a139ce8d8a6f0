//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): each delivery carries `webhook-id`,
//! `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` of
//! `"{id}.{timestamp}.{body}"`, keyed with the secret's bytes (a secret is `whsec_` + base64 of them).
//! Receivers verify with any Standard Webhooks library, or as [`verify`] does.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of secrets.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a delivery's timestamp may be from the receiver's clock (replay protection), in seconds.
pub const TOLERANCE_SECS: i64 = 300;
/// The header names.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// A secret or signature that does not check out, in a sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signing secret must be `whsec_` followed by base64 (24 to 64 bytes)")]
    InvalidSecret,
    #[error("the timestamp is not Unix seconds")]
    InvalidTimestamp,
    #[error("the timestamp is more than {TOLERANCE_SECS} seconds away from now")]
    TimestampOutOfTolerance,
    #[error("no signature matches")]
    Mismatch,
}

/// The key bytes of a `whsec_` secret (the prefix is optional, as in the reference libraries).
pub fn secret_bytes(secret: &str) -> Result<Vec<u8>, SignatureError> {
    let b64 = secret
        .trim()
        .strip_prefix(SECRET_PREFIX)
        .unwrap_or(secret.trim());
    let bytes = STANDARD
        .decode(b64)
        .map_err(|_| SignatureError::InvalidSecret)?;
    if !(24..=64).contains(&bytes.len()) {
        return Err(SignatureError::InvalidSecret);
    }
    Ok(bytes)
}

/// Validates a secret given by a user.
pub fn validate_secret(secret: &str) -> Result<(), SignatureError> {
    if !secret.trim().starts_with(SECRET_PREFIX) {
        return Err(SignatureError::InvalidSecret);
    }
    secret_bytes(secret).map(|_| ())
}

/// A new random secret (`whsec_` + base64 of 32 random bytes).
#[must_use]
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

fn mac(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The `webhook-signature` value for a delivery: `v1,<base64>`.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignatureError> {
    let key = secret_bytes(secret)?;
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac(&key, msg_id, timestamp, body))
    ))
}

/// Verifies a delivery as a receiver does: the timestamp within [`TOLERANCE_SECS`] of `now` (Unix seconds),
/// and one of the space-separated `v1,` signatures matching (compared in constant time).
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let key = secret_bytes(secret)?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::InvalidTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(SignatureError::TimestampOutOfTolerance);
    }
    for candidate in signatures.split_whitespace() {
        let Some(b64) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(sig) = STANDARD.decode(b64) else {
            continue;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(ts.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        if mac.verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}
