//! The worker's side of a runbook draft (`runbook_generations`): load the request and what it is for (an
//! incident with its service, pattern and timeline; a pattern with its template and examples; a free-text
//! problem; for a refinement, the draft refined), the organization's generation settings, and the month's
//! token use; then record its progress, the sources, exactly what was sent, what redaction removed, the draft,
//! the tokens (added to `llm_usage` for the budget in the same transaction) or why it failed.
//!
//! The API creates the row (`queued`) and enqueues the `generate_runbook` job; only the job writes it after.

use crate::db::{DbResult, OrgTx};
use chrono::{DateTime, Utc};
use insights_types::api::{
    DraftMode, GenerationPolicy, GenerationSourceOut, RunbookDraftOut, RunbookStep, SentOut,
};
use insights_types::{IncidentId, PatternId, RunbookGenerationId, RunbookId, ServiceId, UserId};
use serde_json::json;
use sqlx::types::Json;
use std::collections::BTreeMap;

/// How many timeline entries of an incident the problem shows (the latest ones with a message).
const TIMELINE_ENTRIES: i64 = 20;
/// The longest description or entry shown (characters).
const MAX_FIELD: usize = 1500;

/// A generation as the job sees it.
#[derive(Clone, Debug)]
pub struct Generation {
    pub id: RunbookGenerationId,
    pub status: String,
    pub created_by: Option<UserId>,
    pub incident_id: Option<IncidentId>,
    pub pattern_id: Option<PatternId>,
    pub prompt: Option<String>,
    pub instructions: Option<String>,
    pub refine_of: Option<RunbookGenerationId>,
}

impl Generation {
    /// Whether it has ended (a duplicate delivery finds it so).
    #[must_use]
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed")
    }
}

/// What a draft is for, as text for the prompt and the search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// A one-line name (`Incident #42: Replication lag on orders-db`), for assembled titles.
    pub name: String,
    /// The problem as lines for the prompt (name, service, pattern, description, timeline…).
    pub lines: Vec<String>,
    /// The text searched in the index.
    pub query: String,
    /// The incident itself, left out of the past fixes searched.
    pub incident_id: Option<IncidentId>,
    pub service_ids: Vec<ServiceId>,
    pub pattern_ids: Vec<PatternId>,
}

/// The organization's generation settings (`runbook_settings`; no row: the defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub policy: GenerationPolicy,
    pub redact_contacts: bool,
    pub monthly_token_budget: Option<i64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            policy: GenerationPolicy::Redacted,
            redact_contacts: false,
            monthly_token_budget: None,
        }
    }
}

/// Loads a generation.
pub async fn load(db: &mut OrgTx, id: RunbookGenerationId) -> DbResult<Option<Generation>> {
    let row = org_query!(
        db,
        r#"SELECT status, created_by AS "created_by: UserId", incident_id AS "incident_id: IncidentId",
                  pattern_id AS "pattern_id: PatternId", prompt, instructions,
                  refine_of AS "refine_of: RunbookGenerationId"
           FROM runbook_generations WHERE org_id = $1 AND id = $2"#,
        id as RunbookGenerationId,
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(row.map(|r| Generation {
        id,
        status: r.status,
        created_by: r.created_by,
        incident_id: r.incident_id,
        pattern_id: r.pattern_id,
        prompt: r.prompt,
        instructions: r.instructions,
        refine_of: r.refine_of,
    }))
}

/// Marks it running (at the start of each attempt), at the stage `retrieving`.
pub async fn start(
    db: &mut OrgTx,
    id: RunbookGenerationId,
    job_run_id: Option<uuid::Uuid>,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE runbook_generations
         SET status = 'running', job_run_id = COALESCE($3, job_run_id), error = NULL,
             progress = jsonb_build_object('stage', 'retrieving', 'done', 0, 'total', 4)
         WHERE org_id = $1 AND id = $2 AND status IN ('queued', 'running')",
        id as RunbookGenerationId,
        job_run_id,
    )
}

/// The stages a generation goes through, in order (`done` of `total` in its progress).
pub const STAGES: [&str; 4] = ["retrieving", "redacting", "generating", "validating"];

