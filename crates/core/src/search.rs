//! Search of the runbook index, answered by the worker: the index is owned by the worker (an embedded shard
//! has one owner process), so the API asks over Redis and waits for the answer.
//!
//! The protocol: the API pushes a [`SearchRequest`] (the organization first, then a fresh request id, a
//! deadline and the [`SearchQuery`]) onto the list `{prefix}:search:requests` and waits on the reply list
//! `{prefix}:search:reply:{id}` with a blocking pop on a connection of its own (a blocking command on the shared
//! multiplexed connection would hold up every other command behind it). A worker pops requests ([`serve`], or
//! [`next_request`] + [`reply`]), searches **that organization only**, and pushes a [`SearchReply`] onto the
//! reply list with an expiry, so an answer nobody waits for any more disappears. No answer within the timeout
//! (no worker running, Redis down, a worker too busy) is [`SearchError::Unavailable`], which the API answers
//! with 503 `search_unavailable`.
//!
//! The request list is trimmed and expires when no worker drains it, so a stopped worker does not leave a
//! backlog behind, and a worker skips requests whose deadline passed long ago (their asker gave up).

use insights_types::api::{SearchMode, SnippetPartOut, SourceKind, SourceRefOut};
use insights_types::{IncidentId, OrgId, PatternId, ServiceId};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// The most hits one search answers.
pub const MAX_LIMIT: usize = 100;

/// At most this many requests wait in the list (older ones are dropped when no worker drains it).
const MAX_QUEUED: isize = 1000;

/// The request list expires when nothing was pushed for this long (a worker popping keeps nothing alive: an
/// empty list does not exist).
const QUEUE_TTL: Duration = Duration::from_secs(60);

/// A request whose deadline passed more than this long ago is skipped by the worker (clock skew between the
/// API's and the worker's machines is tolerated up to this much).
const STALE_AFTER: Duration = Duration::from_secs(10);

/// How long a worker blocks waiting for a request before looking at its stop signal again.
const POLL: Duration = Duration::from_secs(1);

/// What a search keeps: every field narrows (a chunk must match each non-empty one); within a field, any of
/// the values matches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchFilter {
    /// Runbook chunks, past fixes, or both (empty).
    pub kinds: Vec<SourceKind>,
    /// Chunks with at least one of these tags (runbook tags, stored lower-cased).
    pub tags: Vec<String>,
    /// Chunks linked to at least one of these services (a runbook's services, a past fix's incident service).
    pub service_ids: Vec<ServiceId>,
    /// Chunks linked to at least one of these patterns (a runbook's patterns, a past fix's incident pattern).
    pub pattern_ids: Vec<PatternId>,
    /// Past fixes of these incidents are left out (searching for an incident should not find itself).
    pub exclude_incidents: Vec<IncidentId>,
}

/// One search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// The text searched (free text, or built from an incident or a pattern).
    pub text: String,
    /// At most this many hits (1–[`MAX_LIMIT`]; the worker clamps it).
    pub limit: usize,
    #[serde(default)]
    pub filter: SearchFilter,
}

/// One hit: where it came from, its whole text (what generation gives the model), the snippet for the query
/// (matched terms highlighted) and its fused score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub source: SourceRefOut,
    pub text: String,
    pub snippet: Vec<SnippetPartOut>,
    /// Higher is better; comparable within one answer only.
    pub score: f64,
}

/// The answer to a search, best hit first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchAnswer {
    pub hits: Vec<SearchHit>,
    /// `Hybrid` when dense vectors took part, `Lexical` otherwise (no embeddings model, or it failed).
    pub mode: SearchMode,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// No answer in time, or Redis unreachable: the API answers 503 `search_unavailable`.
    #[error("search unavailable: {0}")]
    Unavailable(String),
    /// The worker answered with an error (logged there with its details).
    #[error("search failed: {0}")]
    Failed(String),
}

/// A request as queued: the organization first — the worker searches that organization only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub org_id: OrgId,
    pub id: Uuid,
    /// When the asker stops waiting, in milliseconds since the Unix epoch.
    pub deadline_ms: i64,
    pub query: SearchQuery,
}

/// The worker's answer to one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchReply {
    Answer(SearchAnswer),
    Error(String),
}

/// The list requests are queued on.
#[must_use]
pub fn requests_key(prefix: &str) -> String {
    format!("{prefix}:search:requests")
}

