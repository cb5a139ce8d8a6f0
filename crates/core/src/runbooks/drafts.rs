//! Asking for a draft, and saving one as a runbook. The draft itself is written by the worker's
//! `generate_runbook` job (`generation.rs`); here the request is checked — what it is for (exactly one of an
//! incident, a pattern or a free-text problem, or a refinement of a draft the person may see), the
//! organization's monthly token budget — and recorded with its job in the caller's transaction.

use super::query::{self, Viewer};
use super::{RunbookError, RunbookResult, VersionOrigin, settings, validate};
use crate::db::OrgTx;
use crate::jobs::{GenerateRunbook, JobQueue, Pending};
use insights_types::api::{
    GenerationStatus, RunbookGenerationIn, RunbookIn, RunbookOrigin, RunbookSaveIn,
};
use insights_types::{
    FieldError, IncidentId, PatternId, RunbookGenerationId, RunbookId, ServiceId, UserId,
};

/// The longest free-text problem, and the longest instructions.
pub const MAX_PROMPT: usize = 4000;
pub const MAX_INSTRUCTIONS: usize = 2000;

/// What a draft is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    Incident(IncidentId),
    Pattern(PatternId),
    Prompt(String),
}

fn text_field(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = value?.trim();
    if v.is_empty()
        || v.chars().count() > max
        || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        errors.push(FieldError::new(
            field,
            "invalid_length",
            format!("1–{max} characters"),
        ));
        return None;
    }
    Some(v.to_owned())
}

/// Checks and records a request for a draft with its `generate_runbook` job; push the job once the
/// transaction committed.
///
/// # Errors
/// [`RunbookError::Invalid`] (no subject or several; an unknown incident, pattern or draft to refine; a bad
/// length), [`RunbookError::BudgetSpent`], or a database error.
pub async fn request(
    db: &mut OrgTx,
    jobs: &JobQueue,
    viewer: Viewer,
    input: &RunbookGenerationIn,
) -> RunbookResult<(RunbookGenerationId, Pending<GenerateRunbook>)> {
    let mut errors = Vec::new();
    let prompt = text_field("prompt", input.prompt.as_deref(), MAX_PROMPT, &mut errors);
    let instructions = text_field(
        "instructions",
        input.instructions.as_deref(),
        MAX_INSTRUCTIONS,
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(RunbookError::Invalid(errors));
    }
    let given = [
        input.incident_id.is_some(),
        input.pattern_id.is_some(),
        input.prompt.is_some(),
    ]
    .into_iter()
    .filter(|g| *g)
    .count();
    let subject = match (input.refine_of, given) {
        (Some(previous), 0) => {
            if instructions.is_none() {
                return Err(FieldError::new(
                    "instructions",
                    "required",
                    "say what to change in the draft being refined",
                )
                .into());
            }
            let p = query::get(db, viewer, previous)
                .await
                .map_err(|e| match e {
                    RunbookError::NotFound => RunbookError::Invalid(vec![FieldError::new(
                        "refine_of",
                        "not_found",
                        "no such draft of yours",
                    )]),
                    e => e,
                })?;
            if p.status != GenerationStatus::Succeeded {
                return Err(FieldError::new(
                    "refine_of",
                    "not_ready",
                    "only a finished draft can be refined",
                )
                .into());
            }
            match (p.subject.incident, p.subject.pattern, p.subject.prompt) {
                (Some(i), _, _) => Subject::Incident(IncidentId(i.id)),
                (None, Some(pt), _) => Subject::Pattern(PatternId(pt.id)),
                (None, None, Some(text)) => Subject::Prompt(text),
                // Its incident or pattern was deleted since: the draft itself is what is refined.
                (None, None, None) => Subject::Prompt(p.draft.map(|d| d.title).unwrap_or_default()),
            }
        }
        (None, 1) => {
            if let Some(id) = input.incident_id {
                let exists = org_query_scalar!(
                    db,
                    r#"SELECT EXISTS (SELECT 1 FROM incidents WHERE org_id = $1 AND id = $2) AS "e!""#,
                    id.0
                )
                .fetch_one(db.conn())
                .await?;
                if !exists {
                    return Err(
                        FieldError::new("incident_id", "not_found", "no such incident").into(),
                    );
                }
                Subject::Incident(id)
            } else if let Some(id) = input.pattern_id {
                let resolved = crate::patterns::resolve(db, id)
                    .await
                    .map_err(|e| match e {
                        crate::patterns::PatternError::Db(e) => RunbookError::Db(e),
                        _ => RunbookError::NotFound,
                    })?;
                Subject::Pattern(resolved.ok_or_else(|| {
                    RunbookError::from(FieldError::new(
                        "pattern_id",
                        "not_found",
                        "no such pattern",
                    ))
                })?)
            } else {
                Subject::Prompt(prompt.unwrap_or_default())
            }
        }
        (Some(_), _) => {
            return Err(FieldError::new(
                "refine_of",
                "one_of",
                "a refinement takes its subject from the draft it refines: give only `refine_of` and `instructions`",
            )
            .into());
        }
        (None, _) => {
            return Err(FieldError::new(
                "incident_id",
                "one_of",
                "give exactly one of `incident_id`, `pattern_id` and `prompt` (or `refine_of`)",
            )
            .into());
        }
    };
    let s = settings::get(db).await?;
    if let Some(budget) = s.monthly_token_budget {
        let used = settings::tokens_used_this_month(db).await?;
        if used >= budget {
            return Err(RunbookError::BudgetSpent { used, budget });
        }
    }
    let id = RunbookGenerationId::new();
    let (incident, pattern, prompt) = match &subject {
        Subject::Incident(i) => (Some(i.0), None, None),
        Subject::Pattern(p) => (None, Some(p.0), None),
        Subject::Prompt(t) => (None, None, Some(t.as_str())),
    };
    org_execute!(
        db,
        r#"INSERT INTO runbook_generations (id, org_id, created_by, incident_id, pattern_id, prompt, instructions,
                                            refine_of, progress)
           VALUES ($2, $1, $3, $4, $5, $6, $7, $8, '{"stage": "queued", "done": 0, "total": 0}')"#,
        id.0,
        viewer.user_id.0,
        incident,
        pattern,
        prompt,
        instructions,
        input.refine_of.map(|r| r.0),
    )?;
    let job = jobs.record::<GenerateRunbook>(db, id).await?;
    org_execute!(
        db,
        "UPDATE runbook_generations SET job_run_id = $3 WHERE org_id = $1 AND id = $2",
        id.0,
        job.job_run_id().0
    )?;
    Ok((id, job))
}

