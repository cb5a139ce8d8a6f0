//! Notes on incidents: a note on the source incident (PagerDuty or Opsgenie, through the integration it was
//! imported with) and, always, an entry on the incident's own timeline — so the product shows it, also for
//! incidents without a source to post to (sample data) — and the text of a run's result note.

use super::{ActionDone, ActionError, RunReport};
use crate::WorkerState;
use insights_core::automations::notes;
use insights_core::db::integrations;
use insights_core::sync;
use insights_types::{IncidentId, OrgId};

/// The longest note posted (PagerDuty and Opsgenie take 25,000 characters).
const MAX_NOTE: usize = 20_000;
/// The most of a response or log tail quoted in a result note.
const EXCERPT: usize = 600;

fn db_error(e: impl std::fmt::Display) -> ActionError {
    ActionError::Retryable(format!("the database is unavailable: {e}"))
}

/// Adds `text` to incident `incident`: its timeline under `key` (once per key), then its source.
///
/// # Errors
/// [`ActionError::Permanent`] when the incident does not exist or the source refused the note for good
/// (a read-only key …); [`ActionError::Retryable`] when the source or the database is unavailable. The
/// timeline entry is written before the source is asked, so a retry does not add it twice.
pub async fn post(
    state: &WorkerState,
    org: OrgId,
    incident: IncidentId,
    key: &str,
    text: &str,
) -> Result<ActionDone, ActionError> {
    let text: String = text.chars().take(MAX_NOTE).collect();
    let mut db = state.db.org_tx(org, None).await.map_err(db_error)?;
    let Some(target) = notes::note_target(&mut db, incident)
        .await
        .map_err(db_error)?
    else {
        return Err(ActionError::Permanent(
            "the incident does not exist any more".into(),
        ));
    };
    notes::add_timeline_note(
        &mut db,
        incident,
        key,
        &text,
        &serde_json::json!({ "type": "automation_note" }),
    )
    .await
    .map_err(db_error)?;
    let row = match target.integration {
        Some(id) => Some(integrations::get(&mut db, id).await.map_err(db_error)?),
        None => None,
    };
    db.commit().await.map_err(db_error)?;
    let Some(row) = row else {
        return Ok(ActionDone {
            status: None,
            response: None,
            summary: format!(
                "Added the note to the incident's timeline (a {} incident has no source to post to)",
                target.source.as_str()
            ),
        });
    };
    let label = row.kind().label();
    let connector = sync::connector(&row, &state.secrets, &state.config.sources).map_err(|e| {
        ActionError::Permanent(format!("the {label} integration cannot be used: {e}"))
    })?;
    connector
        .add_note(&target.external_id, &target.tags, &text)
        .await
        .map_err(|e| {
            let message =
                format!("added to the incident's timeline, but {label} did not take the note: {e}");
            if e.is_transient() {
                ActionError::Retryable(message)
            } else {
                ActionError::Permanent(message)
            }
        })?;
    Ok(ActionDone {
        status: None,
        response: None,
        summary: format!(
            "Posted the note to {label} incident {} and to the incident's timeline",
            target.external_id
        ),
    })
}

/// The start of `text` up to `max` characters, on whole lines where possible, marked when cut.
fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind('\n') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut,
    };
    format!("{}\n…", cut.trim_end())
}

