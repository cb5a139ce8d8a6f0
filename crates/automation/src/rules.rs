//! Rules: conditions on an incident change, compiled once ([`CompiledRule`]) and evaluated against every stored
//! change of the organization's incidents ([`RuleSet`]).
//!
//! A rule matches when the change's transition is one of its transitions (none given: `triggered`) and every
//! condition given holds; within a condition's list any value will do. Priorities and tags compare
//! case-insensitively, the title regex is case-insensitive and linear-time (Rust `regex`).
//!
//! A [`RuleSet`] indexes its rules by transition and then by their most selective condition (service, pattern,
//! team, source — in that order), so an incident change only evaluates the rules that could match it: with
//! 1,000 rules spread over services, a change looks at a handful.

use std::collections::HashMap;

use insights_types::api::{IncidentSource, RuleConditions, Transition, Urgency};
use insights_types::ids::{PatternId, ServiceId, TeamId};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest title regex.
pub const MAX_REGEX_CHARS: usize = 500;
/// The most values in one condition's list.
pub const MAX_VALUES: usize = 100;
/// The compiled size a title regex may take (its automaton), in bytes.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// What rules test about an incident (as stored after the change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFacts {
    pub source: IncidentSource,
    pub service_id: Option<ServiceId>,
    pub team_id: Option<TeamId>,
    pub urgency: Option<Urgency>,
    pub priority: Option<String>,
    pub pattern_id: Option<PatternId>,
    pub tags: Vec<String>,
    pub title: String,
}

/// A rule whose conditions cannot be compiled, in a sentence; `field` is the path in `RuleConditions`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the title pattern is longer than {MAX_REGEX_CHARS} characters")]
    RegexTooLong,
    #[error("the title pattern is not a valid regular expression: {0}")]
    Regex(String),
    #[error(
        "the title pattern is too complex (its compiled form is over the size limit): simplify it"
    )]
    RegexTooComplex,
    #[error("{field} lists more than {MAX_VALUES} values")]
    TooManyValues { field: &'static str },
}

impl RuleError {
    /// The field of `RuleConditions` at fault (for a 422's field path).
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            RuleError::RegexTooLong | RuleError::Regex(_) | RuleError::RegexTooComplex => {
                "title_regex"
            }
            RuleError::TooManyValues { field } => field,
        }
    }
}

/// A rule ready to evaluate.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    id: Uuid,
    /// Never empty (no transition given: `triggered`).
    transitions: Vec<Transition>,
    sources: Vec<IncidentSource>,
    service_ids: Vec<ServiceId>,
    team_ids: Vec<TeamId>,
    urgencies: Vec<Urgency>,
    /// Lowercased.
    priorities: Vec<String>,
    pattern_ids: Vec<PatternId>,
    /// Lowercased.
    tags_any: Vec<String>,
    title: Option<Regex>,
}

/// The facts with the case-insensitive ones lowercased once per evaluation.
struct Normalized<'a> {
    facts: &'a IncidentFacts,
    priority: Option<String>,
    tags: Vec<String>,
}

impl<'a> Normalized<'a> {
    fn new(facts: &'a IncidentFacts) -> Self {
        Normalized {
            facts,
            priority: facts.priority.as_deref().map(str::to_lowercase),
            tags: facts.tags.iter().map(|t| t.to_lowercase()).collect(),
        }
    }
}

fn check_len<T>(field: &'static str, values: &[T]) -> Result<(), RuleError> {
    if values.len() > MAX_VALUES {
        Err(RuleError::TooManyValues { field })
    } else {
        Ok(())
    }
}

fn dedup<T: Ord + Clone>(values: &[T]) -> Vec<T> {
    let mut v = values.to_vec();
    v.sort();
    v.dedup();
    v
}

/// Compiles a title regex (case-insensitive, size-limited).
pub fn compile_title_regex(pattern: &str) -> Result<Regex, RuleError> {
    if pattern.chars().count() > MAX_REGEX_CHARS {
        return Err(RuleError::RegexTooLong);
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => RuleError::RegexTooComplex,
            regex::Error::Syntax(s) => RuleError::Regex(s),
            other => RuleError::Regex(other.to_string()),
        })
}

fn list<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn verdict(ok: bool) -> &'static str {
    if ok { "yes" } else { "no" }
}

