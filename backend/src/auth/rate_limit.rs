//! Fixed-window rate limits kept in Redis, shared by every API replica.

use redis::aio::ConnectionManager;
use std::time::Duration;

/// Counts one attempt against `key` and says whether it is allowed; when it is not, how many seconds until
/// the window resets (for `Retry-After`).
pub async fn hit(
    redis: &mut ConnectionManager,
    key: &str,
    limit: u32,
    window: Duration,
) -> redis::RedisResult<Result<(), u64>> {
    let script = redis::Script::new(
        r"local n = redis.call('INCR', KEYS[1])
          if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
          return {n, redis.call('PTTL', KEYS[1])}",
    );
    let (count, ttl_ms): (u64, i64) = script
        .key(key)
        .arg(window.as_millis() as u64)
        .invoke_async(redis)
        .await?;
    if count > u64::from(limit) {
        Ok(Err((ttl_ms.max(0) as u64).div_ceil(1000).max(1)))
    } else {
        Ok(Ok(()))
    }
}

/// Whether `key` is already over `limit`, without counting.
pub async fn is_over(
    redis: &mut ConnectionManager,
    key: &str,
    limit: u32,
) -> redis::RedisResult<Result<(), u64>> {
    let (count, ttl_ms): (Option<u64>, i64) =
        redis::pipe().get(key).pttl(key).query_async(redis).await?;
    match count {
        Some(n) if n >= u64::from(limit) => Ok(Err((ttl_ms.max(0) as u64).div_ceil(1000).max(1))),
        _ => Ok(Ok(())),
    }
}
