//! The snippet of a hit: the window of its text that best covers the query (distinct query terms first, then
//! how many), with the matched words highlighted.

use crate::analyze;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A piece of a snippet (the same shape as the API's `SnippetPartOut`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    pub highlight: bool,
}

/// The usual window, in characters.
pub const WINDOW: usize = 240;

/// The best window of about `window` characters of `text` for `query`, cut at word boundaries, with `…`
/// where it was cut; highlighted parts are the words that matched a query term or one of its equivalents.
/// Without any match, the beginning of the text.
#[must_use]
pub fn snippet(text: &str, query: &str, window: usize) -> Vec<SnippetPart> {
    let weights: HashMap<String, f32> = analyze::expand(query).into_iter().collect();
    let matches: Vec<analyze::Token> = analyze::tokens(text)
        .into_iter()
        .filter(|t| weights.contains_key(&t.term))
        .collect();
    // Best start: the first byte of a matched token, scored over the tokens within `window` bytes after it.
    let mut best: Option<(f32, usize)> = None;
    for (i, first) in matches.iter().enumerate() {
        let mut distinct: HashSet<&str> = HashSet::new();
        let mut score = 0.0f32;
        for t in matches[i..]
            .iter()
            .take_while(|t| t.end <= first.start + window)
        {
            if distinct.insert(&t.term) {
                score += weights[&t.term];
            } else {
                score += 0.05;
            }
        }
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, first.start));
        }
    }
    // Open the window a little before the first match, for context.
    let anchor = best.map_or(0, |(_, start)| start);
    let mut start = floor_boundary(text, anchor.saturating_sub(window / 6));
    if start > 0 {
        start = text[..start]
            .rfind(char::is_whitespace)
            .map_or(0, |p| p + 1)
            .max(floor_boundary(text, start.saturating_sub(20)));
        if start <= anchor && anchor - start > window / 3 {
            start = anchor;
        }
    }
    let mut end = floor_boundary(text, (start + window).min(text.len()));
    if end < text.len()
        && let Some(p) = text[start..end].rfind(char::is_whitespace)
        && p > 0
    {
        end = start + p;
    }
    let ranges = merged(
        matches
            .iter()
            .filter(|t| t.start >= start && t.end <= end)
            .map(|t| (t.start, t.end)),
    );
    let mut parts = Vec::new();
    let mut push = |text: &str, highlight: bool| {
        if text.is_empty() {
            return;
        }
        match parts.last_mut() {
            Some(SnippetPart {
                text: t,
                highlight: h,
            }) if *h == highlight => t.push_str(text),
            _ => parts.push(SnippetPart {
                text: text.to_owned(),
                highlight,
            }),
        }
    };
    if start > 0 {
        push("…", false);
    }
    let mut at = start;
    for (s, e) in ranges {
        push(&collapse(&text[at..s]), false);
        push(&text[s..e], true);
        at = e;
    }
    push(&collapse(&text[at..end]), false);
    if end < text.len() {
        push("…", false);
    }
    parts
}

/// Whitespace runs (newlines of a multi-line chunk) as one space.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Sorted, merged byte ranges.
fn merged(ranges: impl Iterator<Item = (usize, usize)>) -> Vec<(usize, usize)> {
    let mut v: Vec<(usize, usize)> = ranges.collect();
    v.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some((_, le)) if s <= *le => *le = (*le).max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn highlighted(parts: &[SnippetPart]) -> Vec<&str> {
        parts
            .iter()
            .filter(|p| p.highlight)
            .map(|p| p.text.as_str())
            .collect()
    }

    fn joined(parts: &[SnippetPart]) -> String {
        parts.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn matched_words_are_highlighted() {
        let parts = snippet(
            "Restart the payments-api pods when latency stays high",
            "restarting pods",
            WINDOW,
        );
        assert_eq!(highlighted(&parts), vec!["Restart", "pods"]);
        assert_eq!(
            joined(&parts),
            "Restart the payments-api pods when latency stays high"
        );
    }

    #[test]
    fn equivalents_are_highlighted_too() {
        let parts = snippet(
            "Fail over the database to the replica",
            "db failover",
            WINDOW,
        );
        assert_eq!(highlighted(&parts), vec!["database"]);
    }

    #[test]
    fn the_window_goes_where_the_query_terms_are() {
        let filler = "Unrelated background about billing and invoices. ".repeat(20);
        let text = format!("{filler}To fix replication lag, scale out the consumers. {filler}");
        let parts = snippet(&text, "replication lag consumers", 120);
        let s = joined(&parts);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("replication lag"), "{s}");
        assert_eq!(highlighted(&parts), vec!["replication", "lag", "consumers"]);
        assert!(s.chars().count() <= 125, "{s}");
    }

    #[test]
    fn without_a_match_the_beginning_is_shown() {
        let text = "word ".repeat(100);
        let parts = snippet(&text, "zebra", 50);
        assert!(highlighted(&parts).is_empty());
        assert!(joined(&parts).starts_with("word"));
        assert!(joined(&parts).ends_with('…'));
    }

    #[test]
    fn multibyte_text_is_cut_on_char_boundaries() {
        let text = "é".repeat(300) + " redémarrer le service";
        let parts = snippet(&text, "service", 41);
        assert_eq!(highlighted(&parts), vec!["service"]);
    }
}
