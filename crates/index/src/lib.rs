//! The vector index of runbook chunks and past fixes (used by the worker only).
//!
//! One interface, [`VectorIndex`], over two backends with the same points, payloads and filters:
//!
//! - [`EdgeIndex`]: an embedded qdrant-edge shard on disk (the default), owned by one process — it takes an
//!   exclusive lock on a file in its directory, so a second worker fails at start-up instead of corrupting it;
//! - [`ServerIndex`]: a Qdrant server through qdrant-client (`QDRANT_URL`), shared by any number of workers.
//!
//! Every call takes the organization first, and every read filters by it inside the index (a `must` condition
//! on the `org_id` payload, which is indexed as the tenant key); the inverse document frequency of the sparse
//! vectors is computed over the asking organization's points only. A point's id is derived from
//! (organization, subject, chunk number), so re-indexing a subject overwrites its points; [`VectorIndex::upsert`]
//! then removes the subject's points beyond its new chunks, so an upsert replaces the subject as a whole.
//!
//! A search runs the sparse (lexical) query and, when a dense query vector is given, the dense one, each over
//! a deeper candidate list, and fuses them by reciprocal rank ([`insights_retrieval::fuse`]).

mod edge;
mod lock;
mod server;

pub use edge::EdgeIndex;
pub use lock::{IndexLock, LockError};
pub use server::ServerIndex;

use insights_retrieval::sparse::SparseVector;
use insights_retrieval::{Chunk, ChunkSource, fuse};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// The name of the sparse (lexical) vector.
pub const SPARSE: &str = "lexical";

/// The name of the dense vector of `dims` dimensions: a change of embeddings model to another size adds a new
/// vector instead of clashing with the stored one (re-index the organizations to fill it).
#[must_use]
pub fn dense_name(dims: usize) -> String {
    format!("dense-{dims}")
}

/// What a chunk belongs to: everything indexed for a subject is replaced or removed together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Runbook(Uuid),
    Incident(Uuid),
}

impl Subject {
    /// The subject's key in the payload (`runbook:<id>`, `incident:<id>`).
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Subject::Runbook(id) => format!("runbook:{id}"),
            Subject::Incident(id) => format!("incident:{id}"),
        }
    }

    /// The subject a chunk belongs to.
    #[must_use]
    pub fn of(chunk: &Chunk) -> Subject {
        match chunk.source {
            ChunkSource::Runbook { runbook_id, .. } => Subject::Runbook(runbook_id),
            ChunkSource::PastFix { incident_id, .. } => Subject::Incident(incident_id),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// What a chunk is, as filtered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkKind {
    Runbook,
    PastFix,
}

impl ChunkKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChunkKind::Runbook => "runbook",
            ChunkKind::PastFix => "past_fix",
        }
    }
}

/// Narrows a search: every non-empty field must match (any of its values).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub kinds: Vec<ChunkKind>,
    pub tags: Vec<String>,
    pub service_ids: Vec<Uuid>,
    pub pattern_ids: Vec<Uuid>,
    /// Past fixes of these incidents are left out.
    pub exclude_incidents: Vec<Uuid>,
}

/// A search: its sparse query vector (from [`insights_retrieval::sparse::query`]) and, for a hybrid search, a
/// dense one (the embedding of the same text).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    pub sparse: Option<SparseVector>,
    pub dense: Option<Vec<f32>>,
}

impl Query {
    /// A lexical query for `text`.
    #[must_use]
    pub fn lexical(text: &str) -> Self {
        Query {
            sparse: Some(insights_retrieval::sparse::query(text)),
            dense: None,
        }
    }

    /// A lexical and dense query for `text` whose embedding is `dense`.
    #[must_use]
    pub fn hybrid(text: &str, dense: Vec<f32>) -> Self {
        Query {
            sparse: Some(insights_retrieval::sparse::query(text)),
            dense: Some(dense),
        }
    }
}

/// One hit, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub chunk: Chunk,
    /// The fused score (reciprocal-rank fusion of the lists the chunk is in).
    pub score: f64,
    /// Its rank (from 1) and score in the lexical list (BM25 with this organization's IDF) and the dense one
    /// (cosine similarity).
    pub lexical_rank: Option<usize>,
    pub lexical_score: Option<f32>,
    pub dense_rank: Option<usize>,
    pub dense_score: Option<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The embedded index is owned by another process.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A dense vector of a size the index was not opened for.
    #[error("dense vectors of {got} dimensions, but the index was opened for {expected:?}")]
    Dimensions { expected: Option<usize>, got: usize },
    #[error("vector index: {0}")]
    Backend(String),
}

