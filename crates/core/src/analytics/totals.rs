//! The one mergeable accumulator of analytics: a rollup row is a [`Totals`] stored, a raw incident is a
//! [`Fact`] added to one, and every answer merges them — so the rollup and raw paths cannot disagree.

use super::definitions::Fact;
use super::sketch::{self, Sketch};
use insights_types::api::{
    CountShare, DurationStats, IncidentSource, IncidentStatus, NoiseCounts, PeriodTotals, Urgency,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The columns rollups are keyed by, which are also filters of the incident list; [`RollupKey::TOTAL`] (no
/// source) keys a period's total over every key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RollupKey {
    pub service_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub urgency: Option<Urgency>,
    pub source: Option<IncidentSource>,
    pub status: Option<IncidentStatus>,
}

impl RollupKey {
    /// The key of a period's total row.
    pub const TOTAL: RollupKey = RollupKey {
        service_id: None,
        team_id: None,
        urgency: None,
        source: None,
        status: None,
    };
}

/// A duration's count, exact sum and sketch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    pub n: i64,
    pub sum_ms: i64,
    pub sketch: Sketch,
}

impl Durations {
    fn add(&mut self, ms: Option<i64>) {
        if let Some(ms) = ms {
            self.n += 1;
            self.sum_ms += ms;
            self.sketch.add(ms);
        }
    }

    fn merge(&mut self, o: &Durations) {
        self.n += o.n;
        self.sum_ms += o.sum_ms;
        self.sketch.merge(&o.sketch);
    }

    /// The mean in seconds (exact).
    #[must_use]
    pub fn mean_seconds(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum_ms as f64 / self.n as f64 / 1000.0)
    }

    /// The `p` quantile in seconds, from the sketch (within 1 %).
    #[must_use]
    pub fn quantile_seconds(&self, p: f64) -> Option<f64> {
        self.sketch.quantile(p).map(|ms| ms / 1000.0)
    }

    fn stats(&self) -> DurationStats {
        DurationStats {
            mean: self.mean_seconds(),
            p50: self.quantile_seconds(0.5),
            p90: self.quantile_seconds(0.9),
        }
    }
}

/// Everything the answers need of a set of incidents, mergeable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub count: i64,
    pub acknowledged: i64,
    pub resolved: i64,
    pub tta: Durations,
    pub ttr: Durations,
    pub off_hours: i64,
    pub sleep_hours: i64,
    pub auto_resolved: i64,
    pub never_acknowledged: i64,
    pub repeats: i64,
    /// Noise of any kind (an incident counts once).
    pub noisy: i64,
    /// Incidents per local hour of the week (0 = Monday 00:00).
    pub week_hours: BTreeMap<i32, i64>,
}

impl Totals {
    /// Adds one incident.
    pub fn add(&mut self, f: &Fact) {
        let n = |b: bool| i64::from(b);
        self.count += 1;
        self.acknowledged += n(f.acknowledged);
        self.resolved += n(f.resolved);
        self.tta.add(f.tta_ms);
        self.ttr.add(f.ttr_ms);
        self.off_hours += n(f.off_hours);
        self.sleep_hours += n(f.sleep_hours);
        self.auto_resolved += n(f.auto_resolved);
        self.never_acknowledged += n(f.never_acknowledged);
        self.repeats += n(f.repeat);
        self.noisy += n(f.noisy());
        *self.week_hours.entry(i32::from(f.week_hour)).or_default() += 1;
    }

    pub fn merge(&mut self, o: &Totals) {
        self.count += o.count;
        self.acknowledged += o.acknowledged;
        self.resolved += o.resolved;
        self.tta.merge(&o.tta);
        self.ttr.merge(&o.ttr);
        self.off_hours += o.off_hours;
        self.sleep_hours += o.sleep_hours;
        self.auto_resolved += o.auto_resolved;
        self.never_acknowledged += o.never_acknowledged;
        self.repeats += o.repeats;
        self.noisy += o.noisy;
        for (&k, &v) in &o.week_hours {
            *self.week_hours.entry(k).or_default() += v;
        }
    }

    /// The hour-of-week counts in their stored form.
    #[must_use]
    pub fn week_hour_pairs(&self) -> Vec<i32> {
        sketch::pairs(&self.week_hours)
    }

    /// Adds stored hour-of-week counts.
    pub fn merge_week_hour_pairs(&mut self, pairs: &[i32]) {
        sketch::add_pairs(&mut self.week_hours, pairs);
    }

    /// The figures of a period.
    #[must_use]
    pub fn period(&self) -> PeriodTotals {
        let share = |c: i64| CountShare {
            count: c,
            share: (self.count > 0).then(|| c as f64 / self.count as f64),
        };
        PeriodTotals {
            count: self.count,
            acknowledged: self.acknowledged,
            resolved: self.resolved,
            mtta_seconds: self.tta.stats(),
            mttr_seconds: self.ttr.stats(),
            off_hours: share(self.off_hours),
            sleep_hours: share(self.sleep_hours),
            noise: NoiseCounts {
                auto_resolved: self.auto_resolved,
                never_acknowledged: self.never_acknowledged,
                repeats: self.repeats,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn fact(tta: Option<i64>, ttr: Option<i64>, week_hour: u8) -> Fact {
        Fact {
            date: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            week_hour,
            acknowledged: tta.is_some(),
            resolved: ttr.is_some(),
            tta_ms: tta,
            ttr_ms: ttr,
            off_hours: week_hour > 100,
            sleep_hours: false,
            auto_resolved: tta.is_none() && ttr.is_some_and(|t| t < 1000),
            never_acknowledged: tta.is_none(),
            repeat: week_hour == 3,
        }
    }

    #[test]
    fn merging_totals_equals_adding_every_fact_to_one() {
        let facts: Vec<Fact> = (0..40)
            .map(|i| {
                fact(
                    (i % 3 != 0).then_some(i * 1000),
                    (i % 2 == 0).then_some(i * 500),
                    (i * 7 % 168) as u8,
                )
            })
            .collect();
        let mut all = Totals::default();
        let (mut a, mut b) = (Totals::default(), Totals::default());
        for (i, f) in facts.iter().enumerate() {
            all.add(f);
            if i % 4 == 0 { &mut a } else { &mut b }.add(f);
        }
        a.merge(&b);
        assert_eq!(a, all);
        let p = all.period();
        assert_eq!(p.count, 40);
        assert_eq!(p.acknowledged, 26);
        assert_eq!(p.noise.never_acknowledged, 14);
        // TTA: i × 1 s for the i not divisible by 3.
        let ttas: Vec<i64> = (0..40).filter(|i| i % 3 != 0).collect();
        let mean = ttas.iter().sum::<i64>() as f64 / ttas.len() as f64;
        assert!((p.mtta_seconds.mean.unwrap() - mean).abs() < 1e-9);
        assert_eq!(
            Totals::default().period().mtta_seconds,
            DurationStats::default()
        );
        assert_eq!(Totals::default().period().off_hours.share, None);
    }
}
