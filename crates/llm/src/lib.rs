//! The OpenAI-compatible model client, through `async-openai`: chat completions asking for structured output
//! (a JSON schema), and embeddings. Every call has a time limit and is retried with exponential backoff on a
//! timeout, a 429 or a 5xx; what finally failed is classified ([`LlmError`]) so the caller can say why.
//!
//! Skeleton (the contract): the generation engineer fills the bodies.

use std::time::Duration;

/// Where and how to call the model (built by the worker from `insights_core::config::LlmConfig`).
#[derive(Clone, Debug)]
pub struct LlmSettings {
    /// Including the `/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub backoff: Duration,
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

/// Tokens a call used, as the endpoint reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Embeddings of texts with one model, in the order given.
pub struct Embedder {
    pub settings: LlmSettings,
    pub model: String,
    pub dimensions: u32,
}

impl Embedder {
    /// One vector of `dimensions` floats per text.
    pub async fn embed(&self, texts: &[String]) -> Result<(Vec<Vec<f32>>, Usage), LlmError> {
        let _ = texts;
        Err(LlmError::Unavailable("not built yet".into()))
    }
}
