//! Markdown in and out of runbooks.
//!
//! - [`import`]: a Markdown file → `{title, body, steps}`. The first `#` heading (else the file's name) is the
//!   title. Steps come from a step section (a heading such as "Steps", "Procedure", "Remediation": its numbered
//!   list items, or its sub-headings), else from step headings ("## Step 2: …", "## 3. …"), else from the
//!   document's first numbered list. Under a step, a fenced code block is its command (language from the fence
//!   info, else from the command's first word), an `Expected: …` line what one should see, a `Risk: …` line
//!   its stated risk (raised to what the command itself implies, [`crate::risk::classify`]), and the rest why.
//!   Everything else stays in the body, as written.
//! - [`to_markdown`]: the Markdown form of a runbook (title, body, then the steps), which [`import`] reads back
//!   into the same runbook; versions are compared in this form.
//! - [`diff_lines`]: a line diff (longest common subsequence) of two texts.

use crate::risk::{self, Risk};
use serde::{Deserialize, Serialize};

/// The language of a step's command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Shell,
    Kubectl,
    Aws,
    Sql,
}

impl Language {
    /// The fence info [`to_markdown`] writes (and [`import`] reads back).
    #[must_use]
    pub fn fence(self) -> &'static str {
        match self {
            Language::Shell => "sh",
            Language::Kubectl => "kubectl",
            Language::Aws => "aws",
            Language::Sql => "sql",
        }
    }
}

/// A step's command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub language: Language,
    pub text: String,
}

/// One step as Markdown carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub title: String,
    pub why: String,
    pub command: Option<Command>,
    pub risk: Risk,
    pub expected: Option<String>,
}

/// A runbook read from Markdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    pub title: String,
    pub body: String,
    pub steps: Vec<Step>,
}

/// The longest step title kept whole; a longer first line is cut there and kept whole in `why`.
const MAX_STEP_TITLE: usize = 200;

/// Words a step section's heading starts with.
const STEP_SECTIONS: &[&str] = &[
    "step",
    "procedure",
    "remediation",
    "mitigation",
    "resolution",
    "how to fix",
    "fix",
    "actions",
    "instructions",
    "runbook",
    "playbook",
    "what to do",
];

/// One line of the document, as the parser sees it.
#[derive(Debug)]
struct Line<'a> {
    text: &'a str,
    /// Inside a fenced code block (or its fence lines).
    fenced: bool,
    /// `Some((level, text))` for an ATX heading outside code.
    heading: Option<(usize, &'a str)>,
}

fn lines(content: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for text in content.lines() {
        let trimmed = text.trim_start();
        let marker = fence_marker(trimmed);
        let fenced = match (fence, marker) {
            (None, Some((c, n, _))) => {
                fence = Some((c, n));
                true
            }
            (Some((c, n)), Some((c2, n2, info))) if c == c2 && n2 >= n && info.is_empty() => {
                fence = None;
                true
            }
            (Some(_), _) => true,
            (None, None) => false,
        };
        let heading = (!fenced).then(|| heading(text)).flatten();
        out.push(Line {
            text,
            fenced,
            heading,
        });
    }
    out
}

/// A fence line's character, length and info string.
fn fence_marker(trimmed: &str) -> Option<(char, usize, &str)> {
    let c = trimmed.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = trimmed.chars().take_while(|x| *x == c).count();
    (n >= 3).then(|| (c, n, trimmed[n..].trim()))
}

/// An ATX heading: `## Text ##` → (2, "Text").
fn heading(line: &str) -> Option<(usize, &str)> {
    let t = line
        .strip_prefix("   ")
        .or_else(|| line.strip_prefix("  "))
        .or_else(|| line.strip_prefix(' '))
        .unwrap_or(line);
    let level = t.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    Some((level, text))
}