pub type IndexResult<T> = Result<T, IndexError>;

pub(crate) fn backend(e: impl fmt::Display) -> IndexError {
    IndexError::Backend(e.to_string())
}

/// A point as stored: its id, vectors and payload (backend-neutral).
#[derive(Clone, Debug)]
pub(crate) struct PointData {
    pub id: Uuid,
    pub sparse: SparseVector,
    pub dense: Option<Vec<f32>>,
    pub payload: serde_json::Map<String, Value>,
}

/// A point's id: derived from (organization, subject, chunk number), so the same chunk of the same subject is
/// always the same point.
#[must_use]
pub fn point_id(org: Uuid, subject: Subject, n: usize) -> Uuid {
    let mut h = Sha256::new();
    h.update(org.as_bytes());
    h.update(subject.key().as_bytes());
    h.update((n as u64).to_le_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // A version-8 (custom) UUID.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// The points of a subject's chunks (each chunk's text with its title and heading makes its sparse vector).
pub(crate) fn points(
    org: Uuid,
    subject: Subject,
    chunks: &[Chunk],
    dense: Option<&[Vec<f32>]>,
) -> IndexResult<Vec<PointData>> {
    if let Some(d) = dense
        && d.len() != chunks.len()
    {
        return Err(IndexError::Backend(format!(
            "{} dense vectors for {} chunks",
            d.len(),
            chunks.len()
        )));
    }
    chunks
        .iter()
        .enumerate()
        .map(|(n, chunk)| {
            if Subject::of(chunk) != subject {
                return Err(IndexError::Backend(format!(
                    "a chunk of {} given for {subject}",
                    Subject::of(chunk)
                )));
            }
            Ok(PointData {
                id: point_id(org, subject, n),
                sparse: insights_retrieval::sparse::document(&indexed_text(chunk)),
                dense: dense.map(|d| d[n].clone()),
                payload: payload(org, subject, chunk),
            })
        })
        .collect()
}

/// The text a chunk is found by: its title and heading, then its text.
#[must_use]
pub fn indexed_text(chunk: &Chunk) -> String {
    let mut t = chunk.title.clone();
    if let Some(h) = &chunk.heading {
        t.push('\n');
        t.push_str(h);
    }
    t.push('\n');
    t.push_str(&chunk.text);
    t
}

/// Payload fields (every one indexed as a keyword).
pub(crate) const ORG_ID: &str = "org_id";
pub(crate) const SUBJECT: &str = "subject";
pub(crate) const KIND: &str = "kind";
pub(crate) const TAGS: &str = "tags";
pub(crate) const SERVICE_IDS: &str = "service_ids";
pub(crate) const PATTERN_IDS: &str = "pattern_ids";
pub(crate) const INCIDENT_ID: &str = "incident_id";
pub(crate) const CHUNK: &str = "chunk";
pub(crate) const KEYWORD_FIELDS: &[&str] =
    &[SUBJECT, KIND, TAGS, SERVICE_IDS, PATTERN_IDS, INCIDENT_ID];

fn payload(org: Uuid, subject: Subject, chunk: &Chunk) -> serde_json::Map<String, Value> {
    let (kind, incident) = match chunk.source {
        ChunkSource::Runbook { .. } => (ChunkKind::Runbook, None),
        ChunkSource::PastFix { incident_id, .. } => (ChunkKind::PastFix, Some(incident_id)),
    };
    let mut m = serde_json::Map::new();
    m.insert(ORG_ID.into(), json!(org.to_string()));
    m.insert(SUBJECT.into(), json!(subject.key()));
    m.insert(KIND.into(), json!(kind.as_str()));
    m.insert(TAGS.into(), json!(chunk.tags));
    m.insert(
        SERVICE_IDS.into(),
        json!(
            chunk
                .service_ids
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
        ),
    );
    m.insert(
        PATTERN_IDS.into(),
        json!(
            chunk
                .pattern_ids
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
        ),
    );
    if let Some(i) = incident {
        m.insert(INCIDENT_ID.into(), json!(i.to_string()));
    }
    m.insert(
        CHUNK.into(),
        serde_json::to_value(chunk).unwrap_or(Value::Null),
    );
    m
}

/// The chunk stored in a point's payload.
pub(crate) fn chunk_of(payload: &serde_json::Map<String, Value>) -> IndexResult<Chunk> {
    let v = payload
        .get(CHUNK)
        .ok_or_else(|| IndexError::Backend("a point without its chunk".into()))?;
    serde_json::from_value(v.clone()).map_err(backend)
}

/// A backend-neutral filter: conditions that must match (`key` equals one of `any`) and ones that must not.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conditions {
    pub must: Vec<(&'static str, Vec<String>)>,
    pub must_not: Vec<(&'static str, Vec<String>)>,
}

impl Conditions {
    /// Only `org`'s points.
    pub fn org(org: Uuid) -> Self {
        Conditions {
            must: vec![(ORG_ID, vec![org.to_string()])],
            must_not: vec![],
        }
    }

    /// Only `org`'s points of `subject`.
    pub fn subject(org: Uuid, subject: Subject) -> Self {
        let mut c = Conditions::org(org);
        c.must.push((SUBJECT, vec![subject.key()]));
        c
    }

    /// `org`'s points that `filter` keeps.
    pub fn search(org: Uuid, filter: &Filter) -> Self {
        let mut c = Conditions::org(org);
        let strings = |ids: &[Uuid]| ids.iter().map(Uuid::to_string).collect::<Vec<_>>();
        if !filter.kinds.is_empty() {
            c.must.push((
                KIND,
                filter.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            ));
        }
        if !filter.tags.is_empty() {
            c.must
                .push((TAGS, filter.tags.iter().map(|t| t.to_lowercase()).collect()));
        }
        if !filter.service_ids.is_empty() {
            c.must.push((SERVICE_IDS, strings(&filter.service_ids)));
        }
        if !filter.pattern_ids.is_empty() {
            c.must.push((PATTERN_IDS, strings(&filter.pattern_ids)));
        }
        if !filter.exclude_incidents.is_empty() {
            c.must_not
                .push((INCIDENT_ID, strings(&filter.exclude_incidents)));
        }
        c
    }

    /// The REST/JSON form of the filter (what qdrant-edge deserializes).
    pub fn to_json(&self) -> Value {
        let cond = |(key, any): &(&str, Vec<String>)| {
            if any.len() == 1 {
                json!({"key": key, "match": {"value": any[0]}})
            } else {
                json!({"key": key, "match": {"any": any}})
            }
        };
        let mut f = serde_json::Map::new();
        f.insert(
            "must".into(),
            Value::Array(self.must.iter().map(cond).collect()),
        );
        if !self.must_not.is_empty() {
            f.insert(
                "must_not".into(),
                Value::Array(self.must_not.iter().map(cond).collect()),
            );
        }
        Value::Object(f)
    }
}

/// How deep each list of a hybrid search goes, for `limit` hits.
#[must_use]
pub fn candidates(limit: usize) -> usize {
    (limit * 4).max(40)
}

/// The index: an embedded shard or a Qdrant server.
pub enum VectorIndex {
    Edge(EdgeIndex),
    Server(ServerIndex),
}

impl VectorIndex {
    /// Replaces everything indexed for `subject` of `org` by `chunks` (with their dense vectors, one per chunk,
    /// when given). Idempotent: the same chunks give the same points.
    pub async fn upsert(
        &self,
        org: Uuid,
        subject: Subject,
        chunks: &[Chunk],
        dense: Option<&[Vec<f32>]>,
    ) -> IndexResult<()> {
        let points = points(org, subject, chunks, dense)?;
        match self {
            VectorIndex::Edge(i) => i.replace(org, subject, points).await,
            VectorIndex::Server(i) => i.replace(org, subject, points).await,
        }
    }

    /// Removes everything indexed for `subject` of `org`.
    pub async fn remove(&self, org: Uuid, subject: Subject) -> IndexResult<()> {
        self.delete(Conditions::subject(org, subject)).await
    }

    /// Removes everything of `org`.
    pub async fn remove_org(&self, org: Uuid) -> IndexResult<()> {
        self.delete(Conditions::org(org)).await
    }

    async fn delete(&self, conditions: Conditions) -> IndexResult<()> {
        match self {
            VectorIndex::Edge(i) => i.delete(conditions).await,
            VectorIndex::Server(i) => i.delete(conditions).await,
        }
    }

    /// How many chunks `org` has.
    pub async fn count(&self, org: Uuid) -> IndexResult<usize> {
        match self {
            VectorIndex::Edge(i) => i.count(Conditions::org(org)).await,
            VectorIndex::Server(i) => i.count(Conditions::org(org)).await,
        }
    }

    /// Builds the embedded shard's indexes over recent writes (after a large batch); a server optimizes on
    /// its own.
    pub async fn optimize(&self) -> IndexResult<()> {
        match self {
            VectorIndex::Edge(i) => i.optimize().await.map(|_| ()),
            VectorIndex::Server(_) => Ok(()),
        }
    }

    /// The dense vector size this index stores (`None`: lexical only).
    #[must_use]
    pub fn dense_dims(&self) -> Option<usize> {
        match self {
            VectorIndex::Edge(i) => i.dense_dims(),
            VectorIndex::Server(i) => i.dense_dims(),
        }
    }

    /// Searches `org`'s chunks that `filter` keeps: the lexical list, the dense one when `query` has a dense
    /// vector, fused by reciprocal rank; at most `limit` hits, best first.
    pub async fn search(
        &self,
        org: Uuid,
        query: &Query,
        filter: &Filter,
        limit: usize,
    ) -> IndexResult<Vec<Hit>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let conditions = Conditions::search(org, filter);
        let depth = candidates(limit);
        let lexical = match &query.sparse {
            Some(s) if !s.is_empty() => {
                self.nearest(org, &conditions, Nearest::Sparse(s), depth)
                    .await?
            }
            _ => vec![],
        };
        let dense = match &query.dense {
            Some(d) => {
                if self.dense_dims() != Some(d.len()) {
                    return Err(IndexError::Dimensions {
                        expected: self.dense_dims(),
                        got: d.len(),
                    });
                }
                self.nearest(org, &conditions, Nearest::Dense(d), depth)
                    .await?
            }
            None => vec![],
        };
        Ok(fuse_lists(lexical, dense, limit))
    }

    async fn nearest(
        &self,
        org: Uuid,
        conditions: &Conditions,
        query: Nearest<'_>,
        limit: usize,
    ) -> IndexResult<Vec<Scored>> {
        match self {
            VectorIndex::Edge(i) => i.nearest(org, conditions, query, limit).await,
            VectorIndex::Server(i) => i.nearest(org, conditions, query, limit).await,
        }
    }
}

/// A backend's query: the sparse or the dense vector.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Nearest<'a> {
    Sparse(&'a SparseVector),
    Dense(&'a [f32]),
}

/// A point a backend found: its id, score and chunk.
pub(crate) type Scored = (Uuid, f32, Chunk);

fn fuse_lists(lexical: Vec<Scored>, dense: Vec<Scored>, limit: usize) -> Vec<Hit> {
    let lex_ids: Vec<Uuid> = lexical.iter().map(|(id, _, _)| *id).collect();
    let dense_ids: Vec<Uuid> = dense.iter().map(|(id, _, _)| *id).collect();
    let find = |list: &[Scored], id: Uuid| {
        list.iter()
            .position(|(x, _, _)| *x == id)
            .map(|p| (p + 1, list[p].1))
    };
    let fused = fuse::rrf(&[(&lex_ids, 1.0), (&dense_ids, 1.0)], fuse::K);
    let mut chunks: std::collections::HashMap<Uuid, Chunk> = lexical
        .iter()
        .chain(&dense)
        .map(|(id, _, c)| (*id, c.clone()))
        .collect();
    fused
        .into_iter()
        .take(limit)
        .filter_map(|(id, score)| {
            let lex = find(&lexical, id);
            let den = find(&dense, id);
            Some(Hit {
                chunk: chunks.remove(&id)?,
                score,
                lexical_rank: lex.map(|l| l.0),
                lexical_score: lex.map(|l| l.1),
                dense_rank: den.map(|d| d.0),
                dense_score: den.map(|d| d.1),
            })
        })
        .collect()
}
