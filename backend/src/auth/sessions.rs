//! Whether a login session (refresh-token family) is still live, checked on every authenticated request so
//! that logout and a password change end the session's access tokens at once, not when they expire.
//!
//! The answer is kept in this process's memory ([`crate::cache`], told of ended sessions by PostgreSQL)
//! and cached in Redis for `INSIGHTS_SESSION_CHECK_CACHE_SECS`, shared by every replica. Ending a
//! session overwrites its entry with "ended", while a request caches what it read from PostgreSQL only if no
//! entry is there (`SET NX`): a check that read "live" just before the session ended cannot overwrite the
//! "ended" written after it.

use crate::state::AppState;
use insights_core::db::{self, DbError};
use insights_types::UserId;
use redis::AsyncCommands as _;
use std::time::Duration;
use uuid::Uuid;

const LIVE: &str = "1";
const ENDED: &str = "0";

/// How long a request waits on the session cache before asking PostgreSQL instead.
const CACHE_BUDGET: Duration = Duration::from_millis(250);

fn key(state: &AppState, family: Uuid) -> String {
    state.redis_key(&["session", &family.to_string()])
}

/// Whether `user`'s session `family` has neither been ended nor expired.
pub async fn is_live(state: &AppState, user: UserId, family: Uuid) -> Result<bool, DbError> {
    if let Some(live) = state.cache.session(family) {
        return Ok(live);
    }
    let ticket = state.cache.ticket();
    let live = is_live_shared(state, user, family).await?;
    state.cache.put_session(ticket, family, live);
    Ok(live)
}

/// The check without this process's memory: Redis, then PostgreSQL.
async fn is_live_shared(state: &AppState, user: UserId, family: Uuid) -> Result<bool, DbError> {
    let key = key(state, family);
    let mut redis = state.redis.clone();
    // An unreachable Redis would hold every authenticated request until its client gives up: past the budget,
    // PostgreSQL answers.
    match tokio::time::timeout(CACHE_BUDGET, redis.get::<_, Option<String>>(&key)).await {
        Ok(Ok(Some(v))) => return Ok(v == LIVE),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "session cache unavailable; asking PostgreSQL"),
        Err(_) => {
            tracing::warn!("session cache too slow; asking PostgreSQL");
            return check_and_cache(state, user, family, key, false).await;
        }
    }
    check_and_cache(state, user, family, key, true).await
}

/// The session check in PostgreSQL, cached (when `cache`) for the next requests.
async fn check_and_cache(
    state: &AppState,
    user: UserId,
    family: Uuid,
    key: String,
    cache: bool,
) -> Result<bool, DbError> {
    let mut redis = state.redis.clone();
    let mut conn = state.db.pool().acquire().await?;
    let live = db::refresh_tokens::family_live(&mut conn, user, family).await?;
    if !cache {
        return Ok(live);
    }
    let ttl = state.config.auth.session_check_cache.as_secs().max(1);
    let mut set = redis::cmd("SET");
    set.arg(&key)
        .arg(if live { LIVE } else { ENDED })
        .arg("EX")
        .arg(ttl)
        .arg("NX");
    match tokio::time::timeout(CACHE_BUDGET, set.query_async::<()>(&mut redis)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not cache a session check"),
        Err(_) => tracing::warn!("session cache too slow to take a check"),
    }
    Ok(live)
}

/// Records that these sessions have ended (after they were revoked in PostgreSQL), so that their access tokens
/// stop working now rather than when the cached "live" expires.
pub async fn ended(state: &AppState, families: &[Uuid]) {
    if families.is_empty() {
        return;
    }
    for family in families {
        state
            .cache
            .forget(crate::cache::Change::Session { family: *family });
    }
    let ttl = state.config.auth.session_check_cache.as_secs().max(1);
    let mut pipe = redis::pipe();
    for family in families {
        pipe.set_ex(key(state, *family), ENDED, ttl).ignore();
    }
    let mut redis = state.redis.clone();
    // Either way the cached "live" expires within the TTL.
    match tokio::time::timeout(CACHE_BUDGET, pipe.query_async::<()>(&mut redis)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not mark ended sessions in the cache"),
        Err(_) => tracing::warn!("session cache too slow to mark ended sessions"),
    }
}