/// A numbered list item (at most three spaces in): its text.
fn numbered_item(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start().len();
    if indent > 3 {
        return None;
    }
    let t = line.trim_start();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let rest = &t[digits..];
    let rest = rest.strip_prefix('.').or_else(|| rest.strip_prefix(')'))?;
    if rest.is_empty() {
        return Some("");
    }
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

fn is_step_section(text: &str) -> bool {
    let t = plain(text).to_lowercase();
    let t = t.trim_end_matches(':').trim();
    STEP_SECTIONS.iter().any(|w| {
        t == *w || t.starts_with(&format!("{w} ")) || (*w == "step" && t.starts_with("steps"))
    })
}

/// A heading that is a step itself: "Step 2: …", "Step 2 - …", "3. …".
fn step_heading(text: &str) -> Option<&str> {
    let t = text.trim();
    let lower = t.to_lowercase();
    let rest = if lower.starts_with("step ") || lower.starts_with("step\t") {
        let after = t[5..].trim_start();
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        &after[digits..]
    } else {
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let after = &t[digits..];
        if !(after.starts_with('.') || after.starts_with(')')) {
            return None;
        }
        after
    };
    let rest = rest
        .trim_start()
        .trim_start_matches(['.', ')', ':', '-', '–', '—'])
        .trim();
    Some(rest)
}

/// Markdown emphasis and code marks removed from a short text (a title).
fn plain(text: &str) -> String {
    text.replace("**", "")
        .replace("__", "")
        .replace('`', "")
        .trim()
        .to_owned()
}

/// Reads a Markdown file (see the module docs). `file_name` is the title when there is no `#` heading.
#[must_use]
pub fn import(file_name: &str, content: &str) -> Imported {
    let content = content.replace("\r\n", "\n").replace('\r', "\n");
    let ls = lines(&content);
    let mut used = vec![false; ls.len()];

    let title_line = ls.iter().position(|l| matches!(l.heading, Some((1, _))));
    let title = match title_line {
        Some(i) => {
            used[i] = true;
            plain(ls[i].heading.map(|(_, t)| t).unwrap_or_default())
        }
        None => title_from_name(file_name),
    };

    let mut steps = Vec::new();
    // 1. A step section: its sub-headings, else its numbered items.
    if let Some(start) = ls.iter().enumerate().position(|(i, l)| {
        Some(i) != title_line && l.heading.is_some_and(|(_, t)| is_step_section(t))
    }) {
        let (level, _) = ls[start].heading.expect("a heading");
        let end = section_end(&ls, start, level);
        let subs: Vec<usize> = (start + 1..end)
            .filter(|&i| ls[i].heading.is_some())
            .collect();
        let items: Vec<usize> = (start + 1..end)
            .filter(|&i| !ls[i].fenced && numbered_item(ls[i].text).is_some())
            .collect();
        if !subs.is_empty() {
            used[start] = true;
            for &s in &subs {
                let (sl, text) = ls[s].heading.expect("a heading");
                let e = section_end(&ls, s, sl).min(end);
                let title = step_heading(text).unwrap_or(text);
                steps.push(step(title, &ls[s + 1..e]));
                used[s..e].iter_mut().for_each(|u| *u = true);
            }
        } else if !items.is_empty() {
            used[start] = true;
            steps.extend(list_steps(&ls, &items, end, &mut used));
        }
    }
    // 2. Step headings anywhere.
    if steps.is_empty() {
        for s in 0..ls.len() {
            let Some((level, text)) = ls[s].heading else {
                continue;
            };
            if Some(s) == title_line {
                continue;
            }
            if let Some(title) = step_heading(text) {
                let e = section_end(&ls, s, level);
                steps.push(step(title, &ls[s + 1..e]));
                used[s..e].iter_mut().for_each(|u| *u = true);
            }
        }
    }
    // 3. The first numbered list, to the end of its section.
    if steps.is_empty()
        && let Some(first) =
            (0..ls.len()).find(|&i| !ls[i].fenced && numbered_item(ls[i].text).is_some())
    {
        let end = (first..ls.len())
            .find(|&i| ls[i].heading.is_some())
            .unwrap_or(ls.len());
        let items: Vec<usize> = (first..end)
            .filter(|&i| !ls[i].fenced && numbered_item(ls[i].text).is_some())
            .collect();
        steps.extend(list_steps(&ls, &items, end, &mut used));
    }

    let body: Vec<&str> = ls
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(l, _)| l.text)
        .collect();
    Imported {
        title,
        body: squeeze_blank_lines(&body),
        steps,
    }
}

