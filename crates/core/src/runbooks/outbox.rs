//! The vector index's outbox (`vector_outbox`): what the index must catch up with, written in the
//! transaction of the change, drained by the worker that owns the index.
//!
//! A row is (organization, kind, subject): `runbook` (index its current version, or remove it if gone),
//! `incident` (index its past fix if resolved, else remove it), `org` (index the whole organization again).
//! Enqueuing the same subject again only bumps `enqueued_at` and makes it due now; the worker reads due rows
//! across organizations ([`due`], through the `vector_outbox_due` function), works on each in a transaction
//! of its organization, and then [`complete`]s it — deleting it only if nobody enqueued it again meanwhile (a
//! change made while it was being indexed is indexed again) — or [`fail`]s it (attempts + 1, a growing
//! pause, the error kept for the organization to see). A worker killed midway leaves its rows due: they are
//! done again, and indexing is idempotent.
//!
//! The loaders turn what a row names into the retrieval crate's input: [`runbook_input`] (the current
//! version with its links) and [`incident_input`] (a resolved incident with its timeline).

use crate::db::{Db, DbResult, OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_retrieval::chunk::{EventInput, IncidentInput, RunbookInput, StepInput};
use insights_types::OrgId;
use insights_types::api::RunbookStep;
use sqlx::types::Json;
use std::time::Duration;
use uuid::Uuid;

/// What an outbox row asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboxKind {
    Runbook,
    Incident,
    Org,
}

impl OutboxKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Runbook => "runbook",
            OutboxKind::Incident => "incident",
            OutboxKind::Org => "org",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "runbook" => Some(OutboxKind::Runbook),
            "incident" => Some(OutboxKind::Incident),
            "org" => Some(OutboxKind::Org),
            _ => None,
        }
    }
}

/// A due row, as the worker claims it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub org_id: OrgId,
    pub kind: OutboxKind,
    pub subject_id: Uuid,
    /// The enqueue this work answers: [`complete`] deletes the row only if it is still this one.
    pub enqueued_at: DateTime<Utc>,
    pub attempts: i32,
}

/// The pause after the `attempts`-th failure: 2 s, 4 s, 8 s… at most 10 minutes.
#[must_use]
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 20)).unwrap_or(1);
    Duration::from_secs(2u64.saturating_pow(exp)).min(Duration::from_secs(600))
}

/// Enqueues `subjects` of `kind` in the caller's transaction (due now; a failing row starts over).
pub async fn enqueue(db: &mut OrgTx, kind: OutboxKind, subjects: &[Uuid]) -> DbResult<()> {
    if subjects.is_empty() {
        return Ok(());
    }
    org_execute!(
        db,
        "INSERT INTO vector_outbox (org_id, kind, subject_id)
         SELECT $1, $2, s FROM UNNEST($3::uuid[]) AS s
         ON CONFLICT (org_id, kind, subject_id) DO UPDATE
            SET enqueued_at = clock_timestamp(), not_before = clock_timestamp(), attempts = 0, last_error = NULL",
        kind.as_str(),
        subjects
    )
}

/// Enqueues those of `incidents` that are resolved (their past fix is new or changed), in the caller's
/// transaction: what the incident store calls after writing incidents or timeline entries.
pub async fn enqueue_resolved_incidents(db: &mut OrgTx, incidents: &[Uuid]) -> DbResult<()> {
    if incidents.is_empty() {
        return Ok(());
    }
    org_execute!(
        db,
        "INSERT INTO vector_outbox (org_id, kind, subject_id)
         SELECT $1, 'incident', i.id FROM incidents i
          WHERE i.org_id = $1 AND i.id = ANY($2::uuid[]) AND i.status = 'resolved'
         ON CONFLICT (org_id, kind, subject_id) DO UPDATE
            SET enqueued_at = clock_timestamp(), not_before = clock_timestamp(), attempts = 0, last_error = NULL",
        incidents
    )
}

/// Up to `max_rows` due rows across organizations, the longest waiting first (the worker's read; each row is
/// then worked on in a transaction of its organization).
pub async fn due(db: &Db, max_rows: i32) -> DbResult<Vec<OutboxRow>> {
    let rows = sqlx::query!(
        r#"SELECT org_id AS "org_id!", kind AS "kind!", subject_id AS "subject_id!",
                  enqueued_at AS "enqueued_at!", attempts AS "attempts!"
             FROM vector_outbox_due($1)"#,
        max_rows
    )
    .fetch_all(db.pool())
    .await
    .read_from("vector_outbox")?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(OutboxRow {
                org_id: OrgId(r.org_id),
                kind: OutboxKind::parse(&r.kind)?,
                subject_id: r.subject_id,
                enqueued_at: r.enqueued_at,
                attempts: r.attempts,
            })
        })
        .collect())
}

/// The row's work is done: deletes it, unless it was enqueued again meanwhile (then it stays due). Returns
/// whether it was deleted.
pub async fn complete(db: &mut OrgTx, row: &OutboxRow) -> DbResult<bool> {
    let n = org_rows_changed!(
        db,
        "DELETE FROM vector_outbox WHERE org_id = $1 AND kind = $2 AND subject_id = $3 AND enqueued_at = $4",
        row.kind.as_str(),
        row.subject_id,
        row.enqueued_at
    )?;
    Ok(n > 0)
}

