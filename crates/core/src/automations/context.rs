//! Loading what a template sees ([`TemplateContext`]) for a run's subject: the incident (with its service and
//! team names), its pattern (or the one asked for), a runbook version's step, the user parameters and targets.

use insights_automation::context::{
    IncidentCtx, NamedCtx, PatternCtx, RunCtx, StepCtx, TemplateContext,
};
use insights_types::api::{RunSubjectIn, RunbookStep};
use insights_types::ids::{IncidentId, PatternId, RunbookId, ServiceId, TeamId};
use sqlx::types::Json;

use crate::db::{DbError, DbResult, OrgTx};

/// The context of a run about `subject`. A subject that names an incident, pattern, runbook (version) or step
/// that does not exist in the organization is [`DbError::NotFound`]. Without `pattern_id`, the incident's
/// pattern (if it has one) is loaded.
pub async fn load(
    db: &mut OrgTx,
    subject: &RunSubjectIn,
    run: RunCtx,
) -> DbResult<TemplateContext> {
    let (incident, incident_pattern) = match subject.incident_id {
        Some(id) => {
            let (ctx, pattern) = incident(db, id).await?;
            (Some(ctx), pattern)
        }
        None => (None, None),
    };
    let pattern = match subject.pattern_id.or(incident_pattern) {
        Some(id) => Some(pattern(db, id).await?),
        None => None,
    };
    let step = match (subject.runbook_id, subject.step_index) {
        (Some(runbook), Some(index)) => {
            Some(step(db, runbook, subject.runbook_version, index).await?)
        }
        (None, None) => None,
        // Half a step reference: nothing to load.
        _ => return Err(DbError::NotFound),
    };
    let params = match &subject.params {
        Some(p @ serde_json::Value::Object(_)) => p.clone(),
        _ => serde_json::Value::Object(serde_json::Map::new()),
    };
    Ok(TemplateContext {
        incident,
        pattern,
        step,
        params,
        run,
        targets: subject.targets.clone(),
    })
}

/// An incident as templates see it, and its pattern.
pub async fn incident(
    db: &mut OrgTx,
    id: IncidentId,
) -> DbResult<(IncidentCtx, Option<PatternId>)> {
    let r = org_query!(
        db,
        r#"SELECT i.source, i.external_id, i.number, i.title, i.description, i.status, i.urgency, i.priority,
                  i.service_id AS "service_id: ServiceId", s.name AS "service_name?",
                  i.team_id AS "team_id: TeamId", t.name AS "team_name?",
                  i.tags, i.assignees AS "assignees: Json<Vec<String>>", i.triggered_at, i.acknowledged_at,
                  i.resolved_at, i.source_url, i.pattern_id AS "pattern_id: PatternId"
             FROM incidents i
             LEFT JOIN services s ON s.id = i.service_id
             LEFT JOIN teams t ON t.id = i.team_id
            WHERE i.org_id = $1 AND i.id = $2"#,
        id as IncidentId,
    )
    .fetch_optional(db.conn())
    .await?
    .ok_or(DbError::NotFound)?;
    let service = match (r.service_id, r.service_name) {
        (Some(id), Some(name)) => Some(NamedCtx { id, name }),
        _ => None,
    };
    let team = match (r.team_id, r.team_name) {
        (Some(id), Some(name)) => Some(NamedCtx { id, name }),
        _ => None,
    };
    Ok((
        IncidentCtx {
            id,
            source: r.source,
            external_id: r.external_id,
            number: r.number,
            title: r.title,
            description: r.description,
            status: r.status,
            urgency: r.urgency,
            priority: r.priority,
            service,
            team,
            tags: r.tags,
            assignees: r.assignees.0,
            triggered_at: r.triggered_at,
            acknowledged_at: r.acknowledged_at,
            resolved_at: r.resolved_at,
            url: r.source_url,
        },
        r.pattern_id,
    ))
}

/// A pattern as templates see it.
pub async fn pattern(db: &mut OrgTx, id: PatternId) -> DbResult<PatternCtx> {
    let r = org_query!(
        db,
        "SELECT name, template, incident_count, first_seen, last_seen FROM patterns WHERE org_id = $1 AND id = $2",
        id as PatternId,
    )
    .fetch_optional(db.conn())
    .await?
    .ok_or(DbError::NotFound)?;
    Ok(PatternCtx {
        id,
        name: r.name.unwrap_or_else(|| r.template.clone()),
        template: r.template,
        incident_count: r.incident_count,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
    })
}

/// Step `index` (from 0) of a runbook's version `version` (its current one when none).
pub async fn step(
    db: &mut OrgTx,
    runbook_id: RunbookId,
    version: Option<i32>,
    index: i32,
) -> DbResult<StepCtx> {
    let r = org_query!(
        db,
        r#"SELECT v.number, v.title, v.steps AS "steps: Json<Vec<RunbookStep>>"
             FROM runbooks r
             JOIN runbook_versions v
               ON v.org_id = r.org_id AND v.runbook_id = r.id AND v.number = COALESCE($3, r.current_version)
            WHERE r.org_id = $1 AND r.id = $2"#,
        runbook_id as RunbookId,
        version,
    )
    .fetch_optional(db.conn())
    .await?
    .ok_or(DbError::NotFound)?;
    let step = usize::try_from(index)
        .ok()
        .and_then(|i| r.steps.0.into_iter().nth(i))
        .ok_or(DbError::NotFound)?;
    let (command, language) = match step.command {
        Some(c) => (Some(c.text), Some(snake(c.language))),
        None => (None, None),
    };
    Ok(StepCtx {
        runbook_id,
        runbook_title: r.title,
        runbook_version: r.number,
        index,
        title: step.title,
        why: step.why,
        command,
        language,
        risk: snake(step.risk),
        expected: step.expected,
    })
}

/// The name a unit enum serializes to (`read_only`, `shell`).
fn snake(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
