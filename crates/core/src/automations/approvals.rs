//! Decisions on runs: approve (the run is queued through `runs::enqueue`), reject, cancel. An approver needs
//! at least the automation's `approve_role` and may not decide a run they asked for; a run is cancelled by
//! whoever asked for it or by someone who manages automations, while it waits. Each decision is an event of
//! the run's append-only history.

use super::definitions::role_of;
use super::query::status_of;
use super::{AutomationError, AutomationResult, runs, settings};
use crate::db::OrgTx;
use crate::jobs::{JobQueue, Pending, RunAutomation};
use insights_types::api::RunStatus;
use insights_types::{AutomationRunId, FieldError, Permission, Role, UserId};
use uuid::Uuid;

/// The longest comment, in characters.
pub const COMMENT_MAX: usize = 1_000;

/// A decision's comment, checked.
pub fn check_comment(comment: &str) -> AutomationResult<String> {
    let c = comment.trim();
    if c.chars().count() > COMMENT_MAX || c.chars().any(|ch| ch.is_control() && ch != '\n') {
        return Err(FieldError::new(
            "comment",
            "invalid",
            format!("at most {COMMENT_MAX} characters, without control characters"),
        )
        .into());
    }
    Ok(c.to_owned())
}

/// A run waiting for a decision, locked.
struct Waiting {
    status: RunStatus,
    actor_id: Option<Uuid>,
    approve_role: Option<String>,
    automation_name: String,
}

async fn lock(db: &mut OrgTx, id: AutomationRunId) -> AutomationResult<Waiting> {
    let r = org_query!(
        db,
        r#"SELECT r.status, r.actor_id, r.automation_name, a.approve_role AS "approve_role?"
             FROM automation_runs r
             LEFT JOIN automations a ON a.org_id = r.org_id AND a.id = r.automation_id
            WHERE r.org_id = $1 AND r.id = $2
              FOR UPDATE OF r"#,
        id.0,
    )
    .fetch_optional(db.conn())
    .await?
    .ok_or(AutomationError::NotFound)?;
    Ok(Waiting {
        status: status_of(&r.status),
        actor_id: r.actor_id,
        approve_role: r.approve_role,
        automation_name: r.automation_name,
    })
}

fn status_word(s: RunStatus) -> &'static str {
    super::query::status_str(s)
}

/// Checks that `(user, role)` may decide the run now.
fn may_decide(run: &Waiting, user: UserId, role: Role) -> AutomationResult<()> {
    if run.status != RunStatus::PendingApproval {
        return Err(AutomationError::Conflict {
            code: "not_pending",
            message: format!(
                "The run is {}: only a run waiting for approval can be approved or rejected.",
                status_word(run.status)
            ),
        });
    }
    let least = run.approve_role.as_deref().map(role_of);
    if !least.is_some_and(|least| role <= least) {
        return Err(AutomationError::Refused {
            code: "approval_not_allowed",
            message: format!(
                "Runs of \"{}\" are approved by its {}s{}: your role is {role}.",
                run.automation_name,
                least.map_or("owner", Role::as_str),
                if least == Some(Role::Owner) {
                    ""
                } else {
                    " and above"
                },
            ),
        });
    }
    if run.actor_id == Some(user.0) {
        return Err(AutomationError::Refused {
            code: "approval_not_allowed",
            message: "You asked for this run: someone else must approve or reject it.".into(),
        });
    }
    Ok(())
}

async fn event(
    db: &mut OrgTx,
    id: AutomationRunId,
    kind: &str,
    actor: UserId,
    message: &str,
) -> AutomationResult<()> {
    org_query!(
        db,
        "INSERT INTO automation_run_events (id, org_id, run_id, kind, actor_id, message)
         VALUES ($2, $1, $3, $4, $5, $6)",
        Uuid::now_v7(),
        id.0,
        kind,
        actor.0,
        message,
    )
    .execute(db.conn())
    .await?;
    Ok(())
}

/// Approves a run waiting for approval: its `approved` event, then it is queued with its job (push it once the
/// transaction committed). While the kill switch is on nothing starts: 409 `kill_switch_on`, and the run
/// keeps waiting.
pub async fn approve(
    db: &mut OrgTx,
    queue: &JobQueue,
    id: AutomationRunId,
    user: UserId,
    role: Role,
    comment: &str,
) -> AutomationResult<Pending<RunAutomation>> {
    let comment = check_comment(comment)?;
    let run = lock(db, id).await?;
    may_decide(&run, user, role)?;
    let kill = settings::get(db).await?;
    if kill.killed {
        return Err(AutomationError::Conflict {
            code: "kill_switch_on",
            message: format!(
                "The kill switch is on{}: no run starts until an admin turns it off; the run keeps waiting.",
                if kill.reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", kill.reason)
                }
            ),
        });
    }
    event(db, id, "approved", user, &comment).await?;
    runs::enqueue(db, queue, id).await.map_err(|e| match e {
        crate::db::DbError::NotFound => AutomationError::Conflict {
            code: "not_pending",
            message: "The run is no longer waiting for approval.".into(),
        },
        e => e.into(),
    })
}

