//! Title normalization: a hand-written byte scanner that cuts a title into tokens, each with its byte span in
//! the title, and masks variable values into typed slots.
//!
//! - Tokens are separated by whitespace. At a word's ends, brackets and punctuation (`( [ { " ' `` ` `` at the
//!   start; `) ] } , ; : . ! ? " ' `` ` `` at the end) are tokens of their own, one byte each, so `(p99` reads
//!   `(` + `p99` and `failed:` reads `failed` + `:`. `key=value` is `key=` + `value`.
//! - A quoted value (`'…'`, `"…"`, `` `…` ``) is one token however many words it spans.
//! - The incident's own service name (case-insensitive; `-`, `_`, `.` and spaces equivalent; one or several
//!   tokens) is a `<service>` slot; other values are masked by their shape (see [`classify`]).
//!
//! Literals compare ASCII-case-insensitively: a token's identity is the hash of its lowercased text.

use crate::template::{Part, SlotKind, Template};

/// One token of a title.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tok {
    /// Byte span in the title.
    pub start: u32,
    pub end: u32,
    /// Whether whitespace comes before it.
    pub space: bool,
    /// Its slot, or `None` for a literal.
    pub slot: Option<SlotKind>,
    /// What it is compared by: [`lit_key`] of its text, or [`slot_key`] of its slot.
    pub key: u64,
    /// [`lit_key`] of its text, slot or not: a template's literal also matches a slot with that text.
    pub text: u64,
}

/// The key bit of slots.
pub(crate) const SLOT_BIT: u64 = 1 << 63;
/// The key bit of literals holding a digit (they go to the wildcard child of the mining tree).
pub(crate) const DIGIT_BIT: u64 = 1 << 62;
/// The key bit of literals made of letters only (words: the constants of a title, most of the time).
pub(crate) const WORD_BIT: u64 = 1 << 61;
/// The key bit of literals mixing letters with `-`, `_`, `.`, `/` or `:` (names like `reporting-prod`).
pub(crate) const IDENT_BIT: u64 = 1 << 60;
/// The bits of a key that hash a literal's text.
pub(crate) const HASH_MASK: u64 = !(SLOT_BIT | DIGIT_BIT | WORD_BIT | IDENT_BIT);
/// The key of `<*>`.
pub(crate) const VAR_KEY: u64 = SLOT_BIT | SlotKind::Var as u64;

pub(crate) fn slot_key(kind: SlotKind) -> u64 {
    SLOT_BIT | kind as u64
}

pub(crate) fn key_slot(key: u64) -> Option<SlotKind> {
    if key & SLOT_BIT == 0 {
        return None;
    }
    SlotKind::ALL.get((key & 0xff) as usize).copied()
}

pub(crate) fn lit_key(bytes: &[u8]) -> u64 {
    // One pass: the hash of the lowercased bytes, and what kinds of bytes there are.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let (mut digit, mut alpha, mut other) = (false, false, false);
    let mut inner_sep = false;
    let last = bytes.len().saturating_sub(1);
    for (i, &b) in bytes.iter().enumerate() {
        h = (h.rotate_left(5) ^ u64::from(b.to_ascii_lowercase()))
            .wrapping_mul(0x517c_c1b7_2722_0a95);
        if b.is_ascii_alphabetic() {
            alpha = true;
        } else if b.is_ascii_digit() {
            digit = true;
        } else {
            other = true;
            inner_sep |= i > 0 && i < last && matches!(b, b'-' | b'_' | b'.' | b'/' | b':');
        }
    }
    let word = bytes.len() > 1 && alpha && !digit && !other;
    let ident = !word && alpha && bytes.len() > 2 && inner_sep;
    (mix(h) & HASH_MASK)
        | if digit { DIGIT_BIT } else { 0 }
        | if word { WORD_BIT } else { 0 }
        | if ident { IDENT_BIT } else { 0 }
}

fn mix(mut h: u64) -> u64 {
    // A final mix so that short tokens spread over the high bits too.
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

/// An incident's service name, prepared for matching in titles: lowercased, `-`, `_`, `.` and whitespace runs
/// as one `-`.
#[derive(Clone, Debug)]
pub(crate) struct Service {
    norm: Norm,
}

/// The normalized name: inline when short (no allocation on the store pipeline's path), else on the heap.
#[derive(Clone, Debug)]
enum Norm {
    Inline([u8; 48], u8),
    Heap(Vec<u8>),
}

impl std::ops::Deref for Norm {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Norm::Inline(b, n) => &b[..usize::from(*n)],
            Norm::Heap(v) => v,
        }
    }
}

