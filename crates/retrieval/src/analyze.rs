//! Text → terms, the same way for documents and queries.
//!
//! A token is a run of letters and digits, joined by `-`, `_`, `.`, `/` or `:` (so `payments-api.prod`,
//! `db.t3.large` and `/var/log` stay one token). Each token gives its whole lower-cased form when it was
//! joined, then its parts (split on the joiners and at camel-case boundaries: `OOMKilled` → `oom`, `killed`),
//! each lower-cased and lightly stemmed (`restarting`, `restarted`, `restarts` → `restart`). Stop words are
//! dropped. Numbers are kept (`5xx`, `502`, `eu-west-1`).
//!
//! [`expand`] adds the equivalents of a query's terms from [`EQUIVALENTS`], a small vocabulary of the field
//! (`db`/`database`, `k8s`/`kubernetes`, `oom`/`out of memory`…), with a lower weight.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A term of `text` and where its token is (byte offsets), for highlighting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub term: String,
    pub start: usize,
    pub end: usize,
}

/// The weight of an equivalent added by [`expand`], relative to a term of the query itself.
pub const EQUIVALENT_WEIGHT: f32 = 0.6;

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_joiner(c: char) -> bool {
    matches!(c, '-' | '_' | '.' | '/' | ':')
}

/// Small English stop words (function words only: never a word of the field).
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "do", "does", "for", "from",
    "had", "has", "have", "if", "in", "into", "is", "it", "its", "of", "on", "or", "so", "than",
    "that", "the", "their", "then", "there", "these", "this", "those", "to", "was", "we", "were",
    "what", "when", "which", "while", "who", "will", "with", "you", "your", "our", "i", "me", "my",
    "can", "could", "should", "would", "how", "why", "all", "any", "some", "just", "also", "about",
    "after", "before", "again",
];

fn stop_words() -> &'static std::collections::HashSet<&'static str> {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect())
}

#[must_use]
pub fn is_stop_word(term: &str) -> bool {
    stop_words().contains(term)
}

/// Light English stemming of one lower-cased word: plurals and `-ing`/`-ed`/`-ly` endings. Words with digits
/// and short words are left alone.
#[must_use]
pub fn stem(word: &str) -> String {
    let s = strip_suffix(word);
    // `scale`/`scaling`/`scaled` and `restore`/`restoring` meet on the form without the final `e`.
    if s.len() > 4
        && s.ends_with('e')
        && !s.ends_with("ee")
        && s.is_ascii()
        && !s.chars().any(|c| c.is_ascii_digit())
    {
        return s[..s.len() - 1].to_owned();
    }
    s
}

fn strip_suffix(word: &str) -> String {
    let n = word.chars().count();
    if n <= 3 || word.chars().any(|c| c.is_ascii_digit()) || !word.is_ascii() {
        return word.to_owned();
    }
    let w = word;
    if let Some(s) = w.strip_suffix("ies")
        && s.len() >= 2
    {
        return format!("{s}y");
    }
    if w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") || w.ends_with("shes") {
        return w[..w.len() - 2].to_owned();
    }
    for suffix in ["ing", "ed"] {
        if let Some(s) = w.strip_suffix(suffix)
            && s.len() >= 3
            && s.chars().any(|c| "aeiouy".contains(c))
        {
            return undouble(s);
        }
    }
    if let Some(s) = w.strip_suffix("ly")
        && s.len() >= 4
    {
        return s.to_owned();
    }
    if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return w[..w.len() - 1].to_owned();
    }
    w.to_owned()
}

/// `runn` → `run`, `stopp` → `stop` (but `kill`, `fall`, `pass` stay).
fn undouble(s: &str) -> String {
    let b = s.as_bytes();
    let n = b.len();
    if n >= 2 && b[n - 1] == b[n - 2] && !matches!(b[n - 1], b'l' | b's' | b'z') {
        return s[..n - 1].to_owned();
    }
    // `restor(ed)` → `restore`-less forms still match each other: both sides go through the same rules.
    s.to_owned()
}

/// Splits at camel-case boundaries: `OOMKilled` → `OOM`, `Killed`; `CrashLoopBackOff` → `Crash`, `Loop`,
/// `Back`, `Off`. A part without both cases is returned whole.
fn camel_parts(part: &str) -> Vec<&str> {
    let has_upper = part.chars().any(char::is_uppercase);
    let has_lower = part.chars().any(char::is_lowercase);
    if !(has_upper && has_lower) {
        return vec![part];
    }
    let chars: Vec<(usize, char)> = part.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..chars.len() {
        let (at, c) = chars[i];
        let prev = chars[i - 1].1;
        let next_lower = chars.get(i + 1).is_some_and(|(_, n)| n.is_lowercase());
        let boundary = (prev.is_lowercase() && c.is_uppercase())
            || (prev.is_uppercase() && c.is_uppercase() && next_lower)
            || (prev.is_alphabetic() != c.is_alphabetic());
        if boundary {
            out.push(&part[start..at]);
            start = at;
        }
    }
    out.push(&part[start..]);
    out
}

