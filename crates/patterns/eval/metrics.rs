//! How well a clustering of titles matches their true groups, and the baseline the engine must beat. Shared by
//! `tests/eval.rs` and `examples/evaluate.rs` (included with `#[path]`), with no dependency of its own.
//!
//! - Grouping accuracy (GA), the Loghub definition: an item is correct iff the set of items of its predicted
//!   cluster equals the set of items of its true group; GA = correct / n.
//! - Pairwise precision, recall and F1 over the pairs of items put together: precision = pairs together in both
//!   / pairs together in the prediction, recall = pairs together in both / pairs together in the truth. Counted
//!   from the contingency table in O(n), not over the n² pairs.
//! - The baseline: titles equal after every run of digits is masked to one `0`.

use std::collections::HashMap;
use std::hash::Hash;

/// The figures of one clustering against the truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// Items scored.
    pub items: usize,
    /// Items whose predicted cluster is exactly their true group.
    pub correct: usize,
    pub grouping_accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Distinct predicted clusters.
    pub clusters: usize,
    /// Distinct true groups.
    pub groups: usize,
}

/// Scores `predicted` (a cluster label per item) against `truth` (a group label per item, same order).
///
/// With no pair together in the prediction (or in the truth), precision (or recall) is 1: no pair was put
/// together wrongly (or none could be missed).
///
/// # Panics
/// When the two slices differ in length.
pub fn score<T: Eq + Hash, P: Eq + Hash>(truth: &[T], predicted: &[P]) -> Scores {
    assert_eq!(
        truth.len(),
        predicted.len(),
        "one predicted cluster per item"
    );
    let group_ids = dense_ids(truth);
    let cluster_ids = dense_ids(predicted);
    let groups = group_ids.iter().max().map_or(0, |m| m + 1);
    let clusters = cluster_ids.iter().max().map_or(0, |m| m + 1);

    let mut group_size = vec![0_u64; groups];
    let mut cluster_size = vec![0_u64; clusters];
    let mut both: HashMap<(usize, usize), u64> = HashMap::new();
    for (&g, &c) in group_ids.iter().zip(&cluster_ids) {
        group_size[g] += 1;
        cluster_size[c] += 1;
        *both.entry((g, c)).or_default() += 1;
    }

    // A cell holding the whole of its group and the whole of its cluster is a cluster equal to a group.
    let correct: u64 = both
        .iter()
        .filter(|&(&(g, c), &n)| n == group_size[g] && n == cluster_size[c])
        .map(|(_, &n)| n)
        .sum();
    let pairs = |n: u64| n * n.saturating_sub(1) / 2;
    let together_in_both: u64 = both.values().map(|&n| pairs(n)).sum();
    let together_predicted: u64 = cluster_size.iter().map(|&n| pairs(n)).sum();
    let together_truly: u64 = group_size.iter().map(|&n| pairs(n)).sum();
    let ratio = |num: u64, den: u64| {
        if den == 0 {
            1.0
        } else {
            num as f64 / den as f64
        }
    };
    let precision = ratio(together_in_both, together_predicted);
    let recall = ratio(together_in_both, together_truly);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    let items = truth.len();
    Scores {
        items,
        correct: correct as usize,
        grouping_accuracy: ratio(correct, items as u64),
        precision,
        recall,
        f1,
        clusters,
        groups,
    }
}

/// Numbers the distinct labels 0, 1, 2… in order of first appearance.
fn dense_ids<L: Eq + Hash>(labels: &[L]) -> Vec<usize> {
    let mut ids: HashMap<&L, usize> = HashMap::new();
    labels
        .iter()
        .map(|l| {
            let next = ids.len();
            *ids.entry(l).or_insert(next)
        })
        .collect()
}

/// The baseline's key of a title: every run of ASCII digits replaced by one `0`.
pub fn mask_digits(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    let mut in_digits = false;
    for ch in title.chars() {
        if ch.is_ascii_digit() {
            if !in_digits {
                out.push('0');
            }
            in_digits = true;
        } else {
            out.push(ch);
            in_digits = false;
        }
    }
    out
}

