//! Incidents, their timeline, services and teams (the unified schema).

use super::{DbResult, OrgTx, cursor};
use crate::ingest::{NormalizedEvent, NormalizedIncident, UpsertStats};
use chrono::{DateTime, Utc};
use insights_types::api::{
    IncidentDetailOut, IncidentEventOut, IncidentOut, IncidentSource, IncidentStatus, NamedRef,
    Urgency,
};
use insights_types::{IncidentId, IntegrationId};
use std::collections::HashMap;
use uuid::Uuid;

/// The two tables incidents refer to by (source, external id).
#[derive(Clone, Copy)]
enum RefTable {
    Services,
    Teams,
}

macro_rules! upsert_ref_tail {
    () => {
        " (id, org_id, source, external_id, name)
         SELECT id, $1, source, ext, name
           FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[]) AS t(id, source, ext, name)
         ON CONFLICT (org_id, source, external_id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
         RETURNING id, source, external_id"
    };
}

/// Upserts the distinct services (or teams) of a batch; returns their ids by (source, external id).
async fn upsert_refs(
    db: &mut OrgTx,
    table: RefTable,
    refs: &[(IncidentSource, &crate::ingest::SourceRef)],
) -> DbResult<HashMap<(String, String), Uuid>> {
    let mut seen = HashMap::new();
    for (source, r) in refs {
        seen.entry((source.as_str().to_owned(), r.external_id.clone()))
            .or_insert_with(|| r.name.clone());
    }
    if seen.is_empty() {
        return Ok(HashMap::new());
    }
    let (keys, names): (Vec<(String, String)>, Vec<String>) = seen.into_iter().unzip();
    let (sources, ext): (Vec<String>, Vec<String>) = keys.into_iter().unzip();
    let ids: Vec<Uuid> = (0..names.len()).map(|_| Uuid::now_v7()).collect();
    let org = db.org_id();
    let sql = match table {
        RefTable::Services => concat!("INSERT INTO services", upsert_ref_tail!()),
        RefTable::Teams => concat!("INSERT INTO teams", upsert_ref_tail!()),
    };
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(sql)
        .bind(org.0)
        .bind(&ids)
        .bind(&sources)
        .bind(&ext)
        .bind(&names)
        .fetch_all(db.conn())
        .await?;
    Ok(rows.into_iter().map(|(id, s, e)| ((s, e), id)).collect())
}

/// One version of each incident of a batch: the newest (by `source_updated_at`) when it appears twice.
fn latest_versions(batch: &[NormalizedIncident]) -> Vec<&NormalizedIncident> {
    let mut latest: HashMap<(IncidentSource, &str), &NormalizedIncident> = HashMap::new();
    for i in batch {
        let key = (i.source, i.external_id.as_str());
        match latest.get(&key) {
            Some(prev) if prev.source_updated_at > i.source_updated_at => {}
            _ => {
                latest.insert(key, i);
            }
        }
    }
    latest.into_values().collect()
}

/// The columns of the incident insert, shared by full and partial versions.
macro_rules! incident_insert {
    ($on_conflict:expr) => {
        concat!(
            "INSERT INTO incidents (id, org_id, integration_id, source, external_id, number, title, description,
                                    service_id, team_id, urgency, priority, status, triggered_at, acknowledged_at,
                                    resolved_at, assignees, tags, source_url, source_updated_at, raw)
             SELECT t.id, $1, $2, t.source, t.external_id, t.number, t.title, t.description, t.service_id, t.team_id,
                    t.urgency, t.priority, t.status, t.triggered_at, t.acknowledged_at, t.resolved_at, t.assignees,
                    ARRAY(SELECT jsonb_array_elements_text(t.tags)), t.source_url, t.source_updated_at, t.raw
               FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::text[], $9::uuid[],
                           $10::uuid[], $11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[],
                           $16::timestamptz[], $17::jsonb[], $18::jsonb[], $19::text[], $20::timestamptz[], $21::jsonb[])
                 AS t(id, source, external_id, number, title, description, service_id, team_id, urgency, priority,
                      status, triggered_at, acknowledged_at, resolved_at, assignees, tags, source_url,
                      source_updated_at, raw)
             ON CONFLICT (org_id, source, external_id) DO UPDATE SET ",
            $on_conflict,
            "
              WHERE incidents.source_updated_at <= EXCLUDED.source_updated_at
             RETURNING source, external_id, (xmax = 0) AS inserted"
        )
    };
}

