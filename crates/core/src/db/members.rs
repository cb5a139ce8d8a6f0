//! Memberships: who belongs to an organization, with which role.

use super::{DbResult, OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_types::{
    Role, UserId,
    api::{MemberOut, UserOut},
};

pub async fn add(db: &mut OrgTx, user_id: UserId, role: Role) -> DbResult<()> {
    org_execute!(
        db,
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)",
        user_id as UserId,
        role as Role,
    )
}

/// The role of `user_id` here, if a member.
pub async fn role_of(db: &mut OrgTx, user_id: UserId) -> DbResult<Option<Role>> {
    org_query_scalar!(
        db,
        r#"SELECT role AS "role: Role" FROM memberships WHERE org_id = $1 AND user_id = $2"#,
        user_id as UserId,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("memberships")
}

struct MemberRow {
    id: UserId,
    email: String,
    name: String,
    role: Role,
    joined_at: DateTime<Utc>,
}

impl From<MemberRow> for MemberOut {
    fn from(r: MemberRow) -> Self {
        MemberOut {
            user: UserOut {
                id: r.id,
                email: r.email,
                name: r.name,
            },
            role: r.role,
            joined_at: r.joined_at,
        }
    }
}

/// The members of the organization (`$1`) matching `$tail`.
macro_rules! select_members {
    ($db:expr, $tail:literal $(, $arg:expr)* $(,)?) => {
        org_query_as!(
            $db,
            MemberRow,
            r#"SELECT u.id AS "id: UserId", u.email, u.name, m.role AS "role: Role", m.created_at AS joined_at
                 FROM memberships m JOIN users u ON u.id = m.user_id
                WHERE m.org_id = $1"# + $tail
            $(, $arg)*
        )
    };
}

pub async fn list(db: &mut OrgTx) -> DbResult<Vec<MemberOut>> {
    let rows = select_members!(db, " ORDER BY m.created_at, u.id")
        .fetch_all(db.conn())
        .await
        .read_from("memberships")?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn get(db: &mut OrgTx, user_id: UserId) -> DbResult<MemberOut> {
    let row = select_members!(db, " AND m.user_id = $2", user_id as UserId)
        .fetch_one(db.conn())
        .await
        .read_from("memberships")?;
    Ok(row.into())
}

/// Locks the organization's owner rows and counts them, so two concurrent demotions cannot both pass the
/// "not the last owner" check.
pub async fn lock_owner_count(db: &mut OrgTx) -> DbResult<i64> {
    let owners = org_query_scalar!(
        db,
        "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner' FOR UPDATE",
    )
    .fetch_all(db.conn())
    .await?;
    Ok(owners.len() as i64)
}

pub async fn set_role(db: &mut OrgTx, user_id: UserId, role: Role) -> DbResult<()> {
    super::found(org_rows_changed!(
        db,
        "UPDATE memberships SET role = $3, updated_at = now() WHERE org_id = $1 AND user_id = $2",
        user_id as UserId,
        role as Role,
    ))
}

pub async fn remove(db: &mut OrgTx, user_id: UserId) -> DbResult<()> {
    super::found(org_rows_changed!(
        db,
        "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
        user_id as UserId,
    ))
}
