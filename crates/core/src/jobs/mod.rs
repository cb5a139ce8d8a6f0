//! Background jobs: their payloads, declared once in [`for_each_job!`], and the producer side of their queues.
//! Payloads are small and versioned, and carry ids only — never rows or secrets; the worker loads what it
//! needs. Every job has a `job_runs` row that records its state, attempts, last error, progress and — for long
//! jobs — the checkpoint to resume from. The row is created by [`JobQueue::record`] in the same transaction as
//! the change that asks for the job, and the payload is pushed once that transaction committed
//! ([`JobQueue::push`]). If a push is lost (Redis down at the wrong moment, or its data lost), or a worker dies
//! mid-job, the worker's sweeper rebuilds the payload from the row ([`JobQueue::requeue`]) and pushes it again.
//! Each push is one numbered [`Delivery`] of the job, and the queue keeps one task per (job, delivery): pushing
//! a delivery that is still queued is a no-op, so the sweeper can push again whatever it is unsure of without
//! ever multiplying a job.
//!
//! Adding a job kind: one entry in [`for_each_job!`] (its payload) and one handler file in the worker
//! (`worker/src/jobs/<kind>.rs`, a `run` function); the worker registers it from the same list.

use crate::db::{DbResult, OrgTx, job_runs};
use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_redis::{Config as QueueConfig, ConnectionManager, RedisStorage};
use insights_types::{
    AccountTokenId, AutomationRunId, AwsConnectionId, IntegrationId, InvitationId, JobRunId, OrgId,
    RunbookGenerationId, WebhookDeliveryId,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// A job payload: its kind (the queue's name and `job_runs.kind`), the organization and `job_runs` row it
/// belongs to, and the row it works on (its subject), from which the sweeper rebuilds it.
pub trait Job: Serialize + for<'de> Deserialize<'de> + Send + Sync + Unpin + 'static {
    const KIND: &'static str;
    /// The id of the row the job works on (`()` for jobs of a whole organization).
    type Subject: Copy + Send;
    /// The payload for a job of `org_id` on `subject`, tracked by `job_run_id`.
    fn new(org_id: OrgId, job_run_id: JobRunId, subject: Self::Subject) -> Self;
    fn org_id(&self) -> OrgId;
    fn job_run_id(&self) -> JobRunId;
    /// The subject as stored in `job_runs.subject_id`.
    fn subject_id(subject: Self::Subject) -> Option<Uuid>;
    /// The payload again, from its `job_runs` row (`None` if the row lacks the subject this kind needs).
    fn rebuild(org_id: OrgId, job_run_id: JobRunId, subject_id: Option<Uuid>) -> Option<Self>;
}

/// Every job kind, once: `$callback!` receives the list as `$(#[doc] kind: Payload { subject: IdType })*`
/// (the braces empty for a job of a whole organization). This crate declares the payloads from it; the worker
/// registers one apalis worker per entry (handler `jobs::<kind>::run`), and [`JobQueue::requeue`] dispatches
/// on it — so a kind cannot be declared without being run, or run without being re-enqueued after a crash.
#[macro_export]
macro_rules! for_each_job {
    ($callback:ident) => {
        $callback! {
            /// Sends the email of an invitation (only when SMTP is configured).
            send_invitation_email: SendInvitationEmail { invitation_id: InvitationId },
            /// Sends an account's email verification or password reset link (only when SMTP is configured);
            /// tracked in one of the user's organizations.
            send_account_email: SendAccountEmail { token_id: AccountTokenId },
            /// Generates the built-in sample incident history for an organization.
            generate_sample_data: GenerateSampleData {},
            /// Imports from an integration: a backfill of its history or an incremental sync, as the job's
            /// checkpoint says (set when the job is created, advanced after every page).
            sync_integration: SyncIntegration { integration_id: IntegrationId },
            /// Applies one webhook delivery (stored in `webhook_deliveries`) to the incidents.
            process_webhook: ProcessWebhook { delivery_id: WebhookDeliveryId },
            /// Deletes an integration together with the incidents it imported, in batches.
            delete_integration: DeleteIntegration { integration_id: IntegrationId },
            /// Recomputes every analytics rollup of an organization after its analytics settings changed.
            recompute_analytics: RecomputeAnalytics {},
            /// Re-mines an organization's recurring patterns from its whole history (see `patterns::refine`).
            refine_patterns: RefinePatterns {},
            /// Writes a runbook draft: retrieves sources from the vector index, redacts them, asks the model
            /// (or assembles the draft without one) and validates the answer (see `runbook_generations`).
            generate_runbook: GenerateRunbook { generation_id: RunbookGenerationId },
            /// Verifies an AWS connection: assumes its role (or uses its keys), then looks up each
            /// allow-listed function, and records each check's result in a sentence a person can act on.
            verify_aws_connection: VerifyAwsConnection { connection_id: AwsConnectionId },
            /// Executes one admitted automation run: records the attempt before acting, performs the action
            /// (invoke the Lambda function, post the note, send the email / Slack message / webhook) with
            /// retries and backoff, records the outcome and posts the result back when asked.
            run_automation: RunAutomation { run_id: AutomationRunId },
            /// Emails the people who may approve a run that waits for approval (when SMTP is configured;
            /// without it they find the run in their approvals inbox, as always).
            notify_approvers: NotifyApprovers { run_id: AutomationRunId },
        }
    };
}

