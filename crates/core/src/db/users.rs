//! Accounts. Users are not tenant data (one person may belong to many organizations), so these functions
//! take the pool or any connection.

use super::DbResult;
use chrono::{DateTime, Utc};
use insights_types::{UserId, api::UserOut};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// When the account proved it receives mail at `email` (a verification link, a reset link, or signing up
    /// through an invitation sent there); `None` until then.
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl UserRow {
    #[must_use]
    pub fn user_id(&self) -> UserId {
        UserId(self.id)
    }

    /// Whether the account may act on its address (accept invitations into other organizations). Without SMTP
    /// (`smtp_configured` false) nobody can prove an address, so every account counts as verified.
    #[must_use]
    pub fn email_verified(&self, smtp_configured: bool) -> bool {
        !smtp_configured || self.email_verified_at.is_some()
    }

    #[must_use]
    pub fn out(&self) -> UserOut {
        UserOut {
            id: self.user_id(),
            email: self.email.clone(),
            name: self.name.clone(),
        }
    }
}

/// A user from the three columns of an outer join (`None` when the user is gone).
#[must_use]
pub fn joined(id: Option<UserId>, email: Option<String>, name: Option<String>) -> Option<UserOut> {
    Some(UserOut {
        id: id?,
        email: email?,
        name: name?,
    })
}

pub async fn create(
    conn: &mut PgConnection,
    id: UserId,
    email: &str,
    name: &str,
    password_hash: &str,
    verified: bool,
) -> DbResult<UserRow> {
    Ok(sqlx::query_as!(
        UserRow,
        "INSERT INTO users (id, email, name, password_hash, email_verified_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)
         RETURNING id, email, name, password_hash, created_at, email_verified_at",
        id as UserId,
        email,
        name,
        password_hash,
        verified,
    )
    .fetch_one(conn)
    .await?)
}

pub async fn find_by_email(conn: &mut PgConnection, email: &str) -> DbResult<Option<UserRow>> {
    Ok(sqlx::query_as!(
        UserRow,
        "SELECT id, email, name, password_hash, created_at, email_verified_at FROM users WHERE email = $1",
        email,
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn get(conn: &mut PgConnection, id: UserId) -> DbResult<UserRow> {
    Ok(sqlx::query_as!(
        UserRow,
        "SELECT id, email, name, password_hash, created_at, email_verified_at FROM users WHERE id = $1",
        id as UserId,
    )
    .fetch_one(conn)
    .await?)
}

pub async fn update_name(conn: &mut PgConnection, id: UserId, name: &str) -> DbResult<UserRow> {
    Ok(sqlx::query_as!(
        UserRow,
        "UPDATE users SET name = $2, updated_at = now() WHERE id = $1
         RETURNING id, email, name, password_hash, created_at, email_verified_at",
        id as UserId,
        name,
    )
    .fetch_one(conn)
    .await?)
}

pub async fn update_password_hash(
    conn: &mut PgConnection,
    id: UserId,
    password_hash: &str,
) -> DbResult<()> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        id as UserId,
        password_hash,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that the account proved its address (idempotent: the first proof's time stays).
pub async fn mark_email_verified(conn: &mut PgConnection, id: UserId) -> DbResult<()> {
    sqlx::query!(
        "UPDATE users SET email_verified_at = now(), updated_at = now()
          WHERE id = $1 AND email_verified_at IS NULL",
        id as UserId,
    )
    .execute(conn)
    .await?;
    Ok(())
}
