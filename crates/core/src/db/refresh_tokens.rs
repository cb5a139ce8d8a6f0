//! Refresh tokens: opaque, stored as SHA-256 digests, rotated on every use. Tokens issued from one login form
//! a family (the session); presenting an already-used token revokes the whole family (it was probably stolen),
//! except the immediately previous one within a short grace window (tabs refreshing at the same instant).

use super::DbResult;
use chrono::{DateTime, Utc};
use insights_types::UserId;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct RefreshTokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    conn: &mut PgConnection,
    user_id: UserId,
    family_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query!(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
        Uuid::now_v7(),
        user_id as UserId,
        family_id,
        token_hash,
        expires_at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The token with this digest, locked so that two concurrent refreshes cannot both rotate it.
pub async fn find_for_update(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> DbResult<Option<RefreshTokenRow>> {
    Ok(sqlx::query_as!(
        RefreshTokenRow,
        "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens
          WHERE token_hash = $1 FOR UPDATE",
        token_hash,
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn mark_used(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> DbResult<()> {
    sqlx::query!(
        "UPDATE refresh_tokens SET used_at = $2, updated_at = now() WHERE id = $1",
        id,
        at,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the session (family) is still live for this user: not revoked and not expired. Checked on every
/// authenticated request (through a short cache), so that logout and a password change end access tokens too.
pub async fn family_live(
    conn: &mut PgConnection,
    user_id: UserId,
    family_id: Uuid,
) -> DbResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM refresh_tokens
                           WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now())
                  AS "live!""#,
        family_id,
        user_id as UserId,
    )
    .fetch_one(conn)
    .await?)
}

pub async fn revoke_family(conn: &mut PgConnection, family_id: Uuid) -> DbResult<()> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now(), updated_at = now()
          WHERE family_id = $1 AND revoked_at IS NULL",
        family_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Signs a user out everywhere except the given family (after a password change); the families it ended.
pub async fn revoke_user_except(
    conn: &mut PgConnection,
    user_id: UserId,
    keep_family: Option<Uuid>,
) -> DbResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        "WITH revoked AS (
             UPDATE refresh_tokens SET revoked_at = now(), updated_at = now()
              WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR family_id <> $2)
             RETURNING family_id)
         SELECT DISTINCT family_id FROM revoked",
        user_id as UserId,
        keep_family,
    )
    .fetch_all(conn)
    .await?)
}