impl CompiledRule {
    /// Compiles `conditions` for the rule `id`.
    pub fn compile(id: Uuid, conditions: &RuleConditions) -> Result<CompiledRule, RuleError> {
        check_len("transitions", &conditions.transitions)?;
        check_len("sources", &conditions.sources)?;
        check_len("service_ids", &conditions.service_ids)?;
        check_len("team_ids", &conditions.team_ids)?;
        check_len("urgencies", &conditions.urgencies)?;
        check_len("priorities", &conditions.priorities)?;
        check_len("pattern_ids", &conditions.pattern_ids)?;
        check_len("tags_any", &conditions.tags_any)?;
        let title = match conditions.title_regex.as_deref() {
            None | Some("") => None,
            Some(p) => Some(compile_title_regex(p)?),
        };
        let transitions = if conditions.transitions.is_empty() {
            vec![Transition::Triggered]
        } else {
            dedup(&conditions.transitions)
        };
        let sources = {
            let mut v = conditions.sources.clone();
            v.sort_by_key(|s| s.as_str());
            v.dedup();
            v
        };
        let urgencies = {
            let mut v = conditions.urgencies.clone();
            v.sort_by_key(|u| u.as_str());
            v.dedup();
            v
        };
        Ok(CompiledRule {
            id,
            transitions,
            sources,
            service_ids: dedup(&conditions.service_ids),
            team_ids: dedup(&conditions.team_ids),
            urgencies,
            priorities: dedup(
                &conditions
                    .priorities
                    .iter()
                    .map(|p| p.trim().to_lowercase())
                    .collect::<Vec<_>>(),
            ),
            pattern_ids: dedup(&conditions.pattern_ids),
            tags_any: dedup(
                &conditions
                    .tags_any
                    .iter()
                    .map(|t| t.trim().to_lowercase())
                    .collect::<Vec<_>>(),
            ),
            title,
        })
    }

    /// The rule's id.
    #[must_use]
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The transitions it reacts to (never empty).
    #[must_use]
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// Whether the rule matches this change.
    #[must_use]
    pub fn matches(&self, facts: &IncidentFacts, transition: Transition) -> bool {
        self.matches_normalized(&Normalized::new(facts), transition)
    }

    fn matches_normalized(&self, n: &Normalized<'_>, transition: Transition) -> bool {
        let f = n.facts;
        self.transitions.contains(&transition)
            && (self.sources.is_empty() || self.sources.contains(&f.source))
            && (self.service_ids.is_empty()
                || f.service_id.is_some_and(|s| self.service_ids.contains(&s)))
            && (self.team_ids.is_empty() || f.team_id.is_some_and(|t| self.team_ids.contains(&t)))
            && (self.urgencies.is_empty() || f.urgency.is_some_and(|u| self.urgencies.contains(&u)))
            && (self.priorities.is_empty()
                || n.priority
                    .as_ref()
                    .is_some_and(|p| self.priorities.iter().any(|q| q == p)))
            && (self.pattern_ids.is_empty()
                || f.pattern_id.is_some_and(|p| self.pattern_ids.contains(&p)))
            && (self.tags_any.is_empty() || n.tags.iter().any(|t| self.tags_any.contains(t)))
            && self.title.as_ref().is_none_or(|r| r.is_match(&f.title))
    }

