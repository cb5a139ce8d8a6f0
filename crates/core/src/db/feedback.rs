//! Feedback messages people leave from any page, read by admins.

use super::{DbResult, OrgTx, cursor};
use chrono::{DateTime, Utc};
use insights_types::{FeedbackId, UserId, api::FeedbackOut};
use uuid::Uuid;

pub async fn create(
    db: &mut OrgTx,
    user: UserId,
    message: &str,
    page: &str,
) -> DbResult<FeedbackId> {
    let org = db.org_id();
    let id = FeedbackId::new();
    sqlx::query(
        "INSERT INTO feedback (id, org_id, user_id, message, page) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(org.0)
    .bind(user.0)
    .bind(message)
    .bind(page)
    .execute(db.conn())
    .await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    message: String,
    page: String,
    created_at: DateTime<Utc>,
    author_id: Option<Uuid>,
    author_email: Option<String>,
    author_name: Option<String>,
}

pub async fn list(
    db: &mut OrgTx,
    after: Option<cursor::Position>,
    limit: i64,
) -> DbResult<(Vec<FeedbackOut>, Option<String>)> {
    let org = db.org_id();
    let (at, id) = after.unzip();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT f.id, f.message, f.page, f.created_at, u.id AS author_id, u.email AS author_email, u.name AS author_name
           FROM feedback f LEFT JOIN users u ON u.id = f.user_id
          WHERE f.org_id = $1 AND ($2::timestamptz IS NULL OR (f.created_at, f.id) < ($2, $3))
          ORDER BY f.created_at DESC, f.id DESC LIMIT $4",
    )
    .bind(org.0)
    .bind(at)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(db.conn())
    .await?;
    let items: Vec<FeedbackOut> = rows
        .into_iter()
        .map(|r| FeedbackOut {
            id: FeedbackId(r.id),
            message: r.message,
            page: r.page,
            author: super::users::joined(r.author_id, r.author_email, r.author_name),
            created_at: r.created_at,
        })
        .collect();
    Ok(cursor::page(items, limit, |f| (f.created_at, f.id.0)))
}
