//! The OpenAI-compatible model client, through `async-openai`: chat completions asking for structured output
//! (a JSON schema), and embeddings. Every call has a time limit and is retried with exponential backoff on a
//! timeout, a 429, a 5xx or a connection error (honouring `Retry-After`); what finally failed is classified
//! ([`LlmError`]) so the caller can say why.
//!
//! async-openai's own retry layer is not used (the client is built on its bare `ReqwestService`), so a call
//! makes exactly the attempts [`LlmSettings::max_attempts`] says. The API key is only ever put in the
//! `Authorization` header: it is not in any `Debug` output, log line or error.

mod retry;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat,
    ResponseFormatJsonSchema,
};
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub use retry::{backoff_delay, parse_retry_after};

/// Where and how to call the model (built by the worker from `insights_core::config::LlmConfig`).
#[derive(Clone)]
pub struct LlmSettings {
    /// Including the `/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub backoff: Duration,
}

impl std::fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[set]"))
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// Why a call failed, after its retries.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model endpoint rate-limited every attempt (429)")]
    RateLimited,
    #[error("the model endpoint did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the model endpoint refused the request: {0}")]
    Refused(String),
    #[error("the model endpoint failed: {0}")]
    Unavailable(String),
    #[error("the model's answer is not valid: {0}")]
    Malformed(String),
}

impl LlmError {
    /// Whether another attempt may succeed (a refused request, a bad key or a spent quota will not).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        !matches!(self, LlmError::Refused(_))
    }
}

/// Tokens a call used, as the endpoint reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

impl Usage {
    #[must_use]
    pub fn total(&self) -> u64 {
        u64::from(self.prompt_tokens) + u64::from(self.completion_tokens)
    }

    fn add(&mut self, other: Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
    }
}

/// Who a message is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
}

/// One message of a chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    #[must_use]
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }

    #[must_use]
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// A chat model asked for answers in a JSON schema.
pub struct ChatModel {
    pub settings: LlmSettings,
    pub model: String,
}

/// How the answer's format is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `response_format: {type: json_schema, strict: true}`.
    Schema,
    /// `response_format: {type: json_object}` with the schema in the system message: for endpoints that
    /// refuse `json_schema`.
    Object,
}

impl ChatModel {
    /// Asks for an answer in `schema` (strict structured output) and returns it parsed, with the tokens used
    /// (summed over the attempts that got an answer). An endpoint that refuses `json_schema` (400/422 to the
    /// first request) is asked once more with `json_object` and the schema in the system message. An answer
    /// that is not a JSON object is retried like a failed call; one wrapped in a Markdown fence or prose is
    /// repaired (its outermost object is taken).
    pub async fn complete_json(
        &self,
        messages: &[Message],
        schema_name: &str,
        schema: &serde_json::Value,
    ) -> Result<(serde_json::Value, Usage), LlmError> {
        let mut format = Format::Schema;
        let mut usage = Usage::default();
        let mut attempt = 0u32;
        let max = self.settings.max_attempts.max(1);
        loop {
            attempt += 1;
            let request = self.chat_request(messages, schema_name, schema, format);
            let retry::Attempt {
                result,
                status,
                retry_after,
            } = retry::call(&self.settings, |client| async move {
                client.chat().create(request).await
            })
            .await;
            let error = match result {
                Ok(response) => {
                    if let Some(u) = &response.usage {
                        usage.add(Usage {
                            prompt_tokens: u.prompt_tokens,
                            completion_tokens: u.completion_tokens,
                        });
                    }
                    let choice = response.choices.into_iter().next();
                    match choice {
                        Some(c) if c.message.refusal.as_deref().is_some_and(|r| !r.is_empty()) => {
                            // A refusal will be refused again: not retried.
                            return Err(LlmError::Refused(format!(
                                "the model declined: {}",
                                truncate(c.message.refusal.as_deref().unwrap_or_default(), 300)
                            )));
                        }
                        Some(c) => {
                            match parse_json_object(c.message.content.as_deref().unwrap_or("")) {
                                Ok(value) => return Ok((value, usage)),
                                Err(e) => e,
                            }
                        }
                        None => LlmError::Malformed("the answer has no choices".into()),
                    }
                }
                Err(e) => e,
            };
            // An endpoint that does not know `json_schema` answers 400 (or 422): ask once with `json_object`
            // instead (not counted as an attempt: the endpoint answered, it only refused the format).
            if format == Format::Schema && matches!(status, Some(400 | 422)) {
                tracing::info!(model = %self.model, "the endpoint refused json_schema; asking for json_object");
                format = Format::Object;
                attempt -= 1;
                continue;
            }
            if !error.is_transient() || attempt >= max {
                return Err(error);
            }
            let wait = backoff_delay(self.settings.backoff, attempt, retry_after);
            tracing::warn!(model = %self.model, attempt, error = %error, wait_ms = wait.as_millis() as u64,
                "model call failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    fn chat_request(
        &self,
        messages: &[Message],
        schema_name: &str,
        schema: &serde_json::Value,
        format: Format,
    ) -> CreateChatCompletionRequest {
        let mut messages: Vec<Message> = messages.to_vec();
        let response_format = match format {
            Format::Schema => ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: None,
                    name: schema_name.to_owned(),
                    schema: schema.clone(),
                    strict: Some(true),
                },
            },
            Format::Object => {
                let note = format!(
                    "Answer with one JSON object only, no prose, valid against this JSON schema:\n{schema}"
                );
                match messages.iter_mut().find(|m| m.role == Role::System) {
                    Some(system) => {
                        system.content.push_str("\n\n");
                        system.content.push_str(&note);
                    }
                    None => messages.insert(0, Message::system(note)),
                }
                ResponseFormat::JsonObject
            }
        };
        CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: messages
                .into_iter()
                .map(|m| match m.role {
                    Role::System => ChatCompletionRequestMessage::System(
                        ChatCompletionRequestSystemMessage::from(m.content),
                    ),
                    Role::User => {
                        ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                            content: m.content.into(),
                            name: None,
                        })
                    }
                })
                .collect(),
            response_format: Some(response_format),
            temperature: Some(0.2),
            ..Default::default()
        }
    }
}

