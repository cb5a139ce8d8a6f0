//! Writes a runbook draft (`runbook_generations`): retrieves the organization's own runbook steps and past
//! fixes for the problem, then either asks the configured model for a draft citing them — after redacting
//! secrets when the organization's policy says so, recording exactly what is sent, within the monthly token
//! budget — and validates its answer, or, without a model or with generation `off`, assembles the draft from
//! the retrieved steps (labelled as such; nothing is sent anywhere). A refinement reuses the sources of the
//! draft it refines, with that draft and the instructions in the prompt. Nothing generated is ever executed.
//!
//! A model error (after the client's own retries: timeouts, 429s, 5xx, malformed answers) ends the generation
//! `failed` with the reason; an error of the pipeline itself (database, search) is retried as a job, and the
//! last attempt's error is recorded on the generation too.

use super::{JobCtx, Outcome, tracked};
use crate::WorkerState;
use anyhow::Context;
use apalis::prelude::{BoxDynError, Data};
use futures::future::BoxFuture;
use insights_core::jobs::{GenerateRunbook, Job};
use insights_core::runbooks::generation::{self, Finished, Generation, Subject};
use insights_core::search::{SearchAnswer, SearchFilter, SearchQuery};
use insights_llm::{ChatModel, Message};
use insights_retrieval::draft::{self, AssembleSource};
use insights_retrieval::prompt::{self, PromptInput, PromptSource};
use insights_retrieval::redact;
use insights_types::api::{
    DraftMode, GenerationPolicy, GenerationSourceOut, RunbookDraftOut, SentMessageOut, SentOut,
    SourceKind, SourceRefOut,
};
use insights_types::{OrgId, RunbookGenerationId, RunbookId};

/// How many retrieved sources a draft is made from.
pub const SOURCES: usize = 8;

/// How often a model's answer that is JSON but not a draft is asked for again.
const VALIDATION_ROUNDS: u32 = 2;

/// Where a draft's sources come from: the organization's index searched for a query.
pub type Retriever =
    dyn Fn(OrgId, SearchQuery) -> BoxFuture<'static, anyhow::Result<SearchAnswer>> + Send + Sync;

/// The retrieval of a running worker: the index it owns, searched in process (`WorkerState::index`, set
/// once the worker runs; before that, an error the job retries).
pub fn index_search(state: &WorkerState) -> Box<Retriever> {
    let (index, db) = (state.index.clone(), state.db.clone());
    Box::new(move |org, query| {
        let (index, db) = (index.clone(), db.clone());
        Box::pin(async move {
            let index = index
                .get()
                .cloned()
                .context("the runbook index is not open yet")?;
            index
                .search(&db, org, &query)
                .await
                .context("searching the runbook index")
        })
    })
}

pub async fn run(job: GenerateRunbook, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let retrieve = index_search(&state);
    run_with(job, &state, &*retrieve).await.map_err(Into::into)
}

/// [`run`] with the sources retrieved by `retrieve` (tests and benchmarks give fixed ones).
pub async fn run_with(
    job: GenerateRunbook,
    state: &WorkerState,
    retrieve: &Retriever,
) -> anyhow::Result<()> {
    let GenerateRunbook::V1 {
        org_id,
        job_run_id,
        generation_id,
    } = job;
    tracked(state, org_id, job_run_id, GenerateRunbook::KIND, None, |ctx: JobCtx| async move {
        match generate(state, org_id, generation_id, Some(job_run_id.0), retrieve).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                if ctx.attempt.is_last() {
                    let reason = format!("The draft could not be made: {e:#}");
                    record_failure(state, org_id, generation_id, &reason).await;
                }
                Err(e)
            }
        }
    })
    .await
}

async fn record_failure(state: &WorkerState, org: OrgId, id: RunbookGenerationId, reason: &str) {
    let done = async {
        let mut db = state.db.org_tx(org, None).await?;
        generation::fail(&mut db, id, reason, 0, 0).await?;
        db.commit().await?;
        anyhow::Ok(())
    };
    if let Err(e) = done.await {
        tracing::warn!(%org, generation = %id, error = %e, "the generation's failure could not be recorded");
    }
}

/// The model client of the configuration, if a model is configured.
#[must_use]
pub fn chat_model(state: &WorkerState) -> Option<ChatModel> {
    Some(ChatModel {
        model: state.config.llm.model.clone()?,
        settings: crate::llm_settings(&state.config.llm),
    })
}

/// Everything read before the work: the generation, its subject, the settings, the month's use, and for a
/// refinement the draft refined and its sources.
struct Loaded {
    generation: Generation,
    subject: Subject,
    settings: generation::Settings,
    used: i64,
    previous: Option<(RunbookDraftOut, Vec<GenerationSourceOut>)>,
}

