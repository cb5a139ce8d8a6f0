//! The start-up check for `INSIGHTS_*` variables that no section reads: usually a typo, which would
//! otherwise leave a setting silently at its default.

use super::vars::SECTIONS;

/// Names of the configuration contract that no section reads yet (their sections are still to come).
const RESERVED: &[&str] = &[];

/// Read by the scripts and test tools, not by the binaries (`docs/configuration.md`, "Scripts").
const TOOLS: &[&str] = &["INSIGHTS_TOOLS_DIR", "INSIGHTS_UPDATE_SCREENSHOTS"];

/// The test suite's own variables (`INSIGHTS_TEST_PRISM_PAGERDUTY`, …).
const TEST_PREFIX: &str = "INSIGHTS_TEST_";

/// An `INSIGHTS_*` variable that is set but read by nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable {
    pub name: String,
    /// The known name it is closest to (an edit distance of 2 at most), probably the one meant.
    pub suggestion: Option<String>,
}

impl std::fmt::Display for UnknownVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown setting {} is ignored", self.name)?;
        if let Some(known) = &self.suggestion {
            write!(f, " (did you mean {known}?)")?;
        }
        Ok(())
    }
}

/// Every name a section reads, with the `_FILE` variants of its secrets, plus the reserved and tool names.
fn known_names() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for var in SECTIONS.iter().flat_map(|s| s.iter()) {
        names.push(var.name.to_owned());
        if var.file {
            names.push(format!("{}_FILE", var.name));
        }
    }
    names.extend(RESERVED.iter().chain(TOOLS).map(|n| (*n).to_owned()));
    names
}

/// The `INSIGHTS_*` names among `names` that no section reads (test variables aside), each with the known
/// name it probably meant.
pub fn unknown_variables(names: impl IntoIterator<Item = String>) -> Vec<UnknownVariable> {
    let known = known_names();
    let mut unknown: Vec<UnknownVariable> = names
        .into_iter()
        .filter(|n| n.starts_with("INSIGHTS_") && !n.starts_with(TEST_PREFIX))
        .filter(|n| !known.contains(n))
        .map(|name| {
            let suggestion = known
                .iter()
                .map(|k| (levenshtein(&name, k), k))
                .filter(|(d, _)| *d <= 2)
                .min_by_key(|(d, _)| *d)
                .map(|(_, k)| k.clone());
            UnknownVariable { name, suggestion }
        })
        .collect();
    unknown.sort_by(|a, b| a.name.cmp(&b.name));
    unknown
}

/// Logs a warning for each unknown `INSIGHTS_*` variable of the process environment; call once at start-up,
/// after telemetry is initialized.
pub fn warn_unknown_variables() {
    let names = std::env::vars_os().filter_map(|(k, _)| k.into_string().ok());
    for unknown in unknown_variables(names) {
        tracing::warn!(
            variable = %unknown.name,
            suggestion = unknown.suggestion.as_deref(),
            "{unknown}"
        );
    }
}

/// The number of single-character insertions, deletions and substitutions that turn `a` into `b`.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
