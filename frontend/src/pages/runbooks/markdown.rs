//! A small Markdown renderer that is safe by construction: the text is parsed into blocks and inline spans
//! here, and the view makes Leptos nodes of them with text content only — nothing is ever given to the DOM
//! as HTML, so `<script>`, `<img onerror=…>` and every other tag show as the characters they are. Links keep
//! their target only when it is `http:`, `https:`, `mailto:` or a path of this site; any other scheme
//! (`javascript:`, `data:`, `vbscript:`…) shows as plain text. Supported: ATX headings, paragraphs, fenced
//! and indented code, bullet and numbered lists, block quotes, rules, and inline code, emphasis, strong
//! text and links — what runbooks use.

use leptos::prelude::*;

/// A run of inline text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Code(String),
    Strong(Vec<Inline>),
    Emphasis(Vec<Inline>),
    /// A link whose target passed [`safe_href`].
    Link {
        text: Vec<Inline>,
        href: String,
    },
}

/// A block of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Heading(u8, Vec<Inline>),
    Paragraph(Vec<Inline>),
    /// A fenced or indented code block, and the fence's language if any.
    Code {
        lang: Option<String>,
        text: String,
    },
    List {
        ordered: bool,
        items: Vec<Vec<Inline>>,
    },
    Quote(Vec<Block>),
    Rule,
}

/// The target of a link if it is safe to follow: `http(s):` and `mailto:` URLs, and paths of this site
/// (`/…`, `#…`, but not `//host`). Control characters and spaces are refused (browsers strip them, which
/// is how `java\tscript:` slips past naive checks).
#[must_use]
pub fn safe_href(href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() || href.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let lower = href.to_ascii_lowercase();
    let ok = ["http://", "https://", "mailto:"]
        .iter()
        .any(|p| lower.starts_with(p))
        || (href.starts_with('/') && !href.starts_with("//") && !href.starts_with("/\\"))
        || href.starts_with('#');
    ok.then(|| href.to_owned())
}

/// Parses a document.
#[must_use]
pub fn parse(source: &str) -> Vec<Block> {
    let lines: Vec<&str> = source.lines().collect();
    parse_lines(&lines)
}

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3
        && ['-', '*', '_'].iter().any(|c| {
            t.chars().all(|x| x == *c || x == ' ') && t.chars().filter(|x| x == c).count() >= 3
        })
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let t = line.trim_start();
    let level = t.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim_end();
    Some((level as u8, text))
}

/// A list item's marker: (ordered, the text after it).
fn list_item(line: &str) -> Option<(bool, &str)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    for m in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(m) {
            return Some((false, rest));
        }
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((true, r));
        }
    }
    None
}

fn fence(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    ["```", "~~~"]
        .into_iter()
        .find(|f| t.starts_with(f))
        .map(|f| (f, t[f.len()..].trim()))
}

