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
}

impl UserRow {
    #[must_use]
    pub fn user_id(&self) -> UserId {
        UserId(self.id)
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
) -> DbResult<UserRow> {
    Ok(sqlx::query_as!(
        UserRow,
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)
         RETURNING id, email, name, password_hash, created_at",
        id as UserId,
        email,
        name,
        password_hash,
    )
    .fetch_one(conn)
    .await?)
}

pub async fn find_by_email(conn: &mut PgConnection, email: &str) -> DbResult<Option<UserRow>> {
    Ok(sqlx::query_as!(
        UserRow,
        "SELECT id, email, name, password_hash, created_at FROM users WHERE email = $1",
        email,
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn get(conn: &mut PgConnection, id: UserId) -> DbResult<UserRow> {
    Ok(sqlx::query_as!(
        UserRow,
        "SELECT id, email, name, password_hash, created_at FROM users WHERE id = $1",
        id as UserId,
    )
    .fetch_one(conn)
    .await?)
}

pub async fn update_name(conn: &mut PgConnection, id: UserId, name: &str) -> DbResult<UserRow> {
    Ok(sqlx::query_as!(
        UserRow,
        "UPDATE users SET name = $2, updated_at = now() WHERE id = $1
         RETURNING id, email, name, password_hash, created_at",
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
