//! Co-occurrence: incidents of different services that start within [`CO_OCCURRENCE_WINDOW`] of each other,
//! counted once per pair of incidents for their pair of patterns. Pairs seen at least [`REPEATEDLY`] times are
//! kept (`pattern_pairs`), with the last time they happened together. Pure; refinement feeds it.

use std::collections::HashMap;
use std::time::Duration;

/// Two incidents "happen together" when their starts are at most this far apart.
pub const CO_OCCURRENCE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// How many times two patterns must have happened together to be related.
pub const REPEATEDLY: u64 = 3;

/// One incident as co-occurrence sees it: when it started (microseconds since the epoch), its service and its
/// pattern (indices of the caller's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Occurrence {
    pub at: i64,
    pub service: u32,
    pub pattern: u32,
}

/// How often two patterns happened together, and the start of the later incident of the last such pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Together {
    pub count: u64,
    pub last_at: i64,
}

/// Counts, for each pair of distinct patterns `(a, b)` with `a < b`, the pairs of `occurrences` (sorted by
/// `at`) of different services whose starts are at most `window` microseconds apart. A sweep: each incident
/// is compared only with those after it inside the window.
pub(super) fn co_occurrences(
    occurrences: &[Occurrence],
    window: i64,
) -> HashMap<(u32, u32), Together> {
    debug_assert!(occurrences.windows(2).all(|w| w[0].at <= w[1].at));
    let mut pairs: HashMap<(u32, u32), Together> = HashMap::new();
    for (i, a) in occurrences.iter().enumerate() {
        for b in &occurrences[i + 1..] {
            if b.at - a.at > window {
                break;
            }
            if a.service == b.service || a.pattern == b.pattern {
                continue;
            }
            let key = (a.pattern.min(b.pattern), a.pattern.max(b.pattern));
            let t = pairs.entry(key).or_default();
            t.count += 1;
            t.last_at = t.last_at.max(b.at);
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_sweep_counts_what_comparing_every_pair_counts() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..50 {
            let mut occ: Vec<Occurrence> = (0..rng.random_range(0..300))
                .map(|_| Occurrence {
                    at: rng.random_range(0..3_600) * 1_000_000,
                    service: rng.random_range(0..4),
                    pattern: rng.random_range(0..6),
                })
                .collect();
            occ.sort_by_key(|o| o.at);
            let window = 300 * 1_000_000;
            let mut brute: HashMap<(u32, u32), Together> = HashMap::new();
            for (i, a) in occ.iter().enumerate() {
                for (j, b) in occ.iter().enumerate() {
                    if i < j
                        && (a.at - b.at).abs() <= window
                        && a.service != b.service
                        && a.pattern != b.pattern
                    {
                        let t = brute
                            .entry((a.pattern.min(b.pattern), a.pattern.max(b.pattern)))
                            .or_default();
                        t.count += 1;
                        t.last_at = t.last_at.max(a.at.max(b.at));
                    }
                }
            }
            assert_eq!(co_occurrences(&occ, window), brute);
        }
    }

    #[test]
    fn incidents_of_one_service_or_one_pattern_are_not_related() {
        let o = |at, service, pattern| Occurrence {
            at,
            service,
            pattern,
        };
        let pairs = co_occurrences(
            &[o(0, 1, 1), o(1, 1, 2), o(2, 2, 1), o(400_000_000, 3, 3)],
            300_000_000,
        );
        assert_eq!(pairs.len(), 1);
        assert_eq!(
            pairs[&(1, 2)],
            Together {
                count: 1,
                last_at: 2
            }
        );
    }
}