/// The raw tokens of `text` with their byte offsets (joiners kept inside, trimmed at the ends).
fn raw_tokens(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut last_word_end = 0;
    for (i, c) in text.char_indices() {
        if is_word_char(c) {
            if start.is_none() {
                start = Some(i);
            }
            last_word_end = i + c.len_utf8();
        } else if is_joiner(c) && start.is_some() {
            // Part of the token if a word character follows; decided at the next word character.
        } else if let Some(s) = start.take() {
            out.push((s, last_word_end));
        }
    }
    if let Some(s) = start {
        out.push((s, last_word_end));
    }
    out
}

/// The terms of `text` with the offsets of the token each came from, in order (a joined token gives its whole
/// form first, then its parts).
#[must_use]
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for (start, end) in raw_tokens(text) {
        let raw = &text[start..end];
        let push = |out: &mut Vec<Token>, term: String| {
            if !term.is_empty() && !is_stop_word(&term) {
                out.push(Token { term, start, end });
            }
        };
        let joined = raw.contains(is_joiner);
        let camel = !joined && camel_parts(raw).len() > 1;
        if joined || camel {
            push(&mut out, raw.to_lowercase());
        }
        for part in raw.split(is_joiner).filter(|p| !p.is_empty()) {
            let pieces = camel_parts(part);
            if joined && pieces.len() > 1 {
                push(&mut out, part.to_lowercase());
            }
            for piece in pieces {
                push(&mut out, stem(&piece.to_lowercase()));
            }
        }
    }
    out
}

/// The terms of `text` (see [`tokens`]).
#[must_use]
pub fn terms(text: &str) -> Vec<String> {
    tokens(text).into_iter().map(|t| t.term).collect()
}

/// Groups of equivalent wordings in operations (abbreviations, synonyms, spelled-out forms). A general
/// vocabulary of the field, analysed with [`terms`] like everything else; a multi-word form matches when all
/// its terms are in the query.
pub const EQUIVALENTS: &[&[&str]] = &[
    &["db", "database"],
    &["pg", "postgres", "postgresql"],
    &["k8s", "kubernetes", "kube"],
    &["pod", "container"],
    &["restart", "reboot", "bounce", "recycle"],
    &["oom", "out of memory", "oomkilled", "memory exhausted"],
    &["mem", "memory", "ram"],
    &["cert", "certificate"],
    &["tls", "ssl"],
    &["config", "configuration", "cfg", "settings"],
    &["env", "environment"],
    &["prod", "production"],
    &["stg", "staging"],
    &["deploy", "deployment", "release", "rollout"],
    &["rollback", "roll back", "revert", "undo deploy"],
    &["scale out", "scale up", "add replicas", "autoscale", "hpa"],
    &["replica", "instance"],
    &["host", "server", "machine", "vm"],
    &["lag", "delay", "behind"],
    &["conn", "connection"],
    &["auth", "authentication", "login"],
    &[
        "authz",
        "authorization",
        "permission",
        "access denied",
        "forbidden",
    ],
    &["timeout", "timed out", "time out"],
    &["lb", "load balancer", "elb", "alb"],
    &["queue", "backlog"],
    &["msg", "message"],
    &["creds", "credentials", "secret", "password"],
    &["svc", "service"],
    &["ns", "namespace"],
    &["log", "logging"],
    &["disk", "volume", "storage"],
    &["disk full", "no space left", "out of disk"],
    &["crash", "crashloop", "crashloopbackoff", "crashing"],
    &["throttle", "rate limit", "429"],
    &["5xx", "500", "502", "503", "504", "server error"],
    &["slow", "latency", "high response time"],
    &["kill", "terminate"],
    &["cpu", "processor"],
    &["net", "network"],
    &["dns", "name resolution"],
    &["repo", "repository"],
    &["cache", "caching"],
    &["cron", "scheduled job"],
    &["flush", "purge", "clear"],
    &["upgrade", "update", "bump"],
];