/// The baseline clustering: one cluster per distinct digit-masked title.
pub fn baseline<'a>(titles: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    titles.into_iter().map(mask_digits).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Three true groups of sizes 3, 2 and 1: 3 + 1 + 0 = 4 pairs truly together.
    const TRUTH: [&str; 6] = ["a", "a", "a", "b", "b", "c"];

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() < 1e-12
    }

    #[test]
    fn a_perfect_clustering_scores_one_whatever_its_labels() {
        let s = score(&TRUTH, &[7, 7, 7, 3, 3, 9]);
        assert_eq!(s.correct, 6);
        assert!(close(s.grouping_accuracy, 1.0));
        assert!(close(s.precision, 1.0) && close(s.recall, 1.0) && close(s.f1, 1.0));
        assert_eq!((s.clusters, s.groups), (3, 3));
    }

    #[test]
    fn merging_everything_keeps_recall_but_no_item_is_correct() {
        let s = score(&TRUTH, &[0; 6]);
        assert_eq!(s.correct, 0);
        assert!(close(s.grouping_accuracy, 0.0));
        assert!(close(s.precision, 4.0 / 15.0), "{s:?}");
        assert!(close(s.recall, 1.0));
        assert!(close(s.f1, 2.0 * (4.0 / 15.0) / (4.0 / 15.0 + 1.0)));
        assert_eq!((s.clusters, s.groups), (1, 3));
    }

    #[test]
    fn splitting_everything_is_correct_only_for_singleton_groups() {
        let s = score(&TRUTH, &[0, 1, 2, 3, 4, 5]);
        assert_eq!(s.correct, 1, "only the group of one is its own cluster");
        assert!(close(s.grouping_accuracy, 1.0 / 6.0));
        assert!(close(s.precision, 1.0), "no pair put together wrongly");
        assert!(close(s.recall, 0.0));
        assert!(close(s.f1, 0.0));
        assert_eq!(s.clusters, 6);
    }

    #[test]
    fn one_item_in_the_wrong_cluster_spoils_both_groups_it_touches() {
        // The third "a" is put with the "b"s.
        let s = score(&TRUTH, &["x", "x", "y", "y", "y", "z"]);
        assert_eq!(s.correct, 1, "only \"c\" stays exact");
        assert!(close(s.grouping_accuracy, 1.0 / 6.0));
        // Together in both: the two "a"s (1) and the two "b"s (1); predicted pairs 1 + 3; true pairs 4.
        assert!(
            close(s.precision, 0.5) && close(s.recall, 0.5) && close(s.f1, 0.5),
            "{s:?}"
        );
    }

    #[test]
    fn an_exact_cluster_counts_beside_wrong_ones() {
        let s = score(&TRUTH, &["x", "x", "x", "y", "z", "z"]);
        assert_eq!(
            s.correct, 3,
            "the \"a\" cluster is exact; \"b\" is split and \"c\" merged"
        );
        assert!(close(s.grouping_accuracy, 0.5));
    }

    #[test]
    fn pairs_are_counted_without_overflow_for_large_groups() {
        let truth = vec![1_u8; 100_000];
        let s = score(&truth, &truth);
        assert!(close(s.f1, 1.0));
        assert_eq!(s.correct, 100_000);
    }

    #[test]
    fn the_baseline_masks_each_run_of_digits_to_one_zero() {
        assert_eq!(
            mask_digits("disk 91% on web-12 at 10:42"),
            "disk 0% on web-0 at 0:0"
        );
        assert_eq!(mask_digits("no digits"), "no digits");
        assert_eq!(mask_digits("i-0abc123de4"), "i-0abc0de0");
        let keys = baseline([
            "CPU 91% on web-1",
            "CPU 7% on web-22",
            "Memory 91% on web-1",
        ]);
        assert_eq!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
    }
}
