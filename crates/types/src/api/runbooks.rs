//! Runbooks (issue 12): the library (`…/runbooks`, versions, diff, restore, import), search over the vector
//! index (`…/runbooks/search`), drafts generated or assembled from retrieved sources
//! (`…/runbook-generations`), and the organization's generation settings (`…/runbook-settings`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use super::NamedRef;
use crate::ids::{
    IncidentEventId, IncidentId, PatternId, RunbookGenerationId, RunbookId, ServiceId, UserId,
};

/// How much a step's command can change: shown as a badge, and a generated step that changes state is flagged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepRisk {
    /// Only reads (logs, status, metrics).
    #[default]
    ReadOnly,
    /// Changes state that can be changed back (restart, scale, roll back).
    ChangesState,
    /// Loses data or cannot be undone (delete, drop, force).
    Destructive,
}

/// The language of a step's command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommandLanguage {
    Shell,
    Kubectl,
    Aws,
    Sql,
}

/// A step's command, to copy and run by hand (nothing is ever executed by the runbook feature).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunbookCommand {
    pub language: CommandLanguage,
    /// 1–4000 characters.
    pub text: String,
}

/// One structured step of a runbook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunbookStep {
    /// 1–200 characters.
    pub title: String,
    /// Why this step (up to 2000 characters; may be empty).
    #[serde(default)]
    pub why: String,
    #[serde(default)]
    pub command: Option<RunbookCommand>,
    #[serde(default)]
    pub risk: StepRisk,
    /// What one should see when it worked (up to 2000 characters).
    #[serde(default)]
    pub expected: Option<String>,
}

/// Where a runbook came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunbookOrigin {
    Written,
    Generated,
    Imported,
}

/// A runbook as written or saved: `POST …/runbooks` creates one, `PUT …/runbooks/{id}` saves a new version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunbookIn {
    /// 1–200 characters.
    pub title: String,
    /// Markdown (up to 100,000 characters). Rendered safely: raw HTML is shown as text, never run.
    #[serde(default)]
    pub body: String,
    /// Up to 100 steps.
    #[serde(default)]
    pub steps: Vec<RunbookStep>,
    /// Up to 20 tags, each 1–50 characters of letters, digits, `-`, `_`, `.`, `/`, `:` (stored lower-cased).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Services of the organization this runbook is for.
    #[serde(default)]
    pub service_ids: Vec<ServiceId>,
    /// Recurring patterns this runbook is for (linking pins the pattern).
    #[serde(default)]
    pub pattern_ids: Vec<PatternId>,
    /// `PUT` only: the version being edited; a save on top of a newer version answers 409
    /// `version_conflict` instead of silently overwriting someone's edit.
    #[serde(default)]
    pub base_version: Option<i32>,
}

/// A runbook in the library list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookSummaryOut {
    pub id: RunbookId,
    pub title: String,
    pub tags: Vec<String>,
    pub services: Vec<NamedRef>,
    pub patterns: Vec<NamedRef>,
    pub source: RunbookOrigin,
    pub version: i32,
    pub step_count: usize,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<NamedRef>,
}

/// A runbook's current version (or, under `…/versions/{n}`, an older one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookOut {
    pub id: RunbookId,
    pub title: String,
    pub body: String,
    pub steps: Vec<RunbookStep>,
    pub tags: Vec<String>,
    pub services: Vec<NamedRef>,
    pub patterns: Vec<NamedRef>,
    pub source: RunbookOrigin,
    /// The version shown.
    pub version: i32,
    /// The runbook's latest version.
    pub current_version: i32,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<NamedRef>,
    /// When and by whom the version shown was saved.
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<NamedRef>,
    /// The draft it was generated from, if any.
    pub generation_id: Option<RunbookGenerationId>,
}

/// One version in a runbook's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookVersionOut {
    pub number: i32,
    pub title: String,
    pub author: Option<NamedRef>,
    pub created_at: DateTime<Utc>,
    /// The version this one restored.
    pub restored_from: Option<i32>,
    pub step_count: usize,
}