/// The list the answer to request `id` is pushed onto.
#[must_use]
pub fn reply_key(prefix: &str, id: Uuid) -> String {
    format!("{prefix}:search:reply:{id}")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn unavailable(e: impl std::fmt::Display) -> SearchError {
    SearchError::Unavailable(e.to_string())
}

/// Asks a worker to search `org_id` and waits at most `timeout` for the answer (API side). Opens a connection
/// of its own for the blocking wait.
pub async fn ask(
    redis: &redis::Client,
    prefix: &str,
    org_id: OrgId,
    query: SearchQuery,
    timeout: Duration,
) -> Result<SearchAnswer, SearchError> {
    let started = tokio::time::Instant::now();
    let request = SearchRequest {
        org_id,
        id: Uuid::new_v4(),
        deadline_ms: now_ms().saturating_add(millis(timeout)),
        query,
    };
    let payload = serde_json::to_string(&request).map_err(unavailable)?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        // The blocking pop below answers within `timeout`; the margin covers the round trip.
        .set_response_timeout(Some(timeout + Duration::from_secs(1)));
    let mut conn = tokio::time::timeout(
        timeout,
        redis.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    .map_err(|_| unavailable("Redis did not answer in time"))?
    .map_err(unavailable)?;
    let queue = requests_key(prefix);
    let () = redis::pipe()
        .lpush(&queue, payload)
        .ignore()
        .ltrim(&queue, 0, MAX_QUEUED - 1)
        .ignore()
        .pexpire(&queue, millis(QUEUE_TTL))
        .ignore()
        .query_async(&mut conn)
        .await
        .map_err(unavailable)?;
    let left = timeout.saturating_sub(started.elapsed());
    if left.is_zero() {
        return Err(unavailable("no answer in time"));
    }
    let popped: Option<(String, String)> = conn
        // At least 10 ms: a blocking pop with a timeout of 0 would wait forever.
        .blpop(reply_key(prefix, request.id), left.as_secs_f64().max(0.01))
        .await
        .map_err(unavailable)?;
    let Some((_, body)) = popped else {
        return Err(unavailable("no worker answered in time"));
    };
    match serde_json::from_str::<SearchReply>(&body)
        .map_err(|e| SearchError::Failed(format!("unreadable answer: {e}")))?
    {
        SearchReply::Answer(answer) => Ok(answer),
        SearchReply::Error(e) => Err(SearchError::Failed(e)),
    }
}

/// Waits up to `wait` for the next request (worker side; `conn` must be a connection of its own, without a
/// response timeout shorter than `wait`). Requests that cannot be read or whose asker gave up long ago are
/// skipped (`Ok(None)`).
pub async fn next_request(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
    wait: Duration,
) -> redis::RedisResult<Option<SearchRequest>> {
    let popped: Option<(String, String)> =
        conn.brpop(requests_key(prefix), wait.as_secs_f64()).await?;
    let Some((_, body)) = popped else {
        return Ok(None);
    };
    match serde_json::from_str::<SearchRequest>(&body) {
        Ok(request) if request.deadline_ms.saturating_add(millis(STALE_AFTER)) < now_ms() => {
            tracing::debug!(id = %request.id, "search request skipped: its asker gave up");
            Ok(None)
        }
        Ok(request) => Ok(Some(request)),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable search request skipped");
            Ok(None)
        }
    }
}

/// Pushes the answer to `request` (worker side); it expires soon after the asker's deadline.
pub async fn reply<C: redis::aio::ConnectionLike + Send>(
    conn: &mut C,
    prefix: &str,
    request: &SearchRequest,
    answer: &SearchReply,
) -> redis::RedisResult<()> {
    let key = reply_key(prefix, request.id);
    let body = serde_json::to_string(answer).map_err(|e| {
        redis::RedisError::from((redis::ErrorKind::Client, "search answer", e.to_string()))
    })?;
    let ttl = (request.deadline_ms - now_ms()).max(0) + millis(STALE_AFTER);
    redis::pipe()
        .rpush(&key, body)
        .ignore()
        .pexpire(&key, ttl)
        .ignore()
        .query_async(conn)
        .await
}

/// Answers search requests until `stop` resolves (worker side): at most `concurrency` searches at a time,
/// each through `search(org_id, query)`. Redis errors are logged and retried after a pause, so a Redis restart
/// does not end the server.
pub async fn serve<F, Fut>(
    redis: redis::Client,
    prefix: String,
    concurrency: usize,
    search: F,
    stop: impl Future<Output = ()>,
) where
    F: Fn(OrgId, SearchQuery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<SearchAnswer, String>> + Send + 'static,
{
    let search = Arc::new(search);
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let prefix: Arc<str> = prefix.into();
    tokio::pin!(stop);
    // Blocking pops need a connection of their own with no response timeout shorter than the pop's.
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(POLL + Duration::from_secs(5)));
    // (listener, replier): answers go through a second connection, never queued behind a blocking pop.
    let mut conns: Option<(MultiplexedConnection, MultiplexedConnection)> = None;
    loop {
        let (conn, replier) = match &mut conns {
            Some((listener, replier)) => (listener, replier.clone()),
            None => {
                let connected = tokio::select! {
                    () = &mut stop => return,
                    c = async {
                        let listener = redis.get_multiplexed_async_connection_with_config(&config).await?;
                        let replier = redis.get_multiplexed_async_connection().await?;
                        redis::RedisResult::Ok((listener, replier))
                    } => c,
                };
                match connected {
                    Ok(pair) => {
                        conns = Some(pair);
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "search server: cannot connect to Redis; retrying");
                        tokio::select! {
                            () = &mut stop => return,
                            () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                }
            }
        };
        let permit = tokio::select! {
            () = &mut stop => return,
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let next = tokio::select! {
            () = &mut stop => return,
            r = next_request(conn, &prefix, POLL) => r,
        };
        let request = match next {
            Ok(Some(request)) => request,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "search server: Redis failed; reconnecting");
                conns = None;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let mut replier = replier;
        let search = search.clone();
        let prefix = prefix.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut query = request.query.clone();
            query.limit = query.limit.clamp(1, MAX_LIMIT);
            let answer = match search(request.org_id, query).await {
                Ok(answer) => SearchReply::Answer(answer),
                Err(e) => SearchReply::Error(e),
            };
            if let Err(e) = reply(&mut replier, &prefix, &request, &answer).await {
                tracing::warn!(error = %e, id = %request.id, "search server: cannot push an answer");
            }
        });
    }
}
