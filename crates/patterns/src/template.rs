//! Templates: titles with typed slots, and their text form.

use std::fmt;

/// What kind of value a slot stands for. Its text form is `<kind>` with the names below.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlotKind {
    /// `<num>`: a number, with or without a unit or sign (`42`, `-3.5`, `99%`).
    Number,
    /// `<id>`: an identifier mixing letters and digits (`i-0abc123`, `pod-7f9c8d-xk2z`).
    Id,
    /// `<hex>`: a hexadecimal value (`0x1f`, `deadbeef42`).
    Hex,
    /// `<uuid>`
    Uuid,
    /// `<ip>`: an IPv4 or IPv6 address, with or without a port or prefix.
    Ip,
    /// `<host>`: a host name with a domain (`db-1.prod.example.com`).
    Host,
    /// `<path>`: a file-system or URL path (`/var/log/app.log`).
    Path,
    /// `<url>`
    Url,
    /// `<email>`
    Email,
    /// `<duration>`: `2s`, `150ms`, `5m`, `1h30m`.
    Duration,
    /// `<quoted>`: a quoted value (`'orders'`, `"main"`).
    Quoted,
    /// `<time>`: a timestamp, date or time of day.
    Timestamp,
    /// `<service>`: the incident's own service name.
    Service,
    /// `<*>`: a value that varies among the titles of a template, of no recognized kind.
    Var,
}

/// One part of a template: literal text or a slot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    Text(String),
    Slot(SlotKind),
}

/// A title with its variable parts replaced by typed slots.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Template {
    parts: Vec<Part>,
}

impl SlotKind {
    /// Every kind, in the order of their text forms' table.
    pub const ALL: [SlotKind; 14] = [
        SlotKind::Number,
        SlotKind::Id,
        SlotKind::Hex,
        SlotKind::Uuid,
        SlotKind::Ip,
        SlotKind::Host,
        SlotKind::Path,
        SlotKind::Url,
        SlotKind::Email,
        SlotKind::Duration,
        SlotKind::Quoted,
        SlotKind::Timestamp,
        SlotKind::Service,
        SlotKind::Var,
    ];

    /// The name inside the slot's text form (`num` for `<num>`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SlotKind::Number => "num",
            SlotKind::Id => "id",
            SlotKind::Hex => "hex",
            SlotKind::Uuid => "uuid",
            SlotKind::Ip => "ip",
            SlotKind::Host => "host",
            SlotKind::Path => "path",
            SlotKind::Url => "url",
            SlotKind::Email => "email",
            SlotKind::Duration => "duration",
            SlotKind::Quoted => "quoted",
            SlotKind::Timestamp => "time",
            SlotKind::Service => "service",
            SlotKind::Var => "*",
        }
    }

    /// The kind named `name` (`num`, `*`…).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Template {
    /// A template of these parts. Adjacent text parts are joined and empty ones dropped, so equal templates
    /// have equal parts.
    #[must_use]
    pub fn from_parts(parts: impl IntoIterator<Item = Part>) -> Self {
        let mut out: Vec<Part> = Vec::new();
        for part in parts {
            match part {
                Part::Text(t) if t.is_empty() => {}
                Part::Text(t) => {
                    if let Some(Part::Text(last)) = out.last_mut() {
                        last.push_str(&t);
                    } else {
                        out.push(Part::Text(t));
                    }
                }
                slot @ Part::Slot(_) => out.push(slot),
            }
        }
        Self { parts: out }
    }

    /// A template of parts already as [`Template::from_parts`] leaves them (no empty or adjacent text).
    pub(crate) fn from_normalized(parts: Vec<Part>) -> Self {
        debug_assert!(
            parts
                .windows(2)
                .all(|w| !matches!(w, [Part::Text(_), Part::Text(_)]))
                && parts
                    .iter()
                    .all(|p| !matches!(p, Part::Text(t) if t.is_empty()))
        );
        Self { parts }
    }

    /// The parts in order (text and slots, spacing kept in the text parts).
    #[must_use]
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The number of slots.
    #[must_use]
    pub fn slot_count(&self) -> usize {
        self.parts
            .iter()
            .filter(|p| matches!(p, Part::Slot(_)))
            .count()
    }

    /// The template of one title: the title normalized, every recognized variable value a slot.
    #[must_use]
    pub fn of_title(title: &str, service: Option<&str>) -> Self {
        crate::normalize::with_tokens(title, service, |toks| {
            crate::normalize::template_of(title, toks, |_| None)
        })
    }

    /// Reads the text form written by `Display`.
    ///
    /// # Errors
    /// When `text` is not a template's text form.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut parts = Vec::new();
        let mut buf = String::new();
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e @ ('\\' | '<'))) => buf.push(e),
                    _ => return Err(ParseError(format!("a lone `\\` at byte {i}"))),
                },
                '<' => {
                    let rest = &text[i + 1..];
                    let Some(close) = rest.find('>') else {
                        return Err(ParseError(format!("an unclosed `<` at byte {i}")));
                    };
                    let Some(kind) = SlotKind::from_name(&rest[..close]) else {
                        return Err(ParseError(format!(
                            "an unknown slot `<{}>` at byte {i}",
                            &rest[..close]
                        )));
                    };
                    if !buf.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut buf)));
                    }
                    parts.push(Part::Slot(kind));
                    // Skip the name and the `>` (all ASCII).
                    for _ in 0..=close {
                        chars.next();
                    }
                }
                c => buf.push(c),
            }
        }
        if !buf.is_empty() {
            parts.push(Part::Text(buf));
        }
        Ok(Self { parts })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(t) => {
                    let mut rest = t.as_str();
                    while let Some(i) = rest.find(['<', '\\']) {
                        f.write_str(&rest[..i])?;
                        f.write_str("\\")?;
                        f.write_str(&rest[i..=i])?;
                        rest = &rest[i + 1..];
                    }
                    f.write_str(rest)?;
                }
                Part::Slot(kind) => write!(f, "<{}>", kind.name())?,
            }
        }
        Ok(())
    }
}

/// A text that is not a template's text form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a template: {}", self.0)
    }
}

impl std::error::Error for ParseError {}