/// A full version replaces what is stored, except two facts of history: the first acknowledgement stays the
/// earliest one seen, and a resolution time survives a version that lacks it while still resolved.
macro_rules! full_update {
    () => {
        "number = EXCLUDED.number, title = EXCLUDED.title, description = EXCLUDED.description,
    service_id = EXCLUDED.service_id, team_id = EXCLUDED.team_id, urgency = EXCLUDED.urgency,
    priority = EXCLUDED.priority, status = EXCLUDED.status, triggered_at = EXCLUDED.triggered_at,
    acknowledged_at = LEAST(incidents.acknowledged_at, EXCLUDED.acknowledged_at),
    resolved_at = CASE WHEN EXCLUDED.status = 'resolved' THEN COALESCE(EXCLUDED.resolved_at, incidents.resolved_at) END,
    assignees = EXCLUDED.assignees, tags = EXCLUDED.tags, source_url = EXCLUDED.source_url,
    integration_id = COALESCE(EXCLUDED.integration_id, incidents.integration_id),
    source_updated_at = EXCLUDED.source_updated_at, raw = EXCLUDED.raw, updated_at = now()"
    };
}

/// A partial version (a webhook event) carries what changed: absent fields keep their stored values, and the
/// stored raw payload (the full one from the REST API) stays.
macro_rules! partial_update {
    () => {
        "number = COALESCE(EXCLUDED.number, incidents.number), title = EXCLUDED.title,
    description = COALESCE(EXCLUDED.description, incidents.description),
    service_id = COALESCE(EXCLUDED.service_id, incidents.service_id),
    team_id = COALESCE(EXCLUDED.team_id, incidents.team_id), urgency = COALESCE(EXCLUDED.urgency, incidents.urgency),
    priority = COALESCE(EXCLUDED.priority, incidents.priority), status = EXCLUDED.status,
    acknowledged_at = LEAST(incidents.acknowledged_at, EXCLUDED.acknowledged_at),
    resolved_at = CASE WHEN EXCLUDED.status = 'resolved' THEN COALESCE(incidents.resolved_at, EXCLUDED.resolved_at) END,
    assignees = CASE WHEN jsonb_array_length(EXCLUDED.assignees) > 0 THEN EXCLUDED.assignees ELSE incidents.assignees END,
    tags = CASE WHEN cardinality(EXCLUDED.tags) > 0 THEN EXCLUDED.tags ELSE incidents.tags END,
    source_url = COALESCE(EXCLUDED.source_url, incidents.source_url),
    integration_id = COALESCE(EXCLUDED.integration_id, incidents.integration_id),
    source_updated_at = EXCLUDED.source_updated_at, updated_at = now()"
    };
}

/// Stores a batch of full versions (from a source's REST API): services and teams, then incidents (newer
/// versions only), then new timeline entries. `integration` records where they came from.
pub async fn upsert_batch(
    db: &mut OrgTx,
    integration: Option<IntegrationId>,
    batch: &[NormalizedIncident],
) -> DbResult<UpsertStats> {
    store(db, integration, batch, Version::Full).await
}

/// Applies partial versions (webhook events): like [`upsert_batch`], but what a version lacks stays as stored.
pub async fn apply_partial(
    db: &mut OrgTx,
    integration: Option<IntegrationId>,
    batch: &[NormalizedIncident],
) -> DbResult<UpsertStats> {
    store(db, integration, batch, Version::Partial).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    Full,
    Partial,
}

