//! Invitations to join an organization. The token is stored as a SHA-256 digest; its encrypted copy lives
//! only until the invitation email is sent.

use super::{DbResult, OrgTx};
use chrono::{DateTime, Utc};
use insights_types::{InvitationId, JobRunId, Role, UserId, api::UserOut};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub delivery_job_id: Option<Uuid>,
    pub inviter_id: Option<Uuid>,
    pub inviter_email: Option<String>,
    pub inviter_name: Option<String>,
}

impl InvitationRow {
    #[must_use]
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }

    #[must_use]
    pub fn inviter(&self) -> Option<UserOut> {
        super::users::joined(
            self.inviter_id,
            self.inviter_email.clone(),
            self.inviter_name.clone(),
        )
    }

    /// Pending: neither accepted, revoked nor expired.
    #[must_use]
    pub fn is_pending(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

macro_rules! select {
    () => {
        "SELECT i.id, i.org_id, i.email, i.role, i.expires_at, i.created_at, i.accepted_at, i.revoked_at,
                             i.delivery_job_id, u.id AS inviter_id, u.email AS inviter_email, u.name AS inviter_name
                        FROM invitations i LEFT JOIN users u ON u.id = i.invited_by
                       WHERE i.org_id = $1"
    };
}

pub struct NewInvitation<'a> {
    pub id: InvitationId,
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a [u8],
    pub token_ciphertext: Option<Vec<u8>>,
    pub invited_by: UserId,
    pub expires_at: DateTime<Utc>,
    pub delivery_job_id: Option<JobRunId>,
}

/// Revokes any pending invitation for the same email (a new one replaces it), then inserts this one.
pub async fn create(db: &mut OrgTx, new: NewInvitation<'_>) -> DbResult<InvitationRow> {
    let org = db.org_id();
    sqlx::query(
        "UPDATE invitations SET revoked_at = now(), updated_at = now(), token_ciphertext = NULL
          WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(org.0)
    .bind(new.email)
    .execute(db.conn())
    .await?;
    sqlx::query(
        "INSERT INTO invitations (id, org_id, email, role, token_hash, token_ciphertext, invited_by, expires_at, delivery_job_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.id.0)
    .bind(org.0)
    .bind(new.email)
    .bind(new.role.as_str())
    .bind(new.token_hash)
    .bind(new.token_ciphertext)
    .bind(new.invited_by.0)
    .bind(new.expires_at)
    .bind(new.delivery_job_id.map(|j| j.0))
    .execute(db.conn())
    .await?;
    get(db, new.id).await
}

pub async fn get(db: &mut OrgTx, id: InvitationId) -> DbResult<InvitationRow> {
    let org = db.org_id();
    Ok(sqlx::query_as(concat!(select!(), " AND i.id = $2"))
        .bind(org.0)
        .bind(id.0)
        .fetch_one(db.conn())
        .await?)
}

/// Pending invitations, newest first.
pub async fn list_pending(db: &mut OrgTx) -> DbResult<Vec<InvitationRow>> {
    let org = db.org_id();
    Ok(sqlx::query_as(concat!(
        select!(),
        " AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
         ORDER BY i.created_at DESC, i.id DESC"
    ))
    .bind(org.0)
    .fetch_all(db.conn())
    .await?)
}

/// Revokes a pending invitation; `NotFound` if there is none with this id.
pub async fn revoke(db: &mut OrgTx, id: InvitationId) -> DbResult<()> {
    let org = db.org_id();
    let res = sqlx::query(
        "UPDATE invitations SET revoked_at = now(), updated_at = now(), token_ciphertext = NULL
          WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(org.0)
    .bind(id.0)
    .execute(db.conn())
    .await?;
    if res.rows_affected() == 0 {
        return Err(super::DbError::NotFound);
    }
    Ok(())
}

/// Which organization a token belongs to, if any (a narrow cross-tenant lookup; the token is the proof).
pub async fn org_of_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> DbResult<Option<insights_types::OrgId>> {
    let org: Option<Uuid> = sqlx::query_scalar("SELECT invitation_org_by_token_hash($1)")
        .bind(token_hash)
        .fetch_one(conn)
        .await?;
    Ok(org.map(insights_types::OrgId))
}

/// The invitation with this token in this organization, locked for update.
pub async fn find_by_token_for_update(
    db: &mut OrgTx,
    token_hash: &[u8],
) -> DbResult<InvitationRow> {
    let org = db.org_id();
    Ok(
        sqlx::query_as(concat!(select!(), " AND i.token_hash = $2 FOR UPDATE OF i"))
            .bind(org.0)
            .bind(token_hash)
            .fetch_one(db.conn())
            .await?,
    )
}

pub async fn mark_accepted(db: &mut OrgTx, id: InvitationId, by: UserId) -> DbResult<()> {
    let org = db.org_id();
    sqlx::query(
        "UPDATE invitations SET accepted_at = now(), accepted_by = $3, token_ciphertext = NULL, updated_at = now()
          WHERE org_id = $1 AND id = $2",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(by.0)
    .execute(db.conn())
    .await?;
    Ok(())
}

/// The encrypted token of a still-pending invitation (for the email job).
pub async fn pending_token_ciphertext(
    db: &mut OrgTx,
    id: InvitationId,
) -> DbResult<Option<(InvitationRow, Vec<u8>)>> {
    let org = db.org_id();
    let ct: Option<Option<Vec<u8>>> = sqlx::query_scalar(
        "SELECT token_ciphertext FROM invitations
          WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(org.0)
    .bind(id.0)
    .fetch_optional(db.conn())
    .await?;
    match ct.flatten() {
        Some(ct) => Ok(Some((get(db, id).await?, ct))),
        None => Ok(None),
    }
}

/// Forgets the encrypted token once the email is sent.
pub async fn clear_token_ciphertext(db: &mut OrgTx, id: InvitationId) -> DbResult<()> {
    let org = db.org_id();
    sqlx::query("UPDATE invitations SET token_ciphertext = NULL, updated_at = now() WHERE org_id = $1 AND id = $2")
        .bind(org.0)
        .bind(id.0)
        .execute(db.conn())
        .await?;
    Ok(())
}