fn parse_lines(lines: &[&str]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
        } else if let Some((marker, info)) = fence(line) {
            let indent = line.len() - line.trim_start().len();
            let mut text = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with(marker) {
                let l = lines[i];
                // The fence's own indentation is not part of the code.
                let strip = l.len() - l.trim_start().len();
                text.push(&l[strip.min(indent)..]);
                i += 1;
            }
            i += 1;
            let lang = info.split_whitespace().next().map(str::to_owned);
            out.push(Block::Code {
                lang,
                text: text.join("\n"),
            });
        } else if let Some((level, text)) = heading(line) {
            out.push(Block::Heading(level, inline(text)));
            i += 1;
        } else if is_rule(line) {
            out.push(Block::Rule);
            i += 1;
        } else if line.trim_start().starts_with('>') {
            let mut inner = Vec::new();
            while i < lines.len() && lines[i].trim_start().starts_with('>') {
                let t = lines[i].trim_start()[1..]
                    .strip_prefix(' ')
                    .unwrap_or(&lines[i].trim_start()[1..]);
                inner.push(t);
                i += 1;
            }
            out.push(Block::Quote(parse_lines(&inner)));
        } else if let Some((ordered, _)) = list_item(line) {
            let mut items: Vec<String> = Vec::new();
            while i < lines.len() {
                let l = lines[i];
                match list_item(l) {
                    Some((o, text)) if o == ordered => items.push(text.trim().to_owned()),
                    Some(_) => break,
                    None if l.trim().is_empty() => {
                        // A blank line ends the list unless another item follows.
                        if lines
                            .get(i + 1)
                            .and_then(|n| list_item(n))
                            .is_some_and(|(o, _)| o == ordered)
                        {
                            i += 1;
                            continue;
                        }
                        break;
                    }
                    // A continuation line of the last item.
                    None if l.starts_with("  ") || !starts_block(l) => {
                        if let Some(last) = items.last_mut() {
                            last.push(' ');
                            last.push_str(l.trim());
                        }
                    }
                    None => break,
                }
                i += 1;
            }
            out.push(Block::List {
                ordered,
                items: items.iter().map(|t| inline(t)).collect(),
            });
        } else if line.starts_with("    ") || line.starts_with('\t') {
            let mut text = Vec::new();
            while i < lines.len()
                && (lines[i].starts_with("    ")
                    || lines[i].starts_with('\t')
                    || lines[i].trim().is_empty())
            {
                let l = lines[i];
                text.push(
                    l.strip_prefix("    ")
                        .or_else(|| l.strip_prefix('\t'))
                        .unwrap_or(""),
                );
                i += 1;
            }
            while text.last().is_some_and(|l| l.trim().is_empty()) {
                text.pop();
            }
            out.push(Block::Code {
                lang: None,
                text: text.join("\n"),
            });
        } else {
            let mut text = vec![line.trim()];
            i += 1;
            while i < lines.len() && !lines[i].trim().is_empty() && !starts_block(lines[i]) {
                text.push(lines[i].trim());
                i += 1;
            }
            out.push(Block::Paragraph(inline(&text.join(" "))));
        }
    }
    out
}

/// Whether a line starts a block other than a paragraph (and so ends the paragraph before it).
fn starts_block(line: &str) -> bool {
    fence(line).is_some()
        || heading(line).is_some()
        || is_rule(line)
        || line.trim_start().starts_with('>')
        || list_item(line).is_some()
}