async fn store(
    db: &mut OrgTx,
    integration: Option<IntegrationId>,
    batch: &[NormalizedIncident],
    version: Version,
) -> DbResult<UpsertStats> {
    let mut stats = UpsertStats::default();
    if batch.is_empty() {
        return Ok(stats);
    }
    let org = db.org_id();
    let services: Vec<_> = batch
        .iter()
        .filter_map(|i| i.service.as_ref().map(|s| (i.source, s)))
        .collect();
    let teams: Vec<_> = batch
        .iter()
        .filter_map(|i| i.team.as_ref().map(|t| (i.source, t)))
        .collect();
    let service_ids = upsert_refs(db, RefTable::Services, &services).await?;
    let team_ids = upsert_refs(db, RefTable::Teams, &teams).await?;
    let ref_id = |map: &HashMap<(String, String), Uuid>,
                  i: &NormalizedIncident,
                  r: &Option<crate::ingest::SourceRef>| {
        r.as_ref().and_then(|r| {
            map.get(&(i.source.as_str().to_owned(), r.external_id.clone()))
                .copied()
        })
    };

    // The last version of each incident in the batch wins inside the batch, too.
    let items = latest_versions(batch);
    let ids: Vec<Uuid> = items.iter().map(|_| Uuid::now_v7()).collect();
    let col = |f: &dyn Fn(&NormalizedIncident) -> Option<String>| {
        items.iter().map(|i| f(i)).collect::<Vec<_>>()
    };
    let sql = match version {
        Version::Full => incident_insert!(full_update!()),
        Version::Partial => incident_insert!(partial_update!()),
    };
    let rows: Vec<(String, String, bool)> = sqlx::query_as(sql)
        .bind(org.0)
        .bind(integration.map(|i| i.0))
        .bind(&ids)
        .bind(col(&|i| Some(i.source.as_str().to_owned())))
        .bind(col(&|i| Some(i.external_id.clone())))
        .bind(items.iter().map(|i| i.number).collect::<Vec<_>>())
        .bind(col(&|i| Some(i.title.clone())))
        .bind(col(&|i| i.description.clone()))
        .bind(
            items
                .iter()
                .map(|i| ref_id(&service_ids, i, &i.service))
                .collect::<Vec<_>>(),
        )
        .bind(
            items
                .iter()
                .map(|i| ref_id(&team_ids, i, &i.team))
                .collect::<Vec<_>>(),
        )
        .bind(col(&|i| i.urgency.map(|u| u.as_str().to_owned())))
        .bind(col(&|i| i.priority.clone()))
        .bind(col(&|i| Some(i.status.as_str().to_owned())))
        .bind(items.iter().map(|i| i.triggered_at).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.acknowledged_at).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.resolved_at).collect::<Vec<_>>())
        .bind(
            items
                .iter()
                .map(|i| serde_json::json!(i.assignees))
                .collect::<Vec<_>>(),
        )
        .bind(
            items
                .iter()
                .map(|i| serde_json::json!(i.tags))
                .collect::<Vec<_>>(),
        )
        .bind(col(&|i| i.source_url.clone()))
        .bind(
            items
                .iter()
                .map(|i| i.source_updated_at)
                .collect::<Vec<_>>(),
        )
        .bind(items.iter().map(|i| i.raw.clone()).collect::<Vec<_>>())
        .fetch_all(db.conn())
        .await?;
    for (_, _, inserted) in &rows {
        if *inserted {
            stats.inserted += 1
        } else {
            stats.updated += 1
        }
    }
    stats.stale = items.len() as u64 - rows.len() as u64;

    // Timeline entries: new ones only, for every incident of the batch (even a stale version may carry them).
    let mut events = Vec::new();
    for i in batch {
        for e in &i.timeline {
            events.push((i.source, i.external_id.as_str(), e));
        }
    }
    stats.events_inserted = upsert_events(db, &events).await?;
    Ok(stats)
}

/// Stores timeline entries of incidents already stored, given by (source, incident external id, entry); entries
/// already stored and entries of incidents not stored (e.g. outside an import's filter) are skipped. The
/// first acknowledgement and the resolution they show fill in the incident's times when it lacks them (some
/// sources only tell these through the timeline). Returns how many entries were new.
pub async fn upsert_events(
    db: &mut OrgTx,
    events: &[(IncidentSource, &str, &NormalizedEvent)],
) -> DbResult<u64> {
    let org = db.org_id();
    let mut ev_incident = Vec::new();
    let (mut ev_source, mut ev_ext, mut ev_id, mut ev_kind) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ev_at, mut ev_actor, mut ev_msg, mut ev_raw) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &(source, incident, e) in events {
        ev_incident.push(incident);
        ev_source.push(source.as_str());
        ev_ext.push(e.external_id.as_str());
        ev_id.push(Uuid::now_v7());
        ev_kind.push(e.kind.as_str());
        ev_at.push(e.at);
        ev_actor.push(e.actor.as_deref());
        ev_msg.push(e.message.as_deref());
        ev_raw.push(&e.raw);
    }
    if ev_id.is_empty() {
        return Ok(0);
    }
    let (inserted,): (i64,) = sqlx::query_as(
        "WITH ins AS (
            INSERT INTO incident_events (id, org_id, incident_id, external_id, kind, at, actor, message, raw)
            SELECT t.id, $1, i.id, t.ext, t.kind, t.at, t.actor, t.message, t.raw
              FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[],
                          $9::text[], $10::jsonb[]) AS t(id, source, incident_ext, ext, kind, at, actor, message, raw)
              JOIN incidents i ON i.org_id = $1 AND i.source = t.source AND i.external_id = t.incident_ext
            ON CONFLICT (org_id, incident_id, external_id) DO NOTHING
            RETURNING incident_id, kind, at),
         times AS (
            SELECT incident_id, min(at) FILTER (WHERE kind = 'acknowledge') AS ack,
                   max(at) FILTER (WHERE kind = 'resolve') AS res
              FROM ins GROUP BY incident_id),
         filled AS (
            UPDATE incidents i SET acknowledged_at = LEAST(i.acknowledged_at, times.ack),
                   resolved_at = CASE WHEN i.status = 'resolved' THEN COALESCE(i.resolved_at, times.res) END
              FROM times
             WHERE i.org_id = $1 AND i.id = times.incident_id AND (times.ack IS NOT NULL OR times.res IS NOT NULL)
               AND (i.acknowledged_at IS NULL OR i.acknowledged_at > times.ack
                    OR (i.status = 'resolved' AND i.resolved_at IS NULL))
            RETURNING 1)
         -- `filled` runs although nothing reads it: data-modifying WITH clauses always run to completion.
         SELECT count(*) FROM ins",
    )
    .bind(org.0)
    .bind(&ev_id)
    .bind(&ev_source)
    .bind(&ev_incident)
    .bind(&ev_ext)
    .bind(&ev_kind)
    .bind(&ev_at)
    .bind(&ev_actor)
    .bind(&ev_msg)
    .bind(&ev_raw)
    .fetch_one(db.conn())
    .await?;
    Ok(inserted as u64)
}

