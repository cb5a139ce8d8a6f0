//! Integrations (PagerDuty and Opsgenie connections) and their sync runs. Credentials and webhook secrets are
//! stored sealed (AES-256-GCM, see `crypto`); this module moves the sealed bytes and never sees them open.

use super::{DbResult, OrgTx, ReadFrom, cursor};
use chrono::{DateTime, Utc};
use insights_types::api::{
    IntegrationKind, IntegrationOptions, JobState, OpsgenieRegion, SyncMode, SyncRunOut,
};
use insights_types::{IntegrationId, JobRunId, OrgId, UserId};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

/// An integration as stored.
#[derive(Debug, Clone)]
pub struct IntegrationRow {
    pub id: Uuid,
    pub kind: IntegrationKind,
    pub name: String,
    pub region: Option<OpsgenieRegion>,
    pub credentials: Vec<u8>,
    pub credentials_updated_at: DateTime<Utc>,
    pub options: serde_json::Value,
    pub sync_interval_minutes: i32,
    pub webhook_secret: Option<Vec<u8>>,
    pub sync_watermark: Option<DateTime<Utc>>,
    pub next_sync_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub deleting_at: Option<DateTime<Utc>>,
    /// Incidents imported through it: a counter kept by a trigger on `incidents`, in the transaction of every
    /// write that adds, moves or removes one.
    pub incident_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IntegrationRow {
    #[must_use]
    pub fn id(&self) -> IntegrationId {
        IntegrationId(self.id)
    }

    #[must_use]
    pub fn kind(&self) -> IntegrationKind {
        self.kind
    }

    #[must_use]
    pub fn region(&self) -> Option<OpsgenieRegion> {
        self.region
    }

    /// What to import, as stored.
    #[must_use]
    pub fn options(&self) -> IntegrationOptions {
        match self.kind() {
            IntegrationKind::Pagerduty => IntegrationOptions::Pagerduty(
                serde_json::from_value(self.options.clone()).unwrap_or_default(),
            ),
            IntegrationKind::Opsgenie => IntegrationOptions::Opsgenie(
                serde_json::from_value(self.options.clone()).unwrap_or_default(),
            ),
        }
    }
}

/// The integrations of the organization (`$1`) matching `$tail`.
macro_rules! select_integrations {
    ($db:expr, $tail:literal $(, $arg:expr)* $(,)?) => {
        org_query_as!(
            $db,
            IntegrationRow,
            r#"SELECT id, kind AS "kind: IntegrationKind", name, region AS "region: OpsgenieRegion", credentials,
                      credentials_updated_at, options, sync_interval_minutes, webhook_secret, sync_watermark,
                      next_sync_at, paused_at, deleting_at, incident_count, created_at, updated_at
                 FROM integrations WHERE org_id = $1"# + $tail
            $(, $arg)*
        )
    };
}

/// A new integration.
pub struct NewIntegration<'a> {
    pub id: IntegrationId,
    pub kind: IntegrationKind,
    pub name: &'a str,
    pub region: Option<OpsgenieRegion>,
    pub credentials: Vec<u8>,
    pub options: &'a serde_json::Value,
    pub sync_interval_minutes: u32,
    pub webhook_secret: Option<Vec<u8>>,
    pub created_by: UserId,
}

pub async fn create(db: &mut OrgTx, new: NewIntegration<'_>) -> DbResult<()> {
    org_execute!(
        db,
        "INSERT INTO integrations (org_id, id, kind, name, region, credentials, options, sync_interval_minutes,
                                   webhook_secret, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        new.id as IntegrationId,
        new.kind as IntegrationKind,
        new.name,
        new.region as Option<OpsgenieRegion>,
        new.credentials,
        new.options,
        new.sync_interval_minutes as i32,
        new.webhook_secret,
        new.created_by as UserId,
    )
}

/// One integration (also one being deleted).
pub async fn get(db: &mut OrgTx, id: IntegrationId) -> DbResult<IntegrationRow> {
    select_integrations!(db, " AND id = $2", id as IntegrationId)
        .fetch_one(db.conn())
        .await
        .read_from("integrations")
}

/// Every integration of the organization, oldest first.
pub async fn list(db: &mut OrgTx) -> DbResult<Vec<IntegrationRow>> {
    select_integrations!(db, " ORDER BY created_at, id")
        .fetch_all(db.conn())
        .await
        .read_from("integrations")
}

/// Changes to an integration; `None` leaves a column alone.
#[derive(Default)]
pub struct Changes<'a> {
    pub name: Option<&'a str>,
    pub credentials: Option<Vec<u8>>,
    pub region: Option<OpsgenieRegion>,
    pub options: Option<&'a serde_json::Value>,
    pub sync_interval_minutes: Option<u32>,
    pub paused: Option<bool>,
    pub webhook_secret: Option<Vec<u8>>,
}

