//! What a run stores about what it sent and received: the SHA-256 of the exact bytes, the JSON with its
//! secrets redacted, and a size cap.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The redaction placeholder for a value stored under a secret-looking key.
const SECRET_PLACEHOLDER: &str = "[REDACTED:secret]";

/// The SHA-256 of `bytes`, lowercase hex.
#[must_use]
pub fn hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether a key names a secret (`password`, `token`, `api_key`, `secret`, `authorization`, …).
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace(['-', '_', ' '], "");
    [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "privatekey",
        "authorization",
        "credential",
        "cookie",
        "sessionid",
        "signingkey",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// `value` with its secrets redacted for storage: every string under a secret-looking key is replaced, and
/// every other string has the secrets it contains (keys, tokens, credentials in URLs, …) replaced as
/// `insights_retrieval::redact` finds them. Structure, numbers and booleans are kept.
#[must_use]
pub fn redact(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(insights_retrieval::redact::redact(s, false).text),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if secret_key(k) && !matches!(v, Value::Null | Value::Bool(_)) {
                        match v {
                            Value::Object(_) | Value::Array(_) => redact(v),
                            _ => Value::String(SECRET_PLACEHOLDER.to_owned()),
                        }
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Text parsed as JSON if it is JSON, else kept as a JSON string; then redacted and capped at `max_bytes`
/// of serialized JSON (a larger value is stored as `{"truncated": true, "text": <its first bytes>}`).
#[must_use]
pub fn for_storage(text: &str, max_bytes: usize) -> Value {
    let value =
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    cap(redact(&value), max_bytes)
}

/// `value` if its JSON is at most `max_bytes`, else `{"truncated": true, "text": <the start of its JSON>}`.
#[must_use]
pub fn cap(value: Value, max_bytes: usize) -> Value {
    let json = value.to_string();
    if json.len() <= max_bytes {
        return value;
    }
    let mut end = max_bytes.saturating_sub(64).min(json.len());
    while !json.is_char_boundary(end) {
        end -= 1;
    }
    serde_json::json!({ "truncated": true, "bytes": json.len(), "text": &json[..end] })
}
