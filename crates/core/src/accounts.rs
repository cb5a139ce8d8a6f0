//! Email ownership and recovery: the single-use links that prove an account receives mail at its address
//! (verification) or let it choose a new password (reset). Each link carries its token in the URL fragment
//! (`/verify-email#token=…`), which browsers never send to a server nor put in a `Referer`.

use crate::config::PublicUrl;
use crate::crypto::columns::ACCOUNT_TOKEN;
use crate::crypto::{SecretBox, random_token, token_hash};
use crate::db::account_tokens::{self, NewAccountToken};
use crate::db::{Db, DbResult, OrgTx, users};
use crate::jobs::{JobQueue, Pending, SendAccountEmail};
use chrono::Utc;
use insights_types::domain::Email;
use insights_types::{AccountTokenId, UserId};
use sqlx::PgConnection;
use std::time::Duration;

pub use crate::db::account_tokens::Purpose;

/// The page of the web app a link of `purpose` opens, with the token in its fragment.
#[must_use]
pub fn link(public_url: &PublicUrl, purpose: Purpose, token: &str) -> String {
    let page = match purpose {
        Purpose::VerifyEmail => "verify-email",
        Purpose::ResetPassword => "reset-password",
    };
    public_url.link(&format!("{page}#token={token}"))
}

/// Stores a new link of `purpose` for `user` valid for `ttl` (replacing the user's earlier ones) and returns
/// its id and token. With `seal`, an encrypted copy of the token is kept for the email job.
pub async fn issue(
    conn: &mut PgConnection,
    user: UserId,
    purpose: Purpose,
    ttl: Duration,
    seal: Option<&SecretBox>,
) -> DbResult<(AccountTokenId, String)> {
    let id = AccountTokenId::new();
    let token = random_token();
    account_tokens::create(
        conn,
        NewAccountToken {
            id,
            user_id: user,
            purpose,
            token_hash: &token_hash(&token),
            token_ciphertext: seal.map(|s| s.seal(&ACCOUNT_TOKEN.row(id), token.as_bytes())),
            expires_at: Utc::now() + ttl,
        },
    )
    .await?;
    Ok((id, token))
}

/// Issues a link and records the job that emails it, in `db` (a transaction of one of the user's
/// organizations, which the job is tracked in); push the job once `db` committed.
pub async fn email_link(
    db: &mut OrgTx,
    jobs: &JobQueue,
    secrets: &SecretBox,
    user: UserId,
    purpose: Purpose,
    ttl: Duration,
) -> DbResult<Pending<SendAccountEmail>> {
    let (id, _) = issue(db.conn(), user, purpose, ttl, Some(secrets)).await?;
    jobs.record::<SendAccountEmail>(db, id).await
}

/// A password reset link for the account with `email`, valid for `ttl`, for an administrator to hand over
/// when the server sends no email (`insights-api reset-link <email>`). The account's earlier reset links stop
/// working.
pub async fn reset_link(
    db: &Db,
    public_url: &PublicUrl,
    email: &str,
    ttl: Duration,
) -> anyhow::Result<String> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{email:?}: {}", e.message))?;
    let mut conn = db.pool().acquire().await?;
    let user = users::find_by_email(&mut conn, email.as_str())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account has the address {email}"))?;
    let (_, token) = issue(&mut conn, user.user_id(), Purpose::ResetPassword, ttl, None).await?;
    Ok(link(public_url, Purpose::ResetPassword, &token))
}
