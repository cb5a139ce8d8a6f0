//! A mergeable quantile sketch of durations (DDSketch-style log buckets): a duration of `ms` milliseconds falls
//! in bucket `1 + ceil(log_γ ms)` (bucket 0 holds exactly 0), with γ = 1.01 / 0.99, and a bucket answers with
//! the value at its middle, `2 γᵏ / (γ + 1)`: within 1 % of any value in it. Quantiles are by nearest rank, like
//! PostgreSQL's `percentile_disc` — the value at position `ceil(p × n)` — so the sketch's answer is within 1 % of
//! the exact one. Sketches merge by adding counts, which is how day rollups become months and rollups and raw
//! incidents become one answer. Stored as `int4[]` of (bucket, count) pairs.

use std::collections::BTreeMap;

/// γ: consecutive bucket bounds are this far apart.
const GAMMA: f64 = 1.01 / 0.99;

/// Counts of durations per log bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sketch {
    buckets: BTreeMap<i32, i64>,
}

/// The bucket of a duration in milliseconds (negative ones count as 0).
#[must_use]
pub fn bucket_of(ms: i64) -> i32 {
    if ms <= 0 {
        return 0;
    }
    // ceil(log_γ ms), corrected for floating-point error at the bounds so that γ^(k-1) < ms ≤ γ^k.
    let mut k = ((ms as f64).ln() / GAMMA.ln()).ceil() as i32;
    while k > 0 && GAMMA.powi(k - 1) >= ms as f64 {
        k -= 1;
    }
    while GAMMA.powi(k) < ms as f64 {
        k += 1;
    }
    k + 1
}

/// The value a bucket answers with, in milliseconds.
#[must_use]
pub fn bucket_value(bucket: i32) -> f64 {
    if bucket <= 0 {
        0.0
    } else {
        2.0 * GAMMA.powi(bucket - 1) / (GAMMA + 1.0)
    }
}

impl Sketch {
    /// Adds one duration in milliseconds.
    pub fn add(&mut self, ms: i64) {
        *self.buckets.entry(bucket_of(ms)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (&k, &n) in &other.buckets {
            *self.buckets.entry(k).or_default() += n;
        }
    }

    #[must_use]
    pub fn count(&self) -> i64 {
        self.buckets.values().sum()
    }

    /// The `p` quantile (0 < p ≤ 1) by nearest rank, in milliseconds; `None` when empty.
    #[must_use]
    pub fn quantile(&self, p: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        // As PostgreSQL's percentile_disc computes it (the same double arithmetic).
        let rank = ((p * n as f64).ceil() as i64).clamp(1, n);
        let mut seen = 0;
        for (&k, &c) in &self.buckets {
            seen += c;
            if seen >= rank {
                return Some(bucket_value(k));
            }
        }
        None
    }

    /// The stored form: (bucket, count) pairs, buckets ascending.
    #[must_use]
    pub fn to_pairs(&self) -> Vec<i32> {
        pairs(&self.buckets)
    }

    /// Reads the stored form; pairs may repeat a bucket (they add up).
    #[must_use]
    pub fn from_pairs(pairs: &[i32]) -> Sketch {
        let mut s = Sketch::default();
        add_pairs(&mut s.buckets, pairs);
        s
    }

    /// Adds the stored form `pairs` to this sketch.
    pub fn merge_pairs(&mut self, pairs: &[i32]) {
        add_pairs(&mut self.buckets, pairs);
    }
}

/// Sparse counts as `int4[]` pairs (key, count); counts beyond `i32` are split over several pairs.
pub(crate) fn pairs(map: &BTreeMap<i32, i64>) -> Vec<i32> {
    let mut out = Vec::with_capacity(map.len() * 2);
    for (&k, &n) in map {
        let mut left = n;
        while left > 0 {
            let part = left.min(i64::from(i32::MAX));
            out.push(k);
            out.push(part as i32);
            left -= part;
        }
    }
    out
}

/// Adds `int4[]` pairs (key, count) to sparse counts.
pub(crate) fn add_pairs(map: &mut BTreeMap<i32, i64>, pairs: &[i32]) {
    for [k, n] in pairs.as_chunks::<2>().0 {
        *map.entry(*k).or_default() += i64::from(*n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// percentile_disc: the value at position ceil(p × n) of the sorted values.
    fn exact(sorted: &[i64], p: f64) -> f64 {
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64
    }

    #[test]
    fn every_value_is_within_one_percent_of_its_bucket_value() {
        for ms in (1..20_000).chain((0..2000).map(|i| 1_000 + i * 7_919_311)) {
            let v = bucket_value(bucket_of(ms));
            let err = (v - ms as f64).abs() / ms as f64;
            assert!(err <= 0.010_000_001, "{ms} ms -> {v} ({err})");
        }
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(-5), 0);
        assert_eq!(bucket_value(0), 0.0);
    }

    #[test]
    fn quantiles_are_within_one_percent_of_percentile_disc() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for n in [1usize, 2, 3, 10, 11, 99, 1000] {
            let mut values: Vec<i64> = (0..n)
                .map(|_| match rng.random_range(0..4) {
                    0 => 0,
                    1 => rng.random_range(1..1_000),
                    2 => rng.random_range(1_000..3_600_000),
                    _ => rng.random_range(3_600_000..90 * 86_400_000),
                })
                .collect();
            let mut s = Sketch::default();
            for v in &values {
                s.add(*v);
            }
            values.sort_unstable();
            for p in [0.5, 0.9, 0.99, 1.0] {
                let (want, got) = (exact(&values, p), s.quantile(p).unwrap());
                let err = if want == 0.0 {
                    got
                } else {
                    (got - want).abs() / want
                };
                assert!(err <= 0.010_000_001, "n={n} p={p}: {got} vs {want}");
            }
        }
        assert_eq!(Sketch::default().quantile(0.5), None);
    }

    #[test]
    fn merged_sketches_answer_like_one_sketch_of_all_values() {
        let (mut a, mut b, mut all) = (Sketch::default(), Sketch::default(), Sketch::default());
        for v in 0..500 {
            let ms = v * v * 37;
            if v % 3 == 0 { &mut a } else { &mut b }.add(ms);
            all.add(ms);
        }
        let mut merged = Sketch::from_pairs(&a.to_pairs());
        merged.merge_pairs(&b.to_pairs());
        assert_eq!(merged, all);
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(all.quantile(0.5), merged.quantile(0.5));
    }

    #[test]
    fn the_stored_form_splits_counts_beyond_int4() {
        let mut m = BTreeMap::new();
        m.insert(3, i64::from(i32::MAX) + 5);
        let p = pairs(&m);
        assert_eq!(p, vec![3, i32::MAX, 3, 5]);
        let mut back = BTreeMap::new();
        add_pairs(&mut back, &p);
        assert_eq!(back, m);
    }
}
