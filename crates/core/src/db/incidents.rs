//! Incidents, their timeline, services and teams (the unified schema).

use super::{DbResult, OrgTx, ReadFrom, cursor};
use chrono::{DateTime, Utc};
use insights_ingest::{NormalizedEvent, NormalizedIncident, UpsertStats, event_kind};
use insights_types::api::{
    IncidentDetailOut, IncidentEventOut, IncidentOut, IncidentSource, IncidentStatus, NamedRef,
    ServiceOut, TeamOut, Urgency,
};
use insights_types::{IncidentId, IntegrationId, PatternId};
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The two tables incidents refer to by (source, external id).
#[derive(Clone, Copy)]
enum RefTable {
    Services,
    Teams,
}

/// Ids by (source, external id).
type RefIds = HashMap<(IncidentSource, String), Uuid>;

/// Upserts `$names` into `$table` (services or teams) by (source, external id); evaluates to their ids.
macro_rules! upsert_refs_into {
    ($table:literal, $db:expr, $ids:expr, $sources:expr, $ext:expr, $names:expr) => {
        org_query!(
            $db,
            "INSERT INTO " + $table + r#" (id, org_id, source, external_id, name)
             SELECT id, $1, source, ext, name
               FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[]) AS t(id, source, ext, name)
             ON CONFLICT (org_id, source, external_id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
             RETURNING id, source AS "source: IncidentSource", external_id"#,
            $ids as Vec<Uuid>,
            $sources as Vec<IncidentSource>,
            $ext as Vec<String>,
            $names as Vec<String>,
        )
        .fetch_all($db.conn())
        .await
        .read_from($table)?
        .into_iter()
        .map(|r| ((r.source, r.external_id), r.id))
        .collect()
    };
}

