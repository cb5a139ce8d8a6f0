//! The export of the unified history: every incident matching the list's filters, oldest first, as CSV (one
//! row per incident, for spreadsheets) or JSON lines (one incident per line, with its description and
//! timeline, for scripts). The answer is streamed: a task reads a thousand incidents at a time, each in its
//! own short transaction, and hands the encoded bytes over a small bounded channel, so memory stays flat
//! however large the history, and a client that goes away stops the reading.

use super::FilterQuery;
use crate::error::ApiError;
use crate::http::{OrgMember, Query};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use insights_core::db::incidents;
use insights_types::api::IncidentDetailOut;
use insights_types::{OrgId, Permission};
use serde::Deserialize;

const CHUNK: i64 = 1_000;

/// The export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line (`IncidentDetailOut`: the incident, its description and timeline).
    Jsonl,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `csv` or `jsonl`.
    #[param(inline)]
    format: ExportFormat,
}

/// The CSV columns.
const COLUMNS: [&str; 20] = [
    "id",
    "source",
    "external_id",
    "number",
    "title",
    "status",
    "urgency",
    "priority",
    "service",
    "team",
    "triggered_at",
    "acknowledged_at",
    "resolved_at",
    "minutes_to_acknowledge",
    "minutes_to_resolve",
    "assignees",
    "tags",
    "source_url",
    "description",
    "timeline_entries",
];

/// Export every incident matching the filters (the list's), oldest first, as CSV or JSON lines. A history
/// larger than `INSIGHTS_EXPORT_MAX_ROWS` is refused whole (409 `quota_exceeded`), never cut short.
#[utoipa::path(get, path = "/orgs/{org_id}/incidents/export", tag = "incidents", security(("bearer" = [])),
    params(("org_id" = OrgId, Path), FilterQuery, FormatQuery),
    responses((status = 200, description = "`text/csv` or `application/x-ndjson`, as a download",
        content((String = "text/csv"), (String = "application/x-ndjson"))),
              (status = 409, description = "More incidents match than an export holds (`quota_exceeded`, `details.quota` = `export_max_rows`)", body = insights_types::ErrorBody)))]
pub async fn export_incidents(
    State(state): State<AppState>,
    member: OrgMember,
    Query(filter): Query<FilterQuery>,
    Query(f): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    member.require(Permission::ViewOrganization)?;
    let filter = filter.parse(true)?;
    // Refuse a history over the quota before the first byte (fails too if the database is down, rather than
    // in the middle of a download): a download cut at the quota could pass for the whole history.
    let max = i64::from(state.config.limits.export_max_rows);
    let mut t = state
        .db
        .org_read_tx(member.org_id, Some(member.user_id))
        .await?;
    let rows = incidents::count_matching(&mut t, &filter, max + 1).await?;
    drop(t);
    if rows > max {
        return Err(ApiError::Quota {
            quota: "export_max_rows",
            message: format!(
                "More than {max} incidents match: an export holds at most {max}. Narrow the filters (a shorter time range, a service, a status) and export in parts."
            ),
            limit: max as u64,
            retry_after_secs: None,
        });
    }
    let (tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let db = state.db.clone();
    let (org, user) = (member.org_id, member.user_id);
    tokio::spawn(async move {
        use futures::SinkExt;
        let mut tx = tx;
        if f.format == ExportFormat::Csv {
            let mut head = String::new();
            csv_row(&mut head, COLUMNS.iter().map(|c| (*c).to_owned()));
            if tx.send(Ok(Bytes::from(head))).await.is_err() {
                return;
            }
        }
        let mut after = None;
        loop {
            let page = async {
                let mut t = db.org_read_tx(org, Some(user)).await?;
                let page = incidents::list_detailed(&mut t, &filter, after, CHUNK).await?;
                t.commit().await?;
                Ok::<_, insights_core::db::DbError>(page)
            }
            .await;
            let (items, next) = match page {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = ?e, %org, "export failed midway");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            };
            let mut out = String::with_capacity(items.len() * 400);
            for i in &items {
                match f.format {
                    ExportFormat::Csv => csv_row(&mut out, csv_fields(i)),
                    ExportFormat::Jsonl => {
                        out.push_str(&serde_json::to_string(i).expect("incident serializes"));
                        out.push('\n');
                    }
                }
            }
            if tx.send(Ok(Bytes::from(out))).await.is_err() {
                return; // the client went away
            }
            match (next, items.last()) {
                (Some(_), Some(last)) => {
                    after = Some((last.incident.triggered_at, last.incident.id.0));
                }
                _ => return,
            }
        }
    });
    let (content_type, ext) = match f.format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Jsonl => ("application/x-ndjson", "jsonl"),
    };
    let name = format!(
        "incidents-{}.{ext}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(rx),
    )
        .into_response())
}