/// One generation, start to end. `Err` only for failures of the pipeline itself (retried as a job).
pub async fn generate(
    state: &WorkerState,
    org: OrgId,
    id: RunbookGenerationId,
    job_run_id: Option<uuid::Uuid>,
    retrieve: &Retriever,
) -> anyhow::Result<Outcome> {
    let mut db = state.db.org_tx(org, None).await?;
    let Some(g) = generation::load(&mut db, id).await? else {
        return Ok(Outcome::Skipped("the generation no longer exists"));
    };
    if g.finished() {
        return Ok(Outcome::Skipped("the generation has already finished"));
    }
    generation::start(&mut db, id, job_run_id).await?;
    let subject = generation::subject(&mut db, &g).await?;
    let settings = generation::settings(&mut db).await?;
    let used = generation::tokens_this_month(&mut db).await?;
    let previous = match g.refine_of {
        Some(prev) => match (
            generation::draft_of(&mut db, prev).await?,
            generation::sources_of(&mut db, prev).await?,
        ) {
            (Some(d), Some(s)) => Some((d, s)),
            _ => None,
        },
        None => None,
    };
    db.commit().await?;
    let loaded = Loaded {
        generation: g,
        subject,
        settings,
        used,
        previous,
    };

    // The sources: a refinement keeps its original's numbering; otherwise the index is searched.
    let sources = match &loaded.previous {
        Some((_, sources)) => sources.clone(),
        None => {
            number(retrieve(org, query(&loaded.subject)).await?)
        }
    };

    let model = chat_model(state).filter(|_| loaded.settings.policy != GenerationPolicy::Off);
    match model {
        None => assembled(state, org, id, &loaded, &sources).await,
        Some(model) => generated(state, org, id, &loaded, sources, &model).await,
    }
}

/// The search for a subject: its text, the incident itself left out.
fn query(subject: &Subject) -> SearchQuery {
    SearchQuery {
        text: subject.query.clone(),
        limit: SOURCES,
        filter: SearchFilter {
            exclude_incidents: subject.incident_id.into_iter().collect(),
            ..SearchFilter::default()
        },
    }
}

/// The hits, numbered from 1 in rank order.
fn number(answer: SearchAnswer) -> Vec<GenerationSourceOut> {
    answer
        .hits
        .into_iter()
        .take(SOURCES)
        .enumerate()
        .map(|(i, h)| GenerationSourceOut {
            n: u32::try_from(i + 1).unwrap_or(u32::MAX),
            source: h.source,
            text: h.text,
        })
        .collect()
}

/// How a source is named in the prompt.
fn label(s: &SourceRefOut) -> String {
    match s.kind {
        SourceKind::Runbook => {
            let mut l = format!("runbook \"{}\"", s.title);
            if let Some(v) = s.runbook_version {
                l.push_str(&format!(" (version {v})"));
            }
            match (s.step, &s.heading) {
                (Some(step), Some(h)) => l.push_str(&format!(", step {}: {h}", step + 1)),
                (Some(step), None) => l.push_str(&format!(", step {}", step + 1)),
                (None, Some(h)) => l.push_str(&format!(", section: {h}")),
                (None, None) => {}
            }
            l
        }
        SourceKind::PastFix => {
            let mut l = match s.incident_number {
                Some(n) => format!("past fix of incident #{n} \"{}\"", s.title),
                None => format!("past fix of incident \"{}\"", s.title),
            };
            if let Some(h) = &s.heading {
                l.push_str(&format!(", {h}"));
            }
            l
        }
    }
}

/// The draft without a model: nothing is sent anywhere.
async fn assembled(
    state: &WorkerState,
    org: OrgId,
    id: RunbookGenerationId,
    loaded: &Loaded,
    sources: &[GenerationSourceOut],
) -> anyhow::Result<Outcome> {
    let mut db = state.db.org_tx(org, None).await?;
    generation::set_stage(&mut db, id, "validating").await?;
    let wanted: Vec<(RunbookId, i32, i32)> = sources
        .iter()
        .filter_map(|s| Some((s.source.runbook_id?, s.source.runbook_version?, s.source.step?)))
        .collect();
    let steps = generation::runbook_steps(&mut db, &wanted).await?;
    let inputs: Vec<AssembleSource> = sources
        .iter()
        .map(|s| AssembleSource {
            source: s.clone(),
            step: match (s.source.runbook_id, s.source.runbook_version, s.source.step) {
                (Some(r), Some(v), Some(n)) => steps.get(&(r, v, n)).cloned(),
                _ => None,
            },
        })
        .collect();
    let mut draft = draft::assemble(&inputs, &loaded.subject.name);
    if loaded.generation.instructions.is_some() {
        draft.warnings.push(
            "The instructions were not applied: refining a draft needs a model, and none is used for this \
             organization (none is configured, or generation is off)."
                .to_owned(),
        );
    }
    generation::record_sent(&mut db, id, sources, None, &Default::default()).await?;
    generation::succeed(
        &mut db,
        id,
        Finished {
            mode: DraftMode::Assembled,
            sources,
            draft: &draft,
            prompt_tokens: 0,
            completion_tokens: 0,
        },
    )
    .await?;
    db.commit().await?;
    tracing::info!(%org, generation = %id, sources = sources.len(), steps = draft.steps.len(),
        "runbook draft assembled");
    Ok(Outcome::Done)
}

