//! The API's reads of drafts (`runbook_generations`). A draft is private: it is seen by the person who asked
//! for it and by `ManageGeneration` roles (who also see every prompt the organization sent); anyone else gets
//! "not found", as for a draft that does not exist.

use super::{RunbookError, RunbookResult};
use crate::db::{DbError, OrgTx, cursor};
use chrono::{DateTime, Utc};
use insights_types::api::{
    DraftMode, GenerationProgressOut, GenerationSourceOut, GenerationStatus, GenerationSubjectOut,
    NamedRef, RunbookDraftOut, RunbookGenerationOut, SentOut,
};
use insights_types::{RunbookGenerationId, RunbookId, UserId};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Who reads: a person, and whether their role sees everyone's drafts.
#[derive(Clone, Copy, Debug)]
pub struct Viewer {
    pub user_id: UserId,
    pub sees_all: bool,
}

struct Row {
    id: Uuid,
    created_by: Option<Uuid>,
    incident_id: Option<Uuid>,
    incident_title: Option<String>,
    pattern_id: Option<Uuid>,
    pattern_name: Option<String>,
    prompt: Option<String>,
    instructions: Option<String>,
    refine_of: Option<Uuid>,
    status: String,
    mode: Option<String>,
    progress: serde_json::Value,
    sources: serde_json::Value,
    sent: Option<serde_json::Value>,
    redactions: serde_json::Value,
    draft: Option<serde_json::Value>,
    prompt_tokens: i32,
    completion_tokens: i32,
    error: Option<String>,
    saved_runbook_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

/// `progress` as stored: any part may be missing (`{}` before the worker starts).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Progress {
    stage: Option<String>,
    done: u32,
    total: u32,
}

fn unreadable(column: &str, error: impl std::fmt::Display) -> RunbookError {
    RunbookError::Db(DbError::Unreadable {
        table: "runbook_generations",
        column: column.into(),
        error: error.to_string().into(),
    })
}

fn status_of(s: &str) -> RunbookResult<GenerationStatus> {
    Ok(match s {
        "queued" => GenerationStatus::Queued,
        "running" => GenerationStatus::Running,
        "succeeded" => GenerationStatus::Succeeded,
        "failed" => GenerationStatus::Failed,
        other => return Err(unreadable("status", format!("unknown status {other:?}"))),
    })
}

fn json<T: for<'de> Deserialize<'de>>(column: &str, v: serde_json::Value) -> RunbookResult<T> {
    serde_json::from_value(v).map_err(|e| unreadable(column, e))
}

fn out(r: Row) -> RunbookResult<RunbookGenerationOut> {
    let status = status_of(&r.status)?;
    let mode = match r.mode.as_deref() {
        None => None,
        Some("generated") => Some(DraftMode::Generated),
        Some("assembled") => Some(DraftMode::Assembled),
        Some(other) => return Err(unreadable("mode", format!("unknown mode {other:?}"))),
    };
    let progress: Progress = serde_json::from_value(r.progress).unwrap_or_default();
    let stage = progress.stage.unwrap_or_else(|| {
        match status {
            GenerationStatus::Queued => "queued",
            GenerationStatus::Running => "retrieving",
            GenerationStatus::Succeeded | GenerationStatus::Failed => "done",
        }
        .to_owned()
    });
    Ok(RunbookGenerationOut {
        id: RunbookGenerationId(r.id),
        status,
        mode,
        subject: GenerationSubjectOut {
            incident: r.incident_id.map(|id| NamedRef {
                id,
                name: r.incident_title.unwrap_or_default(),
            }),
            pattern: r.pattern_id.map(|id| NamedRef {
                id,
                name: r.pattern_name.unwrap_or_default(),
            }),
            prompt: r.prompt,
        },
        instructions: r.instructions,
        refine_of: r.refine_of.map(RunbookGenerationId),
        progress: GenerationProgressOut {
            stage,
            done: progress.done,
            total: progress.total,
        },
        draft: r
            .draft
            .filter(|d| !d.is_null())
            .map(|d| json::<RunbookDraftOut>("draft", d))
            .transpose()?,
        sources: json::<Vec<GenerationSourceOut>>("sources", r.sources)?,
        sent: r
            .sent
            .filter(|s| !s.is_null())
            .map(|s| json::<SentOut>("sent", s))
            .transpose()?,
        redactions: json::<BTreeMap<String, u32>>("redactions", r.redactions)?,
        prompt_tokens: r.prompt_tokens,
        completion_tokens: r.completion_tokens,
        error: r.error,
        created_by: r.created_by.map(UserId),
        created_at: r.created_at,
        finished_at: r.finished_at,
        saved_runbook_id: r.saved_runbook_id.map(RunbookId),
    })
}

