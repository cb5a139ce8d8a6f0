//! The organization's automation settings: the kill switch (`automation_settings`; no row: off). While it is
//! on no new run starts — each refusal is recorded by admission — and queued runs are not invoked; runs
//! pending approval or queued stay as they are, and go on once it is off again.

use super::AutomationResult;
use crate::db::OrgTx;
use chrono::{DateTime, Utc};
use insights_types::api::{AutomationSettingsIn, NamedRef};
use insights_types::{FieldError, Role, UserId};

/// The longest reason, in characters.
pub const REASON_MAX: usize = 500;

/// The kill switch as stored.
#[derive(Debug, Clone, Default)]
pub struct KillSwitch {
    pub killed: bool,
    pub reason: String,
    pub killed_by: Option<NamedRef>,
    pub killed_at: Option<DateTime<Utc>>,
}

/// The organization's kill switch (off when it never set one).
pub async fn get(db: &mut OrgTx) -> AutomationResult<KillSwitch> {
    let row = org_query!(
        db,
        r#"SELECT s.killed, s.killed_reason, s.killed_by, u.name AS "killed_by_name?", s.killed_at
             FROM automation_settings s LEFT JOIN users u ON u.id = s.killed_by
            WHERE s.org_id = $1"#,
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(row
        .map(|r| KillSwitch {
            killed: r.killed,
            reason: r.killed_reason,
            killed_by: r.killed_by.map(|id| NamedRef {
                id,
                name: r.killed_by_name.unwrap_or_default(),
            }),
            killed_at: r.killed_at,
        })
        .unwrap_or_default())
}

/// Turns the kill switch on or off. Turning it on records who and when (kept while it stays on); turning it
/// off clears them. Answers whether it changed.
pub async fn put(
    db: &mut OrgTx,
    actor: UserId,
    body: &AutomationSettingsIn,
) -> AutomationResult<bool> {
    let reason = body.reason.trim();
    if reason.chars().count() > REASON_MAX || reason.chars().any(char::is_control) {
        return Err(FieldError::new(
            "reason",
            "invalid",
            format!("at most {REASON_MAX} characters, without control characters"),
        )
        .into());
    }
    let before = get(db).await?.killed;
    org_query!(
        db,
        "INSERT INTO automation_settings (org_id, killed, killed_reason, killed_by, killed_at, updated_at)
         VALUES ($1, $2, $3, CASE WHEN $2 THEN $4::uuid END, CASE WHEN $2 THEN now() END, now())
         ON CONFLICT (org_id) DO UPDATE
            SET killed = $2, killed_reason = $3,
                killed_by = CASE WHEN NOT $2 THEN NULL
                                 WHEN automation_settings.killed THEN automation_settings.killed_by
                                 ELSE $4::uuid END,
                killed_at = CASE WHEN NOT $2 THEN NULL
                                 WHEN automation_settings.killed THEN automation_settings.killed_at
                                 ELSE now() END,
                updated_at = now()",
        body.killed,
        if body.killed { reason } else { "" },
        actor.0,
    )
    .execute(db.conn())
    .await?;
    Ok(before != body.killed)
}

/// How many runs wait for a decision `role` (not `user`, when they asked for it) may make.
pub async fn pending_for(db: &mut OrgTx, user: UserId, role: Role) -> AutomationResult<i64> {
    let roles = roles_at_least(role);
    Ok(org_query_scalar!(
        db,
        r#"SELECT count(*) AS "n!" FROM automation_runs r JOIN automations a
                ON a.org_id = r.org_id AND a.id = r.automation_id
            WHERE r.org_id = $1 AND r.status = 'pending_approval' AND a.approve_role = ANY($2)
              AND r.actor_id IS DISTINCT FROM $3"#,
        &roles,
        user.0,
    )
    .fetch_one(db.conn())
    .await?)
}

/// The stored `approve_role`/`run_role` values `role` satisfies (a role at least as powerful as them).
#[must_use]
pub fn roles_at_least(role: Role) -> Vec<String> {
    [Role::Owner, Role::Admin, Role::Member]
        .into_iter()
        .filter(|r| role <= *r)
        .map(|r| r.as_str().to_owned())
        .collect()
}