/// The equivalence groups as analysed forms: each group a list of forms, each form a list of terms.
fn analysed_groups() -> &'static Vec<Vec<Vec<String>>> {
    static GROUPS: OnceLock<Vec<Vec<Vec<String>>>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        EQUIVALENTS
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|form| {
                        // The parts of a form, not its joined whole: "out-of-memory" and "out of memory" alike.
                        let mut t: Vec<String> = Vec::new();
                        for term in terms(form) {
                            if !t.contains(&term) {
                                t.push(term);
                            }
                        }
                        t
                    })
                    .filter(|f| !f.is_empty())
                    .collect()
            })
            .collect()
    })
}

/// A query's weighted terms: its own terms (weight 1 each, however often repeated) and the equivalents of
/// what it says ([`EQUIVALENT_WEIGHT`]; a term of the query itself keeps its full weight).
#[must_use]
pub fn expand(text: &str) -> Vec<(String, f32)> {
    let own = terms(text);
    let mut weights: HashMap<String, f32> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for t in &own {
        if weights.insert(t.clone(), 1.0).is_none() {
            order.push(t.clone());
        }
    }
    let present: std::collections::HashSet<&str> = own.iter().map(String::as_str).collect();
    for group in analysed_groups() {
        let matched = group
            .iter()
            .any(|form| form.iter().all(|t| present.contains(t.as_str())));
        if !matched {
            continue;
        }
        for form in group {
            for t in form {
                // Equivalents spread their weight over the terms of a multi-word form.
                #[allow(clippy::cast_precision_loss)]
                let w = EQUIVALENT_WEIGHT / form.len() as f32;
                let e = weights.entry(t.clone()).or_insert_with(|| {
                    order.push(t.clone());
                    0.0
                });
                if *e < w {
                    *e = w;
                }
            }
        }
    }
    order
        .into_iter()
        .map(|t| {
            let w = weights[&t];
            (t, w)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_drops_stop_words_and_stems() {
        assert_eq!(
            terms("The pods are Restarting and the restarts failed"),
            vec!["pod", "restart", "restart", "fail"]
        );
        assert_eq!(terms("queries"), vec!["query"]);
        assert_eq!(terms("running stopped"), vec!["run", "stop"]);
        assert_eq!(terms("killed"), vec!["kill"]);
        assert_eq!(terms("scale scaled scaling scales"), vec!["scal"; 4]);
        assert_eq!(terms("restored restoring restore"), vec!["restor"; 3]);
    }

    #[test]
    fn identifiers_keep_their_whole_form_and_give_their_parts() {
        assert_eq!(
            terms("kubectl -n payments rollout restart deploy/payments-api"),
            vec![
                "kubectl",
                "n",
                "payment",
                "rollout",
                "restart",
                "deploy/payments-api",
                "deploy",
                "payment",
                "api"
            ]
        );
        assert_eq!(terms("OOMKilled"), vec!["oomkilled", "oom", "kill"]);
        assert_eq!(terms("eu-west-1."), vec!["eu-west-1", "eu", "west", "1"]);
    }

    #[test]
    fn unicode_words_are_tokens() {
        assert_eq!(terms("Größe über Café"), vec!["größe", "über", "café"]);
        assert_eq!(terms("数据库 超时"), vec!["数据库", "超时"]);
    }

    #[test]
    fn offsets_point_at_the_token() {
        let text = "Restart the payments-api now";
        let t = tokens(text);
        let api = t.iter().find(|t| t.term == "api").unwrap();
        assert_eq!(&text[api.start..api.end], "payments-api");
        let restart = t.iter().find(|t| t.term == "restart").unwrap();
        assert_eq!(&text[restart.start..restart.end], "Restart");
    }

    #[test]
    fn expansion_adds_equivalents_with_a_lower_weight() {
        let q = expand("db restarted");
        let get = |t: &str| {
            let t = &terms(t)[0];
            q.iter().find(|(x, _)| x == t).map(|(_, w)| *w)
        };
        assert_eq!(get("db"), Some(1.0));
        assert_eq!(get("restart"), Some(1.0));
        assert_eq!(get("database"), Some(EQUIVALENT_WEIGHT));
        assert_eq!(get("reboot"), Some(EQUIVALENT_WEIGHT));
        assert_eq!(get("kubernetes"), None);
    }

    #[test]
    fn multi_word_forms_match_in_both_directions() {
        let q = expand("the worker ran out of memory");
        assert!(q.iter().any(|(t, _)| t == "oom"), "{q:?}");
        let q = expand("OOM on the api");
        assert!(q.iter().any(|(t, _)| *t == terms("memory")[0]), "{q:?}");
    }
}
