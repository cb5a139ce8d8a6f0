//! The outbox of incident changes that rules are evaluated on (`automation_changes`): written by the incident
//! store in the transaction that stored the change ([`record`]), read and deleted by the worker's dispatcher
//! in the transaction that admitted the runs the change started ([`take`], [`delete`]).
//!
//! The store is hot (backfills of 100,000 incidents): [`record`] costs nothing for changes older than
//! `INSIGHTS_AUTOMATION_MAX_EVENT_AGE_SECS` (history never fires rules: they are dropped before any
//! statement) and at most one statement per batch otherwise, which writes nothing when the organization has
//! no enabled rule. When it wrote rows it notifies the dispatcher ([`CHANNEL`], delivered on commit).

use crate::db::{Db, DbResult, OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_types::api::{IncidentSource, IncidentStatus, Transition, Urgency};
use insights_types::{IncidentId, OrgId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use uuid::Uuid;

/// The PostgreSQL notification channel the dispatcher listens on; the payload is the organization's id.
pub const CHANNEL: &str = "automation_changes";

/// `INSIGHTS_AUTOMATION_MAX_EVENT_AGE_SECS`, set once by the process that stores incidents (see
/// [`set_max_event_age`]); the configuration's default until then.
static MAX_EVENT_AGE_SECS: AtomicU64 = AtomicU64::new(3600);

/// Sets how old a change may be and still start rules (the worker sets it from its configuration at start).
pub fn set_max_event_age(age: Duration) {
    MAX_EVENT_AGE_SECS.store(age.as_secs(), Ordering::Relaxed);
}

fn max_event_age() -> chrono::Duration {
    chrono::Duration::seconds(
        i64::try_from(MAX_EVENT_AGE_SECS.load(Ordering::Relaxed)).unwrap_or(i64::MAX / 1000),
    )
}

/// The transition of an incident written with status `new`, stored before as `old` (`None`: inserted now).
#[must_use]
pub fn transition(old: Option<IncidentStatus>, new: IncidentStatus) -> Transition {
    use IncidentStatus::{Acknowledged, Resolved, Triggered};
    match (old, new) {
        (None, Resolved) => Transition::Resolved,
        (None, _) => Transition::Triggered,
        (Some(Resolved), Triggered | Acknowledged) => Transition::Reopened,
        (Some(Triggered | Acknowledged), Resolved) => Transition::Resolved,
        (Some(Triggered), Acknowledged) => Transition::Acknowledged,
        _ => Transition::Updated,
    }
}

/// One stored change of an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub incident: IncidentId,
    pub transition: Transition,
    /// When it happened at the source.
    pub happened_at: DateTime<Utc>,
}

/// Records the changes of one stored batch that rules may react to, in the store's transaction: none older
/// than the maximum age (no statement at all when none is recent), and none when the organization has no
/// enabled rule (one statement).
pub async fn record(db: &mut OrgTx, changes: &[Change]) -> DbResult<()> {
    let oldest = Utc::now() - max_event_age();
    let recent: Vec<&Change> = changes.iter().filter(|c| c.happened_at >= oldest).collect();
    if recent.is_empty() {
        return Ok(());
    }
    let written = org_query_scalar!(
        db,
        r#"WITH written AS (
             INSERT INTO automation_changes (id, org_id, incident_id, transition, happened_at)
             SELECT t.id, $1, t.incident_id, t.transition, t.happened_at
               FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[])
                    AS t(id, incident_id, transition, happened_at)
              WHERE EXISTS (SELECT 1 FROM automation_rules r WHERE r.org_id = $1 AND r.enabled)
             RETURNING 1)
           SELECT CASE WHEN count(*) > 0 THEN pg_notify($6, $1::text) IS NOT NULL ELSE false END AS "notified!"
             FROM written"#,
        recent.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>() as Vec<Uuid>,
        recent.iter().map(|c| c.incident.0).collect::<Vec<_>>() as Vec<Uuid>,
        recent.iter().map(|c| c.transition.as_str()).collect::<Vec<_>>() as Vec<&str>,
        recent.iter().map(|c| c.happened_at).collect::<Vec<_>>() as Vec<DateTime<Utc>>,
        CHANNEL,
    )
    .fetch_one(db.conn())
    .await?;
    let _ = written;
    Ok(())
}