/// The text of a result note; `link` is the run's page in the product.
#[must_use]
pub fn result_text(link: &str, report: &RunReport<'_>) -> String {
    use insights_types::api::RunStatus;
    let status = match report.status {
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::Refused => "was refused",
        RunStatus::Rejected => "was rejected",
        RunStatus::Cancelled => "was cancelled",
        RunStatus::Unknown => "ended with an unknown outcome",
        RunStatus::PendingApproval => "is waiting for approval",
        RunStatus::Queued => "is queued",
        RunStatus::Running => "is running",
    };
    let mut text = format!("Automation “{}” {status}", report.automation_name);
    if let Some(d) = report.duration {
        let ms = d.num_milliseconds().max(0);
        if ms < 1000 {
            text.push_str(&format!(" in {ms} ms"));
        } else {
            text.push_str(&format!(" in {:.1} s", ms as f64 / 1000.0));
        }
    }
    text.push('.');
    if let Some(reason) = report.reason.filter(|r| !r.trim().is_empty()) {
        text.push_str(&format!("\nReason: {}", excerpt(reason, 300)));
    }
    if let Some(error) = report.function_error.filter(|e| !e.trim().is_empty()) {
        text.push_str(&format!("\nFunction error: {}", excerpt(error, 200)));
    }
    let response = report.response.and_then(|r| match r {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) if s.trim().is_empty() => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => serde_json::to_string_pretty(other).ok(),
    });
    if let Some(response) = response {
        text.push_str(&format!("\nResponse:\n{}", excerpt(&response, EXCERPT)));
    } else if let Some(log) = report.log_tail.filter(|l| !l.trim().is_empty()) {
        // The end of a log is what matters: quote its last lines.
        let log = log.trim();
        let tail: String = {
            let chars: Vec<char> = log.chars().collect();
            chars[chars.len().saturating_sub(EXCERPT)..]
                .iter()
                .collect()
        };
        let cut = tail.len() < log.len();
        text.push_str(&format!(
            "\nLog tail:\n{}{}",
            if cut { "…\n" } else { "" },
            tail.trim()
        ));
    }
    text.push_str(&format!("\nRun details: {link}"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use insights_types::AutomationRunId;
    use insights_types::api::RunStatus;
    use uuid::Uuid;

    fn report<'a>(status: RunStatus) -> RunReport<'a> {
        RunReport {
            run_id: AutomationRunId(Uuid::nil()),
            automation_name: "Restart pods",
            status,
            duration: None,
            reason: None,
            function_error: None,
            response: None,
            log_tail: None,
        }
    }

    #[test]
    fn a_success_says_what_ran_how_long_and_what_it_answered() {
        let response = serde_json::json!({"restarted": 3});
        let r = RunReport {
            duration: Some(chrono::Duration::milliseconds(2340)),
            response: Some(&response),
            log_tail: Some("START\nEND"),
            ..report(RunStatus::Succeeded)
        };
        let text = result_text("https://insights.example.com/orgs/o/automations/runs/r", &r);
        assert_eq!(
            text,
            "Automation “Restart pods” succeeded in 2.3 s.\nResponse:\n{\n  \"restarted\": 3\n}\nRun details: \
             https://insights.example.com/orgs/o/automations/runs/r"
        );
    }

    #[test]
    fn a_failure_names_the_function_error_and_quotes_the_end_of_the_log() {
        let log: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let r = RunReport {
            duration: Some(chrono::Duration::milliseconds(15)),
            reason: Some("The function failed: Unhandled"),
            function_error: Some("Unhandled"),
            log_tail: Some(&log),
            ..report(RunStatus::Failed)
        };
        let text = result_text("L", &r);
        assert!(
            text.starts_with("Automation “Restart pods” failed in 15 ms."),
            "{text}"
        );
        assert!(text.contains("\nFunction error: Unhandled\n"), "{text}");
        assert!(
            text.contains("line 199"),
            "the end of the log is quoted: {text}"
        );
        assert!(!text.contains("line 0\n"), "not its start: {text}");
        assert!(text.ends_with("\nRun details: L"));
        assert!(text.chars().count() < 1000, "{}", text.len());
    }

    #[test]
    fn a_long_response_is_cut() {
        let big = serde_json::Value::String("y".repeat(10_000));
        let r = RunReport {
            response: Some(&big),
            ..report(RunStatus::Succeeded)
        };
        let text = result_text("L", &r);
        assert!(text.len() < 800, "{}", text.len());
        assert!(text.contains('…'));
    }
}
