//! The llm section (optional): the OpenAI-compatible endpoint that writes runbook drafts, and the embeddings
//! model that adds dense vectors to the index. Without `INSIGHTS_LLM_MODEL` every draft is assembled from the
//! retrieved sources (labelled as such); without `INSIGHTS_EMBEDDING_MODEL` the index is lexical only.

use super::ConfigError;
use super::env::Env;
use super::vars;
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

/// Read by both binaries: the API shows which models are configured, the worker calls them.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// `OPENAI_BASE_URL`, including the `/v1` (default `https://api.openai.com/v1`).
    pub base_url: Url,
    pub api_key: Option<SecretString>,
    /// The chat model drafts are written by; `None`: drafts are assembled.
    pub model: Option<String>,
    /// The embeddings model; `None`: lexical vectors only.
    pub embedding_model: Option<String>,
    /// The embeddings' dimension (`INSIGHTS_EMBEDDING_DIMENSIONS`, required with an embeddings model: the
    /// index is created with it).
    pub embedding_dimensions: Option<u32>,
    /// One call's time limit, and how often a call that failed (timeout, 429, 5xx) is tried in all, with
    /// exponential backoff from `backoff`.
    pub timeout: Duration,
    pub max_attempts: u32,
    pub backoff: Duration,
}

impl LlmConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let model = env.value(vars::LLM_MODEL)?.filter(|m| !m.trim().is_empty());
        let embedding_model = env
            .value(vars::EMBEDDING_MODEL)?
            .filter(|m| !m.trim().is_empty());
        let embedding_dimensions = match env.value(vars::EMBEDDING_DIMENSIONS)? {
            None => None,
            Some(_) => Some(env.positive(vars::EMBEDDING_DIMENSIONS, 1)?),
        };
        if embedding_model.is_some() && embedding_dimensions.is_none() {
            return Err(vars::EMBEDDING_DIMENSIONS
                .err("is required when INSIGHTS_EMBEDDING_MODEL is set (e.g. 1536 for text-embedding-3-small)"));
        }
        if embedding_dimensions.is_some_and(|d| d > 16_384) {
            return Err(vars::EMBEDDING_DIMENSIONS.err("must be at most 16384"));
        }
        Ok(LlmConfig {
            base_url: env
                .http_url(vars::OPENAI_BASE_URL)?
                .unwrap_or_else(|| Url::parse("https://api.openai.com/v1").expect("valid URL")),
            api_key: env.value(vars::OPENAI_API_KEY)?.map(SecretString::from),
            model,
            embedding_model,
            embedding_dimensions,
            timeout: env.secs(vars::LLM_TIMEOUT_SECS, 120)?,
            max_attempts: env.positive(vars::LLM_MAX_ATTEMPTS, 4)?,
            backoff: env.millis(vars::LLM_BACKOFF_MS, 1000)?,
        })
    }
}
