//! Access tokens (HS256 JWT, short-lived, with a fixed issuer and audience), the refresh-token cookie, and
//! the keys derived from the JWT secret for refresh-token successors and device cookies.

use chrono::Utc;
use insights_types::UserId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// The name of the refresh-token cookie.
pub const REFRESH_COOKIE: &str = "insights_refresh";
/// The cookie's path: only the auth endpoints ever see it.
pub const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";
/// The `iss` of every access token, required on every token presented.
pub const ISSUER: &str = "incident-insights";
/// The `aud` of every access token: this API (a token minted for anything else with the same secret is
/// refused).
pub const AUDIENCE: &str = "incident-insights-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user.
    pub sub: Uuid,
    /// The login session (refresh-token family) this token came from.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Signs and checks access tokens; derives refresh-token successors and signs device cookies, each with its
/// own key derived from the JWT secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    successor_key: [u8; 32],
    device_key: [u8; 32],
    pub access_ttl: Duration,
}

/// A key for one purpose: HMAC-SHA256 of the purpose under the secret.
fn derive_key(secret: &[u8], purpose: &str) -> [u8; 32] {
    use hmac::Mac as _;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

fn mac(key: &[u8; 32], parts: &[&str]) -> HmacSha256 {
    use hmac::Mac as _;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        // Length-prefixed, so that no two different lists of parts are signed as the same bytes.
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p.as_bytes());
    }
    mac
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("access_ttl", &self.access_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    #[must_use]
    pub fn new(secret: &secrecy::SecretString, access_ttl: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            successor_key: derive_key(bytes, "insights refresh-token successor v1"),
            device_key: derive_key(bytes, "insights device cookie v1"),
            access_ttl,
        }
    }

    pub fn issue(&self, user: UserId, session: Uuid) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.0,
            sid: session,
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The claims of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

impl TokenKeys {
    /// The refresh token that replaces `token` when it is used. Derived, not drawn at random, so that the
    /// server can answer a second use of `token` within the grace window with the same successor without
    /// storing it: only its digest is stored, like every refresh token, and without the key nobody can compute
    /// it from a token they hold.
    #[must_use]
    pub fn successor(&self, token: &str) -> String {
        use hmac::Mac as _;
        let tag = mac(&self.successor_key, &[token]).finalize().into_bytes();
        use base64::Engine as _;
        // The form of `random_token`: URL-safe base64 without padding (cookie-safe).
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    }

    /// A new device cookie value for the account `email`: a random nonce and its signature.
    #[must_use]
    pub fn device_cookie(&self, email: &str) -> String {
        use hmac::Mac as _;
        let nonce = insights_core::crypto::random_token();
        let sig = mac(&self.device_key, &[email, &nonce])
            .finalize()
            .into_bytes();
        format!("{nonce}.{}", hex::encode(sig))
    }

    /// The device (its nonce) of a device cookie signed by this server for the account `email`; `None` for a
    /// forged, altered or other account's cookie.
    #[must_use]
    pub fn verify_device_cookie<'a>(&self, email: &str, value: &'a str) -> Option<&'a str> {
        use hmac::Mac as _;
        let (nonce, sig) = value.split_once('.')?;
        let sig = hex::decode(sig).ok()?;
        mac(&self.device_key, &[email, nonce])
            .verify_slice(&sig)
            .ok()
            .map(|()| nonce)
    }
}

/// `Set-Cookie` value carrying a refresh token.
#[must_use]
pub fn refresh_cookie(token: &str, max_age: Duration) -> String {
    format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path={REFRESH_COOKIE_PATH}; Max-Age={}",
        max_age.as_secs()
    )
}

/// `Set-Cookie` value that deletes the refresh cookie.
#[must_use]
pub fn clear_refresh_cookie() -> String {
    format!(
        "{REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path={REFRESH_COOKIE_PATH}; Max-Age=0"
    )
}

/// The refresh token from a request's `Cookie` headers.
#[must_use]
pub fn refresh_token_from(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie_from(headers, REFRESH_COOKIE)
}

