//! Reciprocal-rank fusion of ranked lists: an item's fused score is `Σ weight / (k + rank)` over the lists it
//! is in (rank from 1). Scores of different retrievers (BM25 sums, cosine similarities) are not comparable;
//! ranks are.

use std::collections::HashMap;
use std::hash::Hash;

/// The usual constant: it damps the difference between the first ranks.
pub const K: f64 = 60.0;

/// Fuses `lists` (each best first, with its weight) with constant `k`; best first. Ties keep the order of
/// first appearance (the first list's order first), so the result is deterministic.
#[must_use]
pub fn rrf<T: Clone + Eq + Hash>(lists: &[(&[T], f64)], k: f64) -> Vec<(T, f64)> {
    let mut scores: HashMap<T, (f64, usize)> = HashMap::new();
    let mut seen = 0usize;
    for (list, weight) in lists {
        for (i, item) in list.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let add = weight / (k + (i + 1) as f64);
            let e = scores.entry(item.clone()).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            e.0 += add;
        }
    }
    let mut out: Vec<(T, f64, usize)> = scores.into_iter().map(|(t, (s, o))| (t, s, o)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(t, s, _)| (t, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_in_both_lists_rise() {
        let lexical = ["a", "b", "c"];
        let dense = ["c", "d", "a"];
        let fused = rrf(&[(&lexical, 1.0), (&dense, 1.0)], K);
        let order: Vec<&str> = fused.iter().map(|(t, _)| *t).collect();
        assert_eq!(order, vec!["a", "c", "b", "d"]);
        let a = 1.0 / 61.0 + 1.0 / 63.0;
        assert!((fused[0].1 - a).abs() < 1e-12);
    }

    #[test]
    fn weights_tilt_the_order() {
        let lexical = ["a", "b"];
        let dense = ["b", "a"];
        let fused = rrf(&[(&lexical, 1.0), (&dense, 2.0)], K);
        assert_eq!(fused[0].0, "b");
        let fused = rrf(&[(&lexical, 2.0), (&dense, 1.0)], K);
        assert_eq!(fused[0].0, "a");
    }

    #[test]
    fn ties_keep_the_first_appearance() {
        let fused = rrf(&[(&["x", "y"][..], 1.0), (&["y", "x"][..], 1.0)], K);
        assert_eq!(fused[0].0, "x");
        assert!(rrf::<u8>(&[], K).is_empty());
    }
}
