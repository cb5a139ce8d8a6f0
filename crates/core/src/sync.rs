//! Starting a sync of an integration: the API (connect, "sync now"), and the worker's scheduler create the
//! job here; the worker's `sync_integration` job runs it. What to do is the job's first checkpoint — a
//! backfill of the history up to now, or the changes since the last sync — and the checkpoint then records
//! how far it got.

use crate::config::SourcesConfig;
use crate::crypto::SecretBox;
use crate::db::integrations::{self, IntegrationRow, SYNC_KIND};
use crate::db::{DbResult, OrgTx, job_runs};
use chrono::{DateTime, Duration, Utc};
use insights_ingest::connector::{Connector, Cursor};
use insights_types::JobRunId;
use insights_types::api::SyncMode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// How far back an incremental sync looks past the last one: sources record some changes a little late.
pub const OVERLAP: Duration = Duration::minutes(10);

/// The checkpoint of a sync job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncCheckpoint {
    pub mode: SyncMode,
    /// Changes from here (incremental syncs).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Up to here: the time the sync was asked for. Once it succeeds, the integration is synced until here.
    pub until: DateTime<Utc>,
    /// Where the walk stands (`None` before its first page).
    #[serde(default)]
    pub cursor: Option<Cursor>,
}

/// What asking for a sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStart {
    /// A new sync job (committed with the caller's transaction, then to be pushed).
    Started(JobRunId, SyncMode),
    /// A sync was already queued or running.
    AlreadyRunning(JobRunId),
}

/// Pushes a started sync onto its queue (after the transaction that created it committed).
pub async fn push(
    queue: &crate::jobs::JobQueue,
    org_id: insights_types::OrgId,
    integration_id: insights_types::IntegrationId,
    start: SyncStart,
) {
    if let SyncStart::Started(job_run_id, _) = start {
        queue
            .push_or_sweep(
                job_run_id,
                crate::jobs::SyncIntegration::V1 {
                    org_id,
                    job_run_id,
                    integration_id,
                },
            )
            .await;
    }
}

/// Creates a sync job for `integration` in the caller's transaction. An incremental sync of an integration
/// that never finished a backfill becomes a backfill — the one that failed, resumed from where it stopped, when
/// the last sync was a failed backfill (a scheduled sync, or "sync now", after PagerDuty was down for an hour);
/// an explicit backfill starts over.
pub async fn start(
    db: &mut OrgTx,
    integration: &IntegrationRow,
    mode: SyncMode,
    max_attempts: i32,
) -> DbResult<SyncStart> {
    if let Some(active) = integrations::active_run(db, integration.id()).await? {
        return Ok(SyncStart::AlreadyRunning(active));
    }
    let fresh = |mode, since| SyncCheckpoint {
        mode,
        since,
        until: Utc::now(),
        cursor: None,
    };
    let checkpoint = match (mode, integration.sync_watermark) {
        (SyncMode::Incremental, Some(w)) => fresh(SyncMode::Incremental, Some(w - OVERLAP)),
        (SyncMode::Incremental, None) => integrations::failed_backfill(db, integration.id())
            .await?
            .and_then(|c| serde_json::from_value::<SyncCheckpoint>(c).ok())
            .filter(|c| c.mode == SyncMode::Backfill)
            .unwrap_or_else(|| fresh(SyncMode::Backfill, None)),
        (SyncMode::Backfill, _) => fresh(SyncMode::Backfill, None),
    };
    let mode = checkpoint.mode;
    let job = JobRunId::new();
    if !job_runs::create_exclusive(db, job, SYNC_KIND, integration.id, max_attempts).await? {
        // Another request started one between our check and our insert.
        let active = integrations::active_run(db, integration.id()).await?;
        return Ok(SyncStart::AlreadyRunning(active.unwrap_or(job)));
    }
    job_runs::set_checkpoint(
        db,
        job,
        &serde_json::to_value(&checkpoint).expect("checkpoint serializes"),
    )
    .await?;
    integrations::schedule_next(db, integration.id()).await?;
    Ok(SyncStart::Started(job, mode))
}

/// The credential JSON as stored (sealed with `INSIGHTS_SECRET_KEY`).
#[derive(Serialize, Deserialize)]
struct StoredCredential {
    secret: String,
}

/// Seals a credential for storage.
#[must_use]
pub fn seal_credential(secrets: &SecretBox, secret: &str) -> Vec<u8> {
    let json = serde_json::to_vec(&StoredCredential {
        secret: secret.to_owned(),
    })
    .expect("credential serializes");
    secrets.seal(&json)
}

/// Opens a stored credential.
pub fn open_credential(secrets: &SecretBox, sealed: &[u8]) -> anyhow::Result<SecretString> {
    let plain = secrets.open(sealed)?;
    let stored: StoredCredential = serde_json::from_slice(&plain)?;
    Ok(stored.secret.into())
}

/// The connector of a stored integration.
pub fn connector(
    row: &IntegrationRow,
    secrets: &SecretBox,
    sources: &SourcesConfig,
) -> anyhow::Result<Connector> {
    Ok(Connector::new(
        row.kind(),
        open_credential(secrets, &row.credentials)?,
        row.region(),
        &row.options(),
        &sources.endpoints(),
        sources.policy(),
    )?)
}
