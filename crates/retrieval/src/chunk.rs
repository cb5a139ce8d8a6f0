//! What the index holds: a runbook version cut into chunks (each step; each body section by heading), and a
//! resolved incident's past fix (its timeline entries that say what was done, each with the incident's title
//! for context).

use crate::{Chunk, ChunkSource};
use uuid::Uuid;

/// A section longer than this (in words) is cut into several chunks of about this size, so that a long
/// section's later paragraphs are found (and shown) on their own.
pub const MAX_SECTION_WORDS: usize = 220;

/// One step of a runbook version, as the chunker needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepInput {
    pub title: String,
    pub why: String,
    /// The command's text.
    pub command: Option<String>,
    pub expected: Option<String>,
}

/// A runbook version (the current one) with what it is filtered by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunbookInput {
    pub runbook_id: Uuid,
    pub version: i32,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub steps: Vec<StepInput>,
    pub tags: Vec<String>,
    pub service_ids: Vec<Uuid>,
    pub pattern_ids: Vec<Uuid>,
}

/// One timeline entry of an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInput {
    pub event_id: Uuid,
    /// `note`, `resolve`, `acknowledge`… (see `insights_ingest::event_kind`).
    pub kind: String,
    /// When, as shown in the heading (e.g. RFC 3339).
    pub at: String,
    pub message: Option<String>,
}

/// A resolved incident and its timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentInput {
    pub incident_id: Uuid,
    pub title: String,
    pub events: Vec<EventInput>,
    pub tags: Vec<String>,
    pub service_ids: Vec<Uuid>,
    pub pattern_ids: Vec<Uuid>,
}

/// The chunks of a runbook version: each step, then each body section (by heading; long ones cut).
#[must_use]
pub fn runbook(input: &RunbookInput) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let chunk = |source: ChunkSource, heading: Option<String>, text: String| Chunk {
        source,
        title: input.title.clone(),
        heading,
        text,
        tags: input.tags.clone(),
        service_ids: input.service_ids.clone(),
        pattern_ids: input.pattern_ids.clone(),
    };
    for (i, step) in input.steps.iter().enumerate() {
        let mut text = step.title.trim().to_owned();
        for part in [
            Some(step.why.as_str()),
            step.command.as_deref(),
            step.expected.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            let part = part.trim();
            if !part.is_empty() {
                text.push('\n');
                text.push_str(part);
            }
        }
        chunks.push(chunk(
            ChunkSource::Runbook {
                runbook_id: input.runbook_id,
                version: input.version,
                section: None,
                step: Some(u32::try_from(i).unwrap_or(u32::MAX)),
            },
            Some(step.title.trim().to_owned()),
            text,
        ));
    }
    let mut n = 0u32;
    for (heading, text) in sections(&input.body) {
        for piece in cut(&text, MAX_SECTION_WORDS) {
            chunks.push(chunk(
                ChunkSource::Runbook {
                    runbook_id: input.runbook_id,
                    version: input.version,
                    section: Some(n),
                    step: None,
                },
                heading.clone(),
                piece,
            ));
            n += 1;
        }
    }
    chunks
}

/// The Markdown body's sections: `(heading, text)`, the text before the first heading with no heading. Headings
/// inside fenced code blocks are text. Empty sections are left out.
#[must_use]
pub fn sections(body: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut heading: Option<String> = None;
    let mut text = String::new();
    let mut fence: Option<&str> = None;
    let mut flush = |heading: &Option<String>, text: &mut String| {
        let t = text.trim();
        if !t.is_empty() {
            out.push((heading.clone(), t.to_owned()));
        }
        text.clear();
    };
    for line in body.lines() {
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            }
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
        } else if let Some(h) = atx_heading(trimmed) {
            flush(&heading, &mut text);
            heading = Some(h);
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    flush(&heading, &mut text);
    out
}

fn atx_heading(line: &str) -> Option<String> {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let h = rest.trim().trim_end_matches('#').trim();
    (!h.is_empty()).then(|| h.to_owned())
}

