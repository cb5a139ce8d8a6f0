//! Access tokens (HS256 JWT, short-lived) and the refresh-token cookie.

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

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The login session (refresh-token family) this token came from.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
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
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            access_ttl,
        }
    }

    pub fn issue(&self, user: UserId, session: Uuid) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
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
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == REFRESH_COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
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
