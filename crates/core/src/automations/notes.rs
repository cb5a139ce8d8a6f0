//! Posting back to an incident (issue 13), the worker's database side: where an incident came from (to add a
//! note there), and the entry on the incident's own timeline that shows what an automation posted — also for
//! incidents without a source to post to, such as the sample ones.

use crate::db::{DbResult, OrgTx, ReadFrom};
use insights_types::api::IncidentSource;
use insights_types::{IncidentId, IntegrationId};
use uuid::Uuid;

/// The timeline entries automations write are of this kind (the same as the sources' notes).
pub const NOTE_KIND: &str = "note";
/// Who they are from.
pub const NOTE_ACTOR: &str = "Incident Insights automation";

/// Where a note about an incident can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteTarget {
    pub source: IncidentSource,
    /// The incident's id in its source.
    pub external_id: String,
    pub tags: Vec<String>,
    /// The integration it was imported through, unless it was deleted (or is being deleted), or the
    /// incident came from no integration (sample data).
    pub integration: Option<IntegrationId>,
}

/// The incident's source, or `None` when the incident does not exist (in this organization).
pub async fn note_target(db: &mut OrgTx, incident: IncidentId) -> DbResult<Option<NoteTarget>> {
    let row = org_query!(
        db,
        r#"SELECT i.source AS "source: IncidentSource", i.external_id, i.tags,
                  g.id AS "integration?"
             FROM incidents i
             LEFT JOIN integrations g ON g.id = i.integration_id AND g.org_id = i.org_id
                                     AND g.deleting_at IS NULL
            WHERE i.org_id = $1 AND i.id = $2"#,
        incident.0,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("incidents")?;
    Ok(row.map(|r| NoteTarget {
        source: r.source,
        external_id: r.external_id,
        tags: r.tags,
        integration: r.integration.map(IntegrationId),
    }))
}

/// Adds `message` to the incident's timeline as a note under `key` (unique per incident: the same key twice
/// adds one entry, so a post retried after a failure is not shown twice). Returns whether it was new.
pub async fn add_timeline_note(
    db: &mut OrgTx,
    incident: IncidentId,
    key: &str,
    message: &str,
    raw: &serde_json::Value,
) -> DbResult<bool> {
    let added = org_rows_changed!(
        db,
        "INSERT INTO incident_events (id, org_id, incident_id, external_id, kind, at, actor, message, raw)
         SELECT $2, $1, i.id, $3, $4, now(), $5, $6, $7
           FROM incidents i WHERE i.org_id = $1 AND i.id = $8
         ON CONFLICT (org_id, incident_id, external_id) DO NOTHING",
        Uuid::now_v7(),
        key,
        NOTE_KIND,
        NOTE_ACTOR,
        message,
        raw,
        incident.0,
    )?;
    Ok(added > 0)
}
