//! Every sealed secret of an organization, wherever it is stored, for re-sealing under a new key
//! (`insights-api rotate-secret-key`). The columns are those of [`crate::crypto::columns`].

use super::{DbResult, OrgTx};
use crate::crypto::SecretColumn;
use crate::crypto::columns::{
    AUTOMATION_SECRETS, AWS_CONNECTION_CREDENTIALS, INTEGRATION_CREDENTIALS,
    INTEGRATION_WEBHOOK_SECRET, INVITATION_TOKEN,
};
use insights_types::OrgId;
use sqlx::PgConnection;
use uuid::Uuid;

/// One stored sealed value and its place.
#[derive(Debug, Clone)]
pub struct SealedValue {
    pub column: SecretColumn,
    pub row: Uuid,
    pub sealed: Vec<u8>,
}

/// The organizations that hold sealed secrets (across tenants, through `orgs_with_sealed_secrets()`).
pub async fn orgs(conn: &mut PgConnection) -> DbResult<Vec<OrgId>> {
    Ok(
        sqlx::query_scalar!(r#"SELECT org_id AS "org_id!: OrgId" FROM orgs_with_sealed_secrets()"#)
            .fetch_all(conn)
            .await?,
    )
}

/// Every sealed value of the transaction's organization, its rows locked until the transaction ends.
pub async fn of_org(db: &mut OrgTx) -> DbResult<Vec<SealedValue>> {
    let mut values = Vec::new();
    let integrations = org_query!(
        db,
        "SELECT id, credentials, webhook_secret FROM integrations WHERE org_id = $1 ORDER BY id FOR UPDATE",
    )
    .fetch_all(db.conn())
    .await?;
    for r in integrations {
        values.push(SealedValue {
            column: INTEGRATION_CREDENTIALS,
            row: r.id,
            sealed: r.credentials,
        });
        if let Some(sealed) = r.webhook_secret {
            values.push(SealedValue {
                column: INTEGRATION_WEBHOOK_SECRET,
                row: r.id,
                sealed,
            });
        }
    }
    let invitations = org_query!(
        db,
        "SELECT id, token_ciphertext AS \"token_ciphertext!\" FROM invitations
          WHERE org_id = $1 AND token_ciphertext IS NOT NULL ORDER BY id FOR UPDATE",
    )
    .fetch_all(db.conn())
    .await?;
    values.extend(invitations.into_iter().map(|r| SealedValue {
        column: INVITATION_TOKEN,
        row: r.id,
        sealed: r.token_ciphertext,
    }));
    let connections = org_query!(
        db,
        "SELECT id, credentials AS \"credentials!\" FROM aws_connections
          WHERE org_id = $1 AND credentials IS NOT NULL ORDER BY id FOR UPDATE",
    )
    .fetch_all(db.conn())
    .await?;
    values.extend(connections.into_iter().map(|r| SealedValue {
        column: AWS_CONNECTION_CREDENTIALS,
        row: r.id,
        sealed: r.credentials,
    }));
    let automations = org_query!(
        db,
        "SELECT id, secrets AS \"secrets!\" FROM automations
          WHERE org_id = $1 AND secrets IS NOT NULL ORDER BY id FOR UPDATE",
    )
    .fetch_all(db.conn())
    .await?;
    values.extend(automations.into_iter().map(|r| SealedValue {
        column: AUTOMATION_SECRETS,
        row: r.id,
        sealed: r.secrets,
    }));
    Ok(values)
}

/// Stores `sealed` in the place of `value` (a column of [`crate::crypto::columns`]).
pub async fn store(db: &mut OrgTx, value: &SealedValue, sealed: &[u8]) -> DbResult<()> {
    let id = value.row;
    match value.column {
        c if c == INTEGRATION_CREDENTIALS => org_execute!(
            db,
            "UPDATE integrations SET credentials = $3 WHERE org_id = $1 AND id = $2",
            id,
            sealed,
        ),
        c if c == INTEGRATION_WEBHOOK_SECRET => org_execute!(
            db,
            "UPDATE integrations SET webhook_secret = $3 WHERE org_id = $1 AND id = $2",
            id,
            sealed,
        ),
        c if c == INVITATION_TOKEN => org_execute!(
            db,
            "UPDATE invitations SET token_ciphertext = $3 WHERE org_id = $1 AND id = $2",
            id,
            sealed,
        ),
        c if c == AWS_CONNECTION_CREDENTIALS => org_execute!(
            db,
            "UPDATE aws_connections SET credentials = $3 WHERE org_id = $1 AND id = $2",
            id,
            sealed,
        ),
        c if c == AUTOMATION_SECRETS => org_execute!(
            db,
            "UPDATE automations SET secrets = $3 WHERE org_id = $1 AND id = $2",
            id,
            sealed,
        ),
        other => unreachable!("{other:?} is not a column of crypto::columns"),
    }
}
