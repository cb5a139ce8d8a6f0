//! A draft runbook from a model's answer ([`validate`]) or, without a model, from the retrieved sources
//! ([`assemble`]).
//!
//! Validation trusts nothing in the answer: citations to sources that do not exist are dropped, a step left
//! without a valid citation is marked not grounded, the risk of a command is raised to what its text does
//! ([`command_risk`]) when the model said less, lengths and the number of steps are bounded, and an answer
//! that does not have the schema's shape is an error (the caller retries or fails visibly). Every change is
//! listed in the draft's `warnings`. Nothing here runs a command.

use crate::risk::Risk;
use insights_types::api::{
    CommandLanguage, DraftStepOut, GenerationSourceOut, RunbookCommand, RunbookDraftOut,
    RunbookStep, SourceKind, StepRisk,
};
use regex::Regex;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::LazyLock;

/// The most steps a draft keeps.
pub const MAX_STEPS: usize = 30;
/// The most steps an assembled draft takes from its sources.
pub const MAX_ASSEMBLED_STEPS: usize = 12;
const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 2000;
const MAX_COMMAND: usize = 4000;

/// Why an answer is not a draft.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the model's answer is not a runbook draft: {0}")]
pub struct DraftError(pub String);

fn err(m: impl Into<String>) -> DraftError {
    DraftError(m.into())
}

/// Validates a model's answer (the schema of [`crate::prompt::schema`]) against the `source_count` numbered
/// sources it was given.
pub fn validate(answer: &Value, source_count: u32) -> Result<RunbookDraftOut, DraftError> {
    let obj = answer
        .as_object()
        .ok_or_else(|| err("the answer is not a JSON object"))?;
    let mut warnings = Vec::new();
    let title = match obj.get("title").and_then(Value::as_str).map(str::trim) {
        Some(t) if !t.is_empty() => bounded(t, MAX_TITLE, "the title", &mut warnings),
        _ => return Err(err("the answer has no title")),
    };
    let summary = match obj.get("summary") {
        Some(Value::String(s)) => bounded(s.trim(), MAX_TEXT, "the summary", &mut warnings),
        None | Some(Value::Null) => String::new(),
        Some(_) => return Err(err("the summary is not text")),
    };
    let raw_steps = obj
        .get("steps")
        .and_then(Value::as_array)
        .ok_or_else(|| err("the answer has no list of steps"))?;
    if raw_steps.len() > MAX_STEPS {
        warnings.push(format!(
            "the answer had {} steps; only the first {MAX_STEPS} are kept",
            raw_steps.len()
        ));
    }
    let mut steps = Vec::new();
    for (i, raw) in raw_steps.iter().take(MAX_STEPS).enumerate() {
        match step(raw, i + 1, source_count, &mut warnings) {
            Some(s) => steps.push(s),
            None => warnings.push(format!("step {} has no title; dropped", i + 1)),
        }
    }
    if steps.is_empty() {
        return Err(err("the answer has no usable step"));
    }
    Ok(RunbookDraftOut {
        title,
        summary,
        steps,
        warnings,
    })
}

fn step(
    raw: &Value,
    n: usize,
    source_count: u32,
    warnings: &mut Vec<String>,
) -> Option<DraftStepOut> {
    let obj = raw.as_object()?;
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::trim);
    let title = text("title").filter(|t| !t.is_empty())?;
    let title = bounded(title, MAX_TITLE, &format!("step {n}'s title"), warnings);
    let why = bounded(
        text("why").unwrap_or(""),
        MAX_TEXT,
        &format!("step {n}'s why"),
        warnings,
    );
    let expected = text("expected").filter(|e| !e.is_empty()).map(|e| {
        bounded(
            e,
            MAX_TEXT,
            &format!("step {n}'s expected result"),
            warnings,
        )
    });
    let command = obj.get("command").and_then(|c| {
        let c = c.as_object()?;
        let text = c.get("text").and_then(Value::as_str).map(str::trim)?;
        if text.is_empty() {
            return None;
        }
        let text = bounded(text, MAX_COMMAND, &format!("step {n}'s command"), warnings);
        let language = match c.get("language").and_then(Value::as_str) {
            Some(l) => parse_language(l).unwrap_or_else(|| {
                let guessed = guess_language(&text);
                warnings.push(format!(
                    "step {n}'s command language {l:?} is unknown; taken as {}",
                    language_name(guessed)
                ));
                guessed
            }),
            None => guess_language(&text),
        };
        Some(RunbookCommand { language, text })
    });
    let declared = match text("risk") {
        Some("read_only") | None => StepRisk::ReadOnly,
        Some("changes_state") => StepRisk::ChangesState,
        Some("destructive") => StepRisk::Destructive,
        Some(other) => {
            warnings.push(format!(
                "step {n}'s risk {other:?} is unknown; assessed from its command"
            ));
            StepRisk::ReadOnly
        }
    };
    let mut risk = declared;
    if let Some(c) = &command {
        let assessed = command_risk(&c.text);
        if rank(assessed) > rank(declared) {
            warnings.push(format!(
                "step {n}'s command {} ; its risk was raised from {} to {}",
                what_it_does(assessed),
                risk_name(declared),
                risk_name(assessed)
            ));
            risk = assessed;
        }
    }
    let mut citations: Vec<u32> = Vec::new();
    for c in obj
        .get("citations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match c.as_u64().and_then(|v| u32::try_from(v).ok()) {
            Some(v) if (1..=source_count).contains(&v) => {
                if !citations.contains(&v) {
                    citations.push(v);
                }
            }
            _ => warnings.push(format!(
                "step {n} cited source {c}, which was not given; the citation was dropped"
            )),
        }
    }
    let grounded = !citations.is_empty();
    if !grounded {
        warnings.push(format!(
            "step {n} is not grounded in the team's runbooks or past fixes"
        ));
    }
    Some(DraftStepOut {
        step: RunbookStep {
            title,
            why,
            command,
            risk,
            expected,
        },
        citations,
        grounded,
    })
}