/// The messages and sources of a generation as they will be sent (redacted per the policy), with what
/// redaction removed.
#[must_use]
pub fn prepare(
    loaded_subject: &Subject,
    sources: &[GenerationSourceOut],
    previous: Option<&RunbookDraftOut>,
    instructions: Option<&str>,
    settings: &generation::Settings,
) -> (Vec<SentMessageOut>, Vec<GenerationSourceOut>, redact::Counts) {
    let mut input = PromptInput {
        problem: loaded_subject.lines.clone(),
        sources: sources
            .iter()
            .map(|s| PromptSource {
                n: s.n,
                label: label(&s.source),
                text: s.text.clone(),
            })
            .collect(),
        previous: previous.cloned(),
        instructions: instructions.map(str::to_owned),
    };
    let redacting = settings.policy == GenerationPolicy::Redacted;
    let mut counts = if redacting {
        input.redact(settings.redact_contacts)
    } else {
        redact::Counts::new()
    };
    let mut messages = prompt::messages(&input);
    if redacting {
        // Whole messages once more: what is sent is exactly what was checked.
        for m in &mut messages {
            let r = redact::redact(&m.content, settings.redact_contacts);
            redact::merge_counts(&mut counts, &r.counts);
            m.content = r.text;
        }
    }
    let sent_sources = sources
        .iter()
        .zip(&input.sources)
        .map(|(s, p)| GenerationSourceOut {
            n: s.n,
            source: s.source.clone(),
            text: p.text.clone(),
        })
        .collect();
    (messages, sent_sources, counts)
}

/// The draft from the model.
async fn generated(
    state: &WorkerState,
    org: OrgId,
    id: RunbookGenerationId,
    loaded: &Loaded,
    sources: Vec<GenerationSourceOut>,
    model: &ChatModel,
) -> anyhow::Result<Outcome> {
    if let Some(message) = generation::budget_spent(&loaded.settings, loaded.used) {
        let mut db = state.db.org_tx(org, None).await?;
        generation::record_sent(&mut db, id, &sources, None, &Default::default()).await?;
        generation::fail(&mut db, id, &message, 0, 0).await?;
        db.commit().await?;
        return Ok(Outcome::FailedForGood(message));
    }
    let mut db = state.db.org_tx(org, None).await?;
    generation::set_stage(&mut db, id, "redacting").await?;
    db.commit().await?;
    let (messages, sources, counts) = prepare(
        &loaded.subject,
        &sources,
        loaded.previous.as_ref().map(|(d, _)| d),
        loaded.generation.instructions.as_deref(),
        &loaded.settings,
    );
    let sent = SentOut {
        model: model.model.clone(),
        messages: messages.clone(),
    };
    let mut db = state.db.org_tx(org, None).await?;
    generation::record_sent(&mut db, id, &sources, Some(&sent), &counts).await?;
    generation::set_stage(&mut db, id, "generating").await?;
    db.commit().await?;

    let chat: Vec<Message> = messages
        .iter()
        .map(|m| match m.role.as_str() {
            "system" => Message::system(m.content.clone()),
            _ => Message::user(m.content.clone()),
        })
        .collect();
    let schema = prompt::schema();
    let source_count = u32::try_from(sources.len()).unwrap_or(u32::MAX);
    let (mut prompt_tokens, mut completion_tokens) = (0u32, 0u32);
    let mut outcome: Result<RunbookDraftOut, String> = Err(String::new());
    for round in 1..=VALIDATION_ROUNDS {
        match model.complete_json(&chat, prompt::SCHEMA_NAME, &schema).await {
            Ok((answer, usage)) => {
                prompt_tokens = prompt_tokens.saturating_add(usage.prompt_tokens);
                completion_tokens = completion_tokens.saturating_add(usage.completion_tokens);
                if round == 1 {
                    let mut db = state.db.org_tx(org, None).await?;
                    generation::set_stage(&mut db, id, "validating").await?;
                    db.commit().await?;
                }
                match draft::validate(&answer, source_count) {
                    Ok(d) => {
                        outcome = Ok(d);
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(%org, generation = %id, round, error = %e, "the model's answer is not a draft");
                        outcome = Err(format!(
                            "{e} (asked {round} time{})",
                            if round == 1 { "" } else { "s" }
                        ));
                    }
                }
            }
            Err(e) => {
                outcome = Err(format!(
                    "{e} (after up to {} attempts)",
                    model.settings.max_attempts
                ));
                break;
            }
        }
    }
    let mut db = state.db.org_tx(org, None).await?;
    match outcome {
        Ok(draft) => {
            generation::succeed(
                &mut db,
                id,
                Finished {
                    mode: DraftMode::Generated,
                    sources: &sources,
                    draft: &draft,
                    prompt_tokens,
                    completion_tokens,
                },
            )
            .await?;
            db.commit().await?;
            tracing::info!(%org, generation = %id, sources = sources.len(), steps = draft.steps.len(),
                prompt_tokens, completion_tokens, "runbook draft generated");
            Ok(Outcome::Done)
        }
        Err(reason) => {
            generation::fail(&mut db, id, &reason, prompt_tokens, completion_tokens).await?;
            db.commit().await?;
            Ok(Outcome::FailedForGood(reason))
        }
    }
}