fn norm_byte(b: u8) -> u8 {
    match b {
        b'_' | b'.' | b' ' | b'\t' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

impl Service {
    pub(crate) fn new(name: &str) -> Self {
        // Lowercased, separator runs as one `-`, none at the ends.
        let mut buf = [0u8; 48];
        let mut len = 0usize;
        let mut heap: Option<Vec<u8>> = None;
        let mut pending_sep = false;
        for &b in name.as_bytes() {
            let n = norm_byte(b);
            if n == b'-' {
                pending_sep = len > 0 || heap.is_some();
                continue;
            }
            for c in [b'-', n].into_iter().skip(usize::from(!pending_sep)) {
                match &mut heap {
                    Some(v) => v.push(c),
                    None if len < buf.len() => {
                        buf[len] = c;
                        len += 1;
                    }
                    None => {
                        let mut v = buf[..len].to_vec();
                        v.push(c);
                        heap = Some(v);
                    }
                }
            }
            pending_sep = false;
        }
        #[allow(clippy::cast_possible_truncation)] // at most 48
        let norm = match heap {
            Some(v) => Norm::Heap(v),
            None => Norm::Inline(buf, len as u8),
        };
        Self { norm }
    }

    /// How many of `toks` (from the first) spell the service, if they do.
    fn matches(&self, title: &[u8], toks: &[Tok]) -> Option<usize> {
        let norm = &self.norm;
        if norm.is_empty() {
            return None;
        }
        let mut pos = 0;
        for (i, t) in toks.iter().enumerate() {
            if t.slot == Some(SlotKind::Quoted) || (i > 0 && !t.space) {
                return None;
            }
            let text = &title[t.start as usize..t.end as usize];
            for &b in text {
                if pos >= norm.len() || norm_byte(b) != norm[pos] {
                    return None;
                }
                pos += 1;
            }
            if pos == norm.len() {
                return Some(i + 1);
            }
            if norm[pos] != b'-' {
                return None;
            }
            pos += 1;
        }
        None
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'\'' | b'"' | b'`')
}

fn is_lead(b: u8) -> bool {
    matches!(b, b'(' | b'[' | b'{' | b'\'' | b'"' | b'`')
}

fn is_trail(b: u8) -> bool {
    matches!(
        b,
        b')' | b']' | b'}' | b',' | b';' | b':' | b'.' | b'!' | b'?' | b'\'' | b'"' | b'`'
    )
}

/// The scanner's state over one title.
struct Scanner<'a> {
    b: &'a [u8],
    out: &'a mut Vec<Tok>,
    /// Mask values (a title) or keep every token literal (a template's text).
    mask: bool,
    /// Whitespace before the next token.
    space: bool,
}

impl Scanner<'_> {
    fn push(&mut self, start: usize, end: usize, slot: Option<SlotKind>) {
        let bytes = &self.b[start..end];
        let text = lit_key(bytes);
        let key = match slot {
            Some(k) => slot_key(k),
            None => text,
        };
        let space = self.space && !self.out.is_empty();
        self.space = false;
        #[allow(clippy::cast_possible_truncation)] // titles are far shorter than 4 GiB
        self.out.push(Tok {
            start: start as u32,
            end: end as u32,
            space,
            slot,
            key,
            text,
        });
    }

    /// The closing quote of a quoted value opened at `open`: the next same quote at the end of a word (before
    /// whitespace, trailing punctuation or the end).
    fn closing_quote(&self, open: usize) -> Option<usize> {
        let q = self.b[open];
        let mut i = open + 1;
        while i < self.b.len() {
            if self.b[i] == q {
                let next = self.b.get(i + 1).copied();
                if next.is_none_or(|n| is_space(n) || is_trail(n)) {
                    return Some(i);
                }
            }
            i += 1;
        }
        None
    }

    /// Scans the word starting at `s` (not whitespace); answers where scanning goes on.
    fn word(&mut self, mut s: usize) -> usize {
        let b = self.b;
        let mut e = s;
        while e < b.len() && !is_space(b[e]) {
            e += 1;
        }
        while s < e && is_lead(b[s]) {
            if self.mask
                && is_quote(b[s])
                && let Some(close) = self.closing_quote(s)
            {
                self.push(s, close + 1, Some(SlotKind::Quoted));
                // The rest of the word the quote ends in is read like a word of its own.
                let after = close + 1;
                if after < b.len() && !is_space(b[after]) {
                    return self.word(after);
                }
                return after;
            }
            self.push(s, s + 1, None);
            s += 1;
        }
        if s == e {
            return e;
        }
        let mut t = e;
        while t > s && is_trail(b[t - 1]) {
            t -= 1;
        }
        if t > s {
            // `key=value`: the key (with its `=`) and the value are tokens of their own.
            let core = &b[s..t];
            let eq = core.iter().position(|&c| c == b'=');
            match eq {
                Some(p)
                    if p > 0
                        && p + 1 < core.len()
                        && core[p + 1] != b'='
                        && (core[p - 1].is_ascii_alphanumeric() || core[p - 1] == b'_') =>
                {
                    self.push(s, s + p + 1, None);
                    let v = s + p + 1;
                    if self.mask
                        && is_quote(b[v])
                        && let Some(close) = self.closing_quote(v)
                    {
                        self.push(v, close + 1, Some(SlotKind::Quoted));
                        let after = close + 1;
                        if after < b.len() && !is_space(b[after]) {
                            return self.word(after);
                        }
                        return after;
                    }
                    self.core(v, t);
                }
                _ => self.core(s, t),
            }
        }
        for i in t.max(s)..e {
            self.push(i, i + 1, None);
        }
        e
    }

    fn core(&mut self, s: usize, e: usize) {
        let slot = if self.mask {
            classify(&self.b[s..e])
        } else {
            None
        };
        self.push(s, e, slot);
    }
}

