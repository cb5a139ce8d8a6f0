//! The HTTP client every source shares: requests are made one at a time per integration (as PagerDuty
//! advises), rate limits are honoured (429 with `ratelimit-reset`, `Retry-After` or Opsgenie's
//! `X-RateLimit-Period-In-Sec`, or exponential backoff when the 429 says nothing; a response that says
//! `ratelimit-remaining: 0` makes the next request wait for the reset), and transient failures — 5xx,
//! timeouts, dropped connections, truncated or malformed bodies — are retried with exponential backoff and
//! jitter. What still fails after that is a [`SourceError`] that says, in words a person understands, what
//! went wrong.

use rand::Rng;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Why a call to a source failed for good.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// 401: the credential is wrong, revoked or expired.
    #[error("{source_name} refused the credential (HTTP 401): {detail}")]
    Unauthorized {
        source_name: &'static str,
        detail: String,
    },
    /// 402/403: the credential works but may not read this (a write-only or too narrow key, or a plan
    /// without this API).
    #[error("{source_name} denied access (HTTP {status}): {detail}")]
    Forbidden {
        source_name: &'static str,
        status: u16,
        detail: String,
    },
    /// 404 on something that should exist.
    #[error("{source_name} answered 404 Not Found: {detail}")]
    NotFound {
        source_name: &'static str,
        detail: String,
    },
    /// Another 4xx: the request was refused (e.g. an unknown service id in the options).
    #[error("{source_name} refused the request (HTTP {status}): {detail}")]
    Rejected {
        source_name: &'static str,
        status: u16,
        detail: String,
    },
    /// Still failing after every retry: rate limited, 5xx, timeouts or unreachable.
    #[error("{source_name} is unavailable after {attempts} attempts: {detail}")]
    Unavailable {
        source_name: &'static str,
        attempts: u32,
        detail: String,
    },
    /// The answer was not what the API documents (truncated or malformed), even after retries.
    #[error("{source_name} sent an answer that cannot be read: {detail}")]
    Malformed {
        source_name: &'static str,
        detail: String,
    },
}

impl SourceError {
    /// Whether retrying later might help (the sync's job is retried with backoff); a refused credential or
    /// request will not fix itself.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Malformed { .. })
    }
}