pub async fn update(db: &mut OrgTx, id: IntegrationId, c: Changes<'_>) -> DbResult<()> {
    let new_credentials = c.credentials.is_some();
    super::found(org_rows_changed!(
        db,
        "UPDATE integrations SET name = coalesce($3, name), credentials = coalesce($4, credentials),
                credentials_updated_at = CASE WHEN $5 THEN now() ELSE credentials_updated_at END,
                region = coalesce($6, region), options = coalesce($7, options),
                sync_interval_minutes = coalesce($8, sync_interval_minutes),
                paused_at = CASE WHEN $9::boolean IS NULL THEN paused_at WHEN $9 THEN coalesce(paused_at, now()) END,
                webhook_secret = coalesce($10, webhook_secret),
                -- A new interval or a resume takes effect from now.
                next_sync_at = CASE WHEN $8 IS NOT NULL OR $9 = false
                                    THEN now() + make_interval(mins => coalesce($8, sync_interval_minutes))
                                    ELSE next_sync_at END,
                updated_at = now()
          WHERE org_id = $1 AND id = $2 AND deleting_at IS NULL",
        id as IntegrationId,
        c.name,
        c.credentials,
        new_credentials,
        c.region as Option<OpsgenieRegion>,
        c.options,
        c.sync_interval_minutes.map(|m| m as i32),
        c.paused,
        c.webhook_secret,
    ))
}

/// After a successful sync: changes up to `until` are imported; the next sync is one interval from now.
pub async fn synced(db: &mut OrgTx, id: IntegrationId, until: DateTime<Utc>) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE integrations SET sync_watermark = greatest(sync_watermark, $3),
                next_sync_at = now() + make_interval(mins => sync_interval_minutes), updated_at = now()
          WHERE org_id = $1 AND id = $2",
        id as IntegrationId,
        until,
    )
}

/// Pushes the next scheduled sync one interval away (after one was started or failed).
pub async fn schedule_next(db: &mut OrgTx, id: IntegrationId) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE integrations SET next_sync_at = now() + make_interval(mins => sync_interval_minutes)
          WHERE org_id = $1 AND id = $2",
        id as IntegrationId,
    )
}

/// Marks the integration as being deleted (syncs and webhooks stop); `keep_incidents` says whether the
/// `delete_integration` job unlinks its incidents or deletes them.
pub async fn mark_deleting(
    db: &mut OrgTx,
    id: IntegrationId,
    keep_incidents: bool,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE integrations SET deleting_at = now(), deleting_keeps_incidents = $3, updated_at = now()
          WHERE org_id = $1 AND id = $2",
        id as IntegrationId,
        keep_incidents,
    )
}

/// Whether the deletion of the integration keeps its incidents (`None` once the integration is gone).
pub async fn deletion_keeps_incidents(db: &mut OrgTx, id: IntegrationId) -> DbResult<Option<bool>> {
    Ok(org_query_scalar!(
        db,
        "SELECT deleting_keeps_incidents FROM integrations WHERE org_id = $1 AND id = $2",
        id as IntegrationId,
    )
    .fetch_optional(db.conn())
    .await?)
}

/// Unlinks up to `limit` incidents from the integration (they stay, no longer updated); returns how many.
pub async fn unlink_incidents(db: &mut OrgTx, id: IntegrationId, limit: i64) -> DbResult<u64> {
    org_rows_changed!(
        db,
        "UPDATE incidents SET integration_id = NULL WHERE org_id = $1 AND id IN (
             SELECT id FROM incidents WHERE org_id = $1 AND integration_id = $2 LIMIT $3)",
        id as IntegrationId,
        limit,
    )
}

/// Deletes the integration row; its incidents stay (their `integration_id` is cleared).
pub async fn delete(db: &mut OrgTx, id: IntegrationId) -> DbResult<()> {
    super::found(org_rows_changed!(
        db,
        "DELETE FROM integrations WHERE org_id = $1 AND id = $2",
        id as IntegrationId,
    ))
}

/// Deletes up to `limit` incidents imported by the integration (their timelines go with them); returns how
/// many.
pub async fn purge_incidents(db: &mut OrgTx, id: IntegrationId, limit: i64) -> DbResult<u64> {
    org_rows_changed!(
        db,
        "DELETE FROM incidents WHERE org_id = $1 AND id IN (
             SELECT id FROM incidents WHERE org_id = $1 AND integration_id = $2 LIMIT $3)",
        id as IntegrationId,
        limit,
    )
}

