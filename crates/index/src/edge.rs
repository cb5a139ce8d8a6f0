//! The embedded backend: one qdrant-edge shard on disk, owned by this process (see [`IndexLock`]). The
//! shard's API is synchronous, so every call runs on tokio's blocking pool; writes are flushed to disk before
//! they return.

use crate::{
    Conditions, IndexError, IndexLock, IndexResult, KEYWORD_FIELDS, Nearest, ORG_ID, PointData,
    SPARSE, Scored, Subject, backend, chunk_of, dense_name,
};
use qdrant_edge::WalOptions;
use qdrant_edge::external::uuid::Uuid as EdgeUuid;
use qdrant_edge::{
    CountRequestBuilder, CreateIndex, Distance, EdgeConfigBuilder, EdgeShard,
    EdgeSparseVectorParamsBuilder, EdgeVectorParamsBuilder, FieldIndexOperations, Filter,
    IdfCorpusParams, IdfParams, Modifier, NamedQuery, PayloadFieldSchema, PointId,
    PointInsertOperations, PointOperations, PointStructPersisted, QueryEnum, QueryRequestBuilder,
    ScoringQuery, SearchParams, SparseVector, UpdateOperation, VectorInternal, VectorNameConfig,
    VectorNameOperations, VectorStructInternal, VectorStructPersisted, WithPayloadInterface,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

/// The shard's directory inside the index directory (next to the lock file).
const SHARD_DIR: &str = "shard";

struct Inner {
    shard: EdgeShard,
    dense_dims: Option<usize>,
    _lock: IndexLock,
}

/// An embedded qdrant-edge shard.
#[derive(Clone)]
pub struct EdgeIndex {
    inner: Arc<Inner>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> IndexResult<T> + Send + 'static,
) -> IndexResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(backend)?
}

fn filter(conditions: &Conditions) -> IndexResult<Filter> {
    serde_json::from_value(conditions.to_json()).map_err(backend)
}

fn edge_id(id: Uuid) -> PointId {
    PointId::Uuid(EdgeUuid::from_u128(id.as_u128()))
}

fn from_edge_id(id: &PointId) -> Option<Uuid> {
    match id {
        PointId::Uuid(u) => Some(Uuid::from_u128(u.as_u128())),
        PointId::NumId(_) => None,
    }
}

/// Write-ahead log segments of 4 MiB (the default 32 MiB is sized for far larger shards; each shard keeps
/// one segment ahead).
fn wal_options() -> WalOptions {
    WalOptions {
        segment_capacity: 4 * 1024 * 1024,
        segment_queue_len: 0,
        retain_closed: std::num::NonZeroUsize::MIN,
    }
}

impl EdgeIndex {
    /// Opens (or creates) the index in `dir`, taking its lock first. `dense_dims`: the size of the dense
    /// vectors to store and search (the embeddings model's), `None` for a lexical-only index.
    pub async fn open(dir: &Path, dense_dims: Option<usize>) -> IndexResult<Self> {
        let dir = dir.to_owned();
        blocking(move || Self::open_blocking(&dir, dense_dims)).await
    }

    fn open_blocking(dir: &Path, dense_dims: Option<usize>) -> IndexResult<Self> {
        let lock = IndexLock::acquire(dir)?;
        let path: PathBuf = dir.join(SHARD_DIR);
        let shard = if path.join("edge_config.json").exists() {
            let config = EdgeConfigBuilder::new().wal_options(wal_options()).build();
            EdgeShard::load(&path, Some(config)).map_err(backend)?
        } else {
            let mut config = EdgeConfigBuilder::new()
                .wal_options(wal_options())
                .sparse_vector(
                    SPARSE,
                    EdgeSparseVectorParamsBuilder::new()
                        .modifier(Modifier::Idf)
                        .build(),
                );
            if let Some(dims) = dense_dims {
                config = config.vector(
                    dense_name(dims),
                    EdgeVectorParamsBuilder::new(dims, Distance::Cosine).build(),
                );
            }
            EdgeShard::new(&path, config.build()).map_err(backend)?
        };
        if let Some(dims) = dense_dims
            && !shard.config().vectors.contains_key(&dense_name(dims))
        {
            let config: VectorNameConfig = serde_json::from_value(
                serde_json::json!({"dense": {"size": dims, "distance": "Cosine"}}),
            )
            .map_err(backend)?;
            shard
                .update(UpdateOperation::VectorNameOperation(
                    VectorNameOperations::CreateVectorName(qdrant_edge::CreateVectorName {
                        vector_name: dense_name(dims),
                        config,
                    }),
                ))
                .map_err(backend)?;
        }
        let schema = shard.info().map_err(backend)?.payload_schema;
        let mut fields: Vec<(&str, serde_json::Value)> = vec![(
            ORG_ID,
            serde_json::json!({"type": "keyword", "is_tenant": true}),
        )];
        fields.extend(
            KEYWORD_FIELDS
                .iter()
                .map(|f| (*f, serde_json::json!("keyword"))),
        );
        for (field, schema_json) in fields {
            if schema.keys().any(|k| k.to_string() == field) {
                continue;
            }
            let field_schema: PayloadFieldSchema =
                serde_json::from_value(schema_json).map_err(backend)?;
            shard
                .update(UpdateOperation::FieldIndexOperation(
                    FieldIndexOperations::CreateIndex(CreateIndex {
                        field_name: field
                            .parse()
                            .map_err(|()| backend(format!("field {field}")))?,
                        field_schema: Some(field_schema),
                    }),
                ))
                .map_err(backend)?;
        }
        shard.flush().map_err(backend)?;
        Ok(EdgeIndex {
            inner: Arc::new(Inner {
                shard,
                dense_dims,
                _lock: lock,
            }),
        })
    }

