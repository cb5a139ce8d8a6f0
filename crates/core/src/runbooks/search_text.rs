//! The text a search for an incident or a pattern looks for: what a person would type about it.

use super::RunbookResult;
use crate::db::OrgTx;
use insights_types::{IncidentId, PatternId};

/// An incident's title, service, pattern and description. `None` when there is no such incident.
///
/// # Errors
/// A database error.
pub async fn for_incident(db: &mut OrgTx, id: IncidentId) -> RunbookResult<Option<String>> {
    let row = org_query!(
        db,
        r#"SELECT i.title, i.description, s.name AS "service?", coalesce(p.name, p.template) AS pattern
             FROM incidents i
             LEFT JOIN services s ON s.org_id = i.org_id AND s.id = i.service_id
             LEFT JOIN patterns p ON p.org_id = i.org_id AND p.id = i.pattern_id
            WHERE i.org_id = $1 AND i.id = $2"#,
        id.0
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(row.map(|r| {
        let mut parts = vec![r.title.clone()];
        parts.extend(r.service);
        parts.extend(r.pattern.filter(|p| *p != r.title));
        parts.extend(r.description.filter(|d| !d.trim().is_empty()));
        join(parts)
    }))
}

/// A pattern's name (else its template) and its example titles. `None` when there is no such pattern (an
/// alias reads as the pattern it was merged into).
///
/// # Errors
/// A database error.
pub async fn for_pattern(db: &mut OrgTx, id: PatternId) -> RunbookResult<Option<String>> {
    let Some(id) = crate::patterns::resolve(db, id)
        .await
        .map_err(|e| match e {
            crate::patterns::PatternError::Db(e) => super::RunbookError::Db(e),
            _ => super::RunbookError::NotFound,
        })?
    else {
        return Ok(None);
    };
    let row = org_query!(
        db,
        "SELECT name, template, examples FROM patterns WHERE org_id = $1 AND id = $2",
        id.0
    )
    .fetch_optional(db.conn())
    .await?;
    Ok(row.map(|r| {
        let mut parts: Vec<String> = r.name.into_iter().collect();
        parts.push(r.template);
        if let serde_json::Value::Array(examples) = r.examples {
            parts.extend(
                examples
                    .into_iter()
                    .filter_map(|e| e.as_str().map(str::to_owned)),
            );
        }
        join(parts)
    }))
}

/// The parts, each once, on one line each.
fn join(parts: Vec<String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for p in parts {
        let p = p.trim().to_owned();
        if !p.is_empty() && !seen.contains(&p) {
            seen.push(p);
        }
    }
    seen.join("\n")
}
