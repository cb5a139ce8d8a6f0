//! A fake OpenAI-compatible API on loopback, speaking the chat-completions and embeddings wire format — for the
//! worker's generation tests, the browser tests and `scripts/dev`, where the real client (`insights-llm`, on
//! async-openai) talks to it.
//!
//! - `POST /v1/chat/completions` answers a valid structured runbook draft built from the numbered sources in
//!   the request's user message (`[n] label` then the source's text): one step per source citing it (its
//!   command taken from the text), plus one step citing nothing; for a refinement (a `## Previous draft`
//!   section) it answers the previous draft's steps with the instructions applied ("shorter" drops the last
//!   step) and a title saying so. Usage is reported (about four characters a token).
//! - `POST /v1/embeddings` answers [`crate::embedding::trigram_embedding`] of each input in the dimensions asked
//!   (64 when none).
//! - It can be told to answer otherwise ([`Behaviour`]): malformed JSON, 429 (with `Retry-After`), 500, hang,
//!   or refuse `json_schema` (400) so the client falls back to `json_object`. Queued behaviours answer the
//!   next chat requests in order, then the default.
//! - It records every request body it received ([`FakeLlm::requests`]), so a test can assert that a planted
//!   secret never reached it, and the `Authorization` header of each.

// Handlers answer `Err(response)` early, as axum handlers do.
#![allow(clippy::result_large_err)]

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the fake answers a chat request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// A valid structured draft from the sources received.
    Structured,
    /// 200 with content that is not JSON.
    Malformed,
    /// 200 with JSON that is not a draft (no steps).
    WrongShape,
    /// 429 `rate_limit_error` with `Retry-After: 0`.
    RateLimited,
    /// 500.
    ServerError,
    /// Never answers (until the server stops).
    Hang,
    /// 400 to a request asking for `json_schema` (answers `json_object` requests as `Structured`).
    RefuseJsonSchema,
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Received {
    /// `chat` or `embeddings`.
    pub endpoint: &'static str,
    pub authorization: Option<String>,
    pub body: Value,
}

struct FakeState {
    queue: VecDeque<Behaviour>,
    default: Behaviour,
    received: Vec<Received>,
}

/// The fake server; stops when dropped.
pub struct FakeLlm {
    url: String,
    state: Arc<Mutex<FakeState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl FakeLlm {
    /// Starts on a free loopback port, answering [`Behaviour::Structured`].
    pub async fn start() -> FakeLlm {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts on `addr` (`host:port`), answering [`Behaviour::Structured`].
    pub async fn start_on(addr: &str) -> FakeLlm {
        let state = Arc::new(Mutex::new(FakeState {
            queue: VecDeque::new(),
            default: Behaviour::Structured,
            received: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/embeddings", post(embeddings))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the fake LLM's address");
        let url = format!("http://{}/v1", listener.local_addr().expect("address"));
        let stop = crate::serve_until_stopped(listener, app);
        FakeLlm {
            url,
            state,
            stop: Some(stop),
        }
    }

    /// The base URL, with `/v1` (what `OPENAI_BASE_URL` is set to).
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.url
    }

    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().expect("fake state"))
    }

    /// Answers the next chat requests with these, in order (then the default).
    pub fn queue(&self, behaviours: &[Behaviour]) {
        self.with(|s| s.queue.extend(behaviours.iter().copied()));
    }

    /// Answers every chat request not queued for with `b`.
    pub fn set_default(&self, b: Behaviour) {
        self.with(|s| s.default = b);
    }

    /// Every request received, in order.
    #[must_use]
    pub fn requests(&self) -> Vec<Received> {
        self.with(|s| s.received.clone())
    }

    /// The bodies of the chat requests received.
    #[must_use]
    pub fn chat_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.endpoint == "chat")
            .map(|r| r.body)
            .collect()
    }
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": kind, "param": null, "code": null}})),
    )
        .into_response()
}

async fn chat(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &e.to_string(),
            );
        }
    };
    let behaviour = {
        let mut s = state.lock().expect("fake state");
        s.received.push(Received {
            endpoint: "chat",
            authorization: header(&headers, "authorization"),
            body: body.clone(),
        });
        s.queue.pop_front().unwrap_or(s.default)
    };
    let wants_schema = body["response_format"]["type"] == "json_schema";
    let content = match behaviour {
        Behaviour::RateLimited => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "Rate limit reached",
            );
            r.headers_mut()
                .insert("retry-after", "0".parse().expect("header"));
            return r;
        }
        Behaviour::ServerError => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The server had an error",
            );
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Behaviour::RefuseJsonSchema if wants_schema => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
            );
        }
        Behaviour::Malformed => "Here is your runbook: step 1, restart things; step 2 …".to_owned(),
        Behaviour::WrongShape => json!({"runbook": "restart it"}).to_string(),
        Behaviour::Structured | Behaviour::RefuseJsonSchema => draft_for(&body).to_string(),
    };
    let prompt_chars: usize = body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["content"].as_str().map_or(0, str::len))
                .sum()
        })
        .unwrap_or(0);
    let prompt_tokens = (prompt_chars / 4).max(1);
    let completion_tokens = (content.len() / 4).max(1);
    Json(json!({
        "id": format!("chatcmpl-fake-{}", uuid::Uuid::new_v4().simple()),
        "object": "chat.completion",
        "created": chrono::Utc::now().timestamp(),
        "model": body["model"],
        "choices": [{
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": content, "refusal": null}
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        }
    }))
    .into_response()
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// One numbered source of a prompt.
struct Source {
    n: u64,
    label: String,
    text: String,
}

/// The user message's content.
fn user_message(body: &Value) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of a `## Heading` section of the user message.
fn section<'a>(user: &'a str, heading: &str) -> Option<&'a str> {
    let start = user.find(&format!("## {heading}"))?;
    let rest = &user[start..];
    let body_start = rest.find('\n').map_or(rest.len(), |i| i + 1);
    let body = &rest[body_start..];
    let end = body.find("\n## ").unwrap_or(body.len());
    Some(body[..end].trim())
}