    #[must_use]
    pub fn dense_dims(&self) -> Option<usize> {
        self.inner.dense_dims
    }

    /// Builds the shard's indexes over what was written (merges and indexes segments); blocking work on the
    /// blocking pool. Worth calling after a large batch of writes, not after each.
    pub async fn optimize(&self) -> IndexResult<bool> {
        let inner = self.inner.clone();
        blocking(move || {
            let changed = inner.shard.optimize().map_err(backend)?;
            inner.shard.flush().map_err(backend)?;
            Ok(changed)
        })
        .await
    }

    pub(crate) async fn replace(
        &self,
        org: Uuid,
        subject: Subject,
        points: Vec<PointData>,
    ) -> IndexResult<()> {
        let inner = self.inner.clone();
        blocking(move || {
            let ids: Vec<Uuid> = points.iter().map(|p| p.id).collect();
            let persisted = points
                .into_iter()
                .map(|p| inner.point(p))
                .collect::<IndexResult<Vec<_>>>()?;
            if !persisted.is_empty() {
                inner
                    .shard
                    .update(UpdateOperation::PointOperation(
                        PointOperations::UpsertPoints(PointInsertOperations::PointsList(persisted)),
                    ))
                    .map_err(backend)?;
            }
            // Then the subject's points that are not among the new ones (it had more chunks before).
            let mut stale = serde_json::to_value(filter(&Conditions::subject(org, subject))?)
                .map_err(backend)?;
            if !ids.is_empty() {
                stale["must_not"] = serde_json::json!([{"has_id": ids}]);
            }
            let stale: Filter = serde_json::from_value(stale).map_err(backend)?;
            inner
                .shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::DeletePointsByFilter(stale),
                ))
                .map_err(backend)?;
            inner.shard.flush().map_err(backend)
        })
        .await
    }

    pub(crate) async fn delete(&self, conditions: Conditions) -> IndexResult<()> {
        let inner = self.inner.clone();
        blocking(move || {
            inner
                .shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::DeletePointsByFilter(filter(&conditions)?),
                ))
                .map_err(backend)?;
            inner.shard.flush().map_err(backend)
        })
        .await
    }

    pub(crate) async fn count(&self, conditions: Conditions) -> IndexResult<usize> {
        let inner = self.inner.clone();
        blocking(move || {
            inner
                .shard
                .count(
                    CountRequestBuilder::new()
                        .filter(filter(&conditions)?)
                        .exact(true)
                        .build(),
                )
                .map_err(backend)
        })
        .await
    }

    pub(crate) async fn nearest(
        &self,
        org: Uuid,
        conditions: &Conditions,
        query: Nearest<'_>,
        limit: usize,
    ) -> IndexResult<Vec<Scored>> {
        let (vector, using, params) = match query {
            Nearest::Sparse(s) => (
                VectorInternal::Sparse(
                    SparseVector::new(s.indices.clone(), s.values.clone()).map_err(backend)?,
                ),
                SPARSE.to_owned(),
                Some(SearchParams {
                    // IDF over this organization's points only.
                    idf: Some(IdfParams::Corpus(IdfCorpusParams {
                        corpus: filter(&Conditions::org(org))?,
                    })),
                    ..SearchParams::default()
                }),
            ),
            Nearest::Dense(d) => {
                let dims = self.inner.dense_dims.ok_or(IndexError::Dimensions {
                    expected: None,
                    got: d.len(),
                })?;
                (VectorInternal::from(d.to_vec()), dense_name(dims), None)
            }
        };
        let mut request = QueryRequestBuilder::new(limit)
            .query(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery::new(
                vector, using,
            ))))
            .filter(filter(conditions)?)
            .with_payload(WithPayloadInterface::Bool(true));
        if let Some(params) = params {
            request = request.params(params);
        }
        let request = request.build();
        let inner = self.inner.clone();
        blocking(move || {
            let points = inner.shard.query(request).map_err(backend)?;
            points
                .into_iter()
                .filter_map(|p| {
                    let id = from_edge_id(&p.id)?;
                    let payload = p.payload?;
                    Some(chunk_of(&payload.0).map(|c| (id, p.score, c)))
                })
                .collect()
        })
        .await
    }
}

impl Inner {
    fn point(&self, p: PointData) -> IndexResult<PointStructPersisted> {
        let mut vectors: HashMap<String, VectorInternal> = HashMap::new();
        vectors.insert(
            SPARSE.to_owned(),
            VectorInternal::Sparse(
                SparseVector::new(p.sparse.indices, p.sparse.values).map_err(backend)?,
            ),
        );
        if let Some(d) = p.dense {
            if self.dense_dims != Some(d.len()) {
                return Err(IndexError::Dimensions {
                    expected: self.dense_dims,
                    got: d.len(),
                });
            }
            vectors.insert(dense_name(d.len()), VectorInternal::from(d));
        }
        Ok(PointStructPersisted {
            id: edge_id(p.id),
            vector: VectorStructPersisted::from(VectorStructInternal::Named(vectors)),
            payload: Some(qdrant_edge::Payload(p.payload)),
        })
    }
}
