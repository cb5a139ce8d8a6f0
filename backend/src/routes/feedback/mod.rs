//! Feedback: anyone in an organization can leave a message from the page they are on; admins read them.

use crate::error::ApiError;
use crate::http::{Json, ListQuery, OrgMember, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use insights_core::db;
use insights_types::api::{FeedbackIn, FeedbackOut, Page};
use insights_types::domain::FieldErrors;
use insights_types::{FieldError, OrgId, Permission};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_feedback, list_feedback))
}

const MESSAGE_MAX: usize = 4000;
const PAGE_MAX: usize = 500;

/// Leave a feedback message.
#[utoipa::path(post, path = "/orgs/{org_id}/feedback", tag = "feedback", security(("bearer" = [])),
    params(("org_id" = OrgId, Path)), request_body = FeedbackIn,
    responses((status = 201, body = FeedbackOut)))]
async fn create_feedback(
    State(state): State<AppState>,
    member: OrgMember,
    Json(body): Json<FeedbackIn>,
) -> Result<(StatusCode, Json<FeedbackOut>), ApiError> {
    member.require(Permission::SendFeedback)?;
    let mut errors = FieldErrors::default();
    let message = body.message.trim();
    if message.is_empty() {
        errors.push(FieldError::new("message", "required", "must not be empty"));
    } else if message.chars().count() > MESSAGE_MAX {
        errors.push(FieldError::new(
            "message",
            "too_long",
            format!("must be at most {MESSAGE_MAX} characters"),
        ));
    }
    if !body.page.starts_with('/')
        || body.page.chars().count() > PAGE_MAX
        || body.page.chars().any(char::is_control)
    {
        errors.push(FieldError::new(
            "page",
            "invalid",
            format!("must be a path starting with '/', at most {PAGE_MAX} characters"),
        ));
    }
    errors.finish()?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let id = db::feedback::create(&mut db, member.user_id, message, &body.page).await?;
    db.commit().await?;
    let mut conn = state.db.pool().acquire().await.map_err(db::DbError::from)?;
    let author = db::users::get(&mut conn, member.user_id).await?.out();
    Ok((
        StatusCode::CREATED,
        Json(FeedbackOut {
            id,
            message: message.to_owned(),
            page: body.page,
            author: Some(author),
            created_at: chrono::Utc::now(),
        }),
    ))
}

/// Feedback left in this organization, newest first (admins and owners).
#[utoipa::path(get, path = "/orgs/{org_id}/feedback", tag = "feedback", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), ListQuery), responses((status = 200, body = Page<FeedbackOut>)))]
async fn list_feedback(
    State(state): State<AppState>,
    member: OrgMember,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<FeedbackOut>>, ApiError> {
    member.require(Permission::ViewFeedback)?;
    let (after, limit) = q.parse()?;
    let mut db = state.db.org_tx(member.org_id, Some(member.user_id)).await?;
    let (items, next_cursor) = db::feedback::list(&mut db, after, limit).await?;
    Ok(Json(Page { items, next_cursor }))
}