/// Upserts the distinct services (or teams) of a batch; returns their ids by (source, external id).
async fn upsert_refs(
    db: &mut OrgTx,
    table: RefTable,
    refs: &[(IncidentSource, &insights_ingest::SourceRef)],
) -> DbResult<RefIds> {
    let mut seen = HashMap::new();
    for (source, r) in refs {
        seen.entry((*source, r.external_id.clone()))
            .or_insert_with(|| r.name.clone());
    }
    if seen.is_empty() {
        return Ok(HashMap::new());
    }
    let (keys, names): (Vec<(IncidentSource, String)>, Vec<String>) = seen.into_iter().unzip();
    let (sources, ext): (Vec<IncidentSource>, Vec<String>) = keys.into_iter().unzip();
    let ids: Vec<Uuid> = (0..names.len()).map(|_| Uuid::now_v7()).collect();
    Ok(match table {
        RefTable::Services => upsert_refs_into!("services", db, ids, sources, ext, names),
        RefTable::Teams => upsert_refs_into!("teams", db, ids, sources, ext, names),
    })
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

/// One incident written by [`upsert_incidents_query!`].
struct Written {
    id: Uuid,
    source: IncidentSource,
    external_id: String,
    inserted: bool,
    /// Inserted, or its title changed: its pattern is the one planned for its title.
    retitled: bool,
    /// Its pattern before the write (an update's).
    old_pattern: Option<PatternId>,
    pattern: Option<PatternId>,
    score: Option<f32>,
    pinned: bool,
    /// Its status before the write (an update's), and after.
    old_status: Option<IncidentStatus>,
    status: IncidentStatus,
}

/// Upserts the incidents `$items` (`$services` and `$teams` their services' and teams' ids, `$patterns` the
/// patterns planned for their titles), setting `$on_conflict` over a stored version unless that one is newer.
/// Evaluates to the [`Written`] of each incident written (the new one, or the stored one it updated); a stale
/// version returns nothing.
macro_rules! upsert_incidents_query {
    ($on_conflict:literal, $db:expr, $integration:expr, $items:expr, $services:expr, $teams:expr, $patterns:expr) => {
        org_query!(
            $db,
            "INSERT INTO incidents (id, org_id, integration_id, source, external_id, number, title, description,
                                    service_id, team_id, urgency, priority, status, triggered_at, acknowledged_at,
                                    resolved_at, assignees, tags, source_url, source_updated_at, raw, pattern_id,
                                    pattern_score)
             SELECT t.id, $1, $2, t.source, t.external_id, t.number, t.title, t.description, t.service_id, t.team_id,
                    t.urgency, t.priority, t.status, t.triggered_at, t.acknowledged_at, t.resolved_at, t.assignees,
                    ARRAY(SELECT jsonb_array_elements_text(t.tags)), t.source_url, t.source_updated_at, t.raw,
                    t.pattern_id, t.pattern_score
               FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::text[], $9::uuid[],
                           $10::uuid[], $11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[],
                           $16::timestamptz[], $17::jsonb[], $18::jsonb[], $19::text[], $20::timestamptz[], $21::jsonb[],
                           $22::uuid[], $23::real[])
                 AS t(id, source, external_id, number, title, description, service_id, team_id, urgency, priority,
                      status, triggered_at, acknowledged_at, resolved_at, assignees, tags, source_url,
                      source_updated_at, raw, pattern_id, pattern_score)
             ON CONFLICT (org_id, source, external_id) DO UPDATE SET " + $on_conflict + ",
    -- A new title takes the pattern planned for it, unless a person pinned the incident.
    pattern_id = CASE WHEN incidents.pattern_pinned OR incidents.title = EXCLUDED.title
                      THEN incidents.pattern_id ELSE EXCLUDED.pattern_id END,
    pattern_score = CASE WHEN incidents.pattern_pinned OR incidents.title = EXCLUDED.title
                         THEN incidents.pattern_score ELSE EXCLUDED.pattern_score END" + r#"
              WHERE incidents.source_updated_at <= EXCLUDED.source_updated_at
             -- xmax is 0 on a row version this statement inserted, our transaction id on one it updated. A
             -- subquery here reads the statement's snapshot, which still has the updated row's old version.
             RETURNING id, source AS "source: IncidentSource", external_id, (xmax = 0) AS "inserted!",
                       (CASE WHEN xmax = 0 THEN true
                             ELSE (SELECT o.title FROM incidents o WHERE o.org_id = $1 AND o.id = incidents.id)
                                  IS DISTINCT FROM incidents.title END) AS "retitled!",
                       (CASE WHEN xmax = 0 THEN NULL
                             ELSE (SELECT o.pattern_id FROM incidents o WHERE o.org_id = $1 AND o.id = incidents.id)
                        END) AS "old_pattern: PatternId",
                       (CASE WHEN xmax = 0 THEN NULL
                             ELSE (SELECT o.status FROM incidents o WHERE o.org_id = $1 AND o.id = incidents.id)
                        END) AS "old_status: IncidentStatus",
                       status AS "status: IncidentStatus",
                       pattern_id AS "pattern_id: PatternId", pattern_score, pattern_pinned"#,
            $integration as Option<IntegrationId>,
            col($items, |_| Uuid::now_v7()) as Vec<Uuid>,
            col($items, |i| i.source) as Vec<IncidentSource>,
            col($items, |i| i.external_id.as_str()) as Vec<&str>,
            col($items, |i| i.number) as Vec<Option<i64>>,
            col($items, |i| i.title.as_str()) as Vec<&str>,
            col($items, |i| i.description.as_deref()) as Vec<Option<&str>>,
            $services as Vec<Option<Uuid>>,
            $teams as Vec<Option<Uuid>>,
            col($items, |i| i.urgency) as Vec<Option<Urgency>>,
            col($items, |i| i.priority.as_deref()) as Vec<Option<&str>>,
            col($items, |i| i.status) as Vec<IncidentStatus>,
            col($items, |i| i.triggered_at) as Vec<DateTime<Utc>>,
            col($items, |i| i.acknowledged_at) as Vec<Option<DateTime<Utc>>>,
            col($items, |i| i.resolved_at) as Vec<Option<DateTime<Utc>>>,
            col($items, |i| Json(&i.assignees)) as Vec<Json<&Vec<String>>>,
            col($items, |i| Json(&i.tags)) as Vec<Json<&Vec<String>>>,
            col($items, |i| i.source_url.as_deref()) as Vec<Option<&str>>,
            col($items, |i| i.source_updated_at) as Vec<DateTime<Utc>>,
            col($items, |i| &i.raw) as Vec<&serde_json::Value>,
            col($patterns, |p| p.map(|(p, _)| p.0)) as Vec<Option<Uuid>>,
            col($patterns, |p| p.map(|(_, s)| s)) as Vec<Option<f32>>,
        )
        .fetch_all($db.conn())
        .await
        .read_from("incidents")?
        .into_iter()
        .map(|r| Written {
            id: r.id,
            source: r.source,
            external_id: r.external_id,
            inserted: r.inserted,
            retitled: r.retitled,
            old_pattern: r.old_pattern,
            pattern: r.pattern_id,
            score: r.pattern_score,
            pinned: r.pattern_pinned,
            old_status: r.old_status,
            status: r.status,
        })
        .collect()
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
    let services: Vec<_> = batch
        .iter()
        .filter_map(|i| i.service.as_ref().map(|s| (i.source, s)))
        .collect();
    let teams: Vec<_> = batch
        .iter()
        .filter_map(|i| i.team.as_ref().map(|t| (i.source, t)))
        .collect();
    let refs = Refs {
        services: upsert_refs(db, RefTable::Services, &services).await?,
        teams: upsert_refs(db, RefTable::Teams, &teams).await?,
    };
    // The last version of each incident in the batch wins inside the batch, too.
    let items = latest_versions(batch);
    // The pattern each title fits, before any incident row is held (see `patterns::plan_store`).
    let planned = crate::patterns::plan_store(
        db,
        &col(&items, |i| {
            (
                i.title.as_str(),
                i.service.as_ref().map(|s| s.name.as_str()),
            )
        }),
    )
    .await
    .map_err(pattern_error)?;
    let rows = upsert_incidents(db, integration, &items, &refs, version, &planned).await?;
    let written: HashMap<(IncidentSource, &str), (Uuid, bool)> = rows
        .iter()
        .map(|w| ((w.source, w.external_id.as_str()), (w.id, w.inserted)))
        .collect();
    stats.inserted = written.values().filter(|(_, inserted)| *inserted).count() as u64;
    stats.updated = written.len() as u64 - stats.inserted;
    stats.stale = (items.len() - written.len()) as u64;
    stats.events_inserted = store_timelines(db, batch, &items, &written).await?;
    // The past fixes of resolved incidents written here are (re-)indexed by the worker (one statement).
    let written_ids: Vec<Uuid> = rows.iter().map(|w| w.id).collect();
    crate::runbooks::outbox::enqueue_resolved_incidents(db, &written_ids).await?;
    let by_key: HashMap<(IncidentSource, &str), &NormalizedIncident> = items
        .iter()
        .map(|i| ((i.source, i.external_id.as_str()), *i))
        .collect();
    // The changes rules react to (recent ones only, and only when the organization has enabled rules).
    let changes: Vec<crate::automations::changes::Change> = rows
        .iter()
        .filter_map(|w| {
            let item = by_key.get(&(w.source, w.external_id.as_str()))?;
            Some(crate::automations::changes::Change {
                incident: IncidentId(w.id),
                transition: crate::automations::changes::transition(w.old_status, w.status),
                happened_at: item.source_updated_at,
            })
        })
        .collect();
    crate::automations::changes::record(db, &changes).await?;
    let assigned: Vec<crate::patterns::Assigned> = rows
        .iter()
        .filter(|w| w.retitled && !w.pinned)
        .filter_map(|w| {
            let item = by_key.get(&(w.source, w.external_id.as_str()))?;
            Some(crate::patterns::Assigned {
                id: IncidentId(w.id),
                title: item.title.clone(),
                service: item.service.as_ref().map(|s| s.name.clone()),
                at: item.triggered_at,
                old: w.old_pattern,
                new: w.pattern.zip(w.score),
            })
        })
        .collect();
    crate::patterns::settle_stored(db, assigned)
        .await
        .map_err(pattern_error)?;
    Ok(stats)
}

