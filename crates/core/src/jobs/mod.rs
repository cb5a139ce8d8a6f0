//! Background job payloads and the producer side of their queues. Payloads are small and versioned, and carry
//! ids only — never rows or secrets; the worker loads what it needs. Every job has a `job_runs` row (created in
//! the same transaction as the change that asked for it) that records its state, attempts, last error,
//! progress and — for long jobs — the checkpoint to resume from. If an enqueue is lost (Redis down at the
//! wrong moment), or a worker dies mid-job, the worker's sweeper enqueues it again.

use apalis::prelude::TaskSink;
use apalis_redis::{Config as QueueConfig, ConnectionManager, RedisStorage};
use insights_types::{IntegrationId, InvitationId, JobRunId, OrgId, WebhookDeliveryId};
use serde::{Deserialize, Serialize};

/// A job payload with its queue's name.
pub trait Job: Serialize + for<'de> Deserialize<'de> + Send + Sync + Unpin + 'static {
    const KIND: &'static str;
}

/// Sends the email of an invitation (only when SMTP is configured).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "version")]
pub enum SendInvitationEmail {
    #[serde(rename = "1")]
    V1 {
        org_id: OrgId,
        job_run_id: JobRunId,
        invitation_id: InvitationId,
    },
}

impl Job for SendInvitationEmail {
    const KIND: &'static str = "send_invitation_email";
}

/// Generates the built-in sample incident history for an organization.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "version")]
pub enum GenerateSampleData {
    #[serde(rename = "1")]
    V1 { org_id: OrgId, job_run_id: JobRunId },
}

impl Job for GenerateSampleData {
    const KIND: &'static str = "generate_sample_data";
}

/// Imports from an integration: a backfill of its history or an incremental sync, as the job's checkpoint
/// says (set when the job is created, advanced after every page).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "version")]
pub enum SyncIntegration {
    #[serde(rename = "1")]
    V1 {
        org_id: OrgId,
        job_run_id: JobRunId,
        integration_id: IntegrationId,
    },
}

impl Job for SyncIntegration {
    const KIND: &'static str = "sync_integration";
}

/// Applies one webhook delivery (stored in `webhook_deliveries`) to the incidents.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "version")]
pub enum ProcessWebhook {
    #[serde(rename = "1")]
    V1 {
        org_id: OrgId,
        job_run_id: JobRunId,
        delivery_id: WebhookDeliveryId,
    },
}

impl Job for ProcessWebhook {
    const KIND: &'static str = "process_webhook";
}

/// Deletes an integration together with the incidents it imported, in batches.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "version")]
pub enum DeleteIntegration {
    #[serde(rename = "1")]
    V1 {
        org_id: OrgId,
        job_run_id: JobRunId,
        integration_id: IntegrationId,
    },
}

impl Job for DeleteIntegration {
    const KIND: &'static str = "delete_integration";
}

/// The Redis queue name of a job kind.
#[must_use]
pub fn queue_name(prefix: &str, kind: &str) -> String {
    format!("{prefix}:jobs:{kind}")
}

/// The storage (queue) of one job kind.
#[must_use]
pub fn storage<T>(conn: ConnectionManager, prefix: &str, kind: &str) -> RedisStorage<T> {
    RedisStorage::new(conn).with_config(QueueConfig::default().queue(queue_name(prefix, kind)))
}

/// Pushes jobs onto their queues.
#[derive(Clone, Debug)]
pub struct JobQueue {
    conn: ConnectionManager,
    prefix: String,
}

impl JobQueue {
    #[must_use]
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
        }
    }

    /// Pushes a job onto its kind's queue.
    pub async fn push<T: Job>(&self, job: T) -> anyhow::Result<()> {
        storage::<T>(self.conn.clone(), &self.prefix, T::KIND)
            .push(job)
            .await
            .map_err(|e| anyhow::anyhow!("enqueue {}: {e}", T::KIND))
    }

    /// Pushes a job whose `job_runs` row is committed; a failed push is logged, not returned: the sweeper
    /// enqueues the job again within a minute, so the request that asked for it still succeeds.
    pub async fn push_or_sweep<T: Job>(&self, job_run_id: JobRunId, job: T) {
        if let Err(e) = self.push(job).await {
            tracing::warn!(error = %e, %job_run_id, "enqueue failed; the sweeper will retry");
        }
    }

    /// Enqueues again a tracked job whose first enqueue was lost, or whose worker died (see the worker's
    /// sweeper): the payload is rebuilt from the job's row (kind, organization, subject).
    pub async fn requeue(
        &self,
        kind: &str,
        org_id: OrgId,
        job_run_id: JobRunId,
        subject: Option<uuid::Uuid>,
    ) -> anyhow::Result<()> {
        match (kind, subject) {
            (SendInvitationEmail::KIND, Some(inv)) => {
                self.push(SendInvitationEmail::V1 {
                    org_id,
                    job_run_id,
                    invitation_id: InvitationId(inv),
                })
                .await
            }
            (GenerateSampleData::KIND, _) => {
                self.push(GenerateSampleData::V1 { org_id, job_run_id })
                    .await
            }
            (SyncIntegration::KIND, Some(id)) => {
                self.push(SyncIntegration::V1 {
                    org_id,
                    job_run_id,
                    integration_id: IntegrationId(id),
                })
                .await
            }
            (ProcessWebhook::KIND, Some(id)) => {
                self.push(ProcessWebhook::V1 {
                    org_id,
                    job_run_id,
                    delivery_id: WebhookDeliveryId(id),
                })
                .await
            }
            (DeleteIntegration::KIND, Some(id)) => {
                self.push(DeleteIntegration::V1 {
                    org_id,
                    job_run_id,
                    integration_id: IntegrationId(id),
                })
                .await
            }
            _ => anyhow::bail!("cannot requeue job kind {kind:?} (subject {subject:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_versioned_and_carry_ids_only() {
        let job = SendInvitationEmail::V1 {
            org_id: OrgId::new(),
            job_run_id: JobRunId::new(),
            invitation_id: InvitationId::new(),
        };
        let v = serde_json::to_value(&job).unwrap();
        assert_eq!(v["version"], "1");
        assert_eq!(v.as_object().unwrap().len(), 4);
        assert_eq!(
            serde_json::from_value::<SendInvitationEmail>(v).unwrap(),
            job
        );
        let sync = SyncIntegration::V1 {
            org_id: OrgId::new(),
            job_run_id: JobRunId::new(),
            integration_id: IntegrationId::new(),
        };
        let v = serde_json::to_value(&sync).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 4);
        assert_eq!(serde_json::from_value::<SyncIntegration>(v).unwrap(), sync);
    }
}
