//! Drains `vector_outbox` into the index: every ~500 ms, the due rows (oldest first, across organizations),
//! each worked on in a transaction of its organization — loaded as it is now, chunked, embedded when an
//! embeddings model is configured, written to the index (or removed from it), and the row completed in the
//! same transaction. A failure (the embeddings endpoint down, the index unwritable) fails the row: it is
//! retried after a growing pause, and its error shows in the organization's index status. Indexing is
//! idempotent, so a worker killed midway simply does the rows it held again.

use super::Index;
use insights_core::db::Db;
use insights_core::runbooks::outbox::{self, OutboxKind, OutboxRow};
use insights_index::{Subject, indexed_text};
use insights_retrieval::{Chunk, chunk};
use std::time::Duration;
use tokio::sync::watch;

/// How often an idle indexer looks at the outbox.
pub const POLL: Duration = Duration::from_millis(500);
/// Rows taken at a time.
const BATCH: i32 = 64;
/// After this many chunks written, the embedded shard's indexes are rebuilt once the outbox is drained.
const OPTIMIZE_AFTER: usize = 5_000;

/// Runs until `stop` turns true.
pub async fn run(index: std::sync::Arc<Index>, db: Db, mut stop: watch::Receiver<bool>) {
    let mut written_since_optimize = 0usize;
    while !*stop.borrow() {
        let done = match drain_once(&index, &db).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "vector outbox: cannot read due rows");
                Drained::default()
            }
        };
        written_since_optimize += done.chunks;
        if done.rows > 0 {
            continue;
        }
        if written_since_optimize >= OPTIMIZE_AFTER {
            if let Err(e) = index.index.optimize().await {
                tracing::warn!(error = %e, "vector index: optimize failed");
            }
            written_since_optimize = 0;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Rows taken (done or failed).
    pub rows: usize,
    pub failed: usize,
    /// Chunks written.
    pub chunks: usize,
}

/// One pass over the due rows (for tests, and the loop above).
pub async fn drain_once(index: &Index, db: &Db) -> anyhow::Result<Drained> {
    let rows = outbox::due(db, BATCH).await?;
    let mut drained = Drained {
        rows: rows.len(),
        ..Drained::default()
    };
    for row in rows {
        match work(index, db, &row).await {
            Ok(chunks) => drained.chunks += chunks,
            Err(e) => {
                drained.failed += 1;
                tracing::warn!(error = %format!("{e:#}"), org = %row.org_id, kind = row.kind.as_str(),
                    subject = %row.subject_id, attempts = row.attempts + 1, "indexing failed; will retry");
                let mut tx = db.org_tx(row.org_id, None).await?;
                outbox::fail(&mut tx, &row, &format!("{e:#}")).await?;
                tx.commit().await?;
            }
        }
    }
    Ok(drained)
}

/// Indexes what `row` names and completes it; returns how many chunks were written.
async fn work(index: &Index, db: &Db, row: &OutboxRow) -> anyhow::Result<usize> {
    let org = row.org_id;
    let mut tx = db.org_tx(org, None).await?;
    let written = match row.kind {
        OutboxKind::Runbook => {
            let subject = Subject::Runbook(row.subject_id);
            match outbox::runbook_input(&mut tx, row.subject_id).await? {
                Some(input) => write(index, org.0, subject, chunk::runbook(&input)).await?,
                None => {
                    index.index.remove(org.0, subject).await?;
                    0
                }
            }
        }
        OutboxKind::Incident => {
            let subject = Subject::Incident(row.subject_id);
            match outbox::incident_input(&mut tx, row.subject_id).await? {
                Some(input) => write(index, org.0, subject, chunk::past_fix(&input)).await?,
                None => {
                    index.index.remove(org.0, subject).await?;
                    0
                }
            }
        }
        OutboxKind::Org => {
            // Each subject becomes a row of its own: resumable, and spread over the passes.
            let (runbooks, incidents) = outbox::org_subjects(&mut tx).await?;
            outbox::enqueue(&mut tx, OutboxKind::Runbook, &runbooks).await?;
            outbox::enqueue(&mut tx, OutboxKind::Incident, &incidents).await?;
            0
        }
    };
    outbox::complete(&mut tx, row).await?;
    tx.commit().await?;
    Ok(written)
}

/// Writes a subject's chunks (with their embeddings when a model is configured): replaces what it had.
async fn write(
    index: &Index,
    org: uuid::Uuid,
    subject: Subject,
    chunks: Vec<Chunk>,
) -> anyhow::Result<usize> {
    let dense = match (&index.embedder, chunks.is_empty()) {
        (Some(embedder), false) => {
            let texts: Vec<String> = chunks.iter().map(indexed_text).collect();
            let (vectors, _) = embedder
                .embed(&texts)
                .await
                .map_err(|e| anyhow::anyhow!("embeddings: {e}"))?;
            Some(vectors)
        }
        _ => None,
    };
    index
        .index
        .upsert(org, subject, &chunks, dense.as_deref())
        .await?;
    Ok(chunks.len())
}