/// A draft the viewer may see.
///
/// # Errors
/// [`RunbookError::NotFound`] when there is none, or the viewer may not see it.
pub async fn get(
    db: &mut OrgTx,
    viewer: Viewer,
    id: RunbookGenerationId,
) -> RunbookResult<RunbookGenerationOut> {
    let row = org_query_as!(
        db,
        Row,
        r#"SELECT g.id, g.created_by, g.incident_id, i.title AS "incident_title?", g.pattern_id,
                  coalesce(p.name, p.template) AS pattern_name, g.prompt, g.instructions, g.refine_of,
                  g.status, g.mode, g.progress, g.sources, g.sent, g.redactions, g.draft, g.prompt_tokens,
                  g.completion_tokens, g.error, g.saved_runbook_id, g.created_at, g.finished_at
             FROM runbook_generations g
             LEFT JOIN incidents i ON i.org_id = g.org_id AND i.id = g.incident_id
             LEFT JOIN patterns p ON p.org_id = g.org_id AND p.id = g.pattern_id
            WHERE g.org_id = $1 AND g.id = $2 AND ($3 OR g.created_by = $4)"#,
        id.0,
        viewer.sees_all,
        viewer.user_id.0
    )
    .fetch_optional(db.conn())
    .await?
    .ok_or(RunbookError::NotFound)?;
    out(row)
}

/// The viewer's own drafts, newest first (`all`: everyone's — only for a viewer who sees all).
///
/// # Errors
/// A database error.
pub async fn list(
    db: &mut OrgTx,
    viewer: Viewer,
    all: bool,
    after: Option<cursor::Position>,
    limit: i64,
) -> RunbookResult<(Vec<RunbookGenerationOut>, Option<String>)> {
    let everyone = all && viewer.sees_all;
    let (after_at, after_id) = after.unzip();
    let rows = org_query_as!(
        db,
        Row,
        r#"SELECT g.id, g.created_by, g.incident_id, i.title AS "incident_title?", g.pattern_id,
                  coalesce(p.name, p.template) AS pattern_name, g.prompt, g.instructions, g.refine_of,
                  g.status, g.mode, g.progress, g.sources, g.sent, g.redactions, g.draft, g.prompt_tokens,
                  g.completion_tokens, g.error, g.saved_runbook_id, g.created_at, g.finished_at
             FROM runbook_generations g
             LEFT JOIN incidents i ON i.org_id = g.org_id AND i.id = g.incident_id
             LEFT JOIN patterns p ON p.org_id = g.org_id AND p.id = g.pattern_id
            WHERE g.org_id = $1 AND ($2 OR g.created_by = $3)
              AND ($4::timestamptz IS NULL OR (g.created_at, g.id) < ($4, $5))
            ORDER BY g.created_at DESC, g.id DESC
            LIMIT $6"#,
        everyone,
        viewer.user_id.0,
        after_at,
        after_id,
        limit + 1
    )
    .fetch_all(db.conn())
    .await?;
    let items = rows
        .into_iter()
        .map(out)
        .collect::<RunbookResult<Vec<_>>>()?;
    Ok(cursor::page(items, limit, |g| (g.created_at, g.id.0)))
}