/// One line of a diff between two versions (of their Markdown form: the body, then the steps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiffOp {
    Same,
    Added,
    Removed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DiffLineOut {
    pub op: DiffOp,
    pub text: String,
}

/// `GET …/runbooks/{id}/diff?from=&to=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookDiffOut {
    pub from: i32,
    pub to: i32,
    pub lines: Vec<DiffLineOut>,
}

/// One Markdown file to import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkdownFileIn {
    /// The file's name (1–255 characters), named in errors; its first heading, else its name, is the title.
    pub name: String,
    /// Up to 100,000 characters of Markdown.
    pub content: String,
}

/// `POST …/runbooks/import`: up to 50 files, imported together or not at all (a bad file answers 422 naming
/// it, and nothing is stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunbookImportIn {
    pub files: Vec<MarkdownFileIn>,
    /// Tags added to every imported runbook.
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookImportOut {
    pub items: Vec<RunbookSummaryOut>,
}

/// What a search hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A runbook's section or step.
    Runbook,
    /// A resolved incident's note or timeline entry that describes what was done.
    PastFix,
}

/// A piece of a snippet: matched query terms are `highlight: true`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SnippetPartOut {
    pub text: String,
    pub highlight: bool,
}

/// Where a chunk of the index came from: a runbook version's section or step, or an incident's timeline entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SourceRefOut {
    pub kind: SourceKind,
    pub runbook_id: Option<RunbookId>,
    pub runbook_version: Option<i32>,
    /// The step's index (0-based) in that version, when the chunk is a step.
    pub step: Option<i32>,
    pub incident_id: Option<IncidentId>,
    pub incident_number: Option<i64>,
    pub event_id: Option<IncidentEventId>,
    /// The runbook's title and section/step title, or the incident's title.
    pub title: String,
    /// The step's or section's heading, or the entry's kind and time.
    pub heading: Option<String>,
}

/// One search hit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookSearchHitOut {
    pub source: SourceRefOut,
    pub snippet: Vec<SnippetPartOut>,
    /// The fused rank score (higher is better; comparable within one answer only).
    pub score: f64,
}

/// How a search was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Sparse lexical vectors only (no embeddings endpoint configured, or it failed).
    Lexical,
    /// Lexical and dense vectors, fused by reciprocal rank.
    Hybrid,
}

/// `GET …/runbooks/search?q=|incident_id=|pattern_id=`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookSearchOut {
    pub items: Vec<RunbookSearchHitOut>,
    pub mode: SearchMode,
    /// The query text actually searched (built from the incident or pattern when one was given).
    pub query: String,
}

/// What the vector index still has to catch up with, for the library page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookIndexStatusOut {
    /// Changes not yet in the index.
    pub pending: i64,
    /// Of those, the ones that failed at least once (they are retried with backoff).
    pub failing: i64,
    pub last_error: Option<String>,
}

/// `POST …/runbook-generations`: exactly one of `incident_id`, `pattern_id`, `prompt`; or `refine_of` (a
/// previous draft of the same person) with `instructions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunbookGenerationIn {
    #[serde(default)]
    pub incident_id: Option<IncidentId>,
    #[serde(default)]
    pub pattern_id: Option<PatternId>,
    /// A free-text problem, 1–4000 characters.
    #[serde(default)]
    pub prompt: Option<String>,
    /// What to change or emphasise ("use kubectl", "shorter", "for eu-west-1"), 1–2000 characters.
    #[serde(default)]
    pub instructions: Option<String>,
    #[serde(default)]
    pub refine_of: Option<RunbookGenerationId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GenerationStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// How a draft was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DraftMode {
    /// Written by the configured model from the retrieved sources.
    Generated,
    /// Assembled from the best retrieved steps, without a model (none configured, or generation is off).
    Assembled,
}