/// The JSON object in a model's answer: the whole text, or (repaired) the outermost `{…}` in it when the model
/// wrapped it in a Markdown fence or prose.
fn parse_json_object(content: &str) -> Result<serde_json::Value, LlmError> {
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Err(LlmError::Malformed("the answer is empty".into()));
    }
    let parsed = serde_json::from_str::<serde_json::Value>(trimmed).or_else(|e| {
        match (trimmed.find('{'), trimmed.rfind('}')) {
            (Some(a), Some(b)) if a < b => serde_json::from_str(&trimmed[a..=b]),
            _ => Err(e),
        }
    });
    match parsed {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(LlmError::Malformed(
            "the answer is not a JSON object".into(),
        )),
        Err(e) => Err(LlmError::Malformed(format!("the answer is not JSON ({e})"))),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// Embeddings of texts with one model, in the order given.
pub struct Embedder {
    pub settings: LlmSettings,
    pub model: String,
    pub dimensions: u32,
}

/// How many texts one embeddings request carries.
const EMBED_BATCH: usize = 128;

impl Embedder {
    /// One vector of `dimensions` floats per text (requests of up to 128 texts, each retried like a chat call).
    pub async fn embed(&self, texts: &[String]) -> Result<(Vec<Vec<f32>>, Usage), LlmError> {
        let mut out = Vec::with_capacity(texts.len());
        let mut usage = Usage::default();
        for batch in texts.chunks(EMBED_BATCH) {
            let (vectors, used) = self.embed_batch(batch).await?;
            out.extend(vectors);
            usage.add(used);
        }
        Ok((out, usage))
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<(Vec<Vec<f32>>, Usage), LlmError> {
        let max = self.settings.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = CreateEmbeddingRequest {
                model: self.model.clone(),
                input: EmbeddingInput::StringArray(texts.to_vec()),
                dimensions: Some(self.dimensions),
                ..Default::default()
            };
            let retry::Attempt {
                result,
                retry_after,
                ..
            } = retry::call(&self.settings, |client| async move {
                client.embeddings().create(request).await
            })
            .await;
            let error = match result {
                Ok(response) => {
                    let used = Usage {
                        prompt_tokens: response.usage.prompt_tokens,
                        completion_tokens: 0,
                    };
                    let mut data = response.data;
                    data.sort_by_key(|e| e.index);
                    let dims = self.dimensions as usize;
                    if data.len() != texts.len() {
                        LlmError::Malformed(format!(
                            "{} embeddings for {} texts",
                            data.len(),
                            texts.len()
                        ))
                    } else if let Some(bad) = data.iter().find(|e| e.embedding.len() != dims) {
                        LlmError::Malformed(format!(
                            "an embedding has {} dimensions, not {dims}",
                            bad.embedding.len()
                        ))
                    } else {
                        return Ok((data.into_iter().map(|e| e.embedding).collect(), used));
                    }
                }
                Err(e) => e,
            };
            if !error.is_transient() || attempt >= max {
                return Err(error);
            }
            tokio::time::sleep(backoff_delay(self.settings.backoff, attempt, retry_after)).await;
        }
    }
}

/// The async-openai client for one attempt (no retry layer of its own), capturing `Retry-After`.
fn client(settings: &LlmSettings, capture: retry::Capture) -> Client<OpenAIConfig> {
    let config = OpenAIConfig::new()
        .with_api_base(settings.base_url.trim_end_matches('/'))
        .with_api_key(settings.api_key.clone().unwrap_or_default());
    Client::with_config(config).with_http_service(capture)
}

/// Classifies an async-openai error.
fn classify(e: OpenAIError) -> LlmError {
    match e {
        OpenAIError::ApiError(r) => {
            let status = r.status_code.as_u16();
            let message = truncate(&r.api_error.message, 300);
            match status {
                429 if r.api_error.r#type.as_deref() == Some("insufficient_quota")
                    || r.api_error.code.as_deref() == Some("insufficient_quota") =>
                {
                    LlmError::Refused(format!("429 the account's quota is spent: {message}"))
                }
                429 => LlmError::RateLimited,
                408 => LlmError::Unavailable(format!("408 {message}")),
                s if s >= 500 => LlmError::Unavailable(format!("{s} {message}")),
                s => LlmError::Refused(format!("{s} {message}")),
            }
        }
        OpenAIError::Reqwest(e) if e.is_decode() => {
            LlmError::Malformed(format!("the response does not parse: {e}"))
        }
        OpenAIError::Reqwest(e) => LlmError::Unavailable(format!("{e}")),
        OpenAIError::JSONDeserialize(e, _) => {
            LlmError::Malformed(format!("the response is not a completion: {e}"))
        }
        OpenAIError::InvalidArgument(m) => LlmError::Refused(m),
        other => LlmError::Unavailable(truncate(&other.to_string(), 300)),
    }
}

#[cfg(test)]
mod tests;
