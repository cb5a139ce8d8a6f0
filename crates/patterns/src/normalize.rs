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
    /// The hash of its lowercased text, slot or not: a template's literal also matches a slot with that text.
    pub text: u64,
}

/// The key bit of slots.
pub(crate) const SLOT_BIT: u64 = 1 << 63;
/// The key bit of literals holding a digit (they go to the wildcard child of the mining tree).
pub(crate) const DIGIT_BIT: u64 = 1 << 62;
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

pub(crate) fn lit_key(text_hash: u64, digit: bool) -> u64 {
    (text_hash & !(SLOT_BIT | DIGIT_BIT)) | if digit { DIGIT_BIT } else { 0 }
}

/// FxHash-style hash of the ASCII-lowercased bytes (deterministic, fast on short tokens).
pub(crate) fn hash_lower(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h.rotate_left(5) ^ u64::from(b.to_ascii_lowercase()))
            .wrapping_mul(0x51_7cc1_b727_220a_95);
    }
    // A final mix so that short tokens spread over the high bits too.
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

/// An incident's service name, prepared for matching in titles: lowercased, `-`, `_`, `.` and whitespace runs
/// as one `-`.
#[derive(Clone, Debug)]
pub(crate) struct Service {
    norm: Vec<u8>,
}

fn norm_byte(b: u8) -> u8 {
    match b {
        b'_' | b'.' | b' ' | b'\t' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

impl Service {
    pub(crate) fn new(name: &str) -> Self {
        let mut norm = Vec::with_capacity(name.len());
        for &b in name.trim().as_bytes() {
            let n = norm_byte(b);
            if n == b'-' && norm.last() == Some(&b'-') {
                continue;
            }
            norm.push(n);
        }
        while norm.last() == Some(&b'-') {
            norm.pop();
        }
        while norm.first() == Some(&b'-') {
            norm.remove(0);
        }
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
        let text = hash_lower(bytes);
        let key = match slot {
            Some(k) => slot_key(k),
            None => lit_key(text, bytes.iter().any(u8::is_ascii_digit)),
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
            if self.mask && is_quote(b[s]) {
                if let Some(close) = self.closing_quote(s) {
                    self.push(s, close + 1, Some(SlotKind::Quoted));
                    // The rest of the word the quote ends in is read like a word of its own.
                    let after = close + 1;
                    if after < b.len() && !is_space(b[after]) {
                        return self.word(after);
                    }
                    return after;
                }
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
                    if self.mask && is_quote(b[v]) {
                        if let Some(close) = self.closing_quote(v) {
                            self.push(v, close + 1, Some(SlotKind::Quoted));
                            let after = close + 1;
                            if after < b.len() && !is_space(b[after]) {
                                return self.word(after);
                            }
                            return after;
                        }
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
    if let Some(service) = service {
        mark_service(title.as_bytes(), service, out);
    }
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
    while i < b.len() {
        if is_space(b[i]) {
            sc.space = true;
            i += 1;
            continue;
        }
        i = sc.word(i);
    }
}

/// Turns the runs of tokens that spell the service into one `<service>` token.
fn mark_service(title: &[u8], service: &Service, toks: &mut Vec<Tok>) {
    let first = service.norm.first().copied();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let starts =
            t.slot != Some(SlotKind::Quoted) && Some(norm_byte(title[t.start as usize])) == first;
        if starts {
            if let Some(n) = service.matches(title, &toks[i..]) {
                let end = toks[i + n - 1].end;
                let text = hash_lower(&title[t.start as usize..end as usize]);
                toks[i] = Tok {
                    end,
                    slot: Some(SlotKind::Service),
                    key: slot_key(SlotKind::Service),
                    text,
                    ..t
                };
                toks.drain(i + 1..i + n);
            }
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
    Template::from_parts(parts)
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
    if colons < 2
        || colons > 7
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