fn sources(user: &str) -> Vec<Source> {
    let Some(text) = section(user, "Sources") else {
        return Vec::new();
    };
    let mut out: Vec<Source> = Vec::new();
    for line in text.lines() {
        let numbered = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .and_then(|(n, label)| Some((n.parse::<u64>().ok()?, label)));
        match (numbered, out.last_mut()) {
            (Some((n, label)), _) => out.push(Source {
                n,
                label: label.to_owned(),
                text: String::new(),
            }),
            (None, Some(s)) => {
                if !s.text.is_empty() {
                    s.text.push('\n');
                }
                s.text.push_str(line);
            }
            (None, None) => {}
        }
    }
    out
}

/// A command in a source's text: a fenced block, an inline code span, or a line starting with a known tool.
fn command_in(text: &str) -> Option<(String, &'static str)> {
    let fenced = text.split("```").nth(1).map(|b| {
        b.split_once('\n')
            .map_or(b, |(_, rest)| rest)
            .trim()
            .to_owned()
    });
    let inline = || text.split('`').nth(1).map(|s| s.trim().to_owned());
    let line = || {
        text.lines().map(str::trim).find_map(|l| {
            [
                "kubectl ",
                "aws ",
                "psql ",
                "systemctl ",
                "redis-cli ",
                "SELECT ",
                "curl ",
            ]
            .iter()
            .any(|p| l.starts_with(p))
            .then(|| l.to_owned())
        })
    };
    let cmd = fenced
        .filter(|c| !c.is_empty())
        .or_else(inline)
        .filter(|c| !c.is_empty())
        .or_else(line)?;
    let first = cmd.split_whitespace().next().unwrap_or("").to_lowercase();
    let language = match first.as_str() {
        "kubectl" => "kubectl",
        "aws" => "aws",
        "select" | "update" | "delete" | "insert" | "vacuum" | "drop" | "truncate" => "sql",
        _ => "shell",
    };
    Some((cmd, language))
}

/// A valid draft for a request: from its sources, or its previous draft for a refinement.
fn draft_for(body: &Value) -> Value {
    let user = user_message(body);
    let instructions = section(&user, "What to change").map(str::to_owned);
    if let Some(previous) =
        section(&user, "Previous draft").and_then(|p| serde_json::from_str::<Value>(p).ok())
    {
        let mut steps = previous["steps"].as_array().cloned().unwrap_or_default();
        let wants = instructions.clone().unwrap_or_default().to_lowercase();
        if wants.contains("shorter") && steps.len() > 1 {
            steps.pop();
        }
        return json!({
            "title": format!("{} (refined)", previous["title"].as_str().unwrap_or("Runbook")),
            "summary": format!("{} Refined: {}", previous["summary"].as_str().unwrap_or(""),
                instructions.unwrap_or_default()),
            "steps": steps,
        });
    }
    let problem = section(&user, "Problem")
        .and_then(|p| p.lines().next())
        .unwrap_or("the problem")
        .to_owned();
    let mut steps: Vec<Value> = sources(&user)
        .iter()
        .take(6)
        .map(|s| {
            let title = s
                .label
                .rsplit_once(": ")
                .map_or(s.label.as_str(), |(_, t)| t)
                .to_owned();
            let why = s.text.lines().next().unwrap_or("").trim().to_owned();
            json!({
                "title": title,
                "why": why,
                "command": command_in(&s.text).map(|(text, language)| json!({"language": language, "text": text})),
                "risk": "read_only",
                "expected": null,
                "citations": [s.n],
            })
        })
        .collect();
    steps.push(json!({
        "title": "Confirm the alert has cleared",
        "why": "Check that the symptom is gone before closing the incident.",
        "command": null,
        "risk": "read_only",
        "expected": "The alert resolves on its own.",
        "citations": [],
    }));
    json!({
        "title": format!("Runbook: {problem}"),
        "summary": format!("Steps for {problem}, from the team's runbooks and past fixes."),
        "steps": steps,
    })
}

async fn embeddings(
    State(state): State<Arc<Mutex<FakeState>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    state.lock().expect("fake state").received.push(Received {
        endpoint: "embeddings",
        authorization: header(&headers, "authorization"),
        body: body.clone(),
    });
    let dims = body["dimensions"].as_u64().unwrap_or(64) as usize;
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "input must be text",
            );
        }
    };
    let tokens: usize = inputs.iter().map(|t| (t.len() / 4).max(1)).sum();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"object": "embedding", "index": i,
                   "embedding": crate::embedding::trigram_embedding(t, dims)})
        })
        .collect();
    Json(json!({
        "object": "list",
        "model": body["model"],
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens}
    }))
    .into_response()
}
