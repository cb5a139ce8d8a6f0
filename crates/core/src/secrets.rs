//! Key rotation of secrets at rest: re-seals every stored secret under the current key
//! (`insights-api rotate-secret-key`), while the previous keys still open what they sealed.

use crate::crypto::SecretBox;
use crate::db::{Db, DbError, sealed};

/// What a rotation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub organizations: usize,
    /// Values sealed again under the current key.
    pub resealed: usize,
    /// Values already sealed under the current key.
    pub current: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// No configured key opens a value: the rotation stops there, without changing that organization.
    #[error("{table_column} of row {row} in organization {org}: {source}")]
    Undecryptable {
        org: insights_types::OrgId,
        table_column: String,
        row: uuid::Uuid,
        source: crate::crypto::DecryptError,
    },
}

/// Re-seals every stored secret that is not yet under the current key, one transaction per organization:
/// an interrupted run leaves each organization either done or untouched, and running it again finishes
/// the work (values already current are left as they are).
pub async fn rotate(db: &Db, secrets: &SecretBox) -> Result<Rotation, RotationError> {
    let orgs = {
        let mut conn = db.pool().acquire().await.map_err(DbError::from)?;
        sealed::orgs(&mut conn).await?
    };
    let mut done = Rotation::default();
    for org in orgs {
        let mut tx = db.org_tx(org, None).await?;
        for value in sealed::of_org(&mut tx).await? {
            let at = value.column.row(value.row);
            match secrets.reseal(&at, &value.sealed) {
                Ok(Some(resealed)) => {
                    sealed::store(&mut tx, &value, &resealed).await?;
                    done.resealed += 1;
                }
                Ok(None) => done.current += 1,
                Err(source) => {
                    return Err(RotationError::Undecryptable {
                        org,
                        table_column: format!("{}.{}", value.column.table, value.column.column),
                        row: value.row,
                        source,
                    });
                }
            }
        }
        tx.commit().await?;
        done.organizations += 1;
    }
    Ok(done)
}
