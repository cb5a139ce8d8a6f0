//! The messages a model is sent for a runbook draft, and the JSON schema its answer must follow.
//!
//! The system message gives the role and the rules (cite the numbered sources, say when a step is not grounded
//! in them, never propose a command that loses data without marking it destructive, answer in the schema); the
//! user message gives the problem (an incident, a pattern or a free-text problem), the numbered sources, and
//! for a refinement the previous draft and what to change. Everything in [`PromptInput`] is redacted before the
//! messages are built ([`PromptInput::redact`]), so the messages are exactly what is sent and stored.

use crate::draft::MAX_STEPS;
use crate::redact::{self, Counts};
use insights_types::api::{RunbookDraftOut, SentMessageOut};
use serde_json::{Value, json};

/// The schema's name in `response_format`.
pub const SCHEMA_NAME: &str = "runbook_draft";

/// The longest source text put in a prompt (characters); longer ones are cut.
pub const MAX_SOURCE_CHARS: usize = 2000;

/// One retrieved source, numbered as the citations refer to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptSource {
    pub n: u32,
    /// What it is: `runbook "Title" (version 3), step 2: Restart the consumers` or `past fix: incident #42 …`.
    pub label: String,
    pub text: String,
}

/// What a draft is asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptInput {
    /// The problem, as lines (`Incident #42: Replication lag on orders-db`, `Service: orders`, timeline…).
    pub problem: Vec<String>,
    pub sources: Vec<PromptSource>,
    /// For a refinement: the draft refined.
    pub previous: Option<RunbookDraftOut>,
    /// What the person asked for ("use kubectl", "shorter").
    pub instructions: Option<String>,
}

impl PromptInput {
    /// Redacts every text in place (secrets; emails and IP addresses too with `contacts`) and returns what was
    /// removed, by kind.
    pub fn redact(&mut self, contacts: bool) -> Counts {
        let mut counts = Counts::new();
        let mut clean = |s: &mut String| {
            let r = redact::redact(s, contacts);
            redact::merge_counts(&mut counts, &r.counts);
            *s = r.text;
        };
        self.problem.iter_mut().for_each(&mut clean);
        for source in &mut self.sources {
            clean(&mut source.label);
            clean(&mut source.text);
        }
        if let Some(d) = &mut self.previous {
            clean(&mut d.title);
            clean(&mut d.summary);
            for step in &mut d.steps {
                clean(&mut step.step.title);
                clean(&mut step.step.why);
                if let Some(c) = &mut step.step.command {
                    clean(&mut c.text);
                }
                if let Some(e) = &mut step.step.expected {
                    clean(e);
                }
            }
        }
        if let Some(i) = &mut self.instructions {
            clean(i);
        }
        counts
    }
}

const SYSTEM: &str = "\
You are an experienced site reliability engineer writing a runbook for an on-call engineer who is being paged \
right now. You write concise, concrete, ordered debugging and remediation steps.

Rules:
1. Base the steps on the numbered sources: the team's own runbooks and the fixes of its past incidents. Cite \
every source a step comes from by its number in `citations`.
2. A step that is not supported by any source must have an empty `citations` list; it will be shown as not \
grounded in the team's history. Prefer grounded steps; add ungrounded ones only when clearly needed.
3. Start with read-only checks (logs, status, metrics) before steps that change anything.
4. Set `risk` honestly: `read_only` for commands that only read, `changes_state` for restarts, scaling, \
rollbacks, configuration changes, `destructive` for anything that deletes data or cannot be undone. Never \
propose a command that destroys data without marking it `destructive` and saying why in `why`.
5. Never invent hostnames, credentials or resource names that are not in the problem or the sources: use \
placeholders like <namespace> instead. Text such as [REDACTED:password] was removed on purpose; keep it as is.
6. Commands are copied and run by a person; `language` is one of shell, kubectl, aws, sql.
7. Answer with a single JSON object that follows the given schema, and nothing else.";

/// The system and user messages for `input` (already redacted).
#[must_use]
pub fn messages(input: &PromptInput) -> Vec<SentMessageOut> {
    let mut user = String::new();
    user.push_str("## Problem\n");
    for line in &input.problem {
        user.push_str(line);
        user.push('\n');
    }
    user.push_str("\n## Sources\n");
    if input.sources.is_empty() {
        user.push_str("(none: nothing in the team's runbooks or past fixes matched)\n");
    }
    for s in &input.sources {
        user.push_str(&format!(
            "\n[{}] {}\n{}\n",
            s.n,
            s.label,
            cut(&s.text, MAX_SOURCE_CHARS)
        ));
    }
    if let Some(previous) = &input.previous {
        user.push_str("\n## Previous draft (refine it; keep its citations where the steps stay)\n");
        user.push_str(
            &serde_json::to_string_pretty(&draft_for_prompt(previous)).unwrap_or_default(),
        );
        user.push('\n');
    }
    if let Some(instructions) = &input.instructions {
        user.push_str("\n## What to change\n");
        user.push_str(instructions);
        user.push('\n');
    }
    user.push_str(&format!(
        "\nWrite the runbook (at most {MAX_STEPS} steps) as JSON following the schema."
    ));
    vec![
        SentMessageOut {
            role: "system".into(),
            content: SYSTEM.into(),
        },
        SentMessageOut {
            role: "user".into(),
            content: user,
        },
    ]
}