/// Sets the stage it is at.
pub async fn set_stage(db: &mut OrgTx, id: RunbookGenerationId, stage: &str) -> DbResult<()> {
    let done = STAGES.iter().position(|s| *s == stage).unwrap_or(0) as i64;
    let progress = json!({"stage": stage, "done": done, "total": STAGES.len()});
    org_execute!(
        db,
        "UPDATE runbook_generations SET progress = $3 WHERE org_id = $1 AND id = $2 AND status = 'running'",
        id as RunbookGenerationId,
        progress,
    )
}

/// Records the retrieved sources (numbered) and, when something is sent to a model, exactly what and what
/// redaction removed — before the model is called, so an administrator sees it even if the call fails.
pub async fn record_sent(
    db: &mut OrgTx,
    id: RunbookGenerationId,
    sources: &[GenerationSourceOut],
    sent: Option<&SentOut>,
    redactions: &BTreeMap<String, u32>,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE runbook_generations SET sources = $3, sent = $4, redactions = $5, model = $6
         WHERE org_id = $1 AND id = $2",
        id as RunbookGenerationId,
        Json(sources) as _,
        sent.map(Json) as _,
        Json(redactions) as _,
        sent.map(|s| s.model.clone()),
    )
}

/// How a generation ended well.
pub struct Finished<'a> {
    pub mode: DraftMode,
    pub sources: &'a [GenerationSourceOut],
    pub draft: &'a RunbookDraftOut,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Records the draft (and adds the tokens to this month's use). Returns `false` when it had already ended.
pub async fn succeed(db: &mut OrgTx, id: RunbookGenerationId, f: Finished<'_>) -> DbResult<bool> {
    let mode = match f.mode {
        DraftMode::Generated => "generated",
        DraftMode::Assembled => "assembled",
    };
    let progress = json!({"stage": "done", "done": STAGES.len(), "total": STAGES.len()});
    let changed = org_rows_changed!(
        db,
        "UPDATE runbook_generations
         SET status = 'succeeded', mode = $3, sources = $4, draft = $5, progress = $6,
             prompt_tokens = prompt_tokens + $7, completion_tokens = completion_tokens + $8,
             error = NULL, finished_at = now()
         WHERE org_id = $1 AND id = $2 AND status IN ('queued', 'running')",
        id as RunbookGenerationId,
        mode,
        Json(f.sources) as _,
        Json(f.draft) as _,
        progress,
        tokens_i32(f.prompt_tokens),
        tokens_i32(f.completion_tokens),
    )?;
    add_tokens(
        db,
        u64::from(f.prompt_tokens) + u64::from(f.completion_tokens),
    )
    .await?;
    Ok(changed > 0)
}

/// Records why it failed (for people), with the tokens the failed calls used.
pub async fn fail(
    db: &mut OrgTx,
    id: RunbookGenerationId,
    error: &str,
    prompt_tokens: u32,
    completion_tokens: u32,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE runbook_generations
         SET status = 'failed', error = $3, finished_at = now(),
             progress = progress || jsonb_build_object('stage', 'failed'),
             prompt_tokens = prompt_tokens + $4, completion_tokens = completion_tokens + $5
         WHERE org_id = $1 AND id = $2 AND status IN ('queued', 'running')",
        id as RunbookGenerationId,
        error,
        tokens_i32(prompt_tokens),
        tokens_i32(completion_tokens),
    )?;
    add_tokens(db, u64::from(prompt_tokens) + u64::from(completion_tokens)).await
}

fn tokens_i32(t: u32) -> i32 {
    i32::try_from(t).unwrap_or(i32::MAX)
}

/// Adds tokens to the organization's use of the current month (UTC).
pub async fn add_tokens(db: &mut OrgTx, tokens: u64) -> DbResult<()> {
    if tokens == 0 {
        return Ok(());
    }
    let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
    org_execute!(
        db,
        "INSERT INTO llm_usage (org_id, month, tokens)
         VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, $2)
         ON CONFLICT (org_id, month) DO UPDATE SET tokens = llm_usage.tokens + EXCLUDED.tokens",
        tokens,
    )
}

/// Tokens the organization used this month (UTC).
pub async fn tokens_this_month(db: &mut OrgTx) -> DbResult<i64> {
    Ok(org_query_scalar!(
        db,
        r#"SELECT COALESCE((SELECT tokens FROM llm_usage
                            WHERE org_id = $1 AND month = date_trunc('month', now() AT TIME ZONE 'UTC')::date), 0)
           AS "tokens!""#
    )
    .fetch_one(db.conn())
    .await?)
}

