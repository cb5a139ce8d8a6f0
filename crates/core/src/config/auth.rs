//! The auth section: tokens, invitations, rate limits and where client addresses come from.

use super::ConfigError;
use super::env::Env;
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
    /// Invitations one organization may create per rolling 24 hours.
    pub invitations_per_day: u32,
    /// How long an email verification link works.
    pub email_verification_ttl: Duration,
    /// How long a password reset link works.
    pub password_reset_ttl: Duration,
    /// Sign-up and login attempts allowed per client IP per minute.
    pub rate_limit_per_ip: u32,
    /// Failed logins (and sign-ups) allowed per account per minute.
    pub rate_limit_per_account: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
}

impl AuthConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let jwt_secret = env.required(vars::JWT_SECRET)?;
        if jwt_secret.len() < 32 {
            return Err(vars::JWT_SECRET.err("must be at least 32 characters"));
        }
        Ok(AuthConfig {
            jwt_secret: jwt_secret.into(),
            access_token_ttl: env.secs(vars::ACCESS_TOKEN_TTL_SECS, 15 * 60)?,
            refresh_token_ttl: env.secs(vars::REFRESH_TOKEN_TTL_SECS, 30 * 24 * 3600)?,
            invitation_ttl: env.secs(vars::INVITATION_TTL_SECS, 7 * 24 * 3600)?,
            privileged_invitation_ttl: env.secs(vars::PRIVILEGED_INVITATION_TTL_SECS, 24 * 3600)?,
            invitations_per_day: env.positive(vars::INVITATIONS_PER_DAY, 100)?,
            email_verification_ttl: env.secs(vars::EMAIL_VERIFICATION_TTL_SECS, 48 * 3600)?,
            password_reset_ttl: env.secs(vars::PASSWORD_RESET_TTL_SECS, 30 * 60)?,
            rate_limit_per_ip: env.positive(vars::AUTH_RATE_LIMIT_PER_IP, 30)?,
            rate_limit_per_account: env.positive(vars::AUTH_RATE_LIMIT_PER_ACCOUNT, 10)?,
            trust_forwarded_for: env.parse(vars::TRUST_FORWARDED_FOR, false)?,
        })
    }
}