/// The store pipeline's errors are database errors: the pattern step reports no others.
fn pattern_error(e: crate::patterns::PatternError) -> super::DbError {
    match e {
        crate::patterns::PatternError::Db(e) => e,
        other => super::DbError::Other(sqlx::Error::Protocol(other.to_string())),
    }
}

/// One array parameter of an UNNEST statement: `f` of each row.
fn col<'a, R, T>(rows: &'a [R], f: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// The ids of a batch's services and teams by (source, external id).
struct Refs {
    services: RefIds,
    teams: RefIds,
}

/// Upserts `items` (distinct incidents); returns each incident written, stale versions left out.
async fn upsert_incidents(
    db: &mut OrgTx,
    integration: Option<IntegrationId>,
    items: &[&NormalizedIncident],
    refs: &Refs,
    version: Version,
    patterns: &[Option<(PatternId, f32)>],
) -> DbResult<Vec<Written>> {
    let ref_ids =
        |map: &RefIds, r: fn(&NormalizedIncident) -> &Option<insights_ingest::SourceRef>| {
            col(items, |i| {
                r(i).as_ref()
                    .and_then(|r| map.get(&(i.source, r.external_id.clone())).copied())
            })
        };
    let services = ref_ids(&refs.services, |i| &i.service);
    let teams = ref_ids(&refs.teams, |i| &i.team);
    Ok(match version {
        // A full version replaces what is stored, except two facts of history — the first acknowledgement stays
        // the earliest one seen, and a resolution time survives a version that lacks it while still resolved —
        // and the description, which list endpoints (Opsgenie's, PagerDuty's) often leave out: a version without
        // one keeps the stored one (from a webhook, or an earlier read).
        Version::Full => upsert_incidents_query!(
            "number = EXCLUDED.number, title = EXCLUDED.title,
    description = COALESCE(EXCLUDED.description, incidents.description),
    service_id = EXCLUDED.service_id, team_id = EXCLUDED.team_id, urgency = EXCLUDED.urgency,
    priority = EXCLUDED.priority, status = EXCLUDED.status, triggered_at = EXCLUDED.triggered_at,
    acknowledged_at = LEAST(incidents.acknowledged_at, EXCLUDED.acknowledged_at),
    resolved_at = CASE WHEN EXCLUDED.status = 'resolved' THEN COALESCE(EXCLUDED.resolved_at, incidents.resolved_at) END,
    assignees = EXCLUDED.assignees, tags = EXCLUDED.tags, source_url = EXCLUDED.source_url,
    integration_id = COALESCE(EXCLUDED.integration_id, incidents.integration_id),
    source_updated_at = EXCLUDED.source_updated_at, raw = EXCLUDED.raw, updated_at = now()",
            db,
            integration,
            items,
            services,
            teams,
            patterns
        ),
        // A partial version (a webhook event) carries what changed: absent fields keep their stored values, and
        // the stored raw payload (the full one from the REST API) stays.
        Version::Partial => upsert_incidents_query!(
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
    source_updated_at = EXCLUDED.source_updated_at, updated_at = now()",
            db,
            integration,
            items,
            services,
            teams,
            patterns
        ),
    })
}