/// Parses inline spans: `code`, **strong**, *emphasis* or _emphasis_, [text](href). Anything else — raw
/// HTML included — is text.
#[must_use]
pub fn inline(text: &str) -> Vec<Inline> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    let flush = |plain: &mut String, out: &mut Vec<Inline>| {
        if !plain.is_empty() {
            out.push(Inline::Text(std::mem::take(plain)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() {
            plain.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if c == '`' {
            let ticks = chars[i..].iter().take_while(|x| **x == '`').count();
            if let Some(end) = find_run(&chars, i + ticks, '`', ticks) {
                flush(&mut plain, &mut out);
                let code: String = chars[i + ticks..end].iter().collect();
                out.push(Inline::Code(code.trim().to_owned()));
                i = end + ticks;
                continue;
            }
            plain.extend(&chars[i..i + ticks]);
            i += ticks;
            continue;
        }
        if (c == '*' || c == '_') && i + 1 < chars.len() {
            let double = chars[i + 1] == c;
            let n = if double { 2 } else { 1 };
            let starts = chars.get(i + n).is_some_and(|x| !x.is_whitespace());
            // `_` inside a word (snake_case) is not emphasis.
            let inside_word = c == '_' && i > 0 && chars[i - 1].is_alphanumeric();
            if starts
                && !inside_word
                && let Some(end) = find_closing(&chars, i + n, c, n)
            {
                flush(&mut plain, &mut out);
                let inner: String = chars[i + n..end].iter().collect();
                let spans = inline(&inner);
                out.push(if double {
                    Inline::Strong(spans)
                } else {
                    Inline::Emphasis(spans)
                });
                i = end + n;
                continue;
            }
        }
        if c == '['
            && let Some((label_end, href, end)) = link_at(&chars, i)
        {
            let label: String = chars[i + 1..label_end].iter().collect();
            flush(&mut plain, &mut out);
            match safe_href(&href) {
                Some(href) => out.push(Inline::Link {
                    text: inline(&label),
                    href,
                }),
                // An unsafe target: the whole thing stays text, and nothing can be clicked.
                None => out.push(Inline::Text(chars[i..end].iter().collect())),
            }
            i = end;
            continue;
        }
        plain.push(c);
        i += 1;
    }
    flush(&mut plain, &mut out);
    out
}

/// The index where a run of exactly `n` `c` starts, from `from`.
fn find_run(chars: &[char], from: usize, c: char, n: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == c {
            let run = chars[i..].iter().take_while(|x| **x == c).count();
            if run == n {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// The closing delimiter of emphasis: `n` × `c` after a non-space character.
fn find_closing(chars: &[char], from: usize, c: char, n: usize) -> Option<usize> {
    let mut i = from + 1;
    while i + n <= chars.len() {
        if chars[i..i + n].iter().all(|x| *x == c)
            && !chars[i - 1].is_whitespace()
            && chars.get(i + n) != Some(&c)
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A link `[label](href)` at `i`: (end of the label, the href, the index after the link).
fn link_at(chars: &[char], i: usize) -> Option<(usize, String, usize)> {
    let mut depth = 0;
    let mut j = i;
    let label_end = loop {
        match chars.get(j)? {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    break j;
                }
            }
            _ => {}
        }
        j += 1;
    };
    if chars.get(label_end + 1) != Some(&'(') {
        return None;
    }
    let close = chars[label_end + 2..].iter().position(|c| *c == ')')? + label_end + 2;
    let inside: String = chars[label_end + 2..close].iter().collect();
    // `(href "title")`: the title is dropped.
    let href = inside.split_whitespace().next().unwrap_or("").to_owned();
    Some((label_end, href, close + 1))
}

/// The plain text of spans (for titles and tests).
#[must_use]
pub fn plain_text(spans: &[Inline]) -> String {
    spans
        .iter()
        .map(|s| match s {
            Inline::Text(t) | Inline::Code(t) => t.clone(),
            Inline::Strong(x) | Inline::Emphasis(x) | Inline::Link { text: x, .. } => plain_text(x),
        })
        .collect()
}

fn inline_view(spans: Vec<Inline>) -> AnyView {
    spans
        .into_iter()
        .map(|s| match s {
            Inline::Text(t) => t.into_any(),
            Inline::Code(t) => view! { <code>{t}</code> }.into_any(),
            Inline::Strong(x) => view! { <strong>{inline_view(x)}</strong> }.into_any(),
            Inline::Emphasis(x) => view! { <em>{inline_view(x)}</em> }.into_any(),
            Inline::Link { text, href } => {
                let external = href.starts_with("http");
                view! {
                    <a href=href rel=external.then_some("noopener noreferrer nofollow")
                        target=external.then_some("_blank")>{inline_view(text)}</a>
                }
                .into_any()
            }
        })
        .collect_view()
        .into_any()
}

fn block_view(b: Block) -> AnyView {
    match b {
        Block::Heading(level, text) => {
            let text = inline_view(text);
            // The page's own h1/h2 come first: a document's headings start at h3.
            match level {
                1 => view! { <h3>{text}</h3> }.into_any(),
                2 => view! { <h4>{text}</h4> }.into_any(),
                3 => view! { <h5>{text}</h5> }.into_any(),
                _ => view! { <h6>{text}</h6> }.into_any(),
            }
        }
        Block::Paragraph(text) => view! { <p>{inline_view(text)}</p> }.into_any(),
        Block::Code { lang, text } => view! {
            <pre class="code" data-lang=lang><code>{text}</code></pre>
        }
        .into_any(),
        Block::List { ordered, items } => {
            let items = items
                .into_iter()
                .map(|i| view! { <li>{inline_view(i)}</li> })
                .collect_view();
            if ordered {
                view! { <ol>{items}</ol> }.into_any()
            } else {
                view! { <ul>{items}</ul> }.into_any()
            }
        }
        Block::Quote(inner) => view! {
            <blockquote>{inner.into_iter().map(block_view).collect_view()}</blockquote>
        }
        .into_any(),
        Block::Rule => view! { <hr /> }.into_any(),
    }
}

/// A Markdown document, rendered safely.
#[component]
pub fn Markdown(#[prop(into)] source: String) -> impl IntoView {
    let blocks = parse(&source);
    view! { <div class="markdown">{blocks.into_iter().map(block_view).collect_view()}</div> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_stays_text() {
        let doc = parse("<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>");
        assert_eq!(
            doc,
            vec![
                Block::Paragraph(vec![Inline::Text("<script>alert(1)</script>".into())]),
                Block::Paragraph(vec![Inline::Text("<img src=x onerror=alert(2)>".into())]),
            ]
        );
    }

    #[test]
    fn only_safe_link_targets_become_links() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,x",
            "vbscript:x",
            "//evil.example",
            " javascript:x",
        ] {
            assert_eq!(safe_href(bad), None, "{bad}");
        }
        for good in [
            "https://example.com/a",
            "http://x",
            "mailto:a@b.c",
            "/orgs/1",
            "#steps",
        ] {
            assert_eq!(safe_href(good).as_deref(), Some(good));
        }
        let spans =
            inline("see [the docs](javascript:alert(1)) or [wiki](https://w.example/p \"t\")");
        assert_eq!(
            spans,
            vec![
                Inline::Text("see ".into()),
                Inline::Text("[the docs](javascript:alert(1)".into()),
                Inline::Text(") or ".into()),
                Inline::Link {
                    text: vec![Inline::Text("wiki".into())],
                    href: "https://w.example/p".into()
                },
            ]
        );
        assert!(
            !spans
                .iter()
                .any(|s| matches!(s, Inline::Link { href, .. } if href.contains("javascript")))
        );
    }

    #[test]
    fn blocks_and_inline_spans() {
        let doc = parse(
            "# Disk full\n\nCheck **usage** with `df -h` and *then* clean.\nSecond line.\n\n\
             ```shell\ndf -h\n  du -sh /var\n```\n\n- one\n- two\n  continued\n\n1. first\n2. second\n\n> note\n\n---\n\n    indented code",
        );
        assert_eq!(doc.len(), 8, "{doc:?}");
        assert_eq!(
            doc[0],
            Block::Heading(1, vec![Inline::Text("Disk full".into())])
        );
        let Block::Paragraph(p) = &doc[1] else {
            panic!("{:?}", doc[1])
        };
        assert_eq!(
            plain_text(p),
            "Check usage with df -h and then clean. Second line."
        );
        assert!(p.contains(&Inline::Code("df -h".into())));
        assert!(p.contains(&Inline::Strong(vec![Inline::Text("usage".into())])));
        assert_eq!(
            doc[2],
            Block::Code {
                lang: Some("shell".into()),
                text: "df -h\n  du -sh /var".into()
            }
        );
        let Block::List {
            ordered: false,
            items,
        } = &doc[3]
        else {
            panic!("{:?}", doc[3])
        };
        assert_eq!(
            items.iter().map(|i| plain_text(i)).collect::<Vec<_>>(),
            ["one", "two continued"]
        );
        assert!(matches!(&doc[4], Block::List { ordered: true, items } if items.len() == 2));
        assert!(matches!(&doc[5], Block::Quote(q) if q.len() == 1));
        assert_eq!(doc[6], Block::Rule);
        assert_eq!(
            doc[7],
            Block::Code {
                lang: None,
                text: "indented code".into()
            }
        );
    }

    #[test]
    fn snake_case_and_lone_markers_are_text() {
        assert_eq!(
            inline("max_connections_per_host * 2"),
            vec![Inline::Text("max_connections_per_host * 2".into())]
        );
        assert_eq!(
            inline("an `unclosed tick"),
            vec![Inline::Text("an `unclosed tick".into())]
        );
    }
}
