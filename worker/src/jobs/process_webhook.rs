//! Applies one webhook delivery: the source's event becomes a partial version of the incident (what the
//! event does not say keeps its stored value), applied only if it is newer than what is stored — so a late
//! or repeated event never moves an incident back. The timeline comes with the next incremental sync, from
//! the source's own log (events and log entries do not share ids, so storing both would show each twice).

use super::{Outcome, tracked};
use crate::WorkerState;
use apalis::prelude::{BoxDynError, Data};
use insights_core::db::{DbError, incidents, integrations, webhooks};
use insights_core::jobs::{Job, ProcessWebhook};
use insights_ingest::connector::parse_webhook;
use insights_types::api::IntegrationOptions;

pub async fn run(job: ProcessWebhook, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let ProcessWebhook::V1 {
        org_id,
        job_run_id,
        delivery_id,
    } = job;
    tracked(&state, org_id, job_run_id, ProcessWebhook::KIND, None, |_| async {
        let mut db = state.db.org_tx(org_id, None).await?;
        let (integration_id, payload, processed) = webhooks::get(&mut db, delivery_id).await?;
        if processed.is_some() {
            return Ok(Outcome::Skipped("the delivery was already applied"));
        }
        let row = match integrations::get(&mut db, integration_id).await {
            Ok(r) if r.deleting_at.is_none() => r,
            Ok(_) | Err(DbError::NotFound) => {
                return Ok(Outcome::Skipped("the integration was deleted"));
            }
            Err(e) => return Err(e.into()),
        };
        let body = serde_json::to_vec(&payload)?;
        // The stored delivery will never read differently: fail for good at once (recorded on the job, which
        // the purge of old deliveries then removes with it) instead of retrying.
        let update = match parse_webhook(row.kind(), &body) {
            Ok(u) => u,
            Err(e) => {
                return Ok(Outcome::FailedForGood(format!(
                    "the delivery cannot be read: {e}"
                )));
            }
        };
        let outcome = match update.incident {
            Some(incident) if within_filters(&row.options(), &incident) => {
                let stats =
                    incidents::apply_partial(&mut db, Some(integration_id), &[incident]).await?;
                tracing::info!(%delivery_id, event = %update.event_type, inserted = stats.inserted,
                    updated = stats.updated, stale = stats.stale, "webhook applied");
                Outcome::Done
            }
            Some(_) => Outcome::Skipped("the incident is outside what this integration imports"),
            None => Outcome::Skipped("the event does not change an incident"),
        };
        webhooks::mark_processed(&mut db, delivery_id).await?;
        db.commit().await?;
        Ok(outcome)
    })
    .await
    .map_err(Into::into)
}

/// Whether an incident is within the services and teams an integration imports (Opsgenie's search query
/// cannot be evaluated here, so Opsgenie events are all taken).
fn within_filters(
    options: &IntegrationOptions,
    incident: &insights_ingest::NormalizedIncident,
) -> bool {
    match options {
        IntegrationOptions::Pagerduty(o) => {
            let listed = |ids: &[String], r: &Option<insights_ingest::SourceRef>| {
                ids.is_empty() || r.as_ref().is_some_and(|r| ids.contains(&r.external_id))
            };
            listed(&o.service_ids, &incident.service) && listed(&o.team_ids, &incident.team)
        }
        IntegrationOptions::Opsgenie(_) => true,
    }
}
