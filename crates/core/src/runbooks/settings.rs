//! The organization's generation settings (`runbook_settings`; no row means the defaults) and its token use
//! this calendar month (`llm_usage`).

use super::{RunbookError, RunbookResult};
use crate::db::{DbError, OrgTx};
use insights_types::api::{GenerationPolicy, RunbookSettingsIn};
use insights_types::{FieldError, UserId};

/// What an organization allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub generation: GenerationPolicy,
    pub redact_contacts: bool,
    /// Tokens per calendar month (UTC); `None`: no limit.
    pub monthly_token_budget: Option<i64>,
}

fn policy_str(p: GenerationPolicy) -> &'static str {
    match p {
        GenerationPolicy::Off => "off",
        GenerationPolicy::Redacted => "redacted",
        GenerationPolicy::On => "on",
    }
}

fn policy_of(s: &str) -> Result<GenerationPolicy, DbError> {
    match s {
        "off" => Ok(GenerationPolicy::Off),
        "redacted" => Ok(GenerationPolicy::Redacted),
        "on" => Ok(GenerationPolicy::On),
        other => Err(DbError::Unreadable {
            table: "runbook_settings",
            column: "generation".into(),
            error: format!("unknown generation policy {other:?}").into(),
        }),
    }
}

/// The organization's settings (the defaults when it never set any).
///
/// # Errors
/// A database error.
pub async fn get(db: &mut OrgTx) -> RunbookResult<Settings> {
    let row = org_query!(
        db,
        "SELECT generation, redact_contacts, monthly_token_budget FROM runbook_settings WHERE org_id = $1"
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(match row {
        Some(r) => Settings {
            generation: policy_of(&r.generation)?,
            redact_contacts: r.redact_contacts,
            monthly_token_budget: r.monthly_token_budget,
        },
        None => Settings::default(),
    })
}

/// Tokens (prompt and completion) used this calendar month (UTC).
///
/// # Errors
/// A database error.
pub async fn tokens_used_this_month(db: &mut OrgTx) -> RunbookResult<i64> {
    Ok(org_query_scalar!(
        db,
        "SELECT tokens FROM llm_usage
          WHERE org_id = $1 AND month = date_trunc('month', now() AT TIME ZONE 'UTC')::date"
    )
    .fetch_optional(db.conn())
    .await?
    .unwrap_or(0))
}

/// Sets the organization's settings.
///
/// # Errors
/// [`RunbookError::Invalid`] for a negative budget, or a database error.
pub async fn put(db: &mut OrgTx, actor: UserId, s: &RunbookSettingsIn) -> RunbookResult<()> {
    if s.monthly_token_budget.is_some_and(|b| b < 0) {
        return Err(RunbookError::Invalid(vec![FieldError::new(
            "monthly_token_budget",
            "invalid",
            "a number of tokens, 0 or more, or null for no limit",
        )]));
    }
    org_execute!(
        db,
        "INSERT INTO runbook_settings (org_id, generation, redact_contacts, monthly_token_budget, updated_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (org_id) DO UPDATE
            SET generation = $2, redact_contacts = $3, monthly_token_budget = $4, updated_by = $5,
                updated_at = now()",
        policy_str(s.generation),
        s.redact_contacts,
        s.monthly_token_budget,
        actor.0
    )?;
    Ok(())
}

/// The start of the calendar month (UTC) after `now`: when this month's token budget renews.
#[must_use]
pub fn next_month(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{Datelike, TimeZone};
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    chrono::Utc
        .with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn the_budget_renews_on_the_first_of_next_month() {
        let at = |y, m, d| chrono::Utc.with_ymd_and_hms(y, m, d, 13, 5, 0).unwrap();
        let first = |y, m| chrono::Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap();
        assert_eq!(super::next_month(at(2026, 11, 29)), first(2026, 12));
        assert_eq!(super::next_month(at(2026, 12, 31)), first(2027, 1));
    }
}