/// The row's work failed: one more attempt, due again after [`backoff`], with `error` kept (for the index
/// status). A row enqueued again meanwhile is left due at once.
pub async fn fail(db: &mut OrgTx, row: &OutboxRow, error: &str) -> DbResult<()> {
    let pause = backoff(row.attempts + 1);
    let error: String = error.chars().take(1000).collect();
    org_execute!(
        db,
        "UPDATE vector_outbox
            SET attempts = attempts + 1, last_error = $5,
                not_before = clock_timestamp() + make_interval(secs => $6)
          WHERE org_id = $1 AND kind = $2 AND subject_id = $3 AND enqueued_at = $4",
        row.kind.as_str(),
        row.subject_id,
        row.enqueued_at,
        error,
        pause.as_secs_f64()
    )
}

/// The current version of a runbook as the chunker's input (`None`: it is gone).
pub async fn runbook_input(db: &mut OrgTx, id: Uuid) -> DbResult<Option<RunbookInput>> {
    let row = org_query!(
        db,
        r#"SELECT r.title, r.body, r.steps AS "steps: Json<Vec<RunbookStep>>", r.tags, r.current_version,
                  ARRAY(SELECT s.service_id FROM runbook_services s
                         WHERE s.org_id = $1 AND s.runbook_id = r.id ORDER BY s.service_id) AS "service_ids!",
                  ARRAY(SELECT p.pattern_id FROM runbook_patterns p
                         WHERE p.org_id = $1 AND p.runbook_id = r.id ORDER BY p.pattern_id) AS "pattern_ids!"
             FROM runbooks r WHERE r.org_id = $1 AND r.id = $2"#,
        id
    )
    .fetch_optional(db.conn())
    .await
    .read_from("runbooks")?;
    Ok(row.map(|r| RunbookInput {
        runbook_id: id,
        version: r.current_version,
        title: r.title,
        body: r.body,
        steps: r
            .steps
            .0
            .into_iter()
            .map(|s| StepInput {
                title: s.title,
                why: s.why,
                command: s.command.map(|c| c.text),
                expected: s.expected,
            })
            .collect(),
        tags: r.tags,
        service_ids: r.service_ids,
        pattern_ids: r.pattern_ids,
    }))
}

/// A resolved incident with its timeline as the chunker's input (`None`: it is gone or not resolved — its
/// past fix, if any, is to be removed).
pub async fn incident_input(db: &mut OrgTx, id: Uuid) -> DbResult<Option<IncidentInput>> {
    let Some(i) = org_query!(
        db,
        "SELECT title, service_id, pattern_id, tags FROM incidents
          WHERE org_id = $1 AND id = $2 AND status = 'resolved'",
        id
    )
    .fetch_optional(db.conn())
    .await
    .read_from("incidents")?
    else {
        return Ok(None);
    };
    let events = org_query!(
        db,
        "SELECT id, kind, at, message FROM incident_events
          WHERE org_id = $1 AND incident_id = $2 AND message IS NOT NULL ORDER BY at, id",
        id
    )
    .fetch_all(db.conn())
    .await
    .read_from("incident_events")?;
    Ok(Some(IncidentInput {
        incident_id: id,
        title: i.title,
        events: events
            .into_iter()
            .map(|e| EventInput {
                event_id: e.id,
                kind: e.kind,
                at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                message: e.message,
            })
            .collect(),
        tags: i.tags,
        service_ids: i.service_id.into_iter().collect(),
        pattern_ids: i.pattern_id.into_iter().collect(),
    }))
}

/// Everything of the organization the index holds: its runbooks and its resolved incidents (for an `org`
/// row: each is enqueued on its own, so a re-index is resumable and spread over the worker's batches).
pub async fn org_subjects(db: &mut OrgTx) -> DbResult<(Vec<Uuid>, Vec<Uuid>)> {
    let runbooks = org_query_scalar!(db, "SELECT id FROM runbooks WHERE org_id = $1")
        .fetch_all(db.conn())
        .await?;
    let incidents = org_query_scalar!(
        db,
        "SELECT id FROM incidents WHERE org_id = $1 AND status = 'resolved'"
    )
    .fetch_all(db.conn())
    .await?;
    Ok((runbooks, incidents))
}

/// Numbers of incidents by id (for search hits that cite past fixes).
pub async fn incident_numbers(db: &mut OrgTx, ids: &[Uuid]) -> DbResult<Vec<(Uuid, Option<i64>)>> {
    let rows = org_query!(
        db,
        "SELECT id, number FROM incidents WHERE org_id = $1 AND id = ANY($2::uuid[])",
        ids
    )
    .fetch_all(db.conn())
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.number)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert!(backoff(5) > backoff(4));
        assert_eq!(backoff(50), Duration::from_secs(600));
        assert_eq!(backoff(0), Duration::from_secs(2));
    }

    #[test]
    fn kinds_round_trip() {
        for k in [OutboxKind::Runbook, OutboxKind::Incident, OutboxKind::Org] {
            assert_eq!(OutboxKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(OutboxKind::parse("other"), None);
    }
}
