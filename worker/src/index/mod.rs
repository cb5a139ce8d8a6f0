//! The runbook index, owned by the worker (see `insights_index`): opened when the worker starts running —
//! the embedded shard under `$INSIGHTS_DATA_DIR/vectors` by default (one owner: a second worker on the same
//! directory stops with one line saying so), a Qdrant server when `QDRANT_URL` is set — then:
//!
//! - [`indexer`]: drains `vector_outbox` (every ~500 ms), indexing each runbook, past fix or organization as it
//!   is then (or removing it), with dense vectors when an embeddings model is configured;
//! - the search server: answers `insights_core::search::ask` requests ([`Index::search`]);
//! - [`Index::search`] is also what the generation job retrieves with, in process (through
//!   `WorkerState::index`).

pub mod indexer;

use anyhow::Context;
use insights_core::config::WorkerConfig;
use insights_core::db::Db;
use insights_core::search::{SearchAnswer, SearchHit, SearchQuery};
use insights_index::{ChunkKind, EdgeIndex, Filter, Query, ServerIndex, VectorIndex};
use insights_llm::Embedder;
use insights_retrieval::{Chunk, ChunkSource, snippet};
use insights_types::api::{SearchMode, SnippetPartOut, SourceKind, SourceRefOut};
use insights_types::{IncidentEventId, IncidentId, OrgId, RunbookId};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::Arc;

/// The directory of the embedded index inside `INSIGHTS_DATA_DIR`.
pub const VECTORS_DIR: &str = "vectors";

/// The open index and how to embed for it.
pub struct Index {
    pub index: VectorIndex,
    /// Present when `INSIGHTS_EMBEDDING_MODEL` is set: chunks and queries get dense vectors.
    pub embedder: Option<Embedder>,
}

/// The embeddings model of the configuration, if any.
#[must_use]
pub fn embedder(config: &WorkerConfig) -> Option<Embedder> {
    let llm = &config.llm;
    let model = llm.embedding_model.clone()?;
    let dimensions = llm.embedding_dimensions?;
    Some(Embedder {
        settings: crate::llm_settings(llm),
        model,
        dimensions,
    })
}

impl Index {
    /// Opens the configured index: a Qdrant server when `QDRANT_URL` is set, else the embedded shard (whose
    /// lock makes this fail at once if another worker owns it).
    pub async fn open(config: &WorkerConfig) -> anyhow::Result<Self> {
        let embedder = embedder(config);
        let dims = embedder.as_ref().map(|e| e.dimensions as usize);
        let v = &config.vector;
        let index = match &v.qdrant_url {
            Some(url) => VectorIndex::Server(
                ServerIndex::open(
                    url.as_str(),
                    v.qdrant_api_key
                        .as_ref()
                        .map(|k| k.expose_secret().to_owned()),
                    &v.collection,
                    dims,
                )
                .await
                .context("QDRANT_URL: cannot open the vector index")?,
            ),
            None => VectorIndex::Edge(
                EdgeIndex::open(&config.general.data_dir.join(VECTORS_DIR), dims).await?,
            ),
        };
        Ok(Index { index, embedder })
    }