/// Stores the timeline entries of every version in `batch` (even a stale version may carry new ones), each
/// entry once, given the newest versions `items` and the incidents `written` by (source, external id) to
/// (id, inserted). Returns how many entries were new.
async fn store_timelines(
    db: &mut OrgTx,
    batch: &[NormalizedIncident],
    items: &[&NormalizedIncident],
    written: &HashMap<(IncidentSource, &str), (Uuid, bool)>,
) -> DbResult<u64> {
    let mut seen = HashSet::new();
    let mut entries: HashMap<(IncidentSource, &str), Vec<&NormalizedEvent>> = HashMap::new();
    for i in batch {
        for e in &i.timeline {
            if seen.insert((i.source, i.external_id.as_str(), e.external_id.as_str())) {
                entries
                    .entry((i.source, i.external_id.as_str()))
                    .or_default()
                    .push(e);
            }
        }
    }
    // The entries of an incident inserted just now are all new: unless they change its times, a plain insert.
    // The others are checked against what is stored, by the id just written or, for a stale version, looked up.
    let (mut new, mut others, mut stale) = (Vec::new(), Vec::new(), Vec::new());
    for item in items {
        let Some(list) = entries.get(&(item.source, item.external_id.as_str())) else {
            continue;
        };
        match written.get(&(item.source, item.external_id.as_str())) {
            Some(&(id, true)) if !fills_times(item, list) => {
                new.extend(list.iter().map(|e| (id, *e)));
            }
            Some(&(id, _)) => others.extend(list.iter().map(|e| (id, *e))),
            None => stale.push((item.source, item.external_id.as_str())),
        }
    }
    if !stale.is_empty() {
        for ((source, ext), id) in incident_ids(db, &stale).await? {
            if let Some(list) = entries.get(&(source, ext.as_str())) {
                others.extend(list.iter().map(|e| (id, *e)));
            }
        }
    }
    Ok(insert_events(db, &new, Entries::OfNewIncidents).await?
        + insert_events(db, &others, Entries::Any).await?)
}

