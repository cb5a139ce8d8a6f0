//! Organizations (tenants).

use super::{DbError, DbResult, OrgTx};
use chrono::{DateTime, Utc};
use insights_types::{OrgId, Role, api::OrgOut};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
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
        // A savepoint, so a taken slug does not abort the whole transaction.
        sqlx::query("SAVEPOINT org_slug").execute(db.conn()).await?;
        let res = sqlx::query_as::<_, OrgRow>(
            "INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3) RETURNING id, name, slug, created_at",
        )
        .bind(org_id.0)
        .bind(name)
        .bind(&slug)
        .fetch_one(db.conn())
        .await;
        match res.map_err(DbError::from) {
            Ok(row) => {
                sqlx::query("RELEASE SAVEPOINT org_slug")
                    .execute(db.conn())
                    .await?;
                return Ok(row);
            }
            Err(DbError::Conflict { constraint }) if constraint == "organizations_slug_key" => {
                sqlx::query("ROLLBACK TO SAVEPOINT org_slug")
                    .execute(db.conn())
                    .await?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(DbError::Conflict {
        constraint: "organizations_slug_key".into(),
    })
}

pub async fn get(db: &mut OrgTx) -> DbResult<OrgRow> {
    let id = db.org_id();
    Ok(
        sqlx::query_as("SELECT id, name, slug, created_at FROM organizations WHERE id = $1")
            .bind(id.0)
            .fetch_one(db.conn())
            .await?,
    )
}

pub async fn update_name(db: &mut OrgTx, name: &str) -> DbResult<OrgRow> {
    let id = db.org_id();
    Ok(sqlx::query_as(
        "UPDATE organizations SET name = $2, updated_at = now() WHERE id = $1 RETURNING id, name, slug, created_at",
    )
    .bind(id.0)
    .bind(name)
    .fetch_one(db.conn())
    .await?)
}

/// The organizations a user belongs to, with their role, oldest membership first. Needs a user transaction
/// (`Db::user_tx`).
pub async fn list_for_user(
    conn: &mut PgConnection,
    user_id: insights_types::UserId,
) -> DbResult<Vec<(OrgRow, Role)>> {
    let rows: Vec<(Uuid, String, String, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT o.id, o.name, o.slug, o.created_at, m.role
           FROM memberships m JOIN organizations o ON o.id = m.org_id
          WHERE m.user_id = $1
          ORDER BY m.created_at, o.id",
    )
    .bind(user_id.0)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, slug, created_at, role)| {
            Some((
                OrgRow {
                    id,
                    name,
                    slug,
                    created_at,
                },
                Role::parse(&role).ok()?,
            ))
        })
        .collect())
}
