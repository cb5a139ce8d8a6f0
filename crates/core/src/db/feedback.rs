//! Feedback messages people leave from any page, read by admins.

use super::{DbResult, OrgTx, cursor};
use chrono::{DateTime, Utc};
use insights_types::{FeedbackId, UserId, api::FeedbackOut};

pub async fn create(
    db: &mut OrgTx,
    user: UserId,
    message: &str,
    page: &str,
) -> DbResult<FeedbackId> {
    let id = FeedbackId::new();
    org_execute!(
        db,
        "INSERT INTO feedback (org_id, id, user_id, message, page) VALUES ($1, $2, $3, $4, $5)",
        id as FeedbackId,
        user as UserId,
        message,
        page,
    )?;
    Ok(id)
}

struct Row {
    id: FeedbackId,
    message: String,
    page: String,
    created_at: DateTime<Utc>,
    author_id: Option<UserId>,
    author_email: Option<String>,
    author_name: Option<String>,
}

pub async fn list(
    db: &mut OrgTx,
    after: Option<cursor::Position>,
    limit: i64,
) -> DbResult<(Vec<FeedbackOut>, Option<String>)> {
    let (at, id) = after.unzip();
    let rows = org_query_as!(
        db,
        Row,
        r#"SELECT f.id AS "id: FeedbackId", f.message, f.page, f.created_at, u.id AS "author_id?: UserId",
                  u.email AS "author_email?", u.name AS "author_name?"
             FROM feedback f LEFT JOIN users u ON u.id = f.user_id
            WHERE f.org_id = $1 AND ($2::timestamptz IS NULL OR (f.created_at, f.id) < ($2, $3))
            ORDER BY f.created_at DESC, f.id DESC LIMIT $4"#,
        at,
        id,
        limit + 1,
    )
    .fetch_all(db.conn())
    .await?;
    let items: Vec<FeedbackOut> = rows
        .into_iter()
        .map(|r| FeedbackOut {
            id: r.id,
            message: r.message,
            page: r.page,
            author: super::users::joined(r.author_id, r.author_email, r.author_name),
            created_at: r.created_at,
        })
        .collect();
    Ok(cursor::page(items, limit, |f| (f.created_at, f.id.0)))
}
