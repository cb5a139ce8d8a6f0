//! Invitations to join an organization. The token is stored as a SHA-256 digest; its encrypted copy lives
//! only until the invitation email is sent.

use super::{DbResult, OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_types::{InvitationId, JobRunId, OrgId, Role, UserId, api::UserOut};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub delivery_job_id: Option<Uuid>,
    pub inviter_id: Option<UserId>,
    pub inviter_email: Option<String>,
    pub inviter_name: Option<String>,
}

impl InvitationRow {
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
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

/// The invitations of the organization (`$1`) matching `$tail`, with their inviter.
macro_rules! select_invitations {
    ($db:expr, $tail:literal $(, $arg:expr)* $(,)?) => {
        org_query_as!(
            $db,
            InvitationRow,
            r#"SELECT i.id, i.org_id, i.email, i.role AS "role: Role", i.expires_at, i.created_at, i.accepted_at,
                      i.revoked_at, i.delivery_job_id, u.id AS "inviter_id?: UserId", u.email AS "inviter_email?",
                      u.name AS "inviter_name?"
                 FROM invitations i LEFT JOIN users u ON u.id = i.invited_by
                WHERE i.org_id = $1"# + $tail
            $(, $arg)*
        )
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
    org_execute!(
        db,
        "UPDATE invitations SET revoked_at = now(), updated_at = now(), token_ciphertext = NULL
          WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        new.email,
    )?;
    org_execute!(
        db,
        "INSERT INTO invitations (org_id, id, email, role, token_hash, token_ciphertext, invited_by, expires_at,
                                  delivery_job_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        new.id as InvitationId,
        new.email,
        new.role as Role,
        new.token_hash,
        new.token_ciphertext,
        new.invited_by as UserId,
        new.expires_at,
        new.delivery_job_id as Option<JobRunId>,
    )?;
    get(db, new.id).await
}

pub async fn get(db: &mut OrgTx, id: InvitationId) -> DbResult<InvitationRow> {
    select_invitations!(db, " AND i.id = $2", id as InvitationId)
        .fetch_one(db.conn())
        .await
        .read_from("invitations")
}

/// Pending invitations, newest first.
pub async fn list_pending(db: &mut OrgTx) -> DbResult<Vec<InvitationRow>> {
    select_invitations!(
        db,
        " AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
         ORDER BY i.created_at DESC, i.id DESC",
    )
    .fetch_all(db.conn())
    .await
    .read_from("invitations")
}

/// Revokes a pending invitation; `NotFound` if there is none with this id.
pub async fn revoke(db: &mut OrgTx, id: InvitationId) -> DbResult<()> {
    super::found(org_rows_changed!(
        db,
        "UPDATE invitations SET revoked_at = now(), updated_at = now(), token_ciphertext = NULL
          WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        id as InvitationId,
    ))
}

/// Which organization a token belongs to, if any (a narrow cross-tenant lookup; the token is the proof).
pub async fn org_of_token(conn: &mut PgConnection, token_hash: &[u8]) -> DbResult<Option<OrgId>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT invitation_org_by_token_hash($1) AS "org_id: OrgId""#,
        token_hash,
    )
    .fetch_one(conn)
    .await?)
}

/// The invitation with this token in this organization, locked for update.
pub async fn find_by_token_for_update(
    db: &mut OrgTx,
    token_hash: &[u8],
) -> DbResult<InvitationRow> {
    select_invitations!(db, " AND i.token_hash = $2 FOR UPDATE OF i", token_hash)
        .fetch_one(db.conn())
        .await
        .read_from("invitations")
}

pub async fn mark_accepted(db: &mut OrgTx, id: InvitationId, by: UserId) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE invitations SET accepted_at = now(), accepted_by = $3, token_ciphertext = NULL, updated_at = now()
          WHERE org_id = $1 AND id = $2",
        id as InvitationId,
        by as UserId,
    )
}

/// The encrypted token of a still-pending invitation (for the email job).
pub async fn pending_token_ciphertext(
    db: &mut OrgTx,
    id: InvitationId,
) -> DbResult<Option<(InvitationRow, Vec<u8>)>> {
    let ct = org_query_scalar!(
        db,
        "SELECT token_ciphertext FROM invitations
          WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()",
        id as InvitationId,
    )
    .fetch_optional(db.conn())
    .await?;
    match ct.flatten() {
        Some(ct) => Ok(Some((get(db, id).await?, ct))),
        None => Ok(None),
    }
}

/// Forgets the encrypted token once the email is sent.
pub async fn clear_token_ciphertext(db: &mut OrgTx, id: InvitationId) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE invitations SET token_ciphertext = NULL, updated_at = now() WHERE org_id = $1 AND id = $2",
        id as InvitationId,
    )
}

/// Invitations the organization created in the last 24 hours (revoked ones included), and in how many seconds
/// the oldest of them leaves that window (a place frees up).
pub async fn created_last_day(db: &mut OrgTx) -> DbResult<(i64, u64)> {
    let row = org_query!(
        db,
        r#"SELECT count(*) AS "n!",
                  COALESCE(ceil(EXTRACT(EPOCH FROM min(created_at) + interval '1 day' - now())), 0)::bigint AS "renews_in!"
             FROM invitations WHERE org_id = $1 AND created_at > now() - interval '1 day'"#,
    )
    .fetch_one(db.conn())
    .await?;
    Ok((row.n, row.renews_in.max(1) as u64))
}
