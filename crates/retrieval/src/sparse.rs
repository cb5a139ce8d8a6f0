//! BM25-style sparse lexical vectors, with hashed term ids (no vocabulary to store or share).
//!
//! A document's weight for a term is BM25's saturated term frequency with length normalisation,
//! `tf · (k1 + 1) / (tf + k1 · (1 − b + b · len / avg_len))`, with a fixed `avg_len` (chunks are short and of
//! similar size; a fixed value keeps a document's vector independent of every other document). A query's
//! weight is 1 for each of its terms and less for equivalents (see [`analyze::expand`]).
//!
//! The inverse document frequency is **not** in these vectors: the index applies it at query time
//! (Qdrant's `Modifier::Idf` on the sparse vector) over the asking organization's chunks only (an IDF corpus
//! filtered by `org_id`), so that one organization's texts never change — nor can be probed through — another
//! organization's scores, and no statistics have to be kept up to date here.

use crate::analyze;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A sparse vector: term ids (ascending, unique) and their weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVector {
    fn from_map(map: BTreeMap<u32, f32>) -> Self {
        let (indices, values) = map.into_iter().filter(|(_, v)| *v > 0.0).unzip();
        SparseVector { indices, values }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// The dot product with another sparse vector (what the index scores, before IDF).
    #[must_use]
    pub fn dot(&self, other: &SparseVector) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < self.indices.len() && j < other.indices.len() {
            match self.indices[i].cmp(&other.indices[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.values[i] * other.values[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }
}

/// BM25's term-frequency saturation.
pub const K1: f32 = 1.2;
/// BM25's length normalisation.
pub const B: f32 = 0.75;
/// The length (in terms) a chunk is normalised against.
pub const AVG_LEN: f32 = 48.0;

/// A term's id: 32-bit FNV-1a of its UTF-8 bytes. Collisions are rare enough at this scale (a few hundred
/// thousand distinct terms) to only ever add a little noise to a score.
#[must_use]
pub fn term_id(term: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in term.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The document vector of `text`.
#[must_use]
pub fn document(text: &str) -> SparseVector {
    let terms = analyze::terms(text);
    #[allow(clippy::cast_precision_loss)]
    let len = terms.len() as f32;
    let mut tf: BTreeMap<u32, f32> = BTreeMap::new();
    for t in &terms {
        *tf.entry(term_id(t)).or_default() += 1.0;
    }
    let norm = K1 * (1.0 - B + B * len / AVG_LEN);
    for w in tf.values_mut() {
        *w = *w * (K1 + 1.0) / (*w + norm);
    }
    SparseVector::from_map(tf)
}

/// The query vector of `text`, its equivalents included.
#[must_use]
pub fn query(text: &str) -> SparseVector {
    let mut map: BTreeMap<u32, f32> = BTreeMap::new();
    for (t, w) in analyze::expand(text) {
        let e = map.entry(term_id(&t)).or_default();
        *e = e.max(w);
    }
    SparseVector::from_map(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight(v: &SparseVector, term: &str) -> f32 {
        let id = term_id(&analyze::terms(term)[0]);
        v.indices
            .iter()
            .position(|i| *i == id)
            .map_or(0.0, |p| v.values[p])
    }

    #[test]
    fn indices_are_sorted_and_unique() {
        let v = document("restart restart the pod, then restart the deployment and the pod");
        assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(v.indices.len(), v.values.len());
    }

    #[test]
    fn term_frequency_saturates() {
        let once = weight(&document("restart pod"), "restart");
        let twice = weight(&document("restart restart"), "restart");
        let many = weight(&document(&"restart ".repeat(20)), "restart");
        assert!(twice > once);
        assert!(many < K1 + 1.0);
        assert!(many - twice < twice - once + 1.0);
    }

    #[test]
    fn longer_documents_weigh_a_term_less() {
        let short = weight(&document("restart the payments pod"), "restart");
        let long_text = format!("restart {}", "unrelated words about billing ".repeat(30));
        let long = weight(&document(&long_text), "restart");
        assert!(short > long, "{short} vs {long}");
    }

    #[test]
    fn queries_weigh_their_own_terms_above_equivalents() {
        let q = query("database failover");
        assert!((weight(&q, "database") - 1.0).abs() < f32::EPSILON);
        assert!(weight(&q, "db") > 0.0 && weight(&q, "db") < 1.0);
        // A document that says "db" matches a query that says "database".
        assert!(document("promote the db replica").dot(&q) > 0.0);
        assert!(document("rotate the certificate").dot(&q).abs() < f32::EPSILON);
    }

    #[test]
    fn term_ids_are_stable() {
        // FNV-1a reference values: the ids are stored in the index, so they must never change.
        assert_eq!(term_id(""), 0x811c_9dc5);
        assert_eq!(term_id("a"), 0xe40c_292c);
    }
}