fn csv_fields(d: &IncidentDetailOut) -> Vec<String> {
    let i = &d.incident;
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let minutes = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| format!("{:.1}", (t - i.triggered_at).num_seconds() as f64 / 60.0))
            .unwrap_or_default()
    };
    vec![
        i.id.to_string(),
        i.source.as_str().to_owned(),
        i.external_id.clone(),
        i.number.map(|n| n.to_string()).unwrap_or_default(),
        i.title.clone(),
        i.status.as_str().to_owned(),
        i.urgency.map(|u| u.as_str().to_owned()).unwrap_or_default(),
        i.priority.clone().unwrap_or_default(),
        i.service
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        i.team.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
        i.triggered_at.to_rfc3339(),
        time(i.acknowledged_at),
        time(i.resolved_at),
        minutes(i.acknowledged_at),
        minutes(i.resolved_at),
        i.assignees.join("; "),
        i.tags.join("; "),
        i.source_url.clone().unwrap_or_default(),
        d.description.clone().unwrap_or_default(),
        d.timeline.len().to_string(),
    ]
}

/// Appends one CSV row (RFC 4180): fields with a comma, semicolon, quote or line break are quoted, quotes
/// doubled. Every place where a spreadsheet could start a cell — the field's start, and after any separator a
/// spreadsheet may split on (comma, semicolon, tab, pipe, line break), spaces skipped — is defused when a
/// formula would start there (`=`, `+`, `-`, `@`, or their full-width forms) by a `'` before it, unless that
/// cell is a plain number: incident titles come from alerts, which anyone who can page you can write.
fn csv_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (n, field) in fields.into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let field = defuse_formulas(&field);
        if field.contains([',', ';', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&field);
        }
    }
    out.push_str("\r\n");
}

/// Characters a spreadsheet may split cells on, whatever separator it was told.
const SEPARATORS: [char; 6] = [',', ';', '\t', '|', '\n', '\r'];
/// Characters that make a cell a formula when it starts with them.
const FORMULA_STARTS: [char; 8] = ['=', '+', '-', '@', '＝', '＋', '－', '＠'];

/// `field` with a `'` before every formula that a cell of it could start with (see [`csv_row`]).
fn defuse_formulas(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 1);
    let mut at_cell_start = true;
    for (i, c) in field.char_indices() {
        if at_cell_start && c != ' ' {
            let cell = field[i..].split(SEPARATORS).next().unwrap_or_default();
            let starts_formula = FORMULA_STARTS.contains(&c) || (i == 0 && c == '\t');
            if starts_formula && cell.trim().parse::<f64>().is_err() {
                out.push('\'');
            }
            at_cell_start = false;
        }
        if i == 0 && c == '\r' {
            out.push('\'');
        }
        out.push(c);
        if SEPARATORS.contains(&c) {
            at_cell_start = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::csv_row;

    fn row(fields: &[&str]) -> String {
        let mut s = String::new();
        csv_row(&mut s, fields.iter().map(|f| (*f).to_owned()));
        s
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(row(&["a", "b c", ""]), "a,b c,\r\n");
        assert_eq!(
            row(&["x,y", "say \"hi\"", "two\nlines"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn formulas_are_defused_but_negative_numbers_stay_numbers() {
        assert_eq!(
            row(&["=HYPERLINK(\"x\")"]),
            "\"'=HYPERLINK(\"\"x\"\")\"\r\n"
        );
        assert_eq!(row(&["@SUM(A1)", "+1+1"]), "'@SUM(A1),'+1+1\r\n");
        assert_eq!(row(&["-3.5"]), "-3.5\r\n");
    }

    #[test]
    fn a_formula_after_a_separator_or_spaces_is_defused_too() {
        // A spreadsheet told to split on semicolons (or tabs, or pipes) would start a cell at `=`.
        assert_eq!(row(&["db down;=cmd()"]), "\"db down;'=cmd()\"\r\n");
        assert_eq!(row(&["a\t@SUM(A1)|+1+1"]), "a\t'@SUM(A1)|'+1+1\r\n");
        assert_eq!(row(&["  =1+1"]), "  '=1+1\r\n");
        assert_eq!(row(&["line\n-2+3"]), "\"line\n'-2+3\"\r\n");
        assert_eq!(row(&["＝HYPERLINK()"]), "'＝HYPERLINK()\r\n");
        // A leading tab is defused, and so is what a split on tabs would put in the next cell.
        assert_eq!(row(&["\t=1"]), "'\t'=1\r\n");
        // Numbers stay numbers, wherever they stand; text that only contains a sign stays as it is.
        assert_eq!(row(&["x;-3.5"]), "\"x;-3.5\"\r\n");
        assert_eq!(
            row(&["error rate +5% over 10m"]),
            "error rate +5% over 10m\r\n"
        );
    }
}
