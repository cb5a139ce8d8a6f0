//! One attempt of a call (its own time limit, `Retry-After` captured from the answer) and the wait before the
//! next one.

use crate::{LlmError, LlmSettings, classify, client};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// The longest wait a `Retry-After` can ask for (a longer one is cut to this).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The longest exponential wait.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What one attempt gave: the result, the HTTP status of a refused answer, and the wait the endpoint asked for.
pub(crate) struct Attempt<T> {
    pub result: Result<T, LlmError>,
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
}

/// Runs one attempt of `op` on a fresh client within the settings' time limit.
pub(crate) async fn call<T, F, Fut>(settings: &LlmSettings, op: F) -> Attempt<T>
where
    F: FnOnce(Client<OpenAIConfig>) -> Fut,
    Fut: Future<Output = Result<T, OpenAIError>>,
{
    let slot = Arc::new(Mutex::new(None));
    let capture = Capture {
        inner: ReqwestService::new(http_client(settings)),
        retry_after: slot.clone(),
    };
    let outcome = tokio::time::timeout(settings.timeout, op(client(settings, capture))).await;
    let retry_after = slot.lock().map(|s| *s).unwrap_or(None);
    match outcome {
        Err(_) => Attempt {
            result: Err(LlmError::Timeout(settings.timeout)),
            status: None,
            retry_after: None,
        },
        Ok(Ok(v)) => Attempt {
            result: Ok(v),
            status: None,
            retry_after: None,
        },
        Ok(Err(e)) => {
            let status = match &e {
                OpenAIError::ApiError(r) => Some(r.status_code.as_u16()),
                _ => None,
            };
            Attempt {
                result: Err(classify(e)),
                status,
                retry_after,
            }
        }
    }
}

fn http_client(settings: &LlmSettings) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .build()
        .unwrap_or_default()
}

/// The wait after failed attempt `attempt` (from 1): what the endpoint asked for (`Retry-After`, at most two
/// minutes), else `base` doubled per attempt (at most a minute) less up to half of it at random, so that calls
/// failing together do not retry together.
#[must_use]
pub fn backoff_delay(base: Duration, attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(MAX_RETRY_AFTER);
    }
    let doublings = attempt.saturating_sub(1).min(20);
    let full = base.saturating_mul(1 << doublings).min(MAX_BACKOFF);
    full.mul_f64(rand::random_range(0.5..=1.0))
}

/// The wait an answer asks for: `retry-after-ms` (OpenAI), else `Retry-After` in seconds.
#[must_use]
pub fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(Duration::from_secs_f64)
}

/// The plain transport, noting the `Retry-After` of each answer.
#[derive(Clone)]
pub(crate) struct Capture {
    inner: ReqwestService,
    retry_after: Arc<Mutex<Option<Duration>>>,
}

type HttpFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower::Service<HttpRequestFactory> for Capture {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = HttpFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let mut inner = self.inner.clone();
        let slot = self.retry_after.clone();
        Box::pin(async move {
            let response = inner.call(request).await?;
            if let Some(wait) = parse_retry_after(response.headers())
                && let Ok(mut s) = slot.lock()
            {
                *s = Some(wait);
            }
            Ok(response)
        })
    }
}