/// Whether timeline entries would change the times of an incident stored just now as `stored` (what the
/// `filled` part of [`insert_events`] does, decided without reading it back).
fn fills_times(stored: &NormalizedIncident, entries: &[&NormalizedEvent]) -> bool {
    let ack = entries
        .iter()
        .filter(|e| e.kind == event_kind::ACKNOWLEDGE)
        .map(|e| e.at)
        .min();
    let resolve = entries.iter().any(|e| e.kind == event_kind::RESOLVE);
    (ack.is_some() || resolve)
        && (stored
            .acknowledged_at
            .is_none_or(|a| ack.is_some_and(|e| a > e))
            || (stored.status == IncidentStatus::Resolved && stored.resolved_at.is_none()))
}

/// The ids of the stored incidents among `keys` (source, external id); the others are left out.
async fn incident_ids(
    db: &mut OrgTx,
    keys: &[(IncidentSource, &str)],
) -> DbResult<Vec<((IncidentSource, String), Uuid)>> {
    let rows = org_query!(
        db,
        r#"SELECT i.id, i.source AS "source: IncidentSource", i.external_id
             FROM UNNEST($2::text[], $3::text[]) AS k(source, external_id)
             JOIN incidents i ON i.org_id = $1 AND i.source = k.source AND i.external_id = k.external_id"#,
        col(keys, |(s, _)| *s) as Vec<IncidentSource>,
        col(keys, |(_, e)| *e) as Vec<&str>,
    )
    .fetch_all(db.conn())
    .await
    .read_from("incidents")?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.source, r.external_id), r.id))
        .collect())
}

/// Stores timeline entries of incidents already stored, given by (source, incident external id, entry); entries
/// already stored and entries of incidents not stored (e.g. outside an import's filter) are skipped. The
/// first acknowledgement and the resolution they show fill in the incident's times when it lacks them (some
/// sources only tell these through the timeline). Returns how many entries were new.
pub async fn upsert_events(
    db: &mut OrgTx,
    events: &[(IncidentSource, &str, &NormalizedEvent)],
) -> DbResult<u64> {
    let keys: HashSet<_> = events.iter().map(|&(s, i, _)| (s, i)).collect();
    let keys: Vec<_> = keys.into_iter().collect();
    if keys.is_empty() {
        return Ok(0);
    }
    let ids: HashMap<_, _> = incident_ids(db, &keys).await?.into_iter().collect();
    let rows: Vec<_> = events
        .iter()
        .filter_map(|&(s, i, e)| Some((*ids.get(&(s, i.to_owned()))?, e)))
        .collect();
    let inserted = insert_events(db, &rows, Entries::Any).await?;
    if inserted > 0 {
        // A resolved incident's timeline changed: its past fix is indexed again.
        let touched: Vec<Uuid> = ids.values().copied().collect();
        crate::runbooks::outbox::enqueue_resolved_incidents(db, &touched).await?;
    }
    Ok(inserted)
}

/// What [`insert_events`] may assume about the entries it is given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entries {
    /// Any entries of stored incidents: those already stored are skipped, and the new ones fill in times.
    Any,
    /// Distinct entries of incidents inserted in this transaction that cannot change their times (see
    /// [`fills_times`]): none can be stored yet, so a plain insert.
    OfNewIncidents,
}

/// `$query!` ([`org_rows_changed!`] or [`org_query_scalar!`]) of the timeline insert of `$rows` (by incident id), between `$before` and `$after`.
macro_rules! insert_events_query {
    ($query:ident, $before:literal, $after:literal, $db:expr, $rows:expr) => {
        $query!(
            $db,
            $before + "INSERT INTO incident_events (id, org_id, incident_id, external_id, kind, at, actor, message, raw)
             SELECT t.id, $1, t.incident_id, t.ext, t.kind, t.at, t.actor, t.message, t.raw
               FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[],
                           $9::jsonb[]) AS t(id, incident_id, ext, kind, at, actor, message, raw)" + $after,
            col($rows, |_| Uuid::now_v7()) as Vec<Uuid>,
            col($rows, |(id, _)| *id) as Vec<Uuid>,
            col($rows, |(_, e)| e.external_id.as_str()) as Vec<&str>,
            col($rows, |(_, e)| e.kind.as_str()) as Vec<&str>,
            col($rows, |(_, e)| e.at) as Vec<DateTime<Utc>>,
            col($rows, |(_, e)| e.actor.as_deref()) as Vec<Option<&str>>,
            col($rows, |(_, e)| e.message.as_deref()) as Vec<Option<&str>>,
            col($rows, |(_, e)| &e.raw) as Vec<&serde_json::Value>,
        )
    };
}