struct RunRow {
    id: JobRunId,
    state: JobState,
    mode: Option<Json<SyncMode>>,
    progress: serde_json::Value,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<RunRow> for SyncRunOut {
    fn from(r: RunRow) -> Self {
        SyncRunOut {
            id: r.id,
            // Absent before the first checkpoint.
            mode: r.mode.map_or(SyncMode::Backfill, |m| m.0),
            state: r.state,
            progress: serde_json::from_value(r.progress).unwrap_or_default(),
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            last_error: r.last_error,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

/// The syncs of the integration `$2` in the organization `$1` matching `$tail`.
macro_rules! select_runs {
    ($db:expr, $tail:literal $(, $arg:expr)* $(,)?) => {
        org_query_as!(
            $db,
            RunRow,
            r#"SELECT id AS "id: JobRunId", state AS "state: JobState", checkpoint->'mode' AS "mode: Json<SyncMode>",
                      progress, attempts, max_attempts, last_error, created_at, started_at, finished_at
                 FROM job_runs WHERE org_id = $1 AND subject_id = $2 AND kind = 'sync_integration'"# + $tail
            $(, $arg)*
        )
    };
}

/// The integration's syncs, newest first.
pub async fn runs(
    db: &mut OrgTx,
    id: IntegrationId,
    after: Option<cursor::Position>,
    limit: i64,
) -> DbResult<(Vec<SyncRunOut>, Option<String>)> {
    let (at, run) = after.unzip();
    let rows = select_runs!(
        db,
        " AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) ORDER BY created_at DESC, id DESC LIMIT $5",
        id as IntegrationId,
        at,
        run,
        limit + 1,
    )
    .fetch_all(db.conn())
    .await
    .read_from("job_runs")?;
    let items: Vec<SyncRunOut> = rows.into_iter().map(Into::into).collect();
    Ok(cursor::page(items, limit, |r| (r.created_at, r.id.0)))
}

/// The running sync if there is one, else the latest; and the error of the latest finished sync if it failed.
pub async fn current_run(
    db: &mut OrgTx,
    id: IntegrationId,
) -> DbResult<(Option<SyncRunOut>, Option<String>)> {
    let active = select_runs!(
        db,
        " AND state IN ('queued', 'running', 'retrying') ORDER BY created_at DESC LIMIT 1",
        id as IntegrationId,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("job_runs")?;
    let last_finished = select_runs!(
        db,
        " AND state IN ('succeeded', 'failed', 'cancelled') ORDER BY created_at DESC LIMIT 1",
        id as IntegrationId,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("job_runs")?;
    let failure = last_finished
        .as_ref()
        .filter(|r| r.state == JobState::Failed)
        .and_then(|r| r.last_error.clone());
    Ok((active.or(last_finished).map(Into::into), failure))
}

/// The active sync of an integration, if any.
pub async fn active_run(db: &mut OrgTx, id: IntegrationId) -> DbResult<Option<JobRunId>> {
    Ok(org_query_scalar!(
        db,
        r#"SELECT id AS "id: JobRunId" FROM job_runs
            WHERE org_id = $1 AND subject_id = $2 AND kind = 'sync_integration'
              AND state IN ('queued', 'running', 'retrying')"#,
        id as IntegrationId,
    )
    .fetch_optional(db.conn())
    .await?)
}

/// The checkpoint of the integration's last sync, if that sync failed (for a backfill to resume from it).
pub async fn failed_backfill(
    db: &mut OrgTx,
    id: IntegrationId,
) -> DbResult<Option<serde_json::Value>> {
    let last = org_query!(
        db,
        r#"SELECT state AS "state: JobState", checkpoint FROM job_runs
            WHERE org_id = $1 AND subject_id = $2 AND kind = 'sync_integration'
            ORDER BY created_at DESC, id DESC LIMIT 1"#,
        id as IntegrationId,
    )
    .fetch_optional(db.conn())
    .await
    .read_from("job_runs")?;
    Ok(last.and_then(|r| {
        (r.state == JobState::Failed)
            .then_some(r.checkpoint)
            .flatten()
    }))
}

/// Integrations whose scheduled sync is due (across tenants, through a SECURITY DEFINER function).
pub async fn due(conn: &mut PgConnection, limit: i32) -> DbResult<Vec<(IntegrationId, OrgId)>> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!: IntegrationId", org_id AS "org_id!: OrgId" FROM due_integrations($1)"#,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.org_id)).collect())
}

/// Where a webhook for `id` goes: its organization, kind and sealed secret (across tenants: the caller then
/// authenticates the delivery with the secret).
pub async fn webhook_target(
    conn: &mut PgConnection,
    id: IntegrationId,
) -> DbResult<Option<(OrgId, IntegrationKind, Option<Vec<u8>>)>> {
    let row = sqlx::query!(
        r#"SELECT org_id AS "org_id!: OrgId", kind AS "kind!: IntegrationKind", webhook_secret
             FROM webhook_target($1)"#,
        id as IntegrationId,
    )
    .fetch_optional(conn)
    .await
    .read_from("integrations")?;
    Ok(row.map(|r| (r.org_id, r.kind, r.webhook_secret)))
}

/// Integrations across tenants by source (`pagerduty`, `opsgenie`) and health (`healthy`, `failing`: the
/// latest finished sync failed; `paused`; `deleting`), for `/metrics`: `(source, health, count)`.
pub async fn health_counts(conn: &mut PgConnection) -> DbResult<Vec<(String, String, i64)>> {
    let rows = sqlx::query!(
        r#"SELECT kind AS "kind!", health AS "health!", count AS "count!" FROM integration_health_counts()"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.kind, r.health, r.count))
        .collect())
}
