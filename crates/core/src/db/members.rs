//! Memberships: who belongs to an organization, with which role.

use super::{DbResult, OrgTx};
use chrono::{DateTime, Utc};
use insights_types::{
    Role, UserId,
    api::{MemberOut, UserOut},
};
use uuid::Uuid;

pub async fn add(db: &mut OrgTx, user_id: UserId, role: Role) -> DbResult<()> {
    let org = db.org_id();
    sqlx::query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)")
        .bind(org.0)
        .bind(user_id.0)
        .bind(role.as_str())
        .execute(db.conn())
        .await?;
    Ok(())
}

/// The role of `user_id` here, if a member.
pub async fn role_of(db: &mut OrgTx, user_id: UserId) -> DbResult<Option<Role>> {
    let org = db.org_id();
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org.0)
            .bind(user_id.0)
            .fetch_optional(db.conn())
            .await?;
    Ok(role.and_then(|r| Role::parse(&r).ok()))
}

type MemberRow = (Uuid, String, String, String, DateTime<Utc>);

fn member_out((id, email, name, role, joined_at): MemberRow) -> Option<MemberOut> {
    Some(MemberOut {
        user: UserOut {
            id: UserId(id),
            email,
            name,
        },
        role: Role::parse(&role).ok()?,
        joined_at,
    })
}

macro_rules! member_select {
    () => {
        "SELECT u.id, u.email, u.name, m.role, m.created_at
                               FROM memberships m JOIN users u ON u.id = m.user_id
                              WHERE m.org_id = $1"
    };
}

pub async fn list(db: &mut OrgTx) -> DbResult<Vec<MemberOut>> {
    let org = db.org_id();
    let rows: Vec<MemberRow> =
        sqlx::query_as(concat!(member_select!(), " ORDER BY m.created_at, u.id"))
            .bind(org.0)
            .fetch_all(db.conn())
            .await?;
    Ok(rows.into_iter().filter_map(member_out).collect())
}

pub async fn get(db: &mut OrgTx, user_id: UserId) -> DbResult<MemberOut> {
    let org = db.org_id();
    let row: MemberRow = sqlx::query_as(concat!(member_select!(), " AND m.user_id = $2"))
        .bind(org.0)
        .bind(user_id.0)
        .fetch_one(db.conn())
        .await?;
    member_out(row).ok_or(super::DbError::NotFound)
}

/// Locks the organization's owner rows and counts them, so two concurrent demotions cannot both pass the
/// "not the last owner" check.
pub async fn lock_owner_count(db: &mut OrgTx) -> DbResult<i64> {
    let org = db.org_id();
    let owners: Vec<Uuid> = sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner' FOR UPDATE",
    )
    .bind(org.0)
    .fetch_all(db.conn())
    .await?;
    Ok(owners.len() as i64)
}

pub async fn set_role(db: &mut OrgTx, user_id: UserId, role: Role) -> DbResult<()> {
    let org = db.org_id();
    let res = sqlx::query(
        "UPDATE memberships SET role = $3, updated_at = now() WHERE org_id = $1 AND user_id = $2",
    )
    .bind(org.0)
    .bind(user_id.0)
    .bind(role.as_str())
    .execute(db.conn())
    .await?;
    if res.rows_affected() == 0 {
        return Err(super::DbError::NotFound);
    }
    Ok(())
}

pub async fn remove(db: &mut OrgTx, user_id: UserId) -> DbResult<()> {
    let org = db.org_id();
    let res = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user_id.0)
        .execute(db.conn())
        .await?;
    if res.rows_affected() == 0 {
        return Err(super::DbError::NotFound);
    }
    Ok(())
}