/// Declares the payload of each job kind (see [`for_each_job!`]): a versioned enum (`{"version": "1", …}` on
/// the wire) carrying the organization, the `job_runs` row and the subject's id.
macro_rules! declare_jobs {
    ($( $(#[$doc:meta])* $kind:ident : $name:ident { $($subject:ident : $id:ty)? } ),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
            #[serde(tag = "version")]
            pub enum $name {
                #[serde(rename = "1")]
                V1 { org_id: OrgId, job_run_id: JobRunId, $($subject: $id)? },
            }

            impl Job for $name {
                const KIND: &'static str = stringify!($kind);
                type Subject = declare_jobs!(@subject_type $($id)?);

                #[allow(unused_variables)]
                fn new(org_id: OrgId, job_run_id: JobRunId, subject: Self::Subject) -> Self {
                    Self::V1 { org_id, job_run_id, $($subject: subject)? }
                }

                fn org_id(&self) -> OrgId {
                    let Self::V1 { org_id, .. } = self;
                    *org_id
                }

                fn job_run_id(&self) -> JobRunId {
                    let Self::V1 { job_run_id, .. } = self;
                    *job_run_id
                }

                #[allow(unused_variables)]
                fn subject_id(subject: Self::Subject) -> Option<Uuid> {
                    declare_jobs!(@subject_id subject $($id)?)
                }

                #[allow(unused_variables)]
                fn rebuild(org_id: OrgId, job_run_id: JobRunId, subject_id: Option<Uuid>) -> Option<Self> {
                    Some(Self::V1 { org_id, job_run_id, $($subject: <$id>::from(subject_id?))? })
                }
            }
        )*

        impl JobQueue {
            /// Enqueues again a tracked job whose first enqueue was lost, or whose worker died (see the
            /// worker's sweeper), or that must run again (retried, deferred, interrupted): the payload is
            /// rebuilt from the job's row (kind, organization, subject). A `delivery` still in the queue is
            /// not queued twice.
            pub async fn requeue(
                &self,
                kind: &str,
                org_id: OrgId,
                job_run_id: JobRunId,
                subject_id: Option<Uuid>,
                delivery: Delivery,
            ) -> anyhow::Result<()> {
                $(
                    if kind == <$name as Job>::KIND {
                        let Some(job) = <$name as Job>::rebuild(org_id, job_run_id, subject_id) else {
                            anyhow::bail!("cannot requeue job {job_run_id} of kind {kind}: it has no subject");
                        };
                        return self.push_payload(job, delivery).await;
                    }
                )*
                anyhow::bail!("cannot requeue job {job_run_id}: unknown job kind {kind:?}")
            }
        }

        /// The kind names of every job, as in `job_runs.kind`.
        pub const KINDS: &[&str] = &[$(stringify!($kind)),*];
    };
    (@subject_type $id:ty) => { $id };
    (@subject_type) => { () };
    (@subject_id $subject:ident $id:ty) => { Some($subject.into()) };
    (@subject_id $subject:ident) => { None };
}

for_each_job!(declare_jobs);

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

/// One delivery of a job to its queue: its number (`job_runs.deliveries`, 0 for the first push) and when it is
/// due. The queue's task id is the job's id and this number, and the queue stores a task id once: a delivery
/// pushed twice (the sweeper finding a job that was in fact still queued) is queued once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub number: i32,
    pub after: Duration,
}

impl Delivery {
    /// The first delivery, due at once.
    pub const FIRST: Delivery = Delivery::now(0);

    /// Delivery `number`, due at once.
    #[must_use]
    pub const fn now(number: i32) -> Delivery {
        Delivery {
            number,
            after: Duration::ZERO,
        }
    }

    /// The queue's task id of this delivery of `job`.
    #[must_use]
    pub fn task_id(&self, job: JobRunId) -> TaskId {
        TaskId::from_string(format!("{}.{}", job.0, self.number))
    }
}

/// A job whose `job_runs` row was written in a transaction that has not committed yet: hand it to
/// [`JobQueue::push`] once it has (a job pushed earlier could start before its row is visible, or run for a
/// change that was rolled back).
#[must_use = "push the job once its transaction committed"]
#[derive(Debug)]
pub struct Pending<J> {
    job: J,
}

impl<J: Job> Pending<J> {
    #[must_use]
    pub fn job_run_id(&self) -> JobRunId {
        self.job.job_run_id()
    }
}

/// Records tracked jobs and pushes them onto their queues.
#[derive(Clone, Debug)]
pub struct JobQueue {
    conn: ConnectionManager,
    prefix: String,
    max_attempts: u32,
}

