//! Webhook deliveries: stored once per delivery id (duplicates are recognized here), processed by a job.

use super::{DbResult, OrgTx};
use chrono::{DateTime, Utc};
use insights_types::{IntegrationId, JobRunId, WebhookDeliveryId};

/// Records a delivery; `false` when one with the same key was already recorded (a redelivery).
pub async fn record(
    db: &mut OrgTx,
    id: WebhookDeliveryId,
    integration: IntegrationId,
    key: &str,
    event_type: Option<&str>,
    payload: &serde_json::Value,
    job: JobRunId,
) -> DbResult<bool> {
    Ok(org_rows_changed!(
        db,
        "INSERT INTO webhook_deliveries (org_id, id, integration_id, delivery_key, event_type, payload, job_run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (integration_id, delivery_key) DO NOTHING",
        id as WebhookDeliveryId,
        integration as IntegrationId,
        key,
        event_type,
        payload,
        job as JobRunId,
    )? == 1)
}

/// A delivery to process: its integration and payload.
pub async fn get(
    db: &mut OrgTx,
    id: WebhookDeliveryId,
) -> DbResult<(IntegrationId, serde_json::Value, Option<DateTime<Utc>>)> {
    let row = org_query!(
        db,
        r#"SELECT integration_id AS "integration_id: IntegrationId", payload, processed_at
             FROM webhook_deliveries WHERE org_id = $1 AND id = $2"#,
        id as WebhookDeliveryId,
    )
    .fetch_one(db.conn())
    .await?;
    Ok((row.integration_id, row.payload, row.processed_at))
}

pub async fn mark_processed(db: &mut OrgTx, id: WebhookDeliveryId) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE webhook_deliveries SET processed_at = now(), updated_at = now() WHERE org_id = $1 AND id = $2",
        id as WebhookDeliveryId,
    )
}

/// When the integration's last delivery arrived.
pub async fn last_delivery_at(
    db: &mut OrgTx,
    integration: IntegrationId,
) -> DbResult<Option<DateTime<Utc>>> {
    Ok(org_query_scalar!(
        db,
        "SELECT max(created_at) FROM webhook_deliveries WHERE org_id = $1 AND integration_id = $2",
        integration as IntegrationId,
    )
    .fetch_one(db.conn())
    .await?)
}

/// Deletes processed deliveries older than `older_than`, and their jobs, across tenants (retention); returns
/// how many deliveries went.
pub async fn purge(
    conn: &mut sqlx::PgConnection,
    older_than: std::time::Duration,
) -> DbResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT purge_webhook_deliveries(make_interval(secs => $1::double precision)) AS "purged!""#,
        older_than.as_secs_f64(),
    )
    .fetch_one(conn)
    .await?)
}