/// Inserts timeline entries by incident id (ids read in this transaction, under the org); returns how many
/// were new.
async fn insert_events(
    db: &mut OrgTx,
    rows: &[(Uuid, &NormalizedEvent)],
    entries: Entries,
) -> DbResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(match entries {
        Entries::OfNewIncidents => insert_events_query!(org_rows_changed, "", "", db, rows)?,
        Entries::Any => insert_events_query!(
            org_query_scalar,
            "WITH ins AS (",
            r#"
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
         SELECT count(*) AS "new!" FROM ins"#,
            db,
            rows
        )
        .fetch_one(db.conn())
        .await? as u64,
    })
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
    /// In this pattern, or in the pattern this id was merged into (an alias answers as its pattern).
    pub pattern_id: Option<Uuid>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

struct Row {
    id: IncidentId,
    source: IncidentSource,
    external_id: String,
    number: Option<i64>,
    title: String,
    description: Option<String>,
    service_id: Option<Uuid>,
    service_name: Option<String>,
    team_id: Option<Uuid>,
    team_name: Option<String>,
    urgency: Option<Urgency>,
    priority: Option<String>,
    status: IncidentStatus,
    triggered_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    assignees: Json<Vec<String>>,
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
                id: self.id,
                source: self.source,
                external_id: self.external_id,
                number: self.number,
                title: self.title,
                service: named(self.service_id, self.service_name),
                team: named(self.team_id, self.team_name),
                urgency: self.urgency,
                priority: self.priority,
                status: self.status,
                triggered_at: self.triggered_at,
                acknowledged_at: self.acknowledged_at,
                resolved_at: self.resolved_at,
                assignees: self.assignees.0,
                tags: self.tags,
                source_url: self.source_url,
            },
            self.description,
        )
    }
}

/// The incidents of the organization (`$1`), with their service and team names, matching the SQL `$part`s.
macro_rules! select_incidents {
    ($db:expr, [$($part:literal),+] $(, $arg:expr)* $(,)?) => {
        org_query_as!(
            $db,
            Row,
            r#"SELECT i.id AS "id: IncidentId", i.source AS "source: IncidentSource", i.external_id, i.number,
                      i.title, i.description, i.service_id, s.name AS "service_name?", i.team_id,
                      t.name AS "team_name?", i.urgency AS "urgency: Urgency", i.priority,
                      i.status AS "status: IncidentStatus", i.triggered_at, i.acknowledged_at, i.resolved_at,
                      i.assignees AS "assignees: Json<Vec<String>>", i.tags, i.source_url
                 FROM incidents i
                 LEFT JOIN services s ON s.id = i.service_id
                 LEFT JOIN teams t ON t.id = i.team_id
                WHERE i.org_id = $1"# $(+ $part)+
            $(, $arg)*
        )
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
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id.0).collect();
    let mut timelines = timelines(db, &ids).await?;
    let items: Vec<IncidentDetailOut> = rows
        .into_iter()
        .map(|r| {
            let (incident, description) = r.out();
            IncidentDetailOut {
                timeline: timelines.remove(&incident.id.0).unwrap_or_default(),
                incident,
                description,
                pattern: None,
            }
        })
        .collect();
    Ok(cursor::page(items, limit, |i| {
        (i.incident.triggered_at, i.incident.id.0)
    }))
}

/// `$query!` (a macro taking `$db, [$part, …], $arg…`, like [`select_incidents!`]) of the incidents matching
/// the filter `$f` (`$2`–`$10`; `$text` its `ILIKE` pattern), its SQL between the `$before` and `$after` parts,
/// and more `$arg`s from `$11` on. The list, the export's count and every other reader of a filter share it.
macro_rules! filtered_incidents {
    ($query:ident, $db:expr, [$($before:literal),*], [$($after:literal),+], $f:expr, $text:expr $(, $arg:expr)* $(,)?) => {
        $query!(
            $db,
            [$($before,)* "
            AND ($2::text IS NULL OR i.source = $2) AND ($3::text IS NULL OR i.status = $3)
            AND ($4::uuid IS NULL OR i.service_id = $4) AND ($5::uuid IS NULL OR i.team_id = $5)
            AND ($6::text IS NULL OR i.urgency = $6)
            AND ($7::timestamptz IS NULL OR i.triggered_at >= $7) AND ($8::timestamptz IS NULL OR i.triggered_at < $8)
            AND ($9::text IS NULL OR i.title ILIKE $9 OR i.description ILIKE $9)
            AND ($10::uuid IS NULL OR i.pattern_id = $10)",
            $($after),+],
            $f.source as Option<IncidentSource>,
            $f.status as Option<IncidentStatus>,
            $f.service_id,
            $f.team_id,
            $f.urgency as Option<Urgency>,
            $f.since,
            $f.until,
            $text,
            $f.pattern_id
            $(, $arg)*
        )
    };
}