/// The steps of numbered items at `items` (line indices), each running to the next item or `end`.
fn list_steps(ls: &[Line<'_>], items: &[usize], end: usize, used: &mut [bool]) -> Vec<Step> {
    let mut steps = Vec::new();
    for (k, &i) in items.iter().enumerate() {
        let e = items.get(k + 1).copied().unwrap_or(end);
        let first = numbered_item(ls[i].text).unwrap_or_default();
        steps.push(step(first, &ls[i + 1..e]));
        used[i..e].iter_mut().for_each(|u| *u = true);
    }
    steps
}

/// Where the section of the heading at `start` (of `level`) ends: the next heading of that level or higher.
fn section_end(ls: &[Line<'_>], start: usize, level: usize) -> usize {
    (start + 1..ls.len())
        .find(|&i| ls[i].heading.is_some_and(|(l, _)| l <= level))
        .unwrap_or(ls.len())
}

fn title_from_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = [".markdown", ".md", ".txt"]
        .iter()
        .find_map(|ext| {
            base.len()
                .checked_sub(ext.len())
                .filter(|&n| base.is_char_boundary(n) && base[n..].eq_ignore_ascii_case(ext))
                .map(|n| &base[..n])
        })
        .unwrap_or(base);
    stem.replace(['-', '_'], " ").trim().to_owned()
}

/// A step from its title line and the lines under it.
fn step(title_line: &str, content: &[Line<'_>]) -> Step {
    let mut title = plain(title_line).trim_end_matches(':').trim().to_owned();
    let mut why: Vec<String> = Vec::new();
    if title.chars().count() > MAX_STEP_TITLE {
        why.push(title.clone());
        title = title.chars().take(MAX_STEP_TITLE - 1).collect::<String>() + "…";
    }
    let mut commands: Vec<(Language, String)> = Vec::new();
    let mut expected: Option<String> = None;
    let mut stated = Risk::ReadOnly;
    let mut i = 0;
    let indent = content
        .iter()
        .filter(|l| !l.text.trim().is_empty())
        .map(|l| l.text.len() - l.text.trim_start().len())
        .min()
        .unwrap_or(0);
    let dedent = |s: &str| -> String {
        let n = (s.len() - s.trim_start().len()).min(indent);
        s[n..].to_owned()
    };
    while i < content.len() {
        let l = &content[i];
        let trimmed = l.text.trim();
        if let Some((_, _, info)) = fence_marker(trimmed).filter(|_| l.fenced) {
            let mut j = i + 1;
            let mut code = Vec::new();
            while j < content.len()
                && !(content[j].fenced
                    && fence_marker(content[j].text.trim()).is_some_and(|(_, _, i)| i.is_empty())
                    && j > i)
            {
                code.push(dedent(content[j].text));
                j += 1;
            }
            let code = code.join("\n");
            match code_language(info, &code) {
                CodeKind::Command(lang) => commands.push((lang, strip_prompts(&code))),
                CodeKind::Output if expected.is_none() => expected = Some(code.trim().to_owned()),
                _ => {
                    why.push(format!("```{info}\n{code}\n```"));
                }
            }
            i = j + 1;
            continue;
        }
        let unmarked = plain(trimmed);
        let lower = unmarked.to_lowercase();
        if let Some(rest) = [
            "expected result:",
            "expected:",
            "expect:",
            "you should see:",
        ]
        .iter()
        .find_map(|p| {
            lower
                .starts_with(p)
                .then(|| unmarked[p.len()..].trim().to_owned())
        }) {
            expected = Some(match expected {
                Some(e) => format!("{e}\n{rest}"),
                None => rest,
            });
        } else if let Some(rest) = lower.strip_prefix("risk:") {
            stated = stated.max(parse_risk(rest.trim()));
        } else {
            why.push(dedent(l.text));
        }
        i += 1;
    }
    let command = commands.first().map(|(language, _)| Command {
        language: *language,
        text: commands
            .iter()
            .map(|(_, t)| t.trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n"),
    });
    let inferred = command
        .as_ref()
        .map(|c| risk::classify(&c.text))
        .unwrap_or_default();
    Step {
        title,
        why: squeeze_blank_lines(&why.iter().map(String::as_str).collect::<Vec<_>>()),
        command,
        risk: stated.max(inferred),
        expected: expected.filter(|e| !e.is_empty()),
    }
}

fn parse_risk(text: &str) -> Risk {
    let t = text.replace(['_', '-'], " ");
    if t.starts_with("destructive") {
        Risk::Destructive
    } else if t.starts_with("changes state") || t.starts_with("changes") || t.starts_with("write") {
        Risk::ChangesState
    } else {
        Risk::ReadOnly
    }
}

enum CodeKind {
    Command(Language),
    /// What a command prints (`text`, `output`): the step's expected result when it has none yet.
    Output,
    /// Something else (a configuration file, a script in another language): kept in `why`.
    Other,
}

fn code_language(info: &str, code: &str) -> CodeKind {
    let info = info
        .split([' ', '{', ','])
        .next()
        .unwrap_or_default()
        .to_lowercase();
    match info.as_str() {
        "sql" | "psql" | "pgsql" | "postgres" | "postgresql" | "mysql" => {
            CodeKind::Command(Language::Sql)
        }
        "kubectl" | "k8s" => CodeKind::Command(Language::Kubectl),
        "aws" => CodeKind::Command(Language::Aws),
        "" | "sh" | "bash" | "shell" | "zsh" | "console" | "terminal" | "shell-session" => {
            CodeKind::Command(infer_language(code))
        }
        "text" | "txt" | "output" | "plain" | "plaintext" | "log" => CodeKind::Output,
        _ => CodeKind::Other,
    }
}

/// The language of a shell command by its first word (`kubectl …`, `aws …`), or SQL by its first keyword.
fn infer_language(code: &str) -> Language {
    let first = code
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("$ ")
                .trim_start_matches("sudo ")
                .trim()
        })
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("--"))
        .unwrap_or_default();
    let word = first
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    match word.as_str() {
        "kubectl" => Language::Kubectl,
        "aws" => Language::Aws,
        "select" | "update" | "insert" | "delete" | "alter" | "create" | "drop" | "vacuum"
        | "analyze" | "explain" | "show" | "with" | "truncate" | "grant" | "revoke" | "reindex" => {
            Language::Sql
        }
        _ => Language::Shell,
    }
}