fn bounded(s: &str, max: usize, what: &str, warnings: &mut Vec<String>) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    warnings.push(format!("{what} was longer than {max} characters; cut"));
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn parse_language(l: &str) -> Option<CommandLanguage> {
    match l.trim().to_ascii_lowercase().as_str() {
        "shell" | "bash" | "sh" | "zsh" | "console" => Some(CommandLanguage::Shell),
        "kubectl" | "kubernetes" | "k8s" => Some(CommandLanguage::Kubectl),
        "aws" | "awscli" | "aws-cli" => Some(CommandLanguage::Aws),
        "sql" | "postgresql" | "postgres" | "psql" | "mysql" => Some(CommandLanguage::Sql),
        _ => None,
    }
}

fn language_name(l: CommandLanguage) -> &'static str {
    match l {
        CommandLanguage::Shell => "shell",
        CommandLanguage::Kubectl => "kubectl",
        CommandLanguage::Aws => "aws",
        CommandLanguage::Sql => "sql",
    }
}

static SQL_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(select|update|delete|insert|drop|truncate|alter|create|with|vacuum|analyze|reindex|explain|show|grant|revoke)\b")
        .expect("valid")
});

/// The language a command is written in, by its first word.
#[must_use]
pub fn guess_language(command: &str) -> CommandLanguage {
    let first = command
        .split_whitespace()
        .find(|w| *w != "$" && *w != "sudo")
        .unwrap_or("");
    match first {
        "kubectl" | "k" | "oc" => CommandLanguage::Kubectl,
        "aws" => CommandLanguage::Aws,
        _ if SQL_START.is_match(command) => CommandLanguage::Sql,
        _ => CommandLanguage::Shell,
    }
}

fn rank(r: StepRisk) -> u8 {
    match r {
        StepRisk::ReadOnly => 0,
        StepRisk::ChangesState => 1,
        StepRisk::Destructive => 2,
    }
}

fn risk_name(r: StepRisk) -> &'static str {
    match r {
        StepRisk::ReadOnly => "read_only",
        StepRisk::ChangesState => "changes_state",
        StepRisk::Destructive => "destructive",
    }
}

fn what_it_does(r: StepRisk) -> &'static str {
    match r {
        StepRisk::Destructive => "can delete data or cannot be undone",
        _ => "changes state",
    }
}

/// What running `command` can do, judged from its words by the one classifier the import uses too
/// ([`crate::risk::classify`]: conservative, the highest part of a chain wins).
#[must_use]
pub fn command_risk(command: &str) -> StepRisk {
    match crate::risk::classify(command) {
        Risk::ReadOnly => StepRisk::ReadOnly,
        Risk::ChangesState => StepRisk::ChangesState,
        Risk::Destructive => StepRisk::Destructive,
    }
}

/// One retrieved source for [`assemble`]: as numbered for the generation, with the runbook step it is when
/// it is one (its structured form: title, command, risk…).
#[derive(Clone, Debug, PartialEq)]
pub struct AssembleSource {
    pub source: GenerationSourceOut,
    pub step: Option<RunbookStep>,
}

static FENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)```[a-zA-Z0-9_-]*\n(.*?)```").expect("valid"));
static INLINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`\n]{3,})`").expect("valid"));
static PROMPT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*(?:\$\s+)?((?:sudo\s+)?(?:kubectl|aws|psql|redis-cli|systemctl|journalctl|helm|docker|curl|terraform|gcloud|az|mysql)\s+[^\n]+)$")
        .expect("valid")
});