impl JobQueue {
    /// Queues under `prefix`; each job recorded here is tried at most `max_attempts` times.
    #[must_use]
    pub fn new(conn: ConnectionManager, prefix: &str, max_attempts: u32) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            max_attempts,
        }
    }

    fn max_attempts(&self) -> i32 {
        i32::try_from(self.max_attempts).unwrap_or(i32::MAX)
    }

    /// Records a job on `subject` in the caller's transaction; push it after the commit.
    pub async fn record<J: Job>(
        &self,
        db: &mut OrgTx,
        subject: J::Subject,
    ) -> DbResult<Pending<J>> {
        let job = J::new(db.org_id(), JobRunId::new(), subject);
        job_runs::create(
            db,
            job.job_run_id(),
            J::KIND,
            J::subject_id(subject),
            self.max_attempts(),
        )
        .await?;
        Ok(Pending { job })
    }

    /// Like [`Self::record`], but records nothing (and returns `None`) when this kind already has an active
    /// job for the subject (a unique index allows one, e.g. one sync per integration).
    pub async fn record_exclusive<J: Job>(
        &self,
        db: &mut OrgTx,
        subject: J::Subject,
    ) -> DbResult<Option<Pending<J>>> {
        let job = J::new(db.org_id(), JobRunId::new(), subject);
        let subject_id = J::subject_id(subject).ok_or(crate::db::DbError::NotFound)?;
        let created = job_runs::create_exclusive(
            db,
            job.job_run_id(),
            J::KIND,
            subject_id,
            self.max_attempts(),
        )
        .await?;
        Ok(created.then_some(Pending { job }))
    }

    /// Pushes a recorded job whose transaction committed. A failed push is logged, not returned: the sweeper
    /// enqueues the job again within a minute, so the request that asked for it still succeeds.
    pub async fn push<J: Job>(&self, pending: Pending<J>) {
        let job_run_id = pending.job_run_id();
        if let Err(e) = self.push_payload(pending.job, Delivery::FIRST).await {
            tracing::warn!(error = %e, %job_run_id, kind = J::KIND, "enqueue failed; the sweeper will retry");
        }
    }

    /// Whether the queue of `kind` has consumed delivery `number` of `job` for good: acknowledged it, or given
    /// up on it. Such a delivery is never queued again (see [`Delivery`]): a job still waiting needs a new one.
    pub async fn delivery_spent(
        &self,
        kind: &str,
        job: JobRunId,
        number: i32,
    ) -> anyhow::Result<bool> {
        let queue = QueueConfig::default().queue(queue_name(&self.prefix, kind));
        let id = Delivery::now(number).task_id(job).to_string();
        let (status, dead): (Option<String>, bool) = redis::pipe()
            .hget(format!("{}:{id}", queue.job_meta_hash()), "status")
            .sismember(queue.dead_jobs_set(), &id)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(dead || status.as_deref() == Some("Done"))
    }

    /// Pushes a payload onto its kind's queue as `delivery` (a no-op if that delivery is there already).
    async fn push_payload<J: Job>(&self, job: J, delivery: Delivery) -> anyhow::Result<()> {
        let id = delivery.task_id(job.job_run_id());
        let task = TaskBuilder::new(job)
            .task_id(id)
            .run_after(delivery.after)
            .build();
        storage::<J>(self.conn.clone(), &self.prefix, J::KIND)
            .push_task(task)
            .await
            .map_err(|e| anyhow::anyhow!("enqueue {}: {e}", J::KIND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_versioned_and_carry_ids_only() {
        let job = SendInvitationEmail::new(OrgId::new(), JobRunId::new(), InvitationId::new());
        let v = serde_json::to_value(&job).unwrap();
        assert_eq!(v["version"], "1");
        assert_eq!(v.as_object().unwrap().len(), 4);
        assert_eq!(
            serde_json::from_value::<SendInvitationEmail>(v).unwrap(),
            job
        );
        let sample = GenerateSampleData::new(OrgId::new(), JobRunId::new(), ());
        let v = serde_json::to_value(&sample).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 3);
        assert_eq!(
            serde_json::from_value::<GenerateSampleData>(v).unwrap(),
            sample
        );
    }

    #[test]
    fn a_payload_is_rebuilt_from_its_row() {
        let (org, run, integration) = (OrgId::new(), JobRunId::new(), IntegrationId::new());
        let job = SyncIntegration::new(org, run, integration);
        let subject = SyncIntegration::subject_id(integration);
        assert_eq!(subject, Some(integration.0));
        assert_eq!(SyncIntegration::rebuild(org, run, subject), Some(job));
        // A kind that works on a row cannot be rebuilt without it; one of a whole organization can.
        assert_eq!(SyncIntegration::rebuild(org, run, None), None);
        assert_eq!(
            GenerateSampleData::rebuild(org, run, None),
            Some(GenerateSampleData::new(org, run, ()))
        );
    }

    #[test]
    fn kinds_are_the_queue_names_and_unique() {
        assert_eq!(SendInvitationEmail::KIND, "send_invitation_email");
        assert_eq!(DeleteIntegration::KIND, "delete_integration");
        let mut kinds = KINDS.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len());
        assert!(KINDS.contains(&SyncIntegration::KIND));
    }
}
