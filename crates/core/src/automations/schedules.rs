//! Automation schedules, API side: create, replace, delete, read and list. The cron expression and time zone
//! are parsed by the engine (`Schedule`); saving one sets `next_run_at` to its next fire time after now, which
//! the worker claims and advances (see `docs/AUTOMATIONS.md`).

use super::rules::check_params;
use super::{AutomationError, AutomationResult, not_found};
use crate::db::{OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_automation::schedule::Schedule;
use insights_types::api::{AutomationScheduleIn, AutomationScheduleOut, NamedRef};
use insights_types::domain::{FieldErrors, Name};
use insights_types::{AutomationScheduleId, FieldError, UserId};
use uuid::Uuid;

/// How many next fire times an answer lists.
pub const UPCOMING: usize = 5;

/// A checked schedule body: the parsed schedule, its time zone's name and the parameters.
pub struct Valid {
    pub schedule: Schedule,
    pub time_zone: String,
    pub params: serde_json::Value,
}

/// Checks a body: every invalid field in one error.
pub fn validate(body: &AutomationScheduleIn) -> AutomationResult<Valid> {
    let mut errors = FieldErrors::default();
    errors.check(Name::parse_field("name", &body.name));
    let time_zone = body
        .time_zone
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("UTC")
        .to_owned();
    let cron = body.cron.trim();
    let schedule = if cron.chars().count() > 200 {
        errors.push(FieldError::new(
            "cron",
            "too_long",
            "at most 200 characters",
        ));
        None
    } else {
        match Schedule::parse(cron, &time_zone) {
            Ok(s) => Some(s),
            Err(e) => {
                let msg = e.to_string();
                // The engine says which part is wrong: the time zone's name, or the expression.
                let field = if msg.to_lowercase().contains("time zone") {
                    "time_zone"
                } else {
                    "cron"
                };
                errors.push(FieldError::new(field, "invalid", msg));
                None
            }
        }
    };
    let params = errors.check(check_params("params", body.params.as_ref()));
    errors.finish()?;
    Ok(Valid {
        schedule: schedule.expect("checked"),
        time_zone,
        params: params.expect("checked"),
    })
}

/// A stored schedule.
#[derive(Debug, Clone)]
pub struct ScheduleRow {
    pub id: Uuid,
    pub automation_id: Uuid,
    pub automation_name: String,
    pub name: String,
    pub cron: String,
    pub time_zone: String,
    pub params: serde_json::Value,
    pub enabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ScheduleRow {
    /// The schedule as the API shows it, with its next fire times after `now` (none while disabled).
    #[must_use]
    pub fn out(&self, now: DateTime<Utc>) -> AutomationScheduleOut {
        let next_runs = if self.enabled {
            Schedule::parse(&self.cron, &self.time_zone)
                .map(|s| s.upcoming(now, UPCOMING))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        AutomationScheduleOut {
            id: AutomationScheduleId(self.id),
            name: self.name.clone(),
            automation: NamedRef {
                id: self.automation_id,
                name: self.automation_name.clone(),
            },
            cron: self.cron.clone(),
            time_zone: self.time_zone.clone(),
            params: self.params.clone(),
            enabled: self.enabled,
            next_runs,
            last_run_at: self.last_run_at,
            created_at: self.created_at,
        }
    }
}

async fn check_automation(db: &mut OrgTx, body: &AutomationScheduleIn) -> AutomationResult<()> {
    let exists = org_query_scalar!(
        db,
        "SELECT id FROM automations WHERE org_id = $1 AND id = $2 FOR SHARE",
        body.automation_id.0
    )
    .fetch_optional(db.conn())
    .await?;
    match exists {
        Some(_) => Ok(()),
        None => Err(FieldError::new(
            "automation_id",
            "not_found",
            "no such automation in this organization",
        )
        .into()),
    }
}

/// Creates a schedule, due at its next fire time after now.
pub async fn create(
    db: &mut OrgTx,
    actor: UserId,
    body: &AutomationScheduleIn,
) -> AutomationResult<AutomationScheduleId> {
    let v = validate(body)?;
    check_automation(db, body).await?;
    let id = AutomationScheduleId(Uuid::now_v7());
    org_query!(
        db,
        "INSERT INTO automation_schedules (id, org_id, automation_id, name, cron, time_zone, params, enabled,
                                           next_run_at, created_by)
         VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $9, $10)",
        id.0,
        body.automation_id.0,
        body.name.trim(),
        body.cron.trim(),
        &v.time_zone,
        v.params,
        body.enabled,
        v.schedule.next_after(Utc::now()),
        actor.0,
    )
    .execute(db.conn())
    .await?;
    Ok(id)
}

/// Replaces a schedule; it is next due at its next fire time after now.
pub async fn replace(
    db: &mut OrgTx,
    id: AutomationScheduleId,
    body: &AutomationScheduleIn,
) -> AutomationResult<()> {
    get(db, id).await?;
    let v = validate(body)?;
    check_automation(db, body).await?;
    org_query!(
        db,
        "UPDATE automation_schedules SET automation_id = $3, name = $4, cron = $5, time_zone = $6, params = $7,
                enabled = $8, next_run_at = $9, updated_at = now()
          WHERE org_id = $1 AND id = $2",
        id.0,
        body.automation_id.0,
        body.name.trim(),
        body.cron.trim(),
        &v.time_zone,
        v.params,
        body.enabled,
        v.schedule.next_after(Utc::now()),
    )
    .execute(db.conn())
    .await?;
    Ok(())
}

/// Deletes a schedule (its runs stay in the log).
pub async fn delete(db: &mut OrgTx, id: AutomationScheduleId) -> AutomationResult<ScheduleRow> {
    let row = get(db, id).await?;
    org_query!(
        db,
        "DELETE FROM automation_schedules WHERE org_id = $1 AND id = $2",
        id.0
    )
    .execute(db.conn())
    .await?;
    Ok(row)
}

/// A schedule.
pub async fn get(db: &mut OrgTx, id: AutomationScheduleId) -> AutomationResult<ScheduleRow> {
    fetch(db, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or(AutomationError::NotFound)
}

/// The organization's schedules, by name.
pub async fn list(db: &mut OrgTx) -> AutomationResult<Vec<ScheduleRow>> {
    fetch(db, None).await
}

async fn fetch(
    db: &mut OrgTx,
    id: Option<AutomationScheduleId>,
) -> AutomationResult<Vec<ScheduleRow>> {
    org_query_as!(
        db,
        ScheduleRow,
        "SELECT s.id, s.automation_id, a.name AS automation_name, s.name, s.cron, s.time_zone, s.params,
                s.enabled, s.next_run_at, s.last_run_at, s.created_at
           FROM automation_schedules s
           JOIN automations a ON a.org_id = s.org_id AND a.id = s.automation_id
          WHERE s.org_id = $1 AND ($2::uuid IS NULL OR s.id = $2)
          ORDER BY s.name, s.id",
        id.map(|i| i.0),
    )
    .fetch_all(db.conn())
    .await
    .read_from("automation_schedules")
    .map_err(not_found)
}