/// Cuts `title` into tokens (appended to `out`), masking values; `service` is the incident's service.
pub(crate) fn tokenize(title: &str, service: Option<&Service>, out: &mut Vec<Tok>) {
    out.clear();
    scan(title, true, out);
    merge_units(title.as_bytes(), out);
    if let Some(service) = service {
        mark_service(title.as_bytes(), service, out);
    }
}

thread_local! {
    /// A reused token buffer: the store pipeline's path allocates none.
    static TOKENS: std::cell::RefCell<Vec<Tok>> = std::cell::RefCell::new(Vec::with_capacity(32));
}

/// Calls `f` with the tokens of `title` (see [`tokenize`]), `service` being the incident's service name.
pub(crate) fn with_tokens<R>(title: &str, service: Option<&str>, f: impl FnOnce(&[Tok]) -> R) -> R {
    let service = service.map(Service::new);
    TOKENS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut toks) => {
            tokenize(title, service.as_ref(), &mut toks);
            f(&toks)
        }
        // Called from within `f`: a buffer of its own.
        Err(_) => {
            let mut toks = Vec::with_capacity(32);
            tokenize(title, service.as_ref(), &mut toks);
            f(&toks)
        }
    })
}

/// Cuts a template's literal text into tokens, masking nothing.
pub(crate) fn tokenize_literal(text: &str, out: &mut Vec<Tok>) {
    scan(text, false, out);
}

fn scan(text: &str, mask: bool, out: &mut Vec<Tok>) {
    let b = text.as_bytes();
    let mut sc = Scanner {
        b,
        out,
        mask,
        space: false,
    };
    let mut i = 0;
    if mask {
        i = leading_tag(b);
    }
    while i < b.len() {
        if is_space(b[i]) {
            sc.space = true;
            i += 1;
            continue;
        }
        i = sc.word(i);
    }
}

/// Units written as a word after a number (`500 ms`, `3 seconds`, `20 GB`): one `<duration>` or `<num>`.
const TIME_WORDS: &[&[u8]] = &[
    b"ns", b"us", b"ms", b"s", b"sec", b"secs", b"second", b"seconds", b"m", b"min", b"mins",
    b"minute", b"minutes", b"h", b"hr", b"hrs", b"hour", b"hours", b"d", b"day", b"days", b"w",
    b"week", b"weeks",
];
const UNIT_WORDS: &[&[u8]] = &[
    b"%", b"b", b"byte", b"bytes", b"kb", b"kib", b"mb", b"mib", b"gb", b"gib", b"tb", b"tib",
    b"pb", b"k", b"percent", b"rps", b"qps", b"iops", b"mbps", b"gbps", b"kbps",
];

/// Severity levels of alerting tools (`CRITICAL`, `warning`…): the same problem at another level is the same
/// pattern, so they are a `<*>` slot. (`error` is not one: it is usually what the title is about.)
const SEVERITIES: &[&[u8]] = &[
    b"critical",
    b"crit",
    b"warning",
    b"warn",
    b"fatal",
    b"info",
    b"notice",
    b"debug",
    b"major",
    b"minor",
    b"severe",
    b"emergency",
    b"emerg",
];

fn is_severity(w: &[u8]) -> bool {
    SEVERITIES.iter().any(|s| w.eq_ignore_ascii_case(s))
}

fn merge_units(title: &[u8], toks: &mut Vec<Tok>) {
    let mut i = 0;
    while i + 1 < toks.len() {
        let (a, u) = (toks[i], toks[i + 1]);
        if a.slot == Some(SlotKind::Number) && u.slot.is_none() && u.space {
            let word = &title[u.start as usize..u.end as usize];
            let is = |list: &[&[u8]]| list.iter().any(|w| word.eq_ignore_ascii_case(w));
            let kind = if is(TIME_WORDS) {
                Some(SlotKind::Duration)
            } else if is(UNIT_WORDS) {
                Some(SlotKind::Number)
            } else {
                None
            };
            if let Some(kind) = kind {
                join(title, toks, i, i + 2, kind);
            }
        }
        i += 1;
    }
    let mut i = 0;
    while i + 1 < toks.len() {
        let (a, u) = (toks[i], toks[i + 1]);
        // A quantity followed by the same quantity written another way in brackets (`5174 bytes (5.05 KB)`,
        // `1500 ms (1.5s)`): one value.
        let quantity = |t: &Tok| matches!(t.slot, Some(SlotKind::Number | SlotKind::Duration));
        if let Some(kind) = a.slot
            && quantity(&a)
            && u.space
            && u.slot.is_none()
            && matches!(title[u.start as usize], b'(' | b'[')
            && u.end == u.start + 1
        {
            let close = if title[u.start as usize] == b'(' {
                b')'
            } else {
                b']'
            };
            let inner = toks[i + 2..].iter().take_while(|t| quantity(t)).count();
            if let Some(c) = toks.get(i + 2 + inner)
                && inner > 0
                && c.end == c.start + 1
                && title[c.start as usize] == close
            {
                join(title, toks, i, i + 3 + inner, kind);
                continue;
            }
        }
        i += 1;
    }
}

/// Makes tokens `from..to` one token of slot `kind`.
fn join(title: &[u8], toks: &mut Vec<Tok>, from: usize, to: usize, kind: SlotKind) {
    let (a, end) = (toks[from], toks[to - 1].end);
    toks[from] = Tok {
        end,
        slot: Some(kind),
        key: slot_key(kind),
        text: lit_key(&title[a.start as usize..end as usize]),
        ..a
    };
    toks.drain(from + 1..to);
}