/// The organization's generation settings.
pub async fn settings(db: &mut OrgTx) -> DbResult<Settings> {
    let row = org_query!(
        db,
        "SELECT generation, redact_contacts, monthly_token_budget FROM runbook_settings WHERE org_id = $1"
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(match row {
        None => Settings::default(),
        Some(r) => Settings {
            policy: match r.generation.as_str() {
                "off" => GenerationPolicy::Off,
                "on" => GenerationPolicy::On,
                _ => GenerationPolicy::Redacted,
            },
            redact_contacts: r.redact_contacts,
            monthly_token_budget: r.monthly_token_budget,
        },
    })
}

/// The budget left, if spent: the message a failed generation shows.
#[must_use]
pub fn budget_spent(settings: &Settings, used: i64) -> Option<String> {
    let budget = settings.monthly_token_budget?;
    (used >= budget).then(|| {
        format!(
            "This organization's monthly token budget is spent ({used} of {budget} tokens used this month), so \
             no model was called. An owner or admin can raise the budget in the runbook settings; it renews \
             on the first day of next month (UTC)."
        )
    })
}

/// The draft a generation made (for a refinement).
pub async fn draft_of(
    db: &mut OrgTx,
    id: RunbookGenerationId,
) -> DbResult<Option<RunbookDraftOut>> {
    let draft = org_query_scalar!(
        db,
        r#"SELECT draft AS "draft: Json<RunbookDraftOut>" FROM runbook_generations
           WHERE org_id = $1 AND id = $2"#,
        id as RunbookGenerationId,
    )
    .fetch_optional(db.conn())
    .await?
    .flatten();
    Ok(draft.map(|d| d.0))
}

fn cut(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// What the generation is for. A refinement without a subject of its own is for its original's (followed up
/// the chain of refinements).
pub async fn subject(db: &mut OrgTx, g: &Generation) -> DbResult<Subject> {
    let (mut incident, mut pattern, mut prompt) = (g.incident_id, g.pattern_id, g.prompt.clone());
    let mut refine_of = g.refine_of;
    let mut hops = 0;
    while incident.is_none() && pattern.is_none() && prompt.is_none() && hops < 20 {
        let Some(prev) = refine_of else { break };
        let Some(p) = load(db, prev).await? else {
            break;
        };
        (incident, pattern, prompt, refine_of) =
            (p.incident_id, p.pattern_id, p.prompt, p.refine_of);
        hops += 1;
    }
    if let Some(id) = incident {
        if let Some(s) = incident_subject(db, id).await? {
            return Ok(s);
        }
    }
    if let Some(id) = pattern {
        if let Some(s) = pattern_subject(db, id).await? {
            return Ok(s);
        }
    }
    let text = prompt.unwrap_or_default();
    Ok(Subject {
        name: cut(&text, 120),
        lines: vec![format!("Problem: {}", cut(&text, 4000))],
        query: cut(&text, 1000),
        ..Subject::default()
    })
}

async fn incident_subject(db: &mut OrgTx, id: IncidentId) -> DbResult<Option<Subject>> {
    let Some(i) = org_query!(
        db,
        r#"SELECT i.number, i.title, i.description, i.status, i.urgency, i.priority, i.triggered_at,
                  i.service_id AS "service_id: ServiceId", s.name AS "service_name?",
                  i.pattern_id AS "pattern_id: PatternId",
                  COALESCE(p.name, p.template) AS "pattern_name?"
           FROM incidents i
           LEFT JOIN services s ON s.org_id = i.org_id AND s.id = i.service_id
           LEFT JOIN patterns p ON p.org_id = i.org_id AND p.id = i.pattern_id
           WHERE i.org_id = $1 AND i.id = $2"#,
        id as IncidentId,
    )
    .fetch_optional(db.conn())
    .await?
    else {
        return Ok(None);
    };
    let events = org_query!(
        db,
        r#"SELECT kind, at, message AS "message!" FROM (
               SELECT kind, at, message FROM incident_events
               WHERE org_id = $1 AND incident_id = $2 AND message IS NOT NULL AND message <> ''
               ORDER BY at DESC LIMIT $3) e
           ORDER BY at"#,
        id as IncidentId,
        TIMELINE_ENTRIES,
    )
    .fetch_all(db.conn())
    .await?;
    let name = match i.number {
        Some(n) => format!("Incident #{n}: {}", i.title),
        None => format!("Incident: {}", i.title),
    };
    let mut lines = vec![name.clone()];
    let mut facts = vec![format!("status {}", i.status)];
    facts.extend(i.urgency.map(|u| format!("urgency {u}")));
    facts.extend(i.priority.map(|p| format!("priority {p}")));
    facts.push(format!(
        "triggered {}",
        i.triggered_at.format("%Y-%m-%d %H:%M UTC")
    ));
    lines.push(facts.join(", "));
    if let Some(s) = &i.service_name {
        lines.push(format!("Service: {s}"));
    }
    if let Some(p) = &i.pattern_name {
        lines.push(format!("Recurring pattern: {p}"));
    }
    if let Some(d) = i.description.as_deref().filter(|d| !d.trim().is_empty()) {
        lines.push(format!("Description: {}", cut(d, MAX_FIELD)));
    }
    if !events.is_empty() {
        lines.push("Timeline so far:".into());
        for e in &events {
            lines.push(format!(
                "- {} {}: {}",
                stamp(e.at),
                e.kind,
                cut(&e.message, 400)
            ));
        }
    }
    let mut query = i.title.clone();
    if let Some(d) = &i.description {
        query.push(' ');
        query.push_str(&cut(d, 500));
    }
    Ok(Some(Subject {
        name,
        lines,
        query,
        incident_id: Some(id),
        service_ids: i.service_id.into_iter().collect(),
        pattern_ids: i.pattern_id.into_iter().collect(),
    }))
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%H:%M").to_string()
}

async fn pattern_subject(db: &mut OrgTx, id: PatternId) -> DbResult<Option<Subject>> {
    let Some(p) = org_query!(
        db,
        r#"SELECT name, template, incident_count, examples AS "examples: Json<Vec<String>>"
           FROM patterns WHERE org_id = $1 AND id = $2"#,
        id as PatternId,
    )
    .fetch_optional(db.conn())
    .await?
    else {
        return Ok(None);
    };
    let title = p.name.clone().unwrap_or_else(|| p.template.clone());
    let name = format!("Recurring pattern: {title}");
    let mut lines = vec![
        name.clone(),
        format!("Template: {}", p.template),
        format!("Incidents so far: {}", p.incident_count),
    ];
    if !p.examples.0.is_empty() {
        lines.push("Example incident titles:".into());
        lines.extend(p.examples.0.iter().map(|e| format!("- {}", cut(e, 300))));
    }
    let mut query = title;
    if p.name.is_some() {
        query.push(' ');
        query.push_str(&p.template);
    }
    for e in p.examples.0.iter().take(3) {
        query.push(' ');
        query.push_str(e);
    }
    Ok(Some(Subject {
        name,
        lines,
        query,
        incident_id: None,
        service_ids: Vec::new(),
        pattern_ids: vec![id],
    }))
}

/// The structured steps of runbook versions, for an assembled draft: `(runbook, version, step index)` → the
/// step, for those that still exist.
pub async fn runbook_steps(
    db: &mut OrgTx,
    wanted: &[(RunbookId, i32, i32)],
) -> DbResult<BTreeMap<(RunbookId, i32, i32), RunbookStep>> {
    let mut out = BTreeMap::new();
    for &(runbook, version, step) in wanted {
        if out.contains_key(&(runbook, version, step)) {
            continue;
        }
        let found = org_query_scalar!(
            db,
            r#"SELECT steps -> $4::int AS "step: Json<RunbookStep>" FROM runbook_versions
               WHERE org_id = $1 AND runbook_id = $2 AND number = $3"#,
            runbook as RunbookId,
            version,
            step,
        )
        .fetch_optional(db.conn())
        .await?
        .flatten();
        if let Some(s) = found {
            out.insert((runbook, version, step), s.0);
        }
    }
    Ok(out)
}

/// The numbered sources a generation used (a refinement reuses its original's, so the previous draft's
/// citations keep their meaning).
pub async fn sources_of(
    db: &mut OrgTx,
    id: RunbookGenerationId,
) -> DbResult<Option<Vec<GenerationSourceOut>>> {
    let sources = org_query_scalar!(
        db,
        r#"SELECT sources AS "sources: Json<Vec<GenerationSourceOut>>" FROM runbook_generations
           WHERE org_id = $1 AND id = $2"#,
        id as RunbookGenerationId,
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(sources.map(|s| s.0))
}
