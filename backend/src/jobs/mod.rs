//! Background job payloads and the producer side of their queues. Payloads are small and versioned, and carry
//! ids only — never rows or secrets; the worker loads what it needs. Every job has a `job_runs` row (created in
//! the same transaction as the change that asked for it) that records its state, attempts and last error.
//! If an enqueue is lost (Redis down at the wrong moment), the worker's sweeper enqueues it again.

use apalis::prelude::TaskSink;
use apalis_redis::{Config as QueueConfig, ConnectionManager, RedisStorage};
use insights_types::{InvitationId, JobRunId, OrgId};
use serde::{Deserialize, Serialize};

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

impl SendInvitationEmail {
    pub const KIND: &'static str = "send_invitation_email";
}

/// Generates the built-in sample incident history for an organization.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "version")]
pub enum GenerateSampleData {
    #[serde(rename = "1")]
    V1 { org_id: OrgId, job_run_id: JobRunId },
}

impl GenerateSampleData {
    pub const KIND: &'static str = "generate_sample_data";
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
    invitation_email: RedisStorage<SendInvitationEmail>,
    sample_data: RedisStorage<GenerateSampleData>,
}

impl JobQueue {
    #[must_use]
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            invitation_email: storage(conn.clone(), prefix, SendInvitationEmail::KIND),
            sample_data: storage(conn, prefix, GenerateSampleData::KIND),
        }
    }

    pub async fn send_invitation_email(&self, job: SendInvitationEmail) -> anyhow::Result<()> {
        self.invitation_email
            .clone()
            .push(job)
            .await
            .map_err(|e| anyhow::anyhow!("enqueue {}: {e}", SendInvitationEmail::KIND))
    }

    pub async fn generate_sample_data(&self, job: GenerateSampleData) -> anyhow::Result<()> {
        self.sample_data
            .clone()
            .push(job)
            .await
            .map_err(|e| anyhow::anyhow!("enqueue {}: {e}", GenerateSampleData::KIND))
    }

    /// Enqueues again a tracked job whose first enqueue was lost (see the worker's sweeper).
    pub async fn requeue(
        &self,
        kind: &str,
        org_id: OrgId,
        job_run_id: JobRunId,
        subject: Option<uuid::Uuid>,
    ) -> anyhow::Result<()> {
        match (kind, subject) {
            (SendInvitationEmail::KIND, Some(inv)) => {
                self.send_invitation_email(SendInvitationEmail::V1 {
                    org_id,
                    job_run_id,
                    invitation_id: InvitationId(inv),
                })
                .await
            }
            (GenerateSampleData::KIND, _) => {
                self.generate_sample_data(GenerateSampleData::V1 { org_id, job_run_id })
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
    }
}