    /// Whether the rule matches, and each condition's verdict in a few words (the transition first, then
    /// each condition the rule has, in the order of `RuleConditions`).
    #[must_use]
    pub fn explain(&self, facts: &IncidentFacts, transition: Transition) -> (bool, Vec<String>) {
        let n = Normalized::new(facts);
        let mut why = Vec::new();
        let t_ok = self.transitions.contains(&transition);
        why.push(format!(
            "transition {} is one of {}: {}",
            transition.as_str(),
            list(
                &self
                    .transitions
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
            ),
            verdict(t_ok)
        ));
        if !self.sources.is_empty() {
            let ok = self.sources.contains(&facts.source);
            why.push(format!(
                "source {} is one of {}: {}",
                facts.source.as_str(),
                list(&self.sources.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
                verdict(ok)
            ));
        }
        if !self.service_ids.is_empty() {
            let ok = facts
                .service_id
                .is_some_and(|s| self.service_ids.contains(&s));
            why.push(match facts.service_id {
                Some(s) => format!("service {s} is one of the rule's services: {}", verdict(ok)),
                None => "the incident has no service: no".to_owned(),
            });
        }
        if !self.team_ids.is_empty() {
            let ok = facts.team_id.is_some_and(|t| self.team_ids.contains(&t));
            why.push(match facts.team_id {
                Some(t) => format!("team {t} is one of the rule's teams: {}", verdict(ok)),
                None => "the incident has no team: no".to_owned(),
            });
        }
        if !self.urgencies.is_empty() {
            let ok = facts.urgency.is_some_and(|u| self.urgencies.contains(&u));
            let wanted = list(
                &self
                    .urgencies
                    .iter()
                    .map(|u| u.as_str())
                    .collect::<Vec<_>>(),
            );
            why.push(match facts.urgency {
                Some(u) => format!("urgency {} is one of {wanted}: {}", u.as_str(), verdict(ok)),
                None => "the incident has no urgency: no".to_owned(),
            });
        }
        if !self.priorities.is_empty() {
            let ok = n
                .priority
                .as_ref()
                .is_some_and(|p| self.priorities.contains(p));
            let wanted = list(
                &self
                    .priorities
                    .iter()
                    .map(|p| p.to_uppercase())
                    .collect::<Vec<_>>(),
            );
            why.push(match &facts.priority {
                Some(p) => format!("priority {p} is one of {wanted}: {}", verdict(ok)),
                None => "the incident has no priority: no".to_owned(),
            });
        }
        if !self.pattern_ids.is_empty() {
            let ok = facts
                .pattern_id
                .is_some_and(|p| self.pattern_ids.contains(&p));
            why.push(match facts.pattern_id {
                Some(p) => format!("pattern {p} is one of the rule's patterns: {}", verdict(ok)),
                None => "the incident has no pattern yet: no".to_owned(),
            });
        }
        if !self.tags_any.is_empty() {
            let ok = n.tags.iter().any(|t| self.tags_any.contains(t));
            why.push(format!(
                "has a tag among {}: {}",
                list(&self.tags_any),
                verdict(ok)
            ));
        }
        if let Some(r) = &self.title {
            let ok = r.is_match(&facts.title);
            why.push(format!("title matches /{}/: {}", r.as_str(), verdict(ok)));
        }
        (self.matches_normalized(&n, transition), why)
    }
}

/// Which bucket of the index a rule lives in: its most selective condition.
#[derive(Default)]
struct Index {
    by_service: HashMap<ServiceId, Vec<u32>>,
    by_pattern: HashMap<PatternId, Vec<u32>>,
    by_team: HashMap<TeamId, Vec<u32>>,
    by_source: HashMap<&'static str, Vec<u32>>,
    /// Rules with none of the indexed conditions: always evaluated.
    rest: Vec<u32>,
}

/// Many rules, indexed so that evaluating one incident change against them is cheap.
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    /// One index per transition (in `Transition::ALL` order).
    indexes: Vec<Index>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

fn transition_slot(t: Transition) -> usize {
    Transition::ALL.iter().position(|x| *x == t).unwrap_or(0)
}

impl RuleSet {
    /// Indexes `rules` (their order is the order of [`RuleSet::matching`]'s answer).
    #[must_use]
    pub fn new(rules: Vec<CompiledRule>) -> RuleSet {
        let mut indexes: Vec<Index> = Transition::ALL.iter().map(|_| Index::default()).collect();
        for (i, rule) in rules.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            for t in &rule.transitions {
                let index = &mut indexes[transition_slot(*t)];
                if !rule.service_ids.is_empty() {
                    for s in &rule.service_ids {
                        index.by_service.entry(*s).or_default().push(i);
                    }
                } else if !rule.pattern_ids.is_empty() {
                    for p in &rule.pattern_ids {
                        index.by_pattern.entry(*p).or_default().push(i);
                    }
                } else if !rule.team_ids.is_empty() {
                    for t in &rule.team_ids {
                        index.by_team.entry(*t).or_default().push(i);
                    }
                } else if !rule.sources.is_empty() {
                    for s in &rule.sources {
                        index.by_source.entry(s.as_str()).or_default().push(i);
                    }
                } else {
                    index.rest.push(i);
                }
            }
        }
        RuleSet { rules, indexes }
    }

    /// How many rules it holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether it holds no rule.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules, in the order given.
    #[must_use]
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The ids of the rules matching this change, in the order the rules were given.
    #[must_use]
    pub fn matching(&self, facts: &IncidentFacts, transition: Transition) -> Vec<Uuid> {
        let index = &self.indexes[transition_slot(transition)];
        let mut candidates: Vec<u32> = Vec::new();
        if let Some(s) = facts.service_id
            && let Some(v) = index.by_service.get(&s)
        {
            candidates.extend_from_slice(v);
        }
        if let Some(p) = facts.pattern_id
            && let Some(v) = index.by_pattern.get(&p)
        {
            candidates.extend_from_slice(v);
        }
        if let Some(t) = facts.team_id
            && let Some(v) = index.by_team.get(&t)
        {
            candidates.extend_from_slice(v);
        }
        if let Some(v) = index.by_source.get(facts.source.as_str()) {
            candidates.extend_from_slice(v);
        }
        candidates.extend_from_slice(&index.rest);
        if candidates.is_empty() {
            return Vec::new();
        }
        // Each rule sits in one kind of bucket and the facts hit one key per kind: no duplicates.
        candidates.sort_unstable();
        let n = Normalized::new(facts);
        candidates
            .into_iter()
            .map(|i| &self.rules[i as usize])
            .filter(|r| r.matches_normalized(&n, transition))
            .map(|r| r.id)
            .collect()
    }
}