/// Rejects a run waiting for approval (`rejected`, with the comment as its reason).
pub async fn reject(
    db: &mut OrgTx,
    id: AutomationRunId,
    user: UserId,
    role: Role,
    comment: &str,
) -> AutomationResult<()> {
    let comment = check_comment(comment)?;
    let run = lock(db, id).await?;
    may_decide(&run, user, role)?;
    let reason = if comment.is_empty() {
        "An approver rejected it.".to_owned()
    } else {
        format!("An approver rejected it: {comment}")
    };
    org_query!(
        db,
        "UPDATE automation_runs SET status = 'rejected', reason = $3, finished_at = now(), updated_at = now()
          WHERE org_id = $1 AND id = $2",
        id.0,
        &reason,
    )
    .execute(db.conn())
    .await?;
    event(db, id, "rejected", user, &comment).await
}

/// Cancels a run that waits (for approval, or queued and not started): by whoever asked for it, or by someone
/// who manages automations.
pub async fn cancel(
    db: &mut OrgTx,
    id: AutomationRunId,
    user: UserId,
    role: Role,
) -> AutomationResult<()> {
    let run = lock(db, id).await?;
    if run.actor_id != Some(user.0) && !role.can(Permission::ManageAutomations) {
        return Err(AutomationError::Refused {
            code: "cancel_not_allowed",
            message: "Only whoever asked for the run, or an admin, may cancel it.".into(),
        });
    }
    if !matches!(run.status, RunStatus::PendingApproval | RunStatus::Queued) {
        return Err(AutomationError::Conflict {
            code: "not_waiting",
            message: format!(
                "The run is {}: only a run waiting for approval or queued can be cancelled.",
                status_word(run.status)
            ),
        });
    }
    org_query!(
        db,
        "UPDATE automation_runs SET status = 'cancelled', reason = 'Cancelled before it started.',
                finished_at = now(), updated_at = now()
          WHERE org_id = $1 AND id = $2",
        id.0,
    )
    .execute(db.conn())
    .await?;
    event(db, id, "cancelled", user, "").await
}

/// What the approvers of a waiting run are told, and who they are.
#[derive(Debug)]
pub struct ApprovalRequest {
    pub automation_name: String,
    pub requested_by: Option<String>,
    pub incident_title: Option<String>,
    /// (email, name) of every member whose role is at least the automation's approve role, except the person
    /// who asked.
    pub approvers: Vec<(String, String)>,
}

/// The approvers of a run that waits for approval (`None` when it no longer waits: decided, cancelled, or its
/// automation deleted).
pub async fn approval_request(
    db: &mut OrgTx,
    id: AutomationRunId,
) -> AutomationResult<Option<ApprovalRequest>> {
    let Some(run) = org_query!(
        db,
        r#"SELECT r.status, r.actor_id, r.automation_name, a.approve_role AS "approve_role?",
                  u.name AS "requested_by?", i.title AS "incident_title?"
             FROM automation_runs r
             LEFT JOIN automations a ON a.org_id = r.org_id AND a.id = r.automation_id
             LEFT JOIN users u ON u.id = r.actor_id
             LEFT JOIN incidents i ON i.org_id = r.org_id AND i.id = r.incident_id
            WHERE r.org_id = $1 AND r.id = $2"#,
        id.0,
    )
    .fetch_optional(db.conn())
    .await?
    else {
        return Ok(None);
    };
    let (RunStatus::PendingApproval, Some(least)) = (
        status_of(&run.status),
        run.approve_role.as_deref().map(role_of),
    ) else {
        return Ok(None);
    };
    let members = org_query!(
        db,
        r#"SELECT u.id, u.email, u.name, m.role AS "role: Role"
             FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = $1
            ORDER BY u.email"#,
    )
    .fetch_all(db.conn())
    .await?;
    let approvers = members
        .into_iter()
        .filter(|m| m.role <= least && Some(m.id) != run.actor_id)
        .map(|m| (m.email, m.name))
        .collect();
    Ok(Some(ApprovalRequest {
        automation_name: run.automation_name,
        requested_by: run.requested_by,
        incident_title: run.incident_title,
        approvers,
    }))
}
