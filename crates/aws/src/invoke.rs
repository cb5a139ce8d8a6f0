//! Lambda `Invoke`, with its outcomes classified.

use crate::clients::{AwsClients, Connection, CredentialsError, describe};
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::{Duration, Instant};

/// The most a client context may weigh once base64-encoded (Lambda refuses more).
pub const CLIENT_CONTEXT_MAX_BYTES: usize = 3583;
/// The log tail kept (the end of the decoded `X-Amz-Log-Result`, at most this many characters).
pub const LOG_TAIL_MAX_CHARS: usize = 4096;

/// How the function is invoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation {
    /// `RequestResponse`: waits for the function's result (HTTP 200), with the log tail.
    Sync,
    /// `Event`: queued by Lambda (HTTP 202); the function's result is not known.
    Async,
}

/// What the function is told about the run in the client context (`context.client_context.custom` in the
/// function), so it can recognise a retry of the same run: `{"custom": {"run_id": "…", "attempt": "2"}}`.
/// The values are strings because some runtimes (Java, .NET) read `custom` as a map of strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientContext {
    pub run_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
}

impl ClientContext {
    /// The JSON the function receives.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "custom": { "run_id": self.run_id, "attempt": self.attempt.to_string() } })
    }

    /// The `X-Amz-Client-Context` header value (base64 of the JSON).
    pub fn encode(&self) -> String {
        BASE64.encode(self.to_json().to_string())
    }
}

/// One invocation.
#[derive(Clone, Debug)]
pub struct InvokeRequest {
    /// A function name, `name:alias`, or a full or partial ARN (from the connection's allow-list).
    pub function: String,
    /// The rendered payload (JSON bytes).
    pub payload: Vec<u8>,
    pub invocation: Invocation,
    /// The automation's time limit for the whole call; reaching it is [`InvokeError::Timeout`].
    pub timeout: Duration,
    pub client_context: Option<ClientContext>,
    /// Names the assumed-role session if one must be started (`incident-insights-<session_id>`): the run id.
    pub session_id: String,
}

/// A call Lambda accepted (sync: the function returned without error; async: the event was queued).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvokeOutcome {
    /// 200 (sync) or 202 (async).
    pub status: u16,
    /// The function's response (sync; empty for async).
    pub payload: Vec<u8>,
    /// The end of the function's log (sync only), decoded.
    pub log_tail: Option<String>,
    /// The version that ran (`$LATEST`, `3`, …).
    pub executed_version: Option<String>,
    /// How long the call took.
    pub duration: Duration,
}

impl InvokeOutcome {
    /// The payload as JSON, when it is JSON.
    pub fn payload_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.payload).ok()
    }
}

/// Why an invocation did not succeed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum InvokeError {
    /// No credentials in the connection's account.
    #[error("{0}")]
    Credentials(CredentialsError),
    /// The function ran and failed (`X-Amz-Function-Error`, HTTP 200): `kind` is `Handled` or `Unhandled`,
    /// `error_type`/`message` come from the error JSON the function returned.
    #[error("the function failed ({kind}{}): {}", error_type.as_deref().map(|t| format!(", {t}")).unwrap_or_default(), message.as_deref().unwrap_or("no message"))]
    Function {
        kind: String,
        error_type: Option<String>,
        message: Option<String>,
        payload: Vec<u8>,
        log_tail: Option<String>,
        executed_version: Option<String>,
    },
    /// Lambda throttled the call (429 `TooManyRequestsException`): the function did not run.
    #[error("Lambda throttled the call (too many requests): {message}")]
    Throttled { message: String },
    /// No answer within the automation's time limit: the function may still be running.
    #[error("no answer from Lambda within {} s: the function may still be running", after.as_secs_f64())]
    Timeout { after: Duration },
    /// The function (or its alias/version) does not exist in the connection's region.
    #[error("the function {function} does not exist in region {region}: {message}")]
    NotFound {
        function: String,
        region: String,
        message: String,
    },
    /// The credentials may not invoke the function.
    #[error(
        "not allowed to invoke {function}: the role lacks lambda:InvokeFunction on it ({message})"
    )]
    AccessDenied { function: String, message: String },
    /// Any other error answered by Lambda (`code` e.g. `ServiceException`, `RequestTooLargeException`).
    #[error("Lambda answered {status} {code}: {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer at all (connection refused, TLS, DNS, a broken response).
    #[error("could not reach Lambda: {message}")]
    Network { message: String },
    /// The request was not sent (an oversized client context, an invalid function name).
    #[error("invalid invocation: {message}")]
    Invalid { message: String },
}