/// Prefixes of titles that arrived by e-mail (a reply or a forward).
const MAIL_PREFIXES: &[&[u8]] = &[b"re:", b"fwd:", b"fw:", b"aw:", b"wg:"];

/// A title's leading bracketed tags (`[FIRING:1]`, `[P2] [Triggered]`, `[prod]`, `[instance: …]`) and mail
/// prefixes (`Re:`, `Fwd:`): the alerting tool's state, priority, severity or environment, or the way it
/// arrived, not what the alert is about, and present or not as the tool pleases. They are left out of the
/// tokens (the template starts after them). Answers where scanning goes on.
fn leading_tag(b: &[u8]) -> usize {
    let skip = |from: usize| from + b[from..].iter().take_while(|&&c| is_space(c)).count();
    let start = skip(0);
    let mut end = start;
    loop {
        let at = skip(end);
        let mail = MAIL_PREFIXES.iter().find(|p| {
            b.len() > at + p.len()
                && b[at..at + p.len()].eq_ignore_ascii_case(p)
                && is_space(b[at + p.len()])
        });
        if let Some(p) = mail {
            // Only before something.
            if b[at + p.len()..].iter().all(|&c| is_space(c)) {
                break;
            }
            end = at + p.len();
            continue;
        }
        if b.get(at) != Some(&b'[') {
            break;
        }
        let Some(close) = b[at..].iter().position(|&c| c == b']').map(|p| at + p) else {
            break;
        };
        // Only tags before something, and no empty bracket pair.
        if close == at + 1 || b[close + 1..].iter().all(|&c| is_space(c)) {
            break;
        }
        end = close + 1;
    }
    if end == start {
        return 0;
    }
    end
}

/// Turns the runs of tokens that spell the service into one `<service>` token.
fn mark_service(title: &[u8], service: &Service, toks: &mut Vec<Tok>) {
    let first = service.norm.first().copied();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let starts =
            t.slot != Some(SlotKind::Quoted) && Some(norm_byte(title[t.start as usize])) == first;
        if starts && let Some(n) = service.matches(title, &toks[i..]) {
            let end = toks[i + n - 1].end;
            let span = &title[t.start as usize..end as usize];
            let text = lit_key(span);
            toks[i] = Tok {
                end,
                slot: Some(SlotKind::Service),
                key: slot_key(SlotKind::Service),
                text,
                ..t
            };
            toks.drain(i + 1..i + n);
        }
        i += 1;
    }
}

