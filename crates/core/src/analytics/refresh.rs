//! Keeping rollups exact: the triggers on `incidents` mark the UTC hours whose incidents changed (and the hour
//! after, for repeats); [`refresh_org`] turns marks into the local days they touch, recomputes those days from
//! the incidents with the same definitions as the raw queries, then their weeks and months from the days, and
//! bumps the organization's version. [`recompute_month`] rebuilds a month after a settings change.

use super::AnalyticsResult;
use super::calendar::{first_of_month, monday_of, next_month};
use super::definitions::Calendar;
use super::store::{self, Grain};
use super::totals::{RollupKey, Totals};
use crate::db::OrgTx;
use crate::db::incidents::IncidentFilter;
use chrono::{Duration, NaiveDate};
use std::collections::{BTreeSet, HashMap};

/// Days of marks one refresh takes (from the oldest): a large backfill is rolled up over several transactions.
const DAYS_PER_REFRESH: i32 = 62;
/// Days read from the incidents per statement.
const DAYS_PER_READ: i64 = 31;

/// What one [`refresh_org`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// Another worker holds the organization.
    Busy,
    /// Took marks (the count of local days recomputed); `more` when marks are left.
    Days { days: usize, more: bool },
}

/// Takes the organization's oldest dirty marks and recomputes the days and months they touch, in the caller's
/// transaction (commit it).
pub async fn refresh_org(db: &mut OrgTx) -> AnalyticsResult<Refreshed> {
    let Some(settings) = store::lock_state(db, false).await? else {
        return Ok(Refreshed::Busy);
    };
    let cal = Calendar::new(&settings)?;
    let hours = store::take_marks(db, DAYS_PER_REFRESH).await?;
    let mut days = BTreeSet::new();
    // The local dates of the hour's first and last instants (two in zones whose midnight is not on the hour).
    for h in hours {
        days.insert(cal.date(h));
        days.insert(cal.date(h + Duration::milliseconds(3_599_999)));
    }
    let days: Vec<NaiveDate> = days.into_iter().collect();
    refresh_days(db, &cal, &days).await?;
    store::bump_version(db).await?;
    Ok(Refreshed::Days {
        days: days.len(),
        more: store::has_marks(db).await?,
    })
}

/// Recomputes the day rollups of `days` (sorted) from the incidents, then the weeks and months they are in.
pub async fn refresh_days(
    db: &mut OrgTx,
    cal: &Calendar,
    days: &[NaiveDate],
) -> AnalyticsResult<()> {
    if days.is_empty() {
        return Ok(());
    }
    let all = IncidentFilter::default();
    // Contiguous runs of days, read DAYS_PER_READ at a time.
    let mut i = 0;
    while i < days.len() {
        let mut j = i + 1;
        while j < days.len()
            && days[j] == days[j - 1] + Duration::days(1)
            && (days[j] - days[i]).num_days() < DAYS_PER_READ
        {
            j += 1;
        }
        let run = &days[i..j];
        let (from, to) = (
            cal.day_start(run[0]),
            cal.day_start(run[run.len() - 1] + Duration::days(1)),
        );
        let mut rows: HashMap<(NaiveDate, RollupKey), Totals> = HashMap::new();
        for f in store::facts(db, cal, &all, from, to, store::Repeats::LookUp).await? {
            rows.entry((f.fact.date, f.key)).or_default().add(&f.fact);
            rows.entry((f.fact.date, RollupKey::TOTAL))
                .or_default()
                .add(&f.fact);
        }
        store::replace_rollups(db, Grain::Day, run, &rows).await?;
        i = j;
    }
    let weeks: BTreeSet<NaiveDate> = days.iter().map(|d| monday_of(*d)).collect();
    for w in weeks {
        merge_days(db, Grain::Week, w, w + Duration::days(7)).await?;
    }
    let months: BTreeSet<NaiveDate> = days.iter().map(|d| first_of_month(*d)).collect();
    for m in months {
        merge_days(db, Grain::Month, m, next_month(m)).await?;
    }
    Ok(())
}

/// Recomputes the rollups of the week or month `[from, to)` from its day rollups.
pub(super) async fn merge_days(
    db: &mut OrgTx,
    grain: Grain,
    from: NaiveDate,
    to: NaiveDate,
) -> AnalyticsResult<()> {
    let days = store::rollups(
        db,
        Grain::Day,
        from,
        to,
        &IncidentFilter::default(),
        false,
        store::Detail::ALL,
    )
    .await?;
    let mut rows: HashMap<(NaiveDate, RollupKey), Totals> = HashMap::new();
    for d in days {
        rows.entry((from, RollupKey::TOTAL))
            .or_default()
            .merge(&d.totals);
        rows.entry((from, d.key)).or_default().merge(&d.totals);
    }
    store::replace_rollups(db, grain, &[from], &rows).await
}

/// Recomputes every day of the month starting `month`, and the month (a recomputation's step).
pub async fn recompute_month(
    db: &mut OrgTx,
    cal: &Calendar,
    month: NaiveDate,
) -> AnalyticsResult<()> {
    let mut days = Vec::new();
    let mut d = month;
    while d < next_month(month) {
        days.push(d);
        d += Duration::days(1);
    }
    refresh_days(db, cal, &days).await
}
