//! Organizations (tenants).

use super::{DbError, DbResult, OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_types::{OrgId, Role, UserId, api::OrgOut};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

impl OrgRow {
    #[must_use]
    pub fn out(&self) -> OrgOut {
        OrgOut {
            id: OrgId(self.id),
            name: self.name.clone(),
            slug: self.slug.clone(),
        }
    }
}

/// Creates the organization of this transaction. The slug is derived from the name, with a numeric suffix
/// when taken.
pub async fn create(db: &mut OrgTx, name: &str) -> DbResult<OrgRow> {
    let base = insights_types::domain::slug_base(name);
    let org_id = db.org_id();
    for attempt in 0..20u32 {
        let slug = match attempt {
            0 => base.clone(),
            1..=9 => format!("{base}-{}", attempt + 1),
            _ => format!("{base}-{}", &Uuid::new_v4().simple().to_string()[..8]),
        };
        // A savepoint (a transaction inside the transaction), so a taken slug does not abort the whole one.
        let mut savepoint = db.conn().begin().await?;
        let res = sqlx::query_as!(
            OrgRow,
            "INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3) RETURNING id, name, slug, created_at",
            org_id as OrgId,
            name,
            slug,
        )
        .fetch_one(&mut *savepoint)
        .await;
        match res.map_err(DbError::from) {
            Ok(row) => {
                savepoint.commit().await?;
                return Ok(row);
            }
            Err(DbError::Conflict { constraint }) if constraint == "organizations_slug_key" => {
                savepoint.rollback().await?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(DbError::Conflict {
        constraint: "organizations_slug_key".into(),
    })
}

pub async fn get(db: &mut OrgTx) -> DbResult<OrgRow> {
    Ok(org_query_as!(
        db,
        OrgRow,
        "SELECT id, name, slug, created_at FROM organizations WHERE id = $1",
    )
    .fetch_one(db.conn())
    .await?)
}

pub async fn update_name(db: &mut OrgTx, name: &str) -> DbResult<OrgRow> {
    Ok(org_query_as!(
        db,
        OrgRow,
        "UPDATE organizations SET name = $2, updated_at = now() WHERE id = $1 RETURNING id, name, slug, created_at",
        name,
    )
    .fetch_one(db.conn())
    .await?)
}

/// The organizations a user belongs to, with their role, oldest membership first. Needs a user transaction
/// (`Db::user_tx`).
pub async fn list_for_user(
    conn: &mut PgConnection,
    user_id: UserId,
) -> DbResult<Vec<(OrgRow, Role)>> {
    let rows = sqlx::query!(
        r#"SELECT o.id, o.name, o.slug, o.created_at, m.role AS "role: Role"
             FROM memberships m JOIN organizations o ON o.id = m.org_id
            WHERE m.user_id = $1
            ORDER BY m.created_at, o.id"#,
        user_id as UserId,
    )
    .fetch_all(conn)
    .await
    .read_from("memberships")?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let org = OrgRow {
                id: r.id,
                name: r.name,
                slug: r.slug,
                created_at: r.created_at,
            };
            (org, r.role)
        })
        .collect())
}

/// How many organizations `user` owns (read through the user's own memberships, `app.user_id`). Takes a lock
/// on the user for the rest of the transaction, so two organizations created at once are counted one after
/// the other (the owner quota holds under parallel requests).
pub async fn owned_by(db: &mut OrgTx, user: UserId) -> DbResult<i64> {
    sqlx::query!(
        r#"SELECT 1 AS "locked!" FROM pg_advisory_xact_lock(hashtextextended('orgs_owned_by:' || $1::uuid::text, 0))"#,
        user as UserId
    )
    .fetch_one(db.conn())
    .await?;
    // A statement of its own, after the lock: its snapshot sees an organization created just before.
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM memberships WHERE user_id = $1 AND role = 'owner'"#,
        user as UserId
    )
    .fetch_one(db.conn())
    .await?)
}