/// The count of the incidents of the organization (`$1`) matching the SQL `$part`s.
macro_rules! count_incidents {
    ($db:expr, [$($part:literal),+] $(, $arg:expr)* $(,)?) => {
        org_query_scalar!(
            $db,
            r#"SELECT count(*) AS "count!" FROM (SELECT 1 FROM incidents i WHERE i.org_id = $1"# $(+ $part)+
            $(, $arg)*
        )
    };
}

/// `f` with its pattern an alias stands for resolved to that pattern (a merged pattern's id answers as the one
/// it went into). Resolved here rather than in the filter's SQL: under row-level security a clause holding a
/// subquery cannot be an index condition.
pub(crate) async fn resolve_pattern<'f>(
    db: &mut OrgTx,
    f: &'f IncidentFilter,
) -> DbResult<std::borrow::Cow<'f, IncidentFilter>> {
    let Some(id) = f.pattern_id else {
        return Ok(std::borrow::Cow::Borrowed(f));
    };
    let target = org_query_scalar!(
        db,
        "SELECT pattern_id FROM pattern_aliases WHERE org_id = $1 AND alias_id = $2",
        id
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(match target {
        Some(t) if t != id => std::borrow::Cow::Owned(IncidentFilter {
            pattern_id: Some(t),
            ..f.clone()
        }),
        _ => std::borrow::Cow::Borrowed(f),
    })
}

/// The `ILIKE` pattern of a filter's text: the text anywhere, its wildcards taken literally.
pub(crate) fn text_pattern(f: &IncidentFilter) -> Option<String> {
    f.text.as_ref().map(|t| {
        format!(
            "%{}%",
            t.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    })
}

/// How many incidents match `f`, counting no further than `cap` (what an export checks against its quota,
/// without counting a whole history).
pub async fn count_matching(db: &mut OrgTx, f: &IncidentFilter, cap: i64) -> DbResult<i64> {
    let resolved = resolve_pattern(db, f).await?;
    let f = &*resolved;
    let text = text_pattern(f);
    Ok(filtered_incidents!(
        count_incidents,
        db,
        [],
        [" LIMIT $11) matching"],
        f,
        text,
        cap
    )
    .fetch_one(db.conn())
    .await?)
}

/// Per pattern, the count of the incidents of the organization (`$1`) in one, matching the SQL `$part`s.
macro_rules! pattern_counts {
    ($db:expr, [$($part:literal),+] $(, $arg:expr)* $(,)?) => {
        org_query!(
            $db,
            r#"SELECT i.pattern_id AS "pattern_id!", count(*) AS "count!" FROM incidents i
                WHERE i.org_id = $1 AND i.pattern_id IS NOT NULL"# $(+ $part)+
            $(, $arg)*
        )
    };
}

/// How many incidents matching `f` each pattern has (patterns without any left out).
pub async fn counts_by_pattern(db: &mut OrgTx, f: &IncidentFilter) -> DbResult<HashMap<Uuid, i64>> {
    let resolved = resolve_pattern(db, f).await?;
    let f = &*resolved;
    let text = text_pattern(f);
    Ok(
        filtered_incidents!(pattern_counts, db, [], [" GROUP BY i.pattern_id"], f, text)
            .fetch_all(db.conn())
            .await?
            .into_iter()
            .map(|r| (r.pattern_id, r.count))
            .collect(),
    )
}

/// The first and last creation times of the incidents of the organization (`$1`) matching the SQL `$part`s.
macro_rules! incident_bounds {
    ($db:expr, [$($part:literal),+] $(, $arg:expr)* $(,)?) => {
        org_query!(
            $db,
            "SELECT min(i.triggered_at) AS first, max(i.triggered_at) AS last FROM incidents i WHERE i.org_id = $1"
                $(+ $part)+
            $(, $arg)*
        )
    };
}

/// The first and last creation times of the incidents matching `f` (`None` when none does): where an
/// all-time period starts.
pub async fn bounds(
    db: &mut OrgTx,
    f: &IncidentFilter,
) -> DbResult<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let resolved = resolve_pattern(db, f).await?;
    let f = &*resolved;
    let text = text_pattern(f);
    let row = filtered_incidents!(incident_bounds, db, [], [""], f, text)
        .fetch_one(db.conn())
        .await?;
    Ok(row.first.zip(row.last))
}