/// Filters of the incident list (all optional, combined with AND).
#[derive(Debug, Default, Clone)]
pub struct IncidentFilter {
    pub source: Option<IncidentSource>,
    pub status: Option<IncidentStatus>,
    pub service_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub urgency: Option<Urgency>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Case-insensitive text in the title or description.
    pub text: Option<String>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    source: String,
    external_id: String,
    number: Option<i64>,
    title: String,
    description: Option<String>,
    service_id: Option<Uuid>,
    service_name: Option<String>,
    team_id: Option<Uuid>,
    team_name: Option<String>,
    urgency: Option<String>,
    priority: Option<String>,
    status: String,
    triggered_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    assignees: serde_json::Value,
    tags: Vec<String>,
    source_url: Option<String>,
}

impl Row {
    fn out(self) -> (IncidentOut, Option<String>) {
        let named = |id: Option<Uuid>, name: Option<String>| {
            Some(NamedRef {
                id: id?,
                name: name?,
            })
        };
        (
            IncidentOut {
                id: IncidentId(self.id),
                source: IncidentSource::parse(&self.source).unwrap_or(IncidentSource::Sample),
                external_id: self.external_id,
                number: self.number,
                title: self.title,
                service: named(self.service_id, self.service_name),
                team: named(self.team_id, self.team_name),
                urgency: self.urgency.as_deref().and_then(Urgency::parse),
                priority: self.priority,
                status: IncidentStatus::parse(&self.status).unwrap_or(IncidentStatus::Triggered),
                triggered_at: self.triggered_at,
                acknowledged_at: self.acknowledged_at,
                resolved_at: self.resolved_at,
                assignees: serde_json::from_value(self.assignees).unwrap_or_default(),
                tags: self.tags,
                source_url: self.source_url,
            },
            self.description,
        )
    }
}

macro_rules! incident_select {
    () => {
        "SELECT i.id, i.source, i.external_id, i.number, i.title, i.description, i.service_id, s.name AS service_name,
                i.team_id, t.name AS team_name, i.urgency, i.priority, i.status, i.triggered_at, i.acknowledged_at,
                i.resolved_at, i.assignees, i.tags, i.source_url
           FROM incidents i
           LEFT JOIN services s ON s.id = i.service_id
           LEFT JOIN teams t ON t.id = i.team_id
          WHERE i.org_id = $1"
    };
}

/// One page of incidents matching `f`, newest first (or oldest first).
pub async fn list(
    db: &mut OrgTx,
    f: &IncidentFilter,
    after: Option<cursor::Position>,
    limit: i64,
) -> DbResult<(Vec<IncidentOut>, Option<String>)> {
    let rows = rows(db, f, after, limit).await?;
    let items: Vec<IncidentOut> = rows.into_iter().map(|r| r.out().0).collect();
    Ok(cursor::page(items, limit, |i| (i.triggered_at, i.id.0)))
}

/// Like [`list`], with each incident's description and timeline (for exports).
pub async fn list_detailed(
    db: &mut OrgTx,
    f: &IncidentFilter,
    after: Option<cursor::Position>,
    limit: i64,
) -> DbResult<(Vec<IncidentDetailOut>, Option<String>)> {
    let rows = rows(db, f, after, limit).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut timelines = timelines(db, &ids).await?;
    let items: Vec<IncidentDetailOut> = rows
        .into_iter()
        .map(|r| {
            let (incident, description) = r.out();
            IncidentDetailOut {
                timeline: timelines.remove(&incident.id.0).unwrap_or_default(),
                incident,
                description,
            }
        })
        .collect();
    Ok(cursor::page(items, limit, |i| {
        (i.incident.triggered_at, i.incident.id.0)
    }))
}

