//! Starting a sync of an integration: the API (connect, "sync now"), and the worker's scheduler create the
//! job here; the worker's `sync_integration` job runs it. What to do is the job's first checkpoint — a
//! backfill of the history up to now, or the changes since the last sync — and the checkpoint then records
//! how far it got.

use crate::config::SourcesConfig;
use crate::crypto::SecretBox;
use crate::crypto::columns::INTEGRATION_CREDENTIALS;
use crate::db::integrations::{self, IntegrationRow};
use crate::db::{DbError, DbResult, OrgTx, job_runs};
use crate::jobs::{JobQueue, Pending, SyncIntegration};
use chrono::{DateTime, Duration, Utc};
use insights_ingest::connector::{Connector, Cursor};
use insights_types::api::SyncMode;
use insights_types::{IntegrationId, JobRunId};
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
#[derive(Debug)]
pub enum SyncStart {
    /// A new sync job, recorded in the caller's transaction: push it after the commit
    /// ([`JobQueue::push`]).
    Started(Pending<SyncIntegration>, SyncMode),
    /// A sync was already queued or running.
    AlreadyRunning(JobRunId),
}

impl SyncStart {
    /// The job that runs the sync, new or already there.
    #[must_use]
    pub fn job_run_id(&self) -> JobRunId {
        match self {
            Self::Started(pending, _) => pending.job_run_id(),
            Self::AlreadyRunning(id) => *id,
        }
    }

    /// Pushes a started sync onto its queue (after the transaction that created it committed).
    pub async fn push(self, queue: &JobQueue) {
        if let Self::Started(pending, _) = self {
            queue.push(pending).await;
        }
    }
}

/// Creates a sync job for `integration` in the caller's transaction. An incremental sync of an integration
/// that never finished a backfill becomes a backfill — the one that failed, resumed from where it stopped, when
/// the last sync was a failed backfill (a scheduled sync, or "sync now", after PagerDuty was down for an hour);
/// an explicit backfill starts over.
pub async fn start(
    db: &mut OrgTx,
    queue: &JobQueue,
    integration: &IntegrationRow,
    mode: SyncMode,
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
    let Some(job) = queue
        .record_exclusive::<SyncIntegration>(db, integration.id())
        .await?
    else {
        // Another request started one between our check and our insert.
        let active = integrations::active_run(db, integration.id()).await?;
        return Ok(SyncStart::AlreadyRunning(active.ok_or(DbError::NotFound)?));
    };
    job_runs::set_checkpoint(
        db,
        job.job_run_id(),
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

/// Seals a credential for storage in its integration's row.
#[must_use]
pub fn seal_credential(secrets: &SecretBox, integration: IntegrationId, secret: &str) -> Vec<u8> {
    let json = serde_json::to_vec(&StoredCredential {
        secret: secret.to_owned(),
    })
    .expect("credential serializes");
    secrets.seal(&INTEGRATION_CREDENTIALS.row(integration), &json)
}

/// Opens the stored credential of an integration.
pub fn open_credential(
    secrets: &SecretBox,
    integration: IntegrationId,
    sealed: &[u8],
) -> anyhow::Result<SecretString> {
    let plain = secrets.open(&INTEGRATION_CREDENTIALS.row(integration), sealed)?;
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
        open_credential(secrets, row.id(), &row.credentials)?,
        row.region(),
        &row.options(),
        &sources.endpoints(),
        sources.policy(),
    )?)
}