    /// Searches `org` for `query`: hybrid when an embeddings model is configured and answers, lexical
    /// otherwise. Hits carry their source (incident numbers read from `org`'s data), text and snippet.
    pub async fn search(
        &self,
        db: &Db,
        org: OrgId,
        query: &SearchQuery,
    ) -> anyhow::Result<SearchAnswer> {
        let mut q = Query::lexical(&query.text);
        if let Some(embedder) = &self.embedder {
            match embedder.embed(std::slice::from_ref(&query.text)).await {
                Ok((mut v, _)) if v.len() == 1 => q.dense = v.pop(),
                Ok(_) => tracing::warn!(
                    "the embeddings endpoint answered no vector; searching lexically"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "embeddings unavailable; searching lexically");
                }
            }
        }
        let filter = Filter {
            kinds: query
                .filter
                .kinds
                .iter()
                .map(|k| match k {
                    SourceKind::Runbook => ChunkKind::Runbook,
                    SourceKind::PastFix => ChunkKind::PastFix,
                })
                .collect(),
            tags: query.filter.tags.clone(),
            service_ids: query.filter.service_ids.iter().map(|s| s.0).collect(),
            pattern_ids: query.filter.pattern_ids.iter().map(|p| p.0).collect(),
            exclude_incidents: query.filter.exclude_incidents.iter().map(|i| i.0).collect(),
        };
        let limit = query.limit.clamp(1, insights_core::search::MAX_LIMIT);
        let mode = if q.dense.is_some() {
            SearchMode::Hybrid
        } else {
            SearchMode::Lexical
        };
        let hits = self.index.search(org.0, &q, &filter, limit).await?;
        let incidents: Vec<uuid::Uuid> = hits
            .iter()
            .filter_map(|h| match h.chunk.source {
                ChunkSource::PastFix { incident_id, .. } => Some(incident_id),
                ChunkSource::Runbook { .. } => None,
            })
            .collect();
        let numbers: HashMap<uuid::Uuid, Option<i64>> = if incidents.is_empty() {
            HashMap::new()
        } else {
            let mut tx = db.org_tx(org, None).await?;
            let n = insights_core::runbooks::outbox::incident_numbers(&mut tx, &incidents).await?;
            tx.commit().await?;
            n.into_iter().collect()
        };
        Ok(SearchAnswer {
            hits: hits
                .into_iter()
                .map(|h| SearchHit {
                    snippet: snippet::snippet(&h.chunk.text, &query.text, snippet::WINDOW)
                        .into_iter()
                        .map(|p| SnippetPartOut {
                            text: p.text,
                            highlight: p.highlight,
                        })
                        .collect(),
                    source: source_ref(&h.chunk, &numbers),
                    text: h.chunk.text,
                    score: h.score,
                })
                .collect(),
            mode,
        })
    }
}

/// Where a chunk came from, as the API shows it.
#[must_use]
pub fn source_ref(chunk: &Chunk, numbers: &HashMap<uuid::Uuid, Option<i64>>) -> SourceRefOut {
    let base = SourceRefOut {
        kind: SourceKind::Runbook,
        runbook_id: None,
        runbook_version: None,
        step: None,
        incident_id: None,
        incident_number: None,
        event_id: None,
        title: chunk.title.clone(),
        heading: chunk.heading.clone(),
    };
    match chunk.source {
        ChunkSource::Runbook {
            runbook_id,
            version,
            step,
            ..
        } => SourceRefOut {
            runbook_id: Some(RunbookId(runbook_id)),
            runbook_version: Some(version),
            step: step.and_then(|s| i32::try_from(s).ok()),
            ..base
        },
        ChunkSource::PastFix {
            incident_id,
            event_id,
        } => SourceRefOut {
            kind: SourceKind::PastFix,
            incident_id: Some(IncidentId(incident_id)),
            incident_number: numbers.get(&incident_id).copied().flatten(),
            event_id: event_id.map(IncidentEventId),
            ..base
        },
    }
}

/// Answers search requests over Redis until `stop` (see `insights_core::search`).
pub async fn serve_searches(
    index: Arc<Index>,
    db: Db,
    redis: redis::Client,
    prefix: String,
    stop: impl std::future::Future<Output = ()>,
) {
    insights_core::search::serve(
        redis,
        prefix,
        SEARCH_CONCURRENCY,
        move |org, query| {
            let (index, db) = (index.clone(), db.clone());
            async move {
                index.search(&db, org, &query).await.map_err(|e| {
                    tracing::warn!(error = %e, %org, "search failed");
                    "the search failed".to_owned()
                })
            }
        },
        stop,
    )
    .await;
}

/// Searches answered at once by one worker.
const SEARCH_CONCURRENCY: usize = 8;