/// The template of a tokenized title, with `slot(i)` overriding token `i`'s slot (mining's `<*>`).
pub(crate) fn template_of(
    title: &str,
    toks: &[Tok],
    slot: impl Fn(usize) -> Option<SlotKind>,
) -> Template {
    let mut parts = Vec::with_capacity(4);
    let mut text = String::new();
    for (i, t) in toks.iter().enumerate() {
        if t.space {
            text.push(' ');
        }
        match slot(i).or(t.slot) {
            Some(kind) => {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Slot(kind));
            }
            None => text.push_str(&title[t.start as usize..t.end as usize]),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Template::from_normalized(parts)
}

/// A template's tokens' keys, and for each token the index of its part.
pub(crate) fn template_keys(template: &Template, keys: &mut Vec<u64>, parts: &mut Vec<u32>) {
    keys.clear();
    parts.clear();
    let mut toks = Vec::new();
    for (pi, part) in template.parts().iter().enumerate() {
        #[allow(clippy::cast_possible_truncation)] // templates are far shorter than 4 G parts
        let pi = pi as u32;
        match part {
            Part::Text(t) => {
                toks.clear();
                tokenize_literal(t, &mut toks);
                for tok in &toks {
                    keys.push(tok.key);
                    parts.push(pi);
                }
            }
            Part::Slot(k) => {
                keys.push(slot_key(*k));
                parts.push(pi);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Masking by shape.

/// The slot a token's text is masked to, or `None` when it is a word of the title. Tokens with letters and
/// digits are ids only when long (≥ 8 bytes), joined by separators (≥ 6 bytes) or holding ≥ 4 digits: short
/// ones like `p99`, `ec2`, `s3`, `5xx`, `k8s`, `v2` are words of the alert.
pub(crate) fn classify(w: &[u8]) -> Option<SlotKind> {
    let n = w.len();
    if n == 0 || w[n - 1] == b'=' {
        return None;
    }
    let (mut digits, mut alpha, mut other) = (0usize, 0usize, 0usize);
    let mut all_hex = true;
    for &c in w {
        if c.is_ascii_digit() {
            digits += 1;
        } else if c.is_ascii_alphabetic() {
            alpha += 1;
            all_hex &= c.is_ascii_hexdigit();
        } else {
            other += 1;
            all_hex = false;
        }
    }
    if other > 0 {
        if is_url(w) {
            return Some(SlotKind::Url);
        }
        if is_email(w) {
            return Some(SlotKind::Email);
        }
        if is_path(w) {
            return Some(SlotKind::Path);
        }
    }
    if digits == 0 {
        if other > 0 && is_host(w) {
            return Some(SlotKind::Host);
        }
        if other == 0 && is_severity(w) {
            return Some(SlotKind::Var);
        }
        return None;
    }
    if other == 0 && alpha == 0 {
        // Epoch-like: seconds, milliseconds, microseconds or nanoseconds since 1970 (from 2001 on).
        if matches!(n, 10 | 13 | 16 | 19) && w[0] == b'1' {
            return Some(SlotKind::Timestamp);
        }
        return Some(SlotKind::Number);
    }
    if is_uuid(w) {
        return Some(SlotKind::Uuid);
    }
    if n > 2 && w[0] == b'0' && (w[1] | 0x20) == b'x' && w[2..].iter().all(u8::is_ascii_hexdigit) {
        return Some(SlotKind::Hex);
    }
    if is_timestamp(w) {
        return Some(SlotKind::Timestamp);
    }
    if is_ip(w) {
        return Some(SlotKind::Ip);
    }
    if is_duration(w) {
        return Some(SlotKind::Duration);
    }
    if is_number(w) {
        return Some(SlotKind::Number);
    }
    if alpha == 0 && n > 1 {
        // Digits with punctuation only: versions, ranges, ratios (`1.2.3`, `3/5`, `10-12`).
        return Some(SlotKind::Number);
    }
    if is_host(w) {
        return Some(SlotKind::Host);
    }
    if all_hex && n >= 8 {
        return Some(SlotKind::Hex);
    }
    if alpha > 0 && (n >= 8 || (other > 0 && n >= 6) || digits >= 4) {
        return Some(SlotKind::Id);
    }
    None
}

fn is_url(w: &[u8]) -> bool {
    if let Some(p) = find(w, b"://") {
        return p > 0
            && w[..p]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'));
    }
    // `www.example.com/path`: a host name followed by a path.
    match w.iter().position(|&c| c == b'/') {
        Some(p) if p > 0 && p + 1 < w.len() => is_host(&w[..p]),
        _ => false,
    }
}

fn is_email(w: &[u8]) -> bool {
    let Some(at) = w.iter().position(|&c| c == b'@') else {
        return false;
    };
    let (local, domain) = (&w[..at], &w[at + 1..]);
    !local.is_empty()
        && local
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-'))
        && domain_like(domain)
}

/// Labels of letters, digits and `-` joined by dots, the last one ≥ 2 letters.
fn domain_like(d: &[u8]) -> bool {
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in d.split(|&c| c == b'.') {
        if label.is_empty()
            || !label
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)
}

fn is_path(w: &[u8]) -> bool {
    let rest = if let Some(r) = w.strip_prefix(b"~/").or_else(|| w.strip_prefix(b"./")) {
        r
    } else if let Some(r) = w.strip_prefix(b"../") {
        r
    } else if w.len() > 3 && w[0].is_ascii_alphabetic() && w[1] == b':' && w[2] == b'\\' {
        &w[3..]
    } else if let Some(r) = w.strip_prefix(b"/") {
        r
    } else {
        return false;
    };
    rest.iter().any(u8::is_ascii_alphanumeric)
}

/// Top-level domains of host names: generic ones, internal suffixes, and country codes that are not also
/// common file extensions (`file.sh`, `main.rs`, `notes.md` are not hosts).
const TLDS: &[&[u8]] = &[
    b"com",
    b"net",
    b"org",
    b"io",
    b"dev",
    b"app",
    b"ai",
    b"co",
    b"cloud",
    b"info",
    b"biz",
    b"tech",
    b"site",
    b"online",
    b"xyz",
    b"gov",
    b"edu",
    b"mil",
    b"int",
    b"local",
    b"localdomain",
    b"localhost",
    b"internal",
    b"intranet",
    b"lan",
    b"corp",
    b"home",
    b"svc",
    b"cluster",
    b"arpa",
    b"test",
    b"example",
    b"invalid",
    b"consul",
    b"us",
    b"uk",
    b"de",
    b"fr",
    b"nl",
    b"eu",
    b"ca",
    b"au",
    b"jp",
    b"cn",
    b"ru",
    b"br",
    b"in",
    b"ch",
    b"se",
    b"no",
    b"es",
    b"it",
    b"be",
    b"at",
    b"dk",
    b"fi",
    b"cz",
    b"ie",
    b"nz",
    b"sg",
    b"hk",
    b"kr",
    b"tw",
    b"za",
    b"mx",
    b"ar",
    b"cl",
    b"il",
    b"tr",
    b"ua",
    b"ro",
    b"hu",
    b"gr",
    b"pt",
];

fn is_host(w: &[u8]) -> bool {
    // An optional `:port`.
    let w = match w.iter().rposition(|&c| c == b':') {
        Some(p) if p + 1 < w.len() && w[p + 1..].iter().all(u8::is_ascii_digit) => &w[..p],
        Some(_) => return false,
        None => w,
    };
    if !domain_like(w) || !w[0].is_ascii_alphanumeric() {
        return false;
    }
    let last = &w[w.iter().rposition(|&c| c == b'.').map_or(0, |p| p + 1)..];
    TLDS.iter().any(|t| last.eq_ignore_ascii_case(t))
}

fn is_uuid(w: &[u8]) -> bool {
    w.len() == 36
        && w.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Leading ASCII digits of `w` from `i`: their count.
fn digits_at(w: &[u8], i: usize) -> usize {
    w.get(i..)
        .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
}

/// `hh:mm`, `hh:mm:ss`, with fractions (`.123` or `,123`), a zone (`Z`, `+02:00`) or `am`/`pm`; answers the
/// length read.
fn time_len(w: &[u8]) -> Option<usize> {
    let h = digits_at(w, 0);
    if !(1..=2).contains(&h) || w.get(h) != Some(&b':') || digits_at(w, h + 1) != 2 {
        return None;
    }
    let mut i = h + 3;
    if w.get(i) == Some(&b':') && digits_at(w, i + 1) == 2 {
        i += 3;
        if matches!(w.get(i), Some(b'.' | b',')) && digits_at(w, i + 1) > 0 {
            i += 1 + digits_at(w, i + 1);
        }
    }
    Some(i)
}

fn is_timestamp(w: &[u8]) -> bool {
    let zone_ok = |rest: &[u8]| {
        rest.is_empty()
            || rest.eq_ignore_ascii_case(b"z")
            || rest.eq_ignore_ascii_case(b"am")
            || rest.eq_ignore_ascii_case(b"pm")
            || rest.eq_ignore_ascii_case(b"utc")
            || (matches!(rest[0], b'+' | b'-')
                && rest[1..].iter().all(|c| c.is_ascii_digit() || *c == b':')
                && rest.len() >= 3)
    };
    if let Some(t) = time_len(w) {
        return zone_ok(&w[t..]);
    }
    // A date: yyyy-mm-dd, yyyy/mm/dd, dd/mm/yyyy, dd.mm.yyyy, optionally followed by `T` or `_` and a time.
    let a = digits_at(w, 0);
    let Some(&sep) = w.get(a) else { return false };
    if !matches!(sep, b'-' | b'/' | b'.') {
        return false;
    }
    let b = digits_at(w, a + 1);
    if !(1..=2).contains(&b) || w.get(a + 1 + b) != Some(&sep) {
        return false;
    }
    let c = digits_at(w, a + b + 2);
    let ok = (a == 4 && (1..=2).contains(&c)) || ((1..=2).contains(&a) && c == 4);
    if !ok {
        return false;
    }
    let i = a + b + c + 2;
    match w.get(i) {
        None => true,
        Some(b'T' | b't' | b'_') => time_len(&w[i + 1..]).is_some_and(|t| zone_ok(&w[i + 1 + t..])),
        Some(_) => false,
    }
}

fn is_ip(w: &[u8]) -> bool {
    is_ipv4(w) || is_ipv6(w)
}

fn is_ipv4(w: &[u8]) -> bool {
    let mut i = 0;
    for part in 0..4 {
        let d = digits_at(w, i);
        if !(1..=3).contains(&d) {
            return false;
        }
        i += d;
        if part < 3 {
            if w.get(i) != Some(&b'.') {
                return false;
            }
            i += 1;
        }
    }
    match w.get(i) {
        None => true,
        Some(b':' | b'/') => digits_at(w, i + 1) > 0 && i + 1 + digits_at(w, i + 1) == w.len(),
        Some(_) => false,
    }
}

fn is_ipv6(w: &[u8]) -> bool {
    // `[addr]:port`
    let w = if w.first() == Some(&b'[') {
        match w.iter().position(|&c| c == b']') {
            Some(p) => {
                let rest = &w[p + 1..];
                if !(rest.is_empty() || (rest[0] == b':' && digits_at(rest, 1) + 1 == rest.len())) {
                    return false;
                }
                &w[1..p]
            }
            None => return false,
        }
    } else {
        w
    };
    // `/prefix`
    let w = match w.iter().position(|&c| c == b'/') {
        Some(p) if digits_at(w, p + 1) > 0 && p + 1 + digits_at(w, p + 1) == w.len() => &w[..p],
        Some(_) => return false,
        None => w,
    };
    let colons = w.iter().filter(|&&c| c == b':').count();
    if !(2..=7).contains(&colons)
        || !w
            .iter()
            .all(|c| c.is_ascii_hexdigit() || *c == b':' || *c == b'.')
    {
        return false;
    }
    let groups: Vec<&[u8]> = w.split(|&c| c == b':').collect();
    if groups.iter().any(|g| g.len() > 4 && !g.contains(&b'.')) {
        return false;
    }
    // A MAC address (six groups of two) is an id, not an address.
    if colons == 5 && groups.iter().all(|g| g.len() == 2) {
        return false;
    }
    find(w, b"::").is_some() || colons == 7
}

/// A number's digits: `12`, `1,234`, `3.5`, `1e-5`, with an optional sign; answers the length read.
fn number_len(w: &[u8]) -> usize {
    let mut i = usize::from(matches!(w.first(), Some(b'+' | b'-')));
    let d = digits_at(w, i);
    if d == 0 {
        // `.5`
        if w.get(i) == Some(&b'.') && digits_at(w, i + 1) > 0 {
            return i + 1 + digits_at(w, i + 1);
        }
        return 0;
    }
    i += d;
    while w.get(i) == Some(&b',') && digits_at(w, i + 1) == 3 {
        i += 4;
    }
    if w.get(i) == Some(&b'.') && digits_at(w, i + 1) > 0 {
        i += 1 + digits_at(w, i + 1);
    }
    if matches!(w.get(i), Some(b'e' | b'E')) {
        let j = i + 1 + usize::from(matches!(w.get(i + 1), Some(b'+' | b'-')));
        if digits_at(w, j) > 0 {
            i = j + digits_at(w, j);
        }
    }
    i
}

const NUMBER_UNITS: &[&[u8]] = &[
    b"%", b"k", b"kb", b"kib", b"m", b"mb", b"mib", b"g", b"gb", b"gib", b"t", b"tb", b"tib", b"p",
    b"pb", b"pib", b"b", b"x", b"bps", b"kbps", b"mbps", b"gbps", b"rps", b"qps", b"ops", b"iops",
    b"/s", b"/min", b"hz", b"khz", b"mhz", b"ghz", b"c", b"w", b"kw", b"v", b"mv", b"ma", b"k/s",
    b"mb/s", b"gb/s", b"req/s", b"ops/s", b"rpm", b"cpu", b"cpus", b"vcpu", b"core", b"cores",
];

fn is_number(w: &[u8]) -> bool {
    let n = number_len(w);
    if n == 0 {
        return false;
    }
    let unit = &w[n..];
    unit.is_empty() || NUMBER_UNITS.iter().any(|u| unit.eq_ignore_ascii_case(u))
}

const DURATION_UNITS: &[&[u8]] = &[
    b"ns",
    b"us",
    "µs".as_bytes(),
    b"ms",
    b"s",
    b"sec",
    b"secs",
    b"m",
    b"min",
    b"mins",
    b"h",
    b"hr",
    b"hrs",
    b"d",
    b"w",
];

fn is_duration(w: &[u8]) -> bool {
    let mut i = 0;
    let mut parts = 0;
    while i < w.len() {
        let d = digits_at(w, i);
        if d == 0 {
            return false;
        }
        i += d;
        if w.get(i) == Some(&b'.') && digits_at(w, i + 1) > 0 {
            i += 1 + digits_at(w, i + 1);
        }
        let u = w[i..]
            .iter()
            .take_while(|c| !c.is_ascii_digit() && **c != b'.')
            .count();
        if !DURATION_UNITS.contains(&&w[i..i + u]) {
            return false;
        }
        i += u;
        parts += 1;
    }
    parts > 0
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|win| win == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(title: &str) -> String {
        Template::of_title(title, None).to_string()
    }

    fn kind(token: &str) -> Option<SlotKind> {
        classify(token.as_bytes())
    }

    #[test]
    fn urls_and_emails_are_masked() {
        assert_eq!(
            kind("https://api.example.com/v1/users?id=3"),
            Some(SlotKind::Url)
        );
        assert_eq!(kind("www.example.com/health"), Some(SlotKind::Url));
        assert_eq!(kind("oncall+alerts@example.co.uk"), Some(SlotKind::Email));
        assert_eq!(kind("root@localhost"), None);
        assert_eq!(kind("read/write"), None);
    }

    #[test]
    fn uuids_and_hex_are_masked() {
        assert_eq!(
            kind("b9000564-fe1a-409b-b8cc-1e88b294cd1d"),
            Some(SlotKind::Uuid)
        );
        assert_eq!(kind("0x7fff5fbff8"), Some(SlotKind::Hex));
        assert_eq!(kind("54fadb412c4e40cd"), Some(SlotKind::Hex));
        assert_eq!(kind("deadbeef"), None, "a hex run without digits is a word");
        assert_eq!(kind("0xZZ"), None);
    }

    #[test]
    fn addresses_are_masked_with_ports_and_prefixes() {
        for ip in [
            "10.0.0.1",
            "10.251.73.220:50010",
            "192.168.0.0/16",
            "fe80::1",
            "[2001:db8::1]:443",
            "2001:db8::/32",
        ] {
            assert_eq!(kind(ip), Some(SlotKind::Ip), "{ip}");
        }
        assert_eq!(
            kind("1.2.3"),
            Some(SlotKind::Number),
            "a version is not an address"
        );
        assert_eq!(
            kind("00:1a:2b:3c:4d:5e"),
            Some(SlotKind::Id),
            "a MAC address is not an IP"
        );
        assert_eq!(kind("12:30:45"), Some(SlotKind::Timestamp));
    }

    #[test]
    fn timestamps_are_masked() {
        for t in [
            "2024-01-02",
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.123+02:00",
            "12:30",
            "10:15:23,123",
            "02/01/2024",
            "1700000000",
            "1700000000123",
        ] {
            assert_eq!(kind(t), Some(SlotKind::Timestamp), "{t}");
        }
        assert_eq!(kind("2024"), Some(SlotKind::Number));
        assert_ne!(kind("12:3"), Some(SlotKind::Timestamp));
    }

    #[test]
    fn durations_and_numbers_are_masked() {
        for d in ["2s", "150ms", "1h30m", "2.5s", "100µs", "5m", "3d"] {
            assert_eq!(kind(d), Some(SlotKind::Duration), "{d}");
        }
        for n in [
            "42",
            "-3.5",
            "99%",
            "1,234,567",
            "10GB",
            "512MiB",
            "1.5k",
            "1e-5",
            "+7",
        ] {
            assert_eq!(kind(n), Some(SlotKind::Number), "{n}");
        }
        assert_eq!(kind("5xx"), None);
        assert_eq!(
            norm("latency above 500 ms for 3 minutes"),
            "latency above <duration> for <duration>"
        );
        assert_eq!(
            norm("disk at 91 % on 20 GB volume"),
            "disk at <num> on <num> volume"
        );
        assert_eq!(
            norm("5 errors"),
            "<num> errors",
            "a word that is not a unit stays"
        );
    }

    #[test]
    fn paths_are_masked() {
        for p in [
            "/var/log/app.log",
            "~/x",
            "./run.sh",
            "C:\\Windows\\x",
            "/api/v1/users",
        ] {
            assert_eq!(kind(p), Some(SlotKind::Path), "{p}");
        }
        assert_eq!(kind("/"), None);
        assert_eq!(kind("I/O"), None);
    }

    #[test]
    fn host_names_need_a_plausible_top_level_domain() {
        for h in [
            "kafka-0.kafka.svc.cluster.local",
            "db-1.prod.example.com",
            "ip-10-0-1-2.ec2.internal",
            "example.com:443",
        ] {
            assert_eq!(kind(h), Some(SlotKind::Host), "{h}");
        }
        for not in [
            "file.txt",
            "e.g",
            "main.rs",
            "java.lang.NullPointerException",
            "node.js",
        ] {
            assert_eq!(kind(not), None, "{not}");
        }
        assert_eq!(norm("see e.g. file.txt"), "see e.g. file.txt");
    }

    #[test]
    fn ids_mix_letters_and_digits_but_short_words_stay() {
        for id in [
            "i-0abc123",
            "pod-7f9c8d-xk2z",
            "blk_-1608999687919862906",
            "us-east-1a",
            "job12345",
        ] {
            assert_eq!(kind(id), Some(SlotKind::Id), "{id}");
        }
        for word in [
            "p99", "ec2", "s3", "5xx", "k8s", "v2", "http2", "sha256", "log4j",
        ] {
            assert_eq!(kind(word), None, "{word}");
        }
    }

    #[test]
    fn quoted_values_are_one_slot_even_over_several_words() {
        assert_eq!(norm("Table 'orders' is full"), "Table <quoted> is full");
        assert_eq!(
            norm("ALARM: \"api p99 latency\" in EU"),
            "ALARM: <quoted> in EU"
        );
        assert_eq!(norm("query=`select 1` failed"), "query=<quoted> failed");
        assert_eq!(
            norm("don't panic"),
            "don't panic",
            "an apostrophe is not a quote"
        );
        assert_eq!(norm("an 'unclosed quote"), "an 'unclosed quote");
    }

    #[test]
    fn punctuation_and_key_values_are_split_off() {
        let t = Template::of_title(
            "High latency (p99 > 2s) on db-1.prod.example.com: state=down, code=503",
            None,
        );
        assert_eq!(
            t.to_string(),
            "High latency (p99 > <duration>) on <host>: state=down, code=<num>"
        );
        let mut toks = Vec::new();
        tokenize("(p99 failed:", None, &mut toks);
        let title = "(p99 failed:";
        let texts: Vec<&str> = toks
            .iter()
            .map(|t| &title[t.start as usize..t.end as usize])
            .collect();
        assert_eq!(texts, ["(", "p99", "failed", ":"]);
    }

    #[test]
    fn the_service_is_masked_in_its_spellings_and_only_as_whole_tokens() {
        let svc = |title: &str, service: &str| Template::of_title(title, Some(service)).to_string();
        assert_eq!(
            svc("High latency on kafka (p99 > 2s)", "kafka"),
            "High latency on <service> (p99 > <duration>)"
        );
        assert_eq!(
            svc("postgres_main is down", "postgres-main"),
            "<service> is down"
        );
        assert_eq!(
            svc("Postgres Main is down", "postgres-main"),
            "<service> is down"
        );
        assert_eq!(
            svc("Payments API errors", "payments-api"),
            "<service> errors"
        );
        assert_eq!(
            svc("db-1.prod.example.com unreachable", "db-1.prod.example.com"),
            "<service> unreachable"
        );
        assert_eq!(svc("kafkaesque lag", "kafka"), "kafkaesque lag");
        assert_eq!(svc("kafka-connect lag", "kafka"), "kafka-connect lag");
    }

    #[test]
    fn leading_tags_and_mail_prefixes_are_left_out() {
        assert_eq!(
            norm("[FIRING:1] KubePodCrashLooping (prod)"),
            "KubePodCrashLooping (prod)"
        );
        assert_eq!(norm("[Triggered] CPU usage is high"), "CPU usage is high");
        assert_eq!(
            norm("[P2] [Triggered] CPU usage is high"),
            "CPU usage is high"
        );
        assert_eq!(norm("[alone]"), "[alone]");
        assert_eq!(norm("CPU [high]"), "CPU [high]");
    }

    #[test]
    fn literals_compare_case_insensitively() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        tokenize("Disk FULL on web", None, &mut a);
        tokenize("disk full ON WEB", None, &mut b);
        assert_eq!(
            a.iter().map(|t| t.key).collect::<Vec<_>>(),
            b.iter().map(|t| t.key).collect::<Vec<_>>()
        );
    }
}