/// The rows of a page (`limit + 1`, to tell whether there is more).
async fn rows(
    db: &mut OrgTx,
    f: &IncidentFilter,
    after: Option<cursor::Position>,
    limit: i64,
) -> DbResult<Vec<Row>> {
    let org = db.org_id();
    let (at, id) = after.unzip();
    let text = f.text.as_ref().map(|t| {
        format!(
            "%{}%",
            t.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let sql = if f.ascending {
        concat!(incident_select!(), "
            AND ($2::text IS NULL OR i.source = $2) AND ($3::text IS NULL OR i.status = $3)
            AND ($4::uuid IS NULL OR i.service_id = $4) AND ($5::uuid IS NULL OR i.team_id = $5)
            AND ($6::text IS NULL OR i.urgency = $6)
            AND ($7::timestamptz IS NULL OR i.triggered_at >= $7) AND ($8::timestamptz IS NULL OR i.triggered_at < $8)
            AND ($9::text IS NULL OR i.title ILIKE $9 OR i.description ILIKE $9)
            AND ($10::timestamptz IS NULL OR (i.triggered_at, i.id) > ($10, $11))
          ORDER BY i.triggered_at, i.id LIMIT $12")
    } else {
        concat!(incident_select!(), "
            AND ($2::text IS NULL OR i.source = $2) AND ($3::text IS NULL OR i.status = $3)
            AND ($4::uuid IS NULL OR i.service_id = $4) AND ($5::uuid IS NULL OR i.team_id = $5)
            AND ($6::text IS NULL OR i.urgency = $6)
            AND ($7::timestamptz IS NULL OR i.triggered_at >= $7) AND ($8::timestamptz IS NULL OR i.triggered_at < $8)
            AND ($9::text IS NULL OR i.title ILIKE $9 OR i.description ILIKE $9)
            AND ($10::timestamptz IS NULL OR (i.triggered_at, i.id) < ($10, $11))
          ORDER BY i.triggered_at DESC, i.id DESC LIMIT $12")
    };
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(org.0)
        .bind(f.source.map(IncidentSource::as_str))
        .bind(f.status.map(IncidentStatus::as_str))
        .bind(f.service_id)
        .bind(f.team_id)
        .bind(f.urgency.map(Urgency::as_str))
        .bind(f.since)
        .bind(f.until)
        .bind(text)
        .bind(at)
        .bind(id)
        .bind(limit + 1)
        .fetch_all(db.conn())
        .await?;
    Ok(rows)
}

/// One incident with its timeline, oldest entry first.
pub async fn get(db: &mut OrgTx, id: IncidentId) -> DbResult<IncidentDetailOut> {
    let org = db.org_id();
    let row: Row = sqlx::query_as(concat!(incident_select!(), " AND i.id = $2"))
        .bind(org.0)
        .bind(id.0)
        .fetch_one(db.conn())
        .await?;
    let mut timelines = timelines(db, &[id.0]).await?;
    let (incident, description) = row.out();
    Ok(IncidentDetailOut {
        incident,
        description,
        timeline: timelines.remove(&id.0).unwrap_or_default(),
    })
}

/// The timelines of some incidents, each oldest entry first.
async fn timelines(db: &mut OrgTx, ids: &[Uuid]) -> DbResult<HashMap<Uuid, Vec<IncidentEventOut>>> {
    #[derive(sqlx::FromRow)]
    struct Event {
        incident_id: Uuid,
        kind: String,
        at: DateTime<Utc>,
        actor: Option<String>,
        message: Option<String>,
    }
    let org = db.org_id();
    let events: Vec<Event> = sqlx::query_as(
        "SELECT incident_id, kind, at, actor, message FROM incident_events
          WHERE org_id = $1 AND incident_id = ANY($2) ORDER BY incident_id, at, id",
    )
    .bind(org.0)
    .bind(ids)
    .fetch_all(db.conn())
    .await?;
    let mut out: HashMap<Uuid, Vec<IncidentEventOut>> = HashMap::new();
    for e in events {
        out.entry(e.incident_id)
            .or_default()
            .push(IncidentEventOut {
                kind: e.kind,
                at: e.at,
                actor: e.actor,
                message: e.message,
            });
    }
    Ok(out)
}