impl InvokeError {
    /// A short stable name for logs and the run record: `credentials`, `function_error`, `throttled`,
    /// `timeout`, `not_found`, `access_denied`, `service_error`, `network`, `invalid`.
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::Credentials(_) => "credentials",
            InvokeError::Function { .. } => "function_error",
            InvokeError::Throttled { .. } => "throttled",
            InvokeError::Timeout { .. } => "timeout",
            InvokeError::NotFound { .. } => "not_found",
            InvokeError::AccessDenied { .. } => "access_denied",
            InvokeError::Service { .. } => "service_error",
            InvokeError::Network { .. } => "network",
            InvokeError::Invalid { .. } => "invalid",
        }
    }

    /// Whether trying again later may succeed without a change by a person: throttling, a time limit,
    /// Lambda's own 5xx and network failures — and a function's error (the function decides its failures;
    /// the automation's attempts bound them). Not: missing functions, refusals, invalid requests.
    pub fn retryable(&self) -> bool {
        match self {
            InvokeError::Throttled { .. }
            | InvokeError::Timeout { .. }
            | InvokeError::Network { .. }
            | InvokeError::Function { .. } => true,
            InvokeError::Service { status, .. } => *status >= 500,
            InvokeError::Credentials(CredentialsError::Other(_)) => true,
            InvokeError::Credentials(_)
            | InvokeError::NotFound { .. }
            | InvokeError::AccessDenied { .. }
            | InvokeError::Invalid { .. } => false,
        }
    }

    /// Whether the function may have run although no result came back (a time limit, a lost connection, a
    /// 5xx): a function that is not idempotent must not be invoked again blindly.
    pub fn may_have_run(&self) -> bool {
        match self {
            InvokeError::Function { .. }
            | InvokeError::Timeout { .. }
            | InvokeError::Network { .. } => true,
            InvokeError::Service { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// The function's error type (`Handled`/`Unhandled` plus the error's own type), for `function_error`.
    pub fn function_error(&self) -> Option<String> {
        match self {
            InvokeError::Function {
                kind,
                error_type: Some(t),
                ..
            } => Some(format!("{kind}: {t}")),
            InvokeError::Function { kind, .. } => Some(kind.clone()),
            _ => None,
        }
    }

    /// The log tail, when the function ran and returned one.
    pub fn log_tail(&self) -> Option<&str> {
        match self {
            InvokeError::Function { log_tail, .. } => log_tail.as_deref(),
            _ => None,
        }
    }
}

/// Decodes `X-Amz-Log-Result` (base64 of the last 4 KB of log) and keeps its end.
fn decode_log(log: Option<&str>) -> Option<String> {
    let bytes = BASE64.decode(log?.trim()).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let count = text.chars().count();
    Some(
        text.chars()
            .skip(count.saturating_sub(LOG_TAIL_MAX_CHARS))
            .collect(),
    )
}

impl AwsClients {
    /// Invokes a function once (no retry by the SDK) within `request.timeout`, and classifies the answer.
    pub async fn invoke(
        &self,
        connection: &Connection,
        request: &InvokeRequest,
    ) -> Result<InvokeOutcome, InvokeError> {
        let started = Instant::now();
        let client_context = match &request.client_context {
            Some(cc) => {
                let encoded = cc.encode();
                if encoded.len() > CLIENT_CONTEXT_MAX_BYTES {
                    return Err(InvokeError::Invalid {
                        message: format!(
                            "the client context is {} bytes once encoded; Lambda accepts at most {CLIENT_CONTEXT_MAX_BYTES}",
                            encoded.len()
                        ),
                    });
                }
                Some(encoded)
            }
            None => None,
        };
        if request.function.trim().is_empty() {
            return Err(InvokeError::Invalid {
                message: "no function name".into(),
            });
        }
        // Getting credentials counts against the time limit too.
        let credentials = tokio::time::timeout(
            request.timeout,
            self.credentials(connection, &request.session_id),
        )
        .await
        .map_err(|_| InvokeError::Timeout {
            after: request.timeout,
        })?
        .map_err(InvokeError::Credentials)?;
        let remaining = request
            .timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        let client = self.lambda(&connection.region, credentials, Some(remaining));
        let mut call = client
            .invoke()
            .function_name(&request.function)
            .payload(Blob::new(request.payload.clone()))
            .set_client_context(client_context);
        call = match request.invocation {
            Invocation::Sync => call
                .invocation_type(InvocationType::RequestResponse)
                .log_type(LogType::Tail),
            Invocation::Async => call.invocation_type(InvocationType::Event),
        };
        let sent = call.send().await;
        let duration = started.elapsed();
        let out = match sent {
            Ok(out) => out,
            Err(e) => return Err(classify(e, request, &connection.region)),
        };
        let payload = out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default();
        let log_tail = decode_log(out.log_result());
        let executed_version = out.executed_version().map(str::to_owned);
        if let Some(kind) = out.function_error() {
            let body: Option<serde_json::Value> = serde_json::from_slice(&payload).ok();
            let field = |name: &str| {
                body.as_ref()
                    .and_then(|b| b.get(name))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            return Err(InvokeError::Function {
                kind: kind.to_owned(),
                error_type: field("errorType"),
                message: field("errorMessage").or_else(|| {
                    (!payload.is_empty()).then(|| {
                        String::from_utf8_lossy(&payload)
                            .chars()
                            .take(500)
                            .collect()
                    })
                }),
                payload,
                log_tail,
                executed_version,
            });
        }
        Ok(InvokeOutcome {
            status: u16::try_from(out.status_code()).unwrap_or(200),
            payload,
            log_tail,
            executed_version,
            duration,
        })
    }
}

fn classify<E>(e: SdkError<E, HttpResponse>, request: &InvokeRequest, region: &str) -> InvokeError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &e {
        SdkError::TimeoutError(_) => InvokeError::Timeout {
            after: request.timeout,
        },
        SdkError::DispatchFailure(d) if d.is_timeout() => InvokeError::Timeout {
            after: request.timeout,
        },
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => InvokeError::Network {
            message: describe(&e),
        },
        SdkError::ConstructionFailure(_) => InvokeError::Invalid {
            message: describe(&e),
        },
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let err = se.err();
            let code = err.code().unwrap_or("").to_owned();
            let message = err.message().unwrap_or("").to_owned();
            match (status, code.as_str()) {
                (429, _) | (_, "TooManyRequestsException") => InvokeError::Throttled { message },
                (_, "ResourceNotFoundException") | (404, _) => InvokeError::NotFound {
                    function: request.function.clone(),
                    region: region.to_owned(),
                    message,
                },
                (_, "AccessDeniedException") | (403, _) => InvokeError::AccessDenied {
                    function: request.function.clone(),
                    message: if code.is_empty() {
                        message
                    } else {
                        format!("{code}: {message}")
                    },
                },
                _ => InvokeError::Service {
                    status,
                    code,
                    message,
                },
            }
        }
        _ => InvokeError::Network {
            message: describe(&e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_context_carries_the_run_and_attempt() {
        let cc = ClientContext {
            run_id: "r-1".into(),
            attempt: 2,
        };
        let decoded: serde_json::Value =
            serde_json::from_slice(&BASE64.decode(cc.encode()).unwrap()).unwrap();
        assert_eq!(
            decoded,
            serde_json::json!({"custom": {"run_id": "r-1", "attempt": "2"}})
        );
    }

    #[test]
    fn the_log_tail_is_decoded_and_keeps_the_end() {
        let log = "START\n".repeat(1000) + "END RequestId: 1";
        let tail = decode_log(Some(&BASE64.encode(&log))).unwrap();
        assert_eq!(tail.chars().count(), LOG_TAIL_MAX_CHARS);
        assert!(tail.ends_with("END RequestId: 1"));
        assert_eq!(decode_log(Some("not base64!")), None);
        assert_eq!(decode_log(None), None);
    }
}