/// A command in a past fix's text: a fenced block, an inline code span, or a line that starts with a known
/// tool.
fn command_in(text: &str) -> Option<String> {
    let found = FENCE
        .captures(text)
        .or_else(|| INLINE.captures(text))
        .or_else(|| PROMPT_LINE.captures(text))
        .map(|c| c[1].trim().to_owned())?;
    (!found.is_empty()).then_some(found)
}

/// The draft without a model: the retrieved runbook steps and past fixes in rank order (the order of
/// `sources`), deduplicated (the same command, or the same step title without one, is kept once), each
/// citing its source; sections of runbooks that name no command are left out. `subject` names the problem
/// (the title says it was assembled).
#[must_use]
pub fn assemble(sources: &[AssembleSource], subject: &str) -> RunbookDraftOut {
    let mut steps: Vec<DraftStepOut> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for s in sources {
        if steps.len() >= MAX_ASSEMBLED_STEPS {
            break;
        }
        let Some(step) = s.step.clone().or_else(|| step_from_text(&s.source)) else {
            continue;
        };
        let key = match &step.command {
            Some(c) => format!("cmd:{}", normalize(&c.text)),
            None => format!("title:{}", normalize(&step.title)),
        };
        if !seen.insert(key) {
            // Already there: this source supports it too.
            if let Some(existing) = steps.iter_mut().find(|d| same(&d.step, &step)) {
                existing.citations.push(s.source.n);
            }
            continue;
        }
        let risk = match &step.command {
            Some(c) if rank(command_risk(&c.text)) > rank(step.risk) => command_risk(&c.text),
            _ => step.risk,
        };
        steps.push(DraftStepOut {
            step: RunbookStep { risk, ..step },
            citations: vec![s.source.n],
            grounded: true,
        });
    }
    let subject = subject.trim();
    let title = format!("Assembled runbook: {subject}");
    let title: String = if title.chars().count() > MAX_TITLE {
        let mut t: String = title.chars().take(MAX_TITLE - 1).collect();
        t.push('…');
        t
    } else {
        title
    };
    let mut warnings = vec![
        "Assembled from the retrieved runbook steps and past fixes without a model: review the order and \
         the commands before running any of them."
            .to_owned(),
    ];
    if steps.is_empty() {
        warnings.push(
            "Nothing in the runbook library or the past fixes matched this problem; write the first runbook \
             for it."
                .to_owned(),
        );
    }
    let summary = format!(
        "{} step{} taken from {} retrieved source{} (the team's runbooks and past fixes, best match first).",
        steps.len(),
        if steps.len() == 1 { "" } else { "s" },
        sources.len(),
        if sources.len() == 1 { "" } else { "s" },
    );
    RunbookDraftOut {
        title,
        summary,
        steps,
        warnings,
    }
}

fn same(a: &RunbookStep, b: &RunbookStep) -> bool {
    match (&a.command, &b.command) {
        (Some(x), Some(y)) => normalize(&x.text) == normalize(&y.text),
        (None, None) => normalize(&a.title) == normalize(&b.title),
        _ => false,
    }
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A step made from a source that is not a structured runbook step: a past fix (its text is what was done)
/// or a runbook section that names a command.
fn step_from_text(source: &GenerationSourceOut) -> Option<RunbookStep> {
    let text = source.text.trim();
    if text.is_empty() {
        return None;
    }
    let command = command_in(text).map(|c| {
        let c: String = c.chars().take(MAX_COMMAND).collect();
        RunbookCommand {
            language: guess_language(&c),
            text: c,
        }
    });
    if source.source.kind == SourceKind::Runbook && command.is_none() {
        return None;
    }
    let title = match source.source.kind {
        SourceKind::PastFix => {
            let first = text.lines().next().unwrap_or(text);
            format!("Past fix: {}", first.trim())
        }
        SourceKind::Runbook => source
            .source
            .heading
            .clone()
            .unwrap_or_else(|| source.source.title.clone()),
    };
    let mut warnings = Vec::new();
    let title = bounded(&title, MAX_TITLE, "title", &mut warnings);
    let why = match source.source.kind {
        SourceKind::PastFix => format!("What fixed \"{}\": {text}", source.source.title),
        SourceKind::Runbook => text.to_owned(),
    };
    let why = bounded(&why, MAX_TEXT, "text", &mut warnings);
    let risk = command
        .as_ref()
        .map_or(StepRisk::ReadOnly, |c| command_risk(&c.text));
    Some(RunbookStep {
        title,
        why,
        command,
        risk,
        expected: None,
    })
}

#[cfg(test)]
mod tests;
