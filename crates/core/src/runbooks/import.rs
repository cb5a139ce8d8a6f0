//! Importing Markdown files as runbooks (source `imported`): every file is read
//! ([`insights_retrieval::markdown::import`]) and validated before any is stored, so a bad file stores nothing.

use super::{RunbookError, RunbookResult, VersionOrigin, validate, validate_tags};
use crate::db::OrgTx;
use insights_retrieval::markdown;
use insights_types::api::{RunbookImportIn, RunbookIn, RunbookOrigin};
use insights_types::{FieldError, RunbookId, UserId};

/// The most files one import takes.
pub const MAX_FILES: usize = 50;
/// The longest file name.
pub const MAX_FILE_NAME: usize = 255;
/// The most characters of one file.
pub const MAX_FILE: usize = 100_000;

/// Imports the files (with the import's tags added to each), all or none: every problem of every file is
/// reported as a field error naming it (`files[2].content`: "ops/disk.md: …").
///
/// # Errors
/// [`RunbookError::Invalid`] when any file is bad, or a database error.
pub async fn import(
    db: &mut OrgTx,
    actor: Option<UserId>,
    input: &RunbookImportIn,
) -> RunbookResult<Vec<RunbookId>> {
    let mut errors = Vec::new();
    if input.files.is_empty() || input.files.len() > MAX_FILES {
        errors.push(FieldError::new(
            "files",
            "invalid_count",
            format!("1–{MAX_FILES} files"),
        ));
    }
    let tags = validate_tags("tags", &input.tags, &mut errors);
    let mut valid = Vec::new();
    for (i, file) in input.files.iter().enumerate() {
        let name = file.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_FILE_NAME
            || name.chars().any(char::is_control)
        {
            errors.push(FieldError::new(
                format!("files[{i}].name"),
                "invalid_length",
                format!("1–{MAX_FILE_NAME} characters, no control characters"),
            ));
            continue;
        }
        if file.content.chars().count() > MAX_FILE {
            errors.push(FieldError::new(
                format!("files[{i}].content"),
                "too_long",
                format!("{name}: at most {MAX_FILE} characters"),
            ));
            continue;
        }
        if file.content.trim().is_empty() {
            errors.push(FieldError::new(
                format!("files[{i}].content"),
                "empty",
                format!("{name}: the file is empty"),
            ));
            continue;
        }
        let parsed = markdown::import(name, &file.content);
        let runbook = RunbookIn {
            title: parsed.title,
            body: parsed.body,
            steps: parsed
                .steps
                .into_iter()
                .map(super::step_from_markdown)
                .collect(),
            tags: tags.clone(),
            service_ids: vec![],
            pattern_ids: vec![],
            base_version: None,
        };
        match validate(&format!("files[{i}]."), &runbook) {
            Ok(v) => valid.push(v),
            Err(e) => errors.extend(e.into_iter().map(|mut e| {
                e.message = format!("{name}: {}", e.message);
                e
            })),
        }
    }
    if !errors.is_empty() {
        return Err(RunbookError::Invalid(errors));
    }
    let mut ids = Vec::with_capacity(valid.len());
    for v in valid {
        ids.push(
            super::create(
                db,
                actor,
                v,
                RunbookOrigin::Imported,
                VersionOrigin::default(),
                "",
            )
            .await?,
        );
    }
    Ok(ids)
}