/// `$ ` prompts removed, so the command copies as it runs.
fn strip_prompts(code: &str) -> String {
    code.lines()
        .map(|l| l.strip_prefix("$ ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines joined, without leading or trailing blank lines and with runs of blank lines made one.
fn squeeze_blank_lines(lines: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for l in lines {
        let blank = l.trim().is_empty();
        if blank && out.last().is_none_or(|p| p.trim().is_empty()) {
            continue;
        }
        out.push(if blank { "" } else { l.trim_end() });
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// The Markdown form of a runbook: `# title`, the body, then `## Steps` with each step as `### n. title`, its
/// why, its command in a fence, `Risk:` and `Expected:` lines. [`import`] reads it back as the same runbook.
#[must_use]
pub fn to_markdown(title: &str, body: &str, steps: &[Step]) -> String {
    let mut out = format!("# {title}\n");
    if !body.trim().is_empty() {
        out.push('\n');
        out.push_str(body.trim_end());
        out.push('\n');
    }
    if !steps.is_empty() {
        out.push_str("\n## Steps\n");
    }
    for (n, s) in steps.iter().enumerate() {
        out.push_str(&format!("\n### {}. {}\n", n + 1, s.title));
        if !s.why.trim().is_empty() {
            out.push('\n');
            out.push_str(s.why.trim_end());
            out.push('\n');
        }
        if let Some(c) = &s.command {
            let fence = if c.text.contains("```") {
                "~~~~"
            } else {
                "```"
            };
            out.push_str(&format!(
                "\n{fence}{}\n{}\n{fence}\n",
                c.language.fence(),
                c.text.trim_end()
            ));
        }
        out.push_str(&format!(
            "\nRisk: {}\n",
            match s.risk {
                Risk::ReadOnly => "read-only",
                Risk::ChangesState => "changes state",
                Risk::Destructive => "destructive",
            }
        ));
        if let Some(e) = s.expected.as_deref().filter(|e| !e.trim().is_empty()) {
            out.push_str(&format!("Expected: {}\n", e.trim()));
        }
    }
    out
}

/// One line of a diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffOp {
    Same,
    Added,
    Removed,
}

/// The most lines of each side compared line by line (after their common start and end are set aside); beyond
/// it, the differing middle is shown as all removed, then all added.
const MAX_DIFF_LINES: usize = 4000;

/// A line diff of `old` to `new`: every line of both, in order, as `Same`, `Removed` (only in `old`) or
/// `Added` (only in `new`), with the fewest changes (a longest common subsequence).
#[must_use]
pub fn diff_lines<'a>(old: &'a str, new: &'a str) -> Vec<(DiffOp, &'a str)> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<(DiffOp, &str)> = a[..prefix].iter().map(|l| (DiffOp::Same, *l)).collect();
    if am.len() > MAX_DIFF_LINES || bm.len() > MAX_DIFF_LINES {
        out.extend(am.iter().map(|l| (DiffOp::Removed, *l)));
        out.extend(bm.iter().map(|l| (DiffOp::Added, *l)));
    } else {
        // lcs[i][j]: the longest common subsequence of am[i..] and bm[j..].
        let (n, m) = (am.len(), bm.len());
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        let at = |i: usize, j: usize| i * (m + 1) + j;
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[at(i, j)] = if am[i] == bm[j] {
                    lcs[at(i + 1, j + 1)] + 1
                } else {
                    lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                out.push((DiffOp::Same, am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
                // Removed lines before the lines that replace them.
                out.push((DiffOp::Removed, am[i]));
                i += 1;
            } else {
                out.push((DiffOp::Added, bm[j]));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - suffix..].iter().map(|l| (DiffOp::Same, *l)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLICATION: &str = "# Replication lag on the primary\n\
        \n\
        When the replica falls behind, reads on it go stale.\n\
        \n\
        ## Steps\n\
        \n\
        1. Check the lag\n\
        \x20  See how far behind each replica is.\n\
        \x20  ```sql\n\
        \x20  SELECT client_addr, replay_lag FROM pg_stat_replication;\n\
        \x20  ```\n\
        \x20  Expected: replay_lag under 5 seconds\n\
        2. Terminate the long transaction\n\
        ```sql\n\
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE xact_start < now() - interval '1 hour';\n\
        ```\n\
        3. Restart the replica\n\
        ```bash\n\
        $ kubectl rollout restart statefulset/postgres-replica\n\
        ```\n\
        \n\
        ## Background\n\
        \n\
        Lag usually follows a bulk load.\n";

    #[test]
    fn a_steps_section_gives_steps_with_commands_languages_and_risks() {
        let r = import("replication.md", REPLICATION);
        assert_eq!(r.title, "Replication lag on the primary");
        assert_eq!(r.steps.len(), 3, "{r:#?}");
        let s = &r.steps[0];
        assert_eq!(s.title, "Check the lag");
        assert_eq!(s.why, "See how far behind each replica is.");
        let c = s.command.as_ref().expect("a command");
        assert_eq!(c.language, Language::Sql);
        assert_eq!(
            c.text,
            "SELECT client_addr, replay_lag FROM pg_stat_replication;"
        );
        assert_eq!(s.risk, Risk::ReadOnly);
        assert_eq!(s.expected.as_deref(), Some("replay_lag under 5 seconds"));
        assert_eq!(r.steps[1].risk, Risk::ChangesState);
        let c = r.steps[2].command.as_ref().expect("a command");
        // The fence says bash, the command is kubectl's; the prompt is gone.
        assert_eq!(c.language, Language::Kubectl);
        assert_eq!(
            c.text,
            "kubectl rollout restart statefulset/postgres-replica"
        );
        assert_eq!(r.steps[2].risk, Risk::ChangesState);
        // What is not a step stays in the body, in order.
        assert_eq!(
            r.body,
            "When the replica falls behind, reads on it go stale.\n\n## Background\n\nLag usually follows a bulk load."
        );
    }

    #[test]
    fn step_headings_and_a_title_from_the_file_name() {
        let md = "Intro text.\n\n## Step 1: Look at the pods\n\n```\nkubectl get pods -n web\n```\n\n\
                  ## Step 2 - Delete the stuck pod\n\nIt is recreated.\n\n```sh\nkubectl delete pod web-0\n```\n\n\
                  ## Notes\n\nNothing else.\n";
        let r = import("runbooks/pod-stuck_terminating.md", md);
        assert_eq!(r.title, "pod stuck terminating");
        let titles: Vec<_> = r.steps.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["Look at the pods", "Delete the stuck pod"]);
        assert_eq!(
            r.steps[0].command.as_ref().unwrap().language,
            Language::Kubectl
        );
        assert_eq!(r.steps[1].risk, Risk::Destructive);
        assert_eq!(r.steps[1].why, "It is recreated.");
        assert_eq!(r.body, "Intro text.\n\n## Notes\n\nNothing else.");
    }

    #[test]
    fn a_step_section_with_sub_headings_and_the_first_numbered_list_elsewhere() {
        let md = "# Cert\n\n## Procedure\n\n### Renew\n\n```\ncertbot renew\n```\n\n### Verify\n\n\
                  ```shell\nopenssl x509 -noout -dates -in cert.pem\n```\n";
        let r = import("x.md", md);
        assert_eq!(r.steps.len(), 2);
        assert_eq!(r.steps[0].risk, Risk::ChangesState);
        assert_eq!(r.steps[1].risk, Risk::ReadOnly);
        assert_eq!(r.body, "");

        let md = "# Disk full\n\nFree space:\n\n1. Find big files: `du -sh /var/log/*`\n2. Remove old archives\n   ```\n   rm /var/log/app/*.gz\n   ```\n";
        let r = import("x.md", md);
        assert_eq!(r.steps.len(), 2);
        assert_eq!(r.steps[0].title, "Find big files: du -sh /var/log/*");
        assert_eq!(r.steps[1].risk, Risk::Destructive);
        assert_eq!(r.body, "Free space:");
    }

    #[test]
    fn code_in_a_fence_is_never_a_heading_or_a_step() {
        let md = "# T\n\n```\n# not a heading\n1. not a step\n```\n";
        let r = import("t.md", md);
        assert_eq!(r.title, "T");
        assert!(r.steps.is_empty());
        assert_eq!(r.body, "```\n# not a heading\n1. not a step\n```");
    }

    #[test]
    fn the_markdown_form_reads_back_as_the_same_runbook() {
        let r = import("replication.md", REPLICATION);
        let md = to_markdown(&r.title, &r.body, &r.steps);
        let back = import("other-name.md", &md);
        assert_eq!(back, r, "{md}");
        // A stated risk above the command's own survives; below it, the command's wins.
        let mut steps = r.steps.clone();
        steps[0].risk = Risk::Destructive;
        steps[2].risk = Risk::ReadOnly;
        let back = import("x.md", &to_markdown("T", "", &steps));
        assert_eq!(back.steps[0].risk, Risk::Destructive);
        assert_eq!(back.steps[2].risk, Risk::ChangesState);
    }

    #[test]
    fn the_diff_keeps_common_lines_and_marks_the_rest() {
        let old = "a\nb\nc\nd\ne";
        let new = "a\nc\nd\nx\ne\nf";
        let d = diff_lines(old, new);
        let ops: Vec<String> = d
            .iter()
            .map(|(op, l)| {
                format!(
                    "{}{l}",
                    match op {
                        DiffOp::Same => ' ',
                        DiffOp::Added => '+',
                        DiffOp::Removed => '-',
                    }
                )
            })
            .collect();
        assert_eq!(ops, [" a", "-b", " c", " d", "+x", " e", "+f"]);
        // Each side is recovered from the diff.
        let old_back: Vec<&str> = d
            .iter()
            .filter(|(o, _)| *o != DiffOp::Added)
            .map(|(_, l)| *l)
            .collect();
        let new_back: Vec<&str> = d
            .iter()
            .filter(|(o, _)| *o != DiffOp::Removed)
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(old_back.join("\n"), old);
        assert_eq!(new_back.join("\n"), new);
        assert!(
            diff_lines("same\ntext", "same\ntext")
                .iter()
                .all(|(o, _)| *o == DiffOp::Same)
        );
        assert_eq!(diff_lines("", "x"), vec![(DiffOp::Added, "x")]);
        // A changed line reads as removed, then added.
        assert_eq!(
            diff_lines("a\nold\nz", "a\nnew\nz"),
            vec![
                (DiffOp::Same, "a"),
                (DiffOp::Removed, "old"),
                (DiffOp::Added, "new"),
                (DiffOp::Same, "z")
            ]
        );
    }
}
