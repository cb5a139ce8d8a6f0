//! The single-use email links of an account (email verification, password reset). Like refresh tokens they
//! belong to a person, not to a tenant. The token is stored as a SHA-256 digest; its encrypted copy lives only
//! until the email is sent.

use super::DbResult;
use chrono::{DateTime, Utc};
use insights_types::{AccountTokenId, UserId};
use sqlx::PgConnection;

/// What a link is for (`account_tokens.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::VerifyEmail, Self::ResetPassword]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

pub struct NewAccountToken<'a> {
    pub id: AccountTokenId,
    pub user_id: UserId,
    pub purpose: Purpose,
    pub token_hash: &'a [u8],
    pub token_ciphertext: Option<Vec<u8>>,
    pub expires_at: DateTime<Utc>,
}

/// Stores a new link in place of the user's earlier ones for the same purpose: those stop working (the newest
/// wins; an email still queued for one is skipped), and a user has at most one row per purpose.
pub async fn create(conn: &mut PgConnection, new: NewAccountToken<'_>) -> DbResult<()> {
    sqlx::query!(
        "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2",
        new.user_id as UserId,
        new.purpose.as_str(),
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO account_tokens (id, user_id, purpose, token_hash, token_ciphertext, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        new.id as AccountTokenId,
        new.user_id as UserId,
        new.purpose.as_str(),
        new.token_hash,
        new.token_ciphertext,
        new.expires_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Uses up the link with this token for `purpose`, if it is unused and unexpired, and returns its user.
/// Atomic: of two requests with the same token, one gets the user.
pub async fn consume(
    conn: &mut PgConnection,
    purpose: Purpose,
    token_hash: &[u8],
) -> DbResult<Option<UserId>> {
    Ok(sqlx::query_scalar!(
        r#"UPDATE account_tokens SET used_at = now(), token_ciphertext = NULL, updated_at = now()
            WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING user_id AS "user_id: UserId""#,
        token_hash,
        purpose.as_str(),
    )
    .fetch_optional(conn)
    .await?)
}

/// A link whose email is still to be sent.
#[derive(Debug, Clone)]
pub struct PendingEmail {
    pub purpose: Purpose,
    pub email: String,
    pub name: String,
    pub expires_at: DateTime<Utc>,
    pub token_ciphertext: Vec<u8>,
}

/// The link `id` with its encrypted token and its user's address, if it is unused, unexpired and unsent.
pub async fn pending_email(
    conn: &mut PgConnection,
    id: AccountTokenId,
) -> DbResult<Option<PendingEmail>> {
    let row = sqlx::query!(
        r#"SELECT t.purpose, t.expires_at, t.token_ciphertext AS "token_ciphertext!", u.email, u.name
             FROM account_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.id = $1 AND t.used_at IS NULL AND t.expires_at > now() AND t.token_ciphertext IS NOT NULL"#,
        id as AccountTokenId,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        Some(PendingEmail {
            purpose: Purpose::parse(&r.purpose)?,
            email: r.email,
            name: r.name,
            expires_at: r.expires_at,
            token_ciphertext: r.token_ciphertext,
        })
    }))
}

/// Forgets the encrypted token once the email is sent.
pub async fn clear_token_ciphertext(conn: &mut PgConnection, id: AccountTokenId) -> DbResult<()> {
    sqlx::query!(
        "UPDATE account_tokens SET token_ciphertext = NULL, updated_at = now() WHERE id = $1",
        id as AccountTokenId,
    )
    .execute(conn)
    .await?;
    Ok(())
}