/// Saves a finished draft as a runbook (source `generated`; its version names the draft). The fields given
/// replace the draft's; without them the runbook links the draft's incident's service and pattern, or its
/// pattern.
///
/// # Errors
/// [`RunbookError::NotFound`] (no such draft, or not the viewer's), [`RunbookError::DraftState`] (not
/// finished, failed, saved already), [`RunbookError::Invalid`].
pub async fn save_draft(
    db: &mut OrgTx,
    viewer: Viewer,
    id: RunbookGenerationId,
    input: &RunbookSaveIn,
) -> RunbookResult<RunbookId> {
    // Locks the draft, so two saves of it cannot both pass the check below.
    org_query_scalar!(
        db,
        "SELECT id FROM runbook_generations WHERE org_id = $1 AND id = $2 FOR UPDATE",
        id.0
    )
    .fetch_optional(db.conn())
    .await?;
    let g = query::get(db, viewer, id).await?;
    if let Some(saved) = g.saved_runbook_id {
        return Err(RunbookError::DraftState {
            code: "already_saved",
            message: format!("This draft was saved already, as runbook {saved}."),
        });
    }
    let draft = match (g.status, g.draft) {
        (GenerationStatus::Succeeded, Some(d)) => d,
        (GenerationStatus::Failed, _) => {
            return Err(RunbookError::DraftState {
                code: "draft_failed",
                message: "This draft failed; there is nothing to save. Ask for a new one.".into(),
            });
        }
        _ => {
            return Err(RunbookError::DraftState {
                code: "draft_not_ready",
                message: "This draft is not finished yet; save it once its status is `succeeded`."
                    .into(),
            });
        }
    };
    let (mut services, mut patterns): (Vec<ServiceId>, Vec<PatternId>) = (vec![], vec![]);
    if let Some(i) = &g.subject.incident {
        let r = org_query!(
            db,
            "SELECT service_id, pattern_id FROM incidents WHERE org_id = $1 AND id = $2",
            i.id
        )
        .fetch_optional(db.conn())
        .await?;
        if let Some(r) = r {
            services.extend(r.service_id.map(ServiceId));
            patterns.extend(r.pattern_id.map(PatternId));
        }
    }
    if let Some(p) = &g.subject.pattern {
        patterns.push(PatternId(p.id));
    }
    let runbook = RunbookIn {
        title: input.title.clone().unwrap_or(draft.title),
        body: draft.summary,
        steps: draft.steps.into_iter().map(|s| s.step).collect(),
        tags: input.tags.clone().unwrap_or_default(),
        service_ids: input.service_ids.clone().unwrap_or(services),
        pattern_ids: input.pattern_ids.clone().unwrap_or(patterns),
        base_version: None,
    };
    let valid = validate("", &runbook)?;
    let runbook_id = super::create(
        db,
        Some(viewer.user_id),
        valid,
        RunbookOrigin::Generated,
        VersionOrigin {
            restored_from: None,
            generation_id: Some(id),
        },
        "",
    )
    .await?;
    org_execute!(
        db,
        "UPDATE runbook_generations SET saved_runbook_id = $3 WHERE org_id = $1 AND id = $2",
        id.0,
        runbook_id.0
    )?;
    Ok(runbook_id)
}

/// Who asked: the acting user (for audit and tests).
#[must_use]
pub fn viewer(user_id: UserId, sees_all: bool) -> Viewer {
    Viewer { user_id, sees_all }
}