/// `202` to `POST …/runbook-generations`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookGenerationCreatedOut {
    pub id: RunbookGenerationId,
    pub status: GenerationStatus,
}

/// Where a generation is: `stage` is one of `queued`, `retrieving`, `redacting`, `generating`, `validating`,
/// `done`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GenerationProgressOut {
    pub stage: String,
    pub done: u32,
    pub total: u32,
}

/// A retrieved source as numbered for the model and the citations (`n` from 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GenerationSourceOut {
    pub n: u32,
    pub source: SourceRefOut,
    /// The text given to the model (after redaction).
    pub text: String,
}

/// One step of a draft: a runbook step, the sources it came from, and whether it is grounded in them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DraftStepOut {
    #[serde(flatten)]
    pub step: RunbookStep,
    /// Numbers (`n`) of the sources this step came from.
    pub citations: Vec<u32>,
    /// `false`: not grounded in the team's history (no valid citation) — shown with a warning.
    pub grounded: bool,
}

/// A draft runbook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookDraftOut {
    pub title: String,
    pub summary: String,
    pub steps: Vec<DraftStepOut>,
    /// Problems found while validating the model's answer and what was done about each (a citation to an
    /// unknown source dropped, a risk raised to match its command…).
    pub warnings: Vec<String>,
}

/// One message as sent to the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SentMessageOut {
    pub role: String,
    pub content: String,
}

/// Exactly what was sent to the model (after redaction).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SentOut {
    pub model: String,
    pub messages: Vec<SentMessageOut>,
}

/// What a generation is for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct GenerationSubjectOut {
    pub incident: Option<NamedRef>,
    pub pattern: Option<NamedRef>,
    pub prompt: Option<String>,
}

/// `GET …/runbook-generations/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookGenerationOut {
    pub id: RunbookGenerationId,
    pub status: GenerationStatus,
    /// Set once it finished.
    pub mode: Option<DraftMode>,
    pub subject: GenerationSubjectOut,
    pub instructions: Option<String>,
    pub refine_of: Option<RunbookGenerationId>,
    pub progress: GenerationProgressOut,
    pub draft: Option<RunbookDraftOut>,
    pub sources: Vec<GenerationSourceOut>,
    /// What was sent to the model; `None` when nothing was (assembled drafts).
    pub sent: Option<SentOut>,
    /// What redaction removed before sending: counts by kind (`api_key`, `password`, `email`…), never values.
    pub redactions: BTreeMap<String, u32>,
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    /// Why it failed, for people.
    pub error: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub saved_runbook_id: Option<RunbookId>,
}

/// `POST …/runbook-generations/{id}/save`: saves the draft as a runbook (source `generated`); the fields
/// given replace the draft's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunbookSaveIn {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub service_ids: Option<Vec<ServiceId>>,
    #[serde(default)]
    pub pattern_ids: Option<Vec<PatternId>>,
}

/// Whether drafts may be written by a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GenerationPolicy {
    /// Nothing is ever sent to a model: drafts are assembled from the retrieved sources.
    Off,
    /// Sent to the model after secrets are removed (and emails and IP addresses when `redact_contacts`).
    #[default]
    Redacted,
    /// Sent as stored.
    On,
}

/// `GET/PUT …/runbook-settings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunbookSettingsIn {
    pub generation: GenerationPolicy,
    pub redact_contacts: bool,
    /// Tokens per calendar month (UTC); `null`: no limit.
    pub monthly_token_budget: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RunbookSettingsOut {
    pub generation: GenerationPolicy,
    pub redact_contacts: bool,
    pub monthly_token_budget: Option<i64>,
    /// Tokens used this calendar month.
    pub tokens_used_this_month: i64,
    /// Whether a model is configured on this installation (`INSIGHTS_LLM_MODEL`); without one every draft is
    /// assembled.
    pub model: Option<String>,
    /// Whether dense vectors are used (`INSIGHTS_EMBEDDING_MODEL`).
    pub embedding_model: Option<String>,
}
