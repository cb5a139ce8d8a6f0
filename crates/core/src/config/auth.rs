//! The auth section: tokens, invitations, rate limits and where client addresses come from.

use super::ConfigError;
use super::env::Env;
use super::proxies::TrustedProxies;
use super::strength::weak_secret_reason;
use super::vars;
use secrecy::SecretString;
use std::time::Duration;

/// Read by the API only.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Signs access tokens (HS256).
    pub jwt_secret: SecretString,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long an invitation to `member` or `viewer` can be accepted.
    pub invitation_ttl: Duration,
    /// How long an invitation to `owner` or `admin` can be accepted (shorter: a leaked link is worth more).
    pub privileged_invitation_ttl: Duration,
    /// How long an email verification link works.
    pub email_verification_ttl: Duration,
    /// How long a password reset link works.
    pub password_reset_ttl: Duration,
    /// Sign-up and login attempts allowed per client IP per minute.
    pub rate_limit_per_ip: u32,
    /// Failed logins (and sign-ups) allowed per account per minute.
    pub rate_limit_per_account: u32,
    /// The proxies in front of the API, which say where the client address comes from.
    pub trusted_proxies: TrustedProxies,
    /// How long after a refresh the token it replaced still answers with the same successor (tabs that
    /// refresh at the same instant), instead of counting as reuse.
    pub refresh_grace: Duration,
    /// How long the API may rely on a cached "this session is still live" before asking PostgreSQL again.
    pub session_check_cache: Duration,
    /// Lifetime of the device cookie a browser gets after a successful login.
    pub device_cookie_ttl: Duration,
}

impl AuthConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let jwt_secret = env.required(vars::JWT_SECRET)?;
        if let Some(reason) = weak_secret_reason(&jwt_secret) {
            return Err(vars::JWT_SECRET.err(reason));
        }
        Ok(AuthConfig {
            jwt_secret: jwt_secret.into(),
            access_token_ttl: env.secs(vars::ACCESS_TOKEN_TTL_SECS, 15 * 60)?,
            refresh_token_ttl: env.secs(vars::REFRESH_TOKEN_TTL_SECS, 30 * 24 * 3600)?,
            invitation_ttl: env.secs(vars::INVITATION_TTL_SECS, 7 * 24 * 3600)?,
            privileged_invitation_ttl: env.secs(vars::PRIVILEGED_INVITATION_TTL_SECS, 24 * 3600)?,
            email_verification_ttl: env.secs(vars::EMAIL_VERIFICATION_TTL_SECS, 48 * 3600)?,
            password_reset_ttl: env.secs(vars::PASSWORD_RESET_TTL_SECS, 30 * 60)?,
            rate_limit_per_ip: env.positive(vars::AUTH_RATE_LIMIT_PER_IP, 30)?,
            rate_limit_per_account: env.positive(vars::AUTH_RATE_LIMIT_PER_ACCOUNT, 10)?,
            trusted_proxies: TrustedProxies::from_env(env)?,
            refresh_grace: env.secs(vars::REFRESH_GRACE_SECS, 30)?,
            session_check_cache: env.secs(vars::SESSION_CHECK_CACHE_SECS, 5)?,
            device_cookie_ttl: env.secs(vars::DEVICE_COOKIE_TTL_SECS, 365 * 24 * 3600)?,
        })
    }
}