/// The rows of a page (`limit + 1`, to tell whether there is more).
async fn rows(
    db: &mut OrgTx,
    f: &IncidentFilter,
    after: Option<cursor::Position>,
    limit: i64,
) -> DbResult<Vec<Row>> {
    let resolved = resolve_pattern(db, f).await?;
    let f = &*resolved;
    let (at, id) = after.unzip();
    let text = text_pattern(f);
    // The two orders differ only in how the cursor compares and in ORDER BY. The cursor is a row comparison
    // on the columns of `incidents_org_triggered_idx` after `org_id`: an index condition on any page.
    macro_rules! page {
        ($after_cursor:literal, $order:literal) => {
            filtered_incidents!(
                select_incidents,
                db,
                [],
                [
                    "
            AND ($11::timestamptz IS NULL OR (i.triggered_at, i.id) ",
                    $after_cursor,
                    " ($11, $12))
          ORDER BY ",
                    $order,
                    " LIMIT $13"
                ],
                f,
                text,
                at,
                id,
                limit + 1,
            )
            .fetch_all(db.conn())
            .await
            .read_from("incidents")
        };
    }
    if f.ascending {
        page!(">", "i.triggered_at, i.id")
    } else {
        page!("<", "i.triggered_at DESC, i.id DESC")
    }
}

/// One incident with its timeline, oldest entry first.
pub async fn get(db: &mut OrgTx, id: IncidentId) -> DbResult<IncidentDetailOut> {
    let row = select_incidents!(db, [" AND i.id = $2"], id as IncidentId)
        .fetch_one(db.conn())
        .await
        .read_from("incidents")?;
    let mut timelines = timelines(db, &[id.0]).await?;
    let (incident, description) = row.out();
    Ok(IncidentDetailOut {
        incident,
        description,
        timeline: timelines.remove(&id.0).unwrap_or_default(),
        pattern: None,
    })
}

/// The incidents of `ids` that exist, in the order of `ids`.
pub async fn by_ids(db: &mut OrgTx, ids: &[IncidentId]) -> DbResult<Vec<IncidentOut>> {
    let raw: Vec<Uuid> = ids.iter().map(|i| i.0).collect();
    let mut found: HashMap<IncidentId, IncidentOut> =
        select_incidents!(db, [" AND i.id = ANY($2)"], &raw)
            .fetch_all(db.conn())
            .await
            .read_from("incidents")?
            .into_iter()
            .map(|r| {
                let (i, _) = r.out();
                (i.id, i)
            })
            .collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// The timelines of some incidents, each oldest entry first.
async fn timelines(db: &mut OrgTx, ids: &[Uuid]) -> DbResult<HashMap<Uuid, Vec<IncidentEventOut>>> {
    let events = org_query!(
        db,
        "SELECT incident_id, kind, at, actor, message FROM incident_events
          WHERE org_id = $1 AND incident_id = ANY($2) ORDER BY incident_id, at, id",
        ids,
    )
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

/// Every row of `$table` (services or teams) as `$out`, by name.
macro_rules! refs_by_name {
    ($out:ident, $table:literal, $db:expr) => {
        org_query_as!(
            $db,
            $out,
            r#"SELECT id AS "id: _", name, source AS "source: IncidentSource", external_id FROM "#
                + $table
                + " WHERE org_id = $1 ORDER BY lower(name), id",
        )
        .fetch_all($db.conn())
        .await
        .read_from($table)
    };
}

/// Every service incidents refer to, by name.
pub async fn services(db: &mut OrgTx) -> DbResult<Vec<ServiceOut>> {
    refs_by_name!(ServiceOut, "services", db)
}

/// Every team incidents refer to, by name.
pub async fn teams(db: &mut OrgTx) -> DbResult<Vec<TeamOut>> {
    refs_by_name!(TeamOut, "teams", db)
}
