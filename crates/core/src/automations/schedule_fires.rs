//! Schedules on the worker side: claiming a due schedule and advancing it in the transaction that admits its
//! run, so each fire makes exactly one run however many workers look (a claimed row is locked; the others
//! skip it, and find it not due any more once the claim committed).

use crate::db::{Db, DbResult, OrgTx};
use chrono::{DateTime, Utc};
use insights_types::{AutomationId, AutomationScheduleId, OrgId};

/// The schedules due now across organizations, oldest first.
pub async fn due(db: &Db, max_rows: i32) -> DbResult<Vec<(OrgId, AutomationScheduleId)>> {
    Ok(sqlx::query!(
        r#"SELECT org_id AS "org_id!: OrgId", id AS "id!: AutomationScheduleId" FROM automation_schedules_due($1)"#,
        max_rows
    )
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|r| (r.org_id, r.id))
    .collect())
}

/// A claimed schedule.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: AutomationScheduleId,
    pub automation_id: AutomationId,
    pub cron: String,
    pub time_zone: String,
    /// The fire being claimed.
    pub due_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// Locks a schedule that is still due (`None` when another worker claimed it, or it changed meanwhile).
pub async fn claim(db: &mut OrgTx, id: AutomationScheduleId) -> DbResult<Option<Claimed>> {
    Ok(org_query!(
        db,
        r#"SELECT id AS "id: AutomationScheduleId", automation_id AS "automation_id: AutomationId", cron, time_zone,
                  next_run_at AS "next_run_at!", now() AS "now!"
             FROM automation_schedules
            WHERE org_id = $1 AND id = $2 AND enabled AND next_run_at <= now()
            FOR UPDATE SKIP LOCKED"#,
        id as AutomationScheduleId,
    )
    .fetch_optional(db.conn())
    .await?
    .map(|r| Claimed {
        id: r.id,
        automation_id: r.automation_id,
        cron: r.cron,
        time_zone: r.time_zone,
        due_at: r.next_run_at,
        now: r.now,
    }))
}

/// Advances a claimed schedule to its next fire (`None`: it never fires again — a cron that does not parse
/// any more, or has no next time), recording when it last ran.
pub async fn advance(
    db: &mut OrgTx,
    id: AutomationScheduleId,
    ran_at: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
) -> DbResult<()> {
    org_execute!(
        db,
        "UPDATE automation_schedules SET next_run_at = $3, last_run_at = $4, updated_at = updated_at
          WHERE org_id = $1 AND id = $2",
        id as AutomationScheduleId,
        next,
        ran_at,
    )
}
