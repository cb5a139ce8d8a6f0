//! Each member's dashboard layout: at most one row per (organization, user); no row means the default layout.

use super::{DbResult, OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_types::UserId;
use insights_types::api::DashboardLayout;
use sqlx::types::Json;

/// The layout `user` saved, with when, if any.
pub async fn get(
    db: &mut OrgTx,
    user: UserId,
) -> DbResult<Option<(DashboardLayout, DateTime<Utc>)>> {
    let row = org_query!(
        db,
        r#"SELECT layout AS "layout: Json<DashboardLayout>", updated_at
             FROM dashboard_layouts WHERE org_id = $1 AND user_id = $2"#,
        user as UserId,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("dashboard_layouts")?;
    Ok(row.map(|r| (r.layout.0, r.updated_at)))
}

/// Saves `user`'s layout (validated by the caller), replacing the one before; returns when it was saved.
pub async fn put(
    db: &mut OrgTx,
    user: UserId,
    layout: &DashboardLayout,
) -> DbResult<DateTime<Utc>> {
    Ok(org_query_scalar!(
        db,
        "INSERT INTO dashboard_layouts (org_id, user_id, layout) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, user_id) DO UPDATE SET layout = EXCLUDED.layout, updated_at = now()
         RETURNING updated_at",
        user as UserId,
        Json(layout) as _,
    )
    .fetch_one(db.conn())
    .await?)
}

/// Forgets `user`'s layout: they see the default one again.
pub async fn delete(db: &mut OrgTx, user: UserId) -> DbResult<()> {
    org_execute!(
        db,
        "DELETE FROM dashboard_layouts WHERE org_id = $1 AND user_id = $2",
        user as UserId,
    )
}