/// The value of the cookie `name` from a request's `Cookie` headers, if not empty.
#[must_use]
pub fn cookie_from(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The name of the device cookie (OWASP "device cookies"): proof that this browser has signed in to an
/// account before, so that failures from elsewhere do not lock it out.
pub const DEVICE_COOKIE: &str = "insights_device";
/// Only the login endpoint ever sees it.
pub const DEVICE_COOKIE_PATH: &str = "/api/v1/auth/login";

/// `Set-Cookie` value carrying a device cookie.
#[must_use]
pub fn device_cookie(value: &str, max_age: Duration) -> String {
    format!(
        "{DEVICE_COOKIE}={value}; HttpOnly; Secure; SameSite=Strict; Path={DEVICE_COOKIE_PATH}; Max-Age={}",
        max_age.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not() {
        let keys = TokenKeys::new(&"k".repeat(40).into(), Duration::from_secs(60));
        let other = TokenKeys::new(&"j".repeat(40).into(), Duration::from_secs(60));
        let user = UserId::new();
        let t = keys.issue(user, Uuid::nil()).unwrap();
        assert_eq!(keys.verify(&t).unwrap().sub, user.0);
        assert!(other.verify(&t).is_none());
        assert!(keys.verify(&format!("{t}x")).is_none());
        assert!(keys.verify("garbage").is_none());
    }

    #[test]
    fn tokens_without_our_issuer_and_audience_are_refused() {
        let secret = "k".repeat(40);
        let keys = TokenKeys::new(&secret.clone().into(), Duration::from_secs(60));
        let now = Utc::now().timestamp();
        let forge = |claims: serde_json::Value| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap()
        };
        let sub = Uuid::now_v7();
        let base = serde_json::json!({ "sub": sub, "sid": sub, "iat": now, "exp": now + 60 });
        let with = |extra: serde_json::Value| {
            let mut c = base.clone();
            c.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            forge(c)
        };
        assert!(keys.verify(&forge(base.clone())).is_none(), "no iss/aud");
        assert!(
            keys.verify(&with(
                serde_json::json!({ "iss": ISSUER, "aud": "another-service" })
            ))
            .is_none()
        );
        assert!(
            keys.verify(&with(
                serde_json::json!({ "iss": "someone-else", "aud": AUDIENCE })
            ))
            .is_none()
        );
        let ok = with(serde_json::json!({ "iss": ISSUER, "aud": AUDIENCE }));
        assert_eq!(keys.verify(&ok).unwrap().sub, sub);
        let issued = keys.issue(UserId(sub), sub).unwrap();
        let claims = keys.verify(&issued).unwrap();
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            (ISSUER, AUDIENCE)
        );
    }

    #[test]
    fn successors_are_deterministic_per_key_and_device_cookies_bind_their_account() {
        let keys = TokenKeys::new(&"k".repeat(40).into(), Duration::from_secs(60));
        let other = TokenKeys::new(&"j".repeat(40).into(), Duration::from_secs(60));
        assert_eq!(keys.successor("t1"), keys.successor("t1"));
        assert_ne!(keys.successor("t1"), keys.successor("t2"));
        assert_ne!(keys.successor("t1"), other.successor("t1"));
        assert_eq!(keys.successor("t1").len(), 43);

        let c = keys.device_cookie("ada@example.com");
        let nonce = c.split_once('.').unwrap().0;
        assert_eq!(
            keys.verify_device_cookie("ada@example.com", &c),
            Some(nonce)
        );
        assert_eq!(keys.verify_device_cookie("bob@example.com", &c), None);
        assert_eq!(other.verify_device_cookie("ada@example.com", &c), None);
        assert_eq!(
            keys.verify_device_cookie("ada@example.com", &format!("x{c}")),
            None
        );
        assert_eq!(
            keys.verify_device_cookie("ada@example.com", "garbage"),
            None
        );
        assert_ne!(
            keys.device_cookie("ada@example.com"),
            c,
            "a fresh nonce each time"
        );
        // Its attributes are checked on a real login (tests/api/sessions.rs).
        let set = device_cookie(&c, Duration::from_secs(10));
        assert!(set.starts_with(&format!("insights_device={c};")), "{set}");
    }

    #[test]
    fn the_refresh_cookie_is_locked_down_and_parsed_back() {
        let c = refresh_cookie("abc", Duration::from_secs(10));
        for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"] {
            assert!(c.contains(part), "{c}");
        }
        let mut h = axum::http::HeaderMap::new();
        h.insert("cookie", "a=1; insights_refresh=tok; b=2".parse().unwrap());
        assert_eq!(refresh_token_from(&h).as_deref(), Some("tok"));
        h.insert("cookie", "insights_refresh=".parse().unwrap());
        assert_eq!(refresh_token_from(&h), None);
    }
}