/// `text` cut at paragraph (else line, else word) boundaries into pieces of at most about `max_words` words.
fn cut(text: &str, max_words: usize) -> Vec<String> {
    if text.split_whitespace().count() <= max_words {
        return vec![text.to_owned()];
    }
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    for line in text.lines() {
        let n = line.split_whitespace().count();
        if words > 0 && words + n > max_words {
            pieces.push(std::mem::take(&mut current).trim().to_owned());
            words = 0;
        }
        if n > max_words {
            // One very long line: by words.
            for w in line.split_whitespace() {
                if words >= max_words {
                    pieces.push(std::mem::take(&mut current).trim().to_owned());
                    words = 0;
                }
                current.push_str(w);
                current.push(' ');
                words += 1;
            }
            current.push('\n');
            continue;
        }
        current.push_str(line);
        current.push('\n');
        words += n;
    }
    if !current.trim().is_empty() {
        pieces.push(current.trim().to_owned());
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// Timeline kinds that can carry what was done (a note, the message a resolution came with, or a source's
/// own entry type).
const ACTION_KINDS: &[&str] = &["note", "resolve", "other"];

/// Words of a status change that say nothing about what was done ("Resolved by Ada", "Acknowledged via
/// Slack").
const STATUS_WORDS: &[&str] = &[
    "resolved",
    "resolve",
    "acknowledged",
    "acknowledge",
    "ack",
    "acked",
    "closed",
    "close",
    "triggered",
    "escalated",
    "assigned",
    "reassigned",
    "unacknowledged",
    "reopened",
    "snoozed",
    "auto-resolved",
    "autoresolved",
    "done",
    "fixed",
];

/// Whether a timeline message says what was done, rather than only a status change ("Resolved", "Resolved by
/// Ada Lovelace via the web app", "ack").
#[must_use]
pub fn describes_action(message: &str) -> bool {
    let words: Vec<String> = message
        .split(|c: char| c.is_whitespace() || matches!(c, '.' | ',' | '!' | ':' | ';' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    // "Alert closed by Ada", "Incident resolved": the subject says nothing either.
    let start = words
        .iter()
        .take_while(|w| matches!(w.as_str(), "alert" | "incident" | "the" | "this"))
        .count();
    let Some(first) = words.get(start) else {
        return false;
    };
    if STATUS_WORDS.contains(&first.as_str()) {
        // "<status>", "<status> by|via|from <who or where>" (a name of up to three words, not "by restarting…").
        let rest = &words[start + 1..];
        let Some(second) = rest.first() else {
            return false;
        };
        let attribution = matches!(
            second.as_str(),
            "by" | "via" | "from" | "through" | "automatically" | "in"
        ) && rest.len() <= 4
            && !rest.get(1).is_some_and(|w| w.ends_with("ing"));
        if attribution {
            return false;
        }
    }
    contains_content(&words)
}

/// At least two content terms (not stop words, not status words).
fn contains_content(words: &[String]) -> bool {
    words
        .iter()
        .filter(|w| !STATUS_WORDS.contains(&w.as_str()) && !crate::analyze::is_stop_word(w))
        .count()
        >= 2
}

/// The past-fix chunks of a resolved incident: one per timeline entry that says what was done.
#[must_use]
pub fn past_fix(input: &IncidentInput) -> Vec<Chunk> {
    input
        .events
        .iter()
        .filter(|e| ACTION_KINDS.contains(&e.kind.as_str()))
        .filter_map(|e| {
            let message = e.message.as_deref()?.trim();
            describes_action(message).then(|| Chunk {
                source: ChunkSource::PastFix {
                    incident_id: input.incident_id,
                    event_id: Some(e.event_id),
                },
                title: input.title.clone(),
                heading: Some(format!("{} · {}", e.kind, e.at)),
                text: message.to_owned(),
                tags: input.tags.clone(),
                service_ids: input.service_ids.clone(),
                pattern_ids: input.pattern_ids.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runbook_input() -> RunbookInput {
        RunbookInput {
            runbook_id: Uuid::from_u128(1),
            version: 3,
            title: "Replication lag".into(),
            body: "Intro paragraph.\n\n## Symptoms\nReplicas fall behind.\n\n```sh\n# not a heading\npg_stat\n```\n\n## Escalation ##\nPage the DBA.\n\n## Empty\n".into(),
            steps: vec![
                StepInput {
                    title: "Check lag".into(),
                    why: "See how far behind.".into(),
                    command: Some("psql -c 'select * from pg_stat_replication'".into()),
                    expected: Some("lag under 10 s".into()),
                },
                StepInput {
                    title: "Restart the replica".into(),
                    ..StepInput::default()
                },
            ],
            tags: vec!["db".into()],
            service_ids: vec![Uuid::from_u128(7)],
            pattern_ids: vec![],
        }
    }

    #[test]
    fn a_runbook_gives_its_steps_then_its_sections() {
        let chunks = runbook(&runbook_input());
        assert_eq!(chunks.len(), 5, "{chunks:#?}");
        assert_eq!(
            chunks[0].source,
            ChunkSource::Runbook {
                runbook_id: Uuid::from_u128(1),
                version: 3,
                section: None,
                step: Some(0)
            }
        );
        assert_eq!(chunks[0].heading.as_deref(), Some("Check lag"));
        assert!(chunks[0].text.contains("pg_stat_replication"));
        assert!(chunks[0].text.contains("lag under 10 s"));
        assert_eq!(chunks[1].text, "Restart the replica");
        assert_eq!(chunks[2].heading, None);
        assert_eq!(chunks[2].text, "Intro paragraph.");
        assert_eq!(chunks[3].heading.as_deref(), Some("Symptoms"));
        assert!(chunks[3].text.contains("# not a heading"));
        assert_eq!(chunks[4].heading.as_deref(), Some("Escalation"));
        assert!(
            chunks
                .iter()
                .all(|c| c.tags == ["db"] && c.title == "Replication lag")
        );
    }

    #[test]
    fn long_sections_are_cut() {
        let mut input = runbook_input();
        input.steps.clear();
        input.body = format!("# Long\n{}", "word ".repeat(MAX_SECTION_WORDS * 3));
        let chunks = runbook(&input);
        assert!(chunks.len() >= 3, "{}", chunks.len());
        assert!(
            chunks
                .iter()
                .all(|c| c.text.split_whitespace().count() <= MAX_SECTION_WORDS)
        );
        let sections: Vec<_> = chunks
            .iter()
            .map(|c| match c.source {
                ChunkSource::Runbook { section, .. } => section,
                ChunkSource::PastFix { .. } => None,
            })
            .collect();
        assert_eq!(
            sections,
            (0..chunks.len() as u32).map(Some).collect::<Vec<_>>()
        );
    }

    #[test]
    fn status_changes_are_not_actions() {
        for m in [
            "Resolved",
            "Resolved by Ada Lovelace",
            "Acknowledged via Slack",
            "ack",
            "Resolved automatically",
            "",
            "closed by api",
            "Alert closed by Ada",
            "Incident resolved",
            "Resolved through the API",
        ] {
            assert!(!describes_action(m), "{m}");
        }
        for m in [
            "Scaled out the consumers to 6 replicas",
            "Resolved after rolling back the 4.2 deploy",
            "rotated the TLS certificate on the ingress",
            "Failed over to the standby database",
            "Resolved by restarting the pods",
            "Resolved by Ada: drained node 3 and cordoned it",
        ] {
            assert!(describes_action(m), "{m}");
        }
    }

    #[test]
    fn a_resolved_incident_gives_its_action_entries() {
        let event = |n: u128, kind: &str, message: Option<&str>| EventInput {
            event_id: Uuid::from_u128(n),
            kind: kind.into(),
            at: "2026-11-01T10:00:00Z".into(),
            message: message.map(Into::into),
        };
        let input = IncidentInput {
            incident_id: Uuid::from_u128(9),
            title: "Checkout latency".into(),
            events: vec![
                event(1, "trigger", Some("High latency on checkout-api")),
                event(2, "acknowledge", Some("Acknowledged by Ada")),
                event(
                    3,
                    "note",
                    Some("Restarted the checkout-api pods; latency back to normal"),
                ),
                event(4, "note", None),
                event(5, "resolve", Some("Resolved by Ada")),
                event(
                    6,
                    "resolve",
                    Some("Rolled back release 4.2 of checkout-api"),
                ),
            ],
            tags: vec![],
            service_ids: vec![Uuid::from_u128(3)],
            pattern_ids: vec![Uuid::from_u128(4)],
        };
        let chunks = past_fix(&input);
        let ids: Vec<_> = chunks
            .iter()
            .map(|c| match c.source {
                ChunkSource::PastFix { event_id, .. } => event_id,
                ChunkSource::Runbook { .. } => None,
            })
            .collect();
        assert_eq!(
            ids,
            vec![Some(Uuid::from_u128(3)), Some(Uuid::from_u128(6))]
        );
        assert!(chunks.iter().all(|c| c.title == "Checkout latency"
            && c.service_ids == input.service_ids
            && c.pattern_ids == input.pattern_ids));
    }
}
