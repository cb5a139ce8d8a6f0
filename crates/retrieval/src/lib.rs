//! Retrieval for runbooks, pure and deterministic (no I/O, no clock, no configuration):
//!
//! - [`analyze`]: text → terms (lower-cased, split, light stemming, stop words);
//! - [`sparse`]: BM25-style sparse lexical vectors of documents and queries (hashed term ids);
//! - [`chunk`]: a runbook version → chunks by heading and step; a resolved incident → its past-fix chunks;
//! - [`fuse`]: reciprocal-rank fusion of ranked lists;
//! - [`snippet`]: highlighted snippets of a hit for a query;
//! - [`markdown`]: Markdown import (headings, numbered steps, fenced commands) and the Markdown form of a runbook
//!   (for diffs);
//! - [`redact`], [`prompt`], [`draft`]: what generation needs — secrets removed before anything is sent, the
//!   prompt and its JSON schema, the validation of a model's answer, and the draft assembled without a model.
//!
//! The types shared by the index, the worker and the evaluation are here: [`Chunk`], [`ChunkSource`],
//! [`SparseVector`](sparse::SparseVector).

pub mod analyze;
pub mod chunk;
pub mod draft;
pub mod fuse;
pub mod markdown;
pub mod prompt;
pub mod redact;
pub mod risk;
pub mod snippet;
pub mod sparse;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a chunk of the index came from. Ids are plain UUIDs: this crate knows no database.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChunkSource {
    /// A runbook version's section (`step: None`, `section` its index) or step (`step: Some(index)`).
    Runbook {
        runbook_id: Uuid,
        version: i32,
        section: Option<u32>,
        step: Option<u32>,
    },
    /// A resolved incident's timeline entry (or its resolution note: `event_id: None`).
    PastFix {
        incident_id: Uuid,
        event_id: Option<Uuid>,
    },
}

/// One piece of text the index holds, with what it is filtered by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub source: ChunkSource,
    /// The runbook's title (and section or step title), or the incident's title.
    pub title: String,
    pub heading: Option<String>,
    /// The text the chunk is found by (and shown from).
    pub text: String,
    pub tags: Vec<String>,
    pub service_ids: Vec<Uuid>,
    pub pattern_ids: Vec<Uuid>,
}
