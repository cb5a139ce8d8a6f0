//! Loads the sample runbooks (`insights_ingest::sample_runbooks`) into an organization with the sample
//! history: imported from their Markdown, tagged `sample`, linked to the sample services they are for, and
//! enqueued for the index like any runbook. Idempotent: a sample runbook already there (by title, tagged
//! `sample`) is left as it is, edits included.

use super::{RunbookResult, VersionOrigin, create, step_from_markdown, validate};
use crate::db::{DbError, OrgTx};
use insights_ingest::sample_runbooks::RUNBOOKS;
use insights_retrieval::markdown;
use insights_types::ServiceId;
use insights_types::api::{RunbookIn, RunbookOrigin};

/// The tag of sample runbooks.
pub const TAG: &str = "sample";

/// Adds the sample runbooks the organization does not have yet; returns how many were added.
///
/// # Errors
/// A database error (a sample runbook that does not validate is a bug, reported as unreadable data).
pub async fn load(db: &mut OrgTx) -> RunbookResult<usize> {
    let mut added = 0;
    for r in RUNBOOKS {
        let parsed = markdown::import(r.file, r.markdown);
        let exists = org_query_scalar!(
            db,
            r#"SELECT EXISTS (SELECT 1 FROM runbooks WHERE org_id = $1 AND title = $2 AND $3 = ANY(tags)) AS "e!""#,
            parsed.title,
            TAG
        )
        .fetch_one(db.conn())
        .await?;
        if exists {
            continue;
        }
        let names: Vec<String> = r.services.iter().map(|s| (*s).to_owned()).collect();
        let services: Vec<uuid::Uuid> = org_query_scalar!(
            db,
            "SELECT id FROM services WHERE org_id = $1 AND source = 'sample' AND name = ANY($2) ORDER BY name",
            &names
        )
        .fetch_all(db.conn())
        .await?;
        let input = RunbookIn {
            title: parsed.title,
            body: parsed.body,
            steps: parsed.steps.into_iter().map(step_from_markdown).collect(),
            tags: vec![TAG.to_owned()],
            service_ids: services.into_iter().map(ServiceId).collect(),
            pattern_ids: vec![],
            base_version: None,
        };
        let valid = validate("", &input).map_err(|e| DbError::Unreadable {
            table: "sample runbooks",
            column: r.file.to_owned(),
            error: format!("{e:?}").into(),
        })?;
        create(
            db,
            None,
            valid,
            RunbookOrigin::Imported,
            VersionOrigin::default(),
            "",
        )
        .await?;
        added += 1;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use insights_types::api::StepRisk;

    #[test]
    fn every_sample_runbook_imports_as_a_valid_runbook_with_commands_and_risks() {
        for r in RUNBOOKS {
            let parsed = markdown::import(r.file, r.markdown);
            assert!(
                parsed.steps.len() >= 3,
                "{}: {} steps",
                r.file,
                parsed.steps.len()
            );
            let input = RunbookIn {
                title: parsed.title.clone(),
                body: parsed.body.clone(),
                steps: parsed.steps.into_iter().map(step_from_markdown).collect(),
                tags: vec![TAG.to_owned()],
                service_ids: vec![],
                pattern_ids: vec![],
                base_version: None,
            };
            let v = validate("", &input).unwrap_or_else(|e| panic!("{}: {e:?}", r.file));
            assert!(
                v.steps.iter().filter(|s| s.command.is_some()).count() >= 2,
                "{}",
                r.file
            );
            // Each one starts by looking before it changes anything.
            assert_eq!(
                v.steps[0].risk,
                StepRisk::ReadOnly,
                "{}: {:?}",
                r.file,
                v.steps[0]
            );
            assert!(
                v.steps.iter().any(|s| s.risk != StepRisk::ReadOnly),
                "{}",
                r.file
            );
        }
    }
}