/// The organizations with changes to evaluate, oldest first.
pub async fn due(db: &Db, max_orgs: i32) -> DbResult<Vec<OrgId>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT org_id AS "org_id!: OrgId" FROM automation_changes_due($1)"#,
        max_orgs
    )
    .fetch_all(db.pool())
    .await?)
}

/// A change to evaluate.
#[derive(Clone, Debug)]
pub struct ChangeRow {
    pub id: Uuid,
    pub incident_id: IncidentId,
    pub transition: String,
    pub created_at: DateTime<Utc>,
}

/// Up to `limit` of the organization's changes, oldest first, locked (another dispatcher skips them).
pub async fn take(db: &mut OrgTx, limit: i64) -> DbResult<Vec<ChangeRow>> {
    org_query_as!(
        db,
        ChangeRow,
        r#"SELECT id, incident_id AS "incident_id: IncidentId", transition, created_at FROM automation_changes
            WHERE org_id = $1 ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED"#,
        limit,
    )
    .fetch_all(db.conn())
    .await
    .read_from("automation_changes")
}

/// Deletes changes that were evaluated, in the transaction that admitted their runs.
pub async fn delete(db: &mut OrgTx, ids: &[Uuid]) -> DbResult<()> {
    org_execute!(
        db,
        "DELETE FROM automation_changes WHERE org_id = $1 AND id = ANY($2)",
        ids as &[Uuid],
    )
}

/// What rules look at of an incident.
#[derive(Clone, Debug)]
pub struct IncidentRow {
    pub id: IncidentId,
    pub source: IncidentSource,
    pub service_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub urgency: Option<Urgency>,
    pub priority: Option<String>,
    pub pattern_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub title: String,
}

/// The incidents changes are about (the deleted ones left out).
pub async fn incidents(db: &mut OrgTx, ids: &[IncidentId]) -> DbResult<Vec<IncidentRow>> {
    let ids: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
    org_query_as!(
        db,
        IncidentRow,
        r#"SELECT id AS "id: IncidentId", source AS "source: IncidentSource", service_id, team_id,
                  urgency AS "urgency: Urgency", priority, pattern_id, tags, title
             FROM incidents WHERE org_id = $1 AND id = ANY($2)"#,
        &ids as &[Uuid],
    )
    .fetch_all(db.conn())
    .await
    .read_from("incidents")
}

/// An enabled rule as the dispatcher compiles it.
#[derive(Clone, Debug)]
pub struct RuleRow {
    pub id: Uuid,
    pub automation_id: Uuid,
    pub conditions: serde_json::Value,
}

/// The organization's enabled rules, and a stamp that changes whenever any rule does (added, changed,
/// disabled, deleted): the dispatcher reloads its compiled rules when the stamp moved.
pub async fn rules_stamp(db: &mut OrgTx) -> DbResult<(i64, Option<DateTime<Utc>>)> {
    let r = org_query!(
        db,
        r#"SELECT count(*) AS "n!", max(updated_at) AS latest FROM automation_rules WHERE org_id = $1"#,
    )
    .fetch_one(db.conn())
    .await?;
    Ok((r.n, r.latest))
}

/// The organization's enabled rules.
pub async fn enabled_rules(db: &mut OrgTx) -> DbResult<Vec<RuleRow>> {
    org_query_as!(
        db,
        RuleRow,
        "SELECT id, automation_id, conditions FROM automation_rules WHERE org_id = $1 AND enabled ORDER BY id",
    )
    .fetch_all(db.conn())
    .await
    .read_from("automation_rules")
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::{Acknowledged, Resolved, Triggered};

    #[test]
    fn transitions_follow_the_status() {
        assert_eq!(transition(None, Triggered), Transition::Triggered);
        assert_eq!(transition(None, Acknowledged), Transition::Triggered);
        assert_eq!(transition(None, Resolved), Transition::Resolved);
        assert_eq!(
            transition(Some(Triggered), Acknowledged),
            Transition::Acknowledged
        );
        assert_eq!(
            transition(Some(Acknowledged), Resolved),
            Transition::Resolved
        );
        assert_eq!(transition(Some(Triggered), Resolved), Transition::Resolved);
        assert_eq!(transition(Some(Resolved), Triggered), Transition::Reopened);
        assert_eq!(
            transition(Some(Resolved), Acknowledged),
            Transition::Reopened
        );
        assert_eq!(transition(Some(Triggered), Triggered), Transition::Updated);
        assert_eq!(transition(Some(Resolved), Resolved), Transition::Updated);
    }
}