/// Retry and timeout policy (from the configuration; tests shorten it).
#[derive(Clone, Debug)]
pub struct HttpPolicy {
    /// Attempts per request for 5xx, timeouts, connection errors and unreadable bodies.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt, with jitter, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// 429 answers tolerated per request before giving up (each waits as the source asks).
    pub max_rate_limited: u32,
    /// The longest single wait a source may ask for.
    pub max_wait: Duration,
    /// Timeout of one request, body included.
    pub timeout: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_rate_limited: 30,
            max_wait: Duration::from_secs(300),
            timeout: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
impl HttpPolicy {
    /// Tiny waits and timeouts, so that connector tests of retries run in milliseconds.
    pub fn for_tests() -> Self {
        Self {
            max_attempts: 3,
            backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(10),
            max_rate_limited: 5,
            max_wait: Duration::from_secs(2),
            timeout: Duration::from_millis(500),
        }
    }
}

/// A source's HTTP client; clones share the pacing state and the request counter.
#[derive(Clone, Debug)]
pub struct SourceHttp {
    client: reqwest::Client,
    name: &'static str,
    policy: HttpPolicy,
    /// No request leaves before this instant (set when a source said its budget is spent).
    not_before: Arc<Mutex<Option<Instant>>>,
    requests: Arc<AtomicU64>,
}

/// What one attempt came to.
enum Attempt<T> {
    Done(T),
    /// Retry after at least this long (counts as a failed attempt); `malformed` when the body was unreadable.
    Retry {
        after: Duration,
        malformed: bool,
        detail: String,
    },
    /// Rate limited: wait this long (counts against `max_rate_limited`).
    Throttled(Duration),
    Fail(SourceError),
}

impl SourceHttp {
    /// `name` is the product's name, used in error messages ("PagerDuty", "Opsgenie").
    #[must_use]
    pub fn new(name: &'static str, policy: HttpPolicy) -> Self {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("incident-insights/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client builds");
        Self {
            client,
            name,
            policy,
            not_before: Arc::default(),
            requests: Arc::default(),
        }
    }

    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Requests sent so far (every attempt counts).
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Sends the request `build` makes (called again for each attempt) and decodes the JSON answer, retrying
    /// as the module describes.
    pub async fn json<T: DeserializeOwned>(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, SourceError> {
        let mut failures = 0u32;
        let mut throttled = 0u32;
        loop {
            self.pace().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            match self.attempt(build(&self.client)).await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(e) => return Err(e),
                Attempt::Throttled(wait) => {
                    throttled += 1;
                    if throttled > self.policy.max_rate_limited {
                        return Err(SourceError::Unavailable {
                            source_name: self.name,
                            attempts: failures + throttled,
                            detail: format!(
                                "still rate limited (HTTP 429) after {} waits",
                                throttled - 1
                            ),
                        });
                    }
                    tracing::info!(
                        source = self.name,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited; waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                Attempt::Retry {
                    after,
                    malformed,
                    detail,
                } => {
                    failures += 1;
                    if failures >= self.policy.max_attempts {
                        return Err(if malformed {
                            SourceError::Malformed {
                                source_name: self.name,
                                detail,
                            }
                        } else {
                            SourceError::Unavailable {
                                source_name: self.name,
                                attempts: failures + throttled,
                                detail,
                            }
                        });
                    }
                    let wait = after.max(self.backoff(failures));
                    tracing::warn!(source = self.name, attempt = failures, wait_ms = wait.as_millis() as u64,
                        error = %detail, "request failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Waits while the source has said its budget is spent.
    async fn pace(&self) {
        let until = *self.not_before.lock().await;
        if let Some(t) = until
            && t > Instant::now()
        {
            tokio::time::sleep_until(t).await;
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .policy
            .backoff
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
            .min(self.policy.max_backoff);
        // Full jitter on half the delay, so that many integrations do not retry in step.
        let half = exp / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }

    async fn attempt<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Attempt<T> {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                return Attempt::Retry {
                    after: Duration::ZERO,
                    malformed: false,
                    detail: format!("{what}: {}", error_chain(&e)),
                };
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let hinted_wait = rate_limit_wait(&headers).map(|w| w.min(self.policy.max_wait));
        if status.is_success()
            && headers
                .get("ratelimit-remaining")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                == Some(0)
            && let Some(wait) = hinted_wait
        {
            *self.not_before.lock().await = Some(Instant::now() + wait);
        }
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry {
                    after: Duration::ZERO,
                    malformed: true,
                    detail: format!("the body was cut off: {}", error_chain(&e)),
                };
            }
        };
        let detail = || error_detail(&body);
        match status.as_u16() {
            200..=299 => match serde_json::from_slice::<T>(&body) {
                Ok(v) => Attempt::Done(v),
                Err(e) => Attempt::Retry {
                    after: Duration::ZERO,
                    malformed: true,
                    detail: format!("{} bytes that do not parse: {e}", body.len()),
                },
            },
            429 => Attempt::Throttled(hinted_wait.unwrap_or_else(|| self.backoff(2))),
            401 => Attempt::Fail(SourceError::Unauthorized {
                source_name: self.name,
                detail: detail(),
            }),
            402 | 403 => Attempt::Fail(SourceError::Forbidden {
                source_name: self.name,
                status: status.as_u16(),
                detail: detail(),
            }),
            404 => Attempt::Fail(SourceError::NotFound {
                source_name: self.name,
                detail: detail(),
            }),
            408 | 500..=599 => Attempt::Retry {
                after: hinted_wait.unwrap_or_default(),
                malformed: false,
                detail: format!("HTTP {status}: {}", detail()),
            },
            s => Attempt::Fail(SourceError::Rejected {
                source_name: self.name,
                status: s,
                detail: detail(),
            }),
        }
    }
}

/// The wait a response asks for: `ratelimit-reset` (PagerDuty, seconds), `Retry-After` (seconds or an HTTP
/// date), or `X-RateLimit-Period-In-Sec` (Opsgenie).
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let secs = |v: &str| v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0);
    if let Some(s) = get("ratelimit-reset").and_then(secs) {
        return Some(Duration::from_secs_f64(s));
    }
    if let Some(v) = get("retry-after") {
        if let Some(s) = secs(v) {
            return Some(Duration::from_secs_f64(s));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            let d = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
            return Some(d.to_std().unwrap_or_default());
        }
    }
    get("x-ratelimit-period-in-sec")
        .and_then(secs)
        .map(Duration::from_secs_f64)
}

/// A short description of an error body: the API's own message when it has one.
fn error_detail(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        // PagerDuty: {"error":{"message","errors":[..]}}; Opsgenie: {"message": ..}.
        let e = v.get("error").unwrap_or(&v);
        let mut msg = e
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        if let Some(errs) = e.get("errors").and_then(|x| x.as_array()) {
            let list: Vec<&str> = errs.iter().filter_map(|x| x.as_str()).collect();
            if !list.is_empty() {
                msg = format!("{msg} ({})", list.join("; "));
            }
        }
        if !msg.is_empty() {
            return msg;
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "no details".into()
    } else {
        text.chars().take(200).collect()
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn waits_come_from_whichever_header_the_source_sends() {
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_wait(&h), None);
        h.insert("x-ratelimit-period-in-sec", HeaderValue::from_static("60"));
        assert_eq!(rate_limit_wait(&h), Some(Duration::from_secs(60)));
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(rate_limit_wait(&h), Some(Duration::from_secs(7)));
        h.insert("ratelimit-reset", HeaderValue::from_static("2.5"));
        assert_eq!(rate_limit_wait(&h), Some(Duration::from_millis(2500)));
        let mut dated = HeaderMap::new();
        dated.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(
            rate_limit_wait(&dated),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        let mut junk = HeaderMap::new();
        junk.insert("ratelimit-reset", HeaderValue::from_static("-3"));
        assert_eq!(rate_limit_wait(&junk), None);
    }

    #[test]
    fn error_details_prefer_the_apis_own_message() {
        assert_eq!(
            error_detail(br#"{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Offset must be less than 10000."]}}"#),
            "Invalid Input Provided (Offset must be less than 10000.)"
        );
        assert_eq!(
            error_detail(br#"{"message":"Key format is not valid!","took":0.0}"#),
            "Key format is not valid!"
        );
        assert_eq!(
            error_detail(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
        assert_eq!(error_detail(b""), "no details");
    }

    #[test]
    fn backoff_doubles_and_stays_within_bounds() {
        let http = SourceHttp::new(
            "Test",
            HttpPolicy {
                backoff: Duration::from_millis(100),
                max_backoff: Duration::from_millis(1000),
                ..HttpPolicy::default()
            },
        );
        for failures in 1..20 {
            let d = http.backoff(failures);
            let cap = Duration::from_millis((100u64 << (failures - 1).min(16)).min(1000));
            assert!(d >= cap / 2 && d <= cap, "{failures}: {d:?} vs {cap:?}");
        }
    }
}