/// A previous draft in the answer's own shape (without the validation's warnings and flags).
fn draft_for_prompt(d: &RunbookDraftOut) -> Value {
    json!({
        "title": d.title,
        "summary": d.summary,
        "steps": d.steps.iter().map(|s| json!({
            "title": s.step.title,
            "why": s.step.why,
            "command": s.step.command,
            "risk": s.step.risk,
            "expected": s.step.expected,
            "citations": s.citations,
        })).collect::<Vec<_>>(),
    })
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push_str(" …");
    out
}

/// The JSON schema of the answer (strict structured output: every property required, nullable ones typed as
/// such, no other properties).
#[must_use]
pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "summary", "steps"],
        "properties": {
            "title": {"type": "string", "description": "A short title for the runbook."},
            "summary": {"type": "string", "description": "One or two sentences: what the problem likely is and the approach."},
            "steps": {
                "type": "array",
                "description": "The ordered steps.",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["title", "why", "command", "risk", "expected", "citations"],
                    "properties": {
                        "title": {"type": "string"},
                        "why": {"type": "string"},
                        "command": {
                            "anyOf": [
                                {"type": "null"},
                                {
                                    "type": "object",
                                    "additionalProperties": false,
                                    "required": ["language", "text"],
                                    "properties": {
                                        "language": {"type": "string", "enum": ["shell", "kubectl", "aws", "sql"]},
                                        "text": {"type": "string"}
                                    }
                                }
                            ]
                        },
                        "risk": {"type": "string", "enum": ["read_only", "changes_state", "destructive"]},
                        "expected": {"type": ["string", "null"]},
                        "citations": {
                            "type": "array",
                            "description": "Numbers of the sources this step comes from; empty if none.",
                            "items": {"type": "integer"}
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use insights_types::api::{DraftStepOut, RunbookCommand, RunbookStep, StepRisk};

    fn input() -> PromptInput {
        PromptInput {
            problem: vec![
                "Incident #42: Replication lag on orders-db".into(),
                "Description: lag above 30s; DATABASE_URL=postgres://app:hunter2secret@orders-db/app".into(),
            ],
            sources: vec![
                PromptSource {
                    n: 1,
                    label: "runbook \"Replica lag\" (version 2), step 1: Check lag".into(),
                    text: "SELECT now() - pg_last_xact_replay_timestamp();".into(),
                },
                PromptSource {
                    n: 2,
                    label: "past fix: incident #17 Replication lag".into(),
                    text: "Killed the long-running report query (owner ops@example.com).".into(),
                },
            ],
            previous: None,
            instructions: None,
        }
    }

    #[test]
    fn messages_number_the_sources_and_state_the_rules() {
        let m = messages(&input());
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].role, "system");
        assert!(m[0].content.contains("citations"));
        assert!(m[0].content.contains("destructive"));
        let user = &m[1].content;
        assert!(user.contains("Incident #42: Replication lag on orders-db"));
        let one = user.find("[1] runbook \"Replica lag\"").unwrap();
        let two = user.find("[2] past fix: incident #17").unwrap();
        assert!(one < two);
        assert!(!user.contains("Previous draft"));
    }

    #[test]
    fn redaction_covers_every_field_and_counts() {
        let mut i = input();
        i.previous = Some(RunbookDraftOut {
            title: "t".into(),
            summary: "token=abcdef123456".into(),
            steps: vec![DraftStepOut {
                step: RunbookStep {
                    title: "Connect".into(),
                    why: String::new(),
                    command: Some(RunbookCommand {
                        language: insights_types::api::CommandLanguage::Shell,
                        text: "psql postgres://u:pw12345@h/db".into(),
                    }),
                    risk: StepRisk::ReadOnly,
                    expected: None,
                },
                citations: vec![1],
                grounded: true,
            }],
            warnings: vec![],
        });
        i.instructions = Some("use password=letmein99 for eu-west-1".into());
        let counts = i.redact(true);
        let all = messages(&i)
            .iter()
            .map(|m| m.content.clone())
            .collect::<String>();
        for secret in [
            "hunter2secret",
            "abcdef123456",
            "pw12345",
            "letmein99",
            "ops@example.com",
        ] {
            assert!(!all.contains(secret), "{secret} leaked");
        }
        assert_eq!(counts.get("password"), Some(&3));
        assert_eq!(counts.get("token"), Some(&1));
        assert_eq!(counts.get("email"), Some(&1));
        assert!(all.contains("## Previous draft"));
        assert!(all.contains("## What to change\nuse password=[REDACTED:password] for eu-west-1"));
    }

    #[test]
    fn the_schema_is_strict() {
        let s = schema();
        let step = &s["properties"]["steps"]["items"];
        let props: Vec<&String> = step["properties"].as_object().unwrap().keys().collect();
        let required: Vec<&str> = step["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(props.len(), required.len());
        for p in props {
            assert!(required.contains(&p.as_str()), "{p} not required");
        }
        assert_eq!(step["additionalProperties"], false);
        assert_eq!(s["additionalProperties"], false);
    }
}
