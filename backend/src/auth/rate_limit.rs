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

/// Gives back one attempt counted by [`hit`] (a login that turned out right does not use up the account's
/// budget of failures).
pub async fn refund(redis: &mut ConnectionManager, key: &str) -> redis::RedisResult<()> {
    let script = redis::Script::new(
        r"if (tonumber(redis.call('GET', KEYS[1]) or '0') > 0) then redis.call('DECR', KEYS[1]) end
          return 0",
    );
    script.key(key).invoke_async::<i64>(redis).await.map(|_| ())
}

/// The bucket an address is counted in: an IPv4 address itself, an IPv6 client by its /64 (one subscriber's
/// network: a client may use any of its 2^64 addresses), an IPv4-mapped IPv6 address as the IPv4 one.
#[must_use]
pub fn client_bucket(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::client_bucket;

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let b = |s: &str| client_bucket(s.parse().unwrap());
        assert_eq!(b("2001:db8:1:2::1"), b("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(b("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_ne!(b("2001:db8:1:2::1"), b("2001:db8:1:3::1"));
        assert_eq!(b("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(b("192.0.2.7"), "192.0.2.7");
        assert_ne!(b("192.0.2.7"), b("192.0.2.8"));
    }
}
