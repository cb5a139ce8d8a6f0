//! Recurring patterns of an organization's incidents (issue 11). The engine is the pure crate
//! `insights-patterns`; this module keeps its answers in PostgreSQL (`migrations/…_patterns.sql`):
//!
//! - [`assign_stored`]: the store pipeline's step — each incident it wrote gets a pattern (a correction's
//!   template first, then a mined one, else a new pattern of its own), in the writer's transaction.
//! - [`refine`]: the refinement job's work — re-mines the whole history, keeps ids stable, applies people's
//!   corrections, recounts, and counts co-occurring patterns.
//! - corrections ([`rename`], [`set_muted`], [`merge`], [`move_incident`]): what people tell it; each one
//!   survives refinement and applies to future incidents alike.
//! - reads for the API (`query`).
//!
//! Writers are ordered by the organization's pattern lock (`state`): the store pipeline holds it shared,
//! refinement and corrections exclusively; each bumps `pattern_state.version` and the analytics version
//! when assignments or patterns change.

mod assign;
mod corrections;
pub mod query;
mod refine;
mod related;
mod schedule;
pub(crate) mod state;

pub use related::{CO_OCCURRENCE_WINDOW, REPEATEDLY};
pub use schedule::{due, finish_refine, record_error, request_refine};

use crate::db::{DbError, OrgTx};
use insights_patterns::{Matcher, Part, SlotKind, Template};
use insights_types::api::{SlotKindOut, TemplatePartOut};
use insights_types::{IncidentId, PatternId, UserId};

/// Why a pattern operation cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    /// No such pattern or incident in this organization (404).
    #[error("not found")]
    NotFound,
    /// The request makes no sense as asked (merging a pattern into itself…): (field, message), for a 422.
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Db(#[from] DbError),
}

pub type PatternResult<T> = Result<T, PatternError>;

/// Where [`move_incident`] puts an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveTarget {
    Existing(PatternId),
    New,
}

/// What a refinement did, for the job's progress and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RefineStats {
    pub incidents: u64,
    pub patterns: u64,
    pub created: u64,
    pub merged: u64,
    pub reassigned: u64,
}

/// Assigns a pattern to each of `incidents` (just written by the store pipeline, in this transaction) that a
/// person has not pinned, and bumps the organization's pattern version when anything changed.
///
/// # Errors
/// A database error.
pub async fn assign_stored(db: &mut OrgTx, incidents: &[IncidentId]) -> PatternResult<()> {
    assign::assign_stored(db, incidents).await
}

/// Re-mines the organization's whole history (see the module docs).
///
/// # Errors
/// A database error.
pub async fn refine(db: &mut OrgTx) -> PatternResult<RefineStats> {
    refine::refine(db).await
}

/// Renames a pattern (`None`: back to its template's name). A renamed pattern keeps its id through refinement.
///
/// # Errors
/// [`PatternError::NotFound`], [`PatternError::Invalid`] for an empty or too long name.
pub async fn rename(
    db: &mut OrgTx,
    actor: UserId,
    id: PatternId,
    name: Option<String>,
) -> PatternResult<()> {
    corrections::rename(db, actor, id, name).await
}

/// Mutes or unmutes a pattern.
///
/// # Errors
/// [`PatternError::NotFound`].
pub async fn set_muted(
    db: &mut OrgTx,
    actor: UserId,
    id: PatternId,
    muted: bool,
) -> PatternResult<()> {
    corrections::set_muted(db, actor, id, muted).await
}

/// Merges `from` into `into`: its incidents and templates go to `into` (as `merge` templates, kept through
/// refinement), and `from` becomes an alias of `into`. Returns `into`.
///
/// # Errors
/// [`PatternError::NotFound`] for either, [`PatternError::Invalid`] when they are the same pattern.
pub async fn merge(
    db: &mut OrgTx,
    actor: UserId,
    from: PatternId,
    into: PatternId,
) -> PatternResult<PatternId> {
    corrections::merge(db, actor, from, into).await
}

/// Moves an incident to another pattern or to a new one; the incident is pinned there, and its title's
/// template becomes a `move` template of the target, so future incidents like it follow. Returns the target.
///
/// # Errors
/// [`PatternError::NotFound`] for the incident or the pattern.
pub async fn move_incident(
    db: &mut OrgTx,
    actor: UserId,
    incident: IncidentId,
    target: MoveTarget,
) -> PatternResult<PatternId> {
    corrections::move_incident(db, actor, incident, target).await
}

/// The pattern an id stands for: itself, or the pattern it was merged into. `None` when unknown.
///
/// # Errors
/// A database error.
pub async fn resolve(db: &mut OrgTx, id: PatternId) -> PatternResult<Option<PatternId>> {
    corrections::resolve(db, id).await
}

/// How many example titles a pattern keeps.
const EXAMPLES: usize = 5;

/// Takes the organization's pattern lock shared for the rest of the transaction: the store pipeline calls it
/// before writing incidents, so it never holds incident rows that a refinement or a correction waits for
/// while waiting for them itself.
///
/// # Errors
/// A database error.
pub async fn lock_for_store(db: &mut OrgTx) -> PatternResult<()> {
    Ok(state::lock_shared(db).await?)
}

/// A [`Matcher`] of the organization's templates (only people's corrections with `rules_only`). Stored
/// templates that do not parse (written by a newer engine) are skipped with a warning.
async fn load_matcher(db: &mut OrgTx, rules_only: bool) -> PatternResult<Matcher<PatternId>> {
    let rows = org_query!(
        db,
        r#"SELECT pattern_id AS "pattern_id: PatternId", template, origin FROM pattern_templates
            WHERE org_id = $1 AND (NOT $2 OR origin <> 'mined')
            ORDER BY created_at, template"#,
        rules_only
    )
    .fetch_all(db.conn())
    .await
    .map_err(DbError::from)?;
    let mut matcher = Matcher::new();
    for r in rows {
        match Template::parse(&r.template) {
            Ok(t) => matcher.insert(r.pattern_id, t, assign::origin(&r.origin)),
            Err(e) => tracing::warn!(org_id = %db.org_id(), error = %e, "stored template skipped"),
        }
    }
    Ok(matcher)
}

/// A template's parts as the API shows them.
#[must_use]
pub fn parts_out(template: &Template) -> Vec<TemplatePartOut> {
    template
        .parts()
        .iter()
        .map(|p| match p {
            Part::Text(text) => TemplatePartOut::Text { text: text.clone() },
            Part::Slot(kind) => TemplatePartOut::Slot {
                kind: slot_kind_out(*kind),
            },
        })
        .collect()
}

/// A slot kind as the API names it.
#[must_use]
pub fn slot_kind_out(kind: SlotKind) -> SlotKindOut {
    match kind {
        SlotKind::Number => SlotKindOut::Number,
        SlotKind::Id => SlotKindOut::Id,
        SlotKind::Hex => SlotKindOut::Hex,
        SlotKind::Uuid => SlotKindOut::Uuid,
        SlotKind::Ip => SlotKindOut::Ip,
        SlotKind::Host => SlotKindOut::Host,
        SlotKind::Path => SlotKindOut::Path,
        SlotKind::Url => SlotKindOut::Url,
        SlotKind::Email => SlotKindOut::Email,
        SlotKind::Duration => SlotKindOut::Duration,
        SlotKind::Quoted => SlotKindOut::Quoted,
        SlotKind::Timestamp => SlotKindOut::Timestamp,
        SlotKind::Service => SlotKindOut::Service,
        SlotKind::Var => SlotKindOut::Var,
    }
}
