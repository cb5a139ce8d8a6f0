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

impl Template {
    /// The parts in order (text and slots, spacing kept in the text parts).
    #[must_use]
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The template of one title: the title normalized, every recognized variable value a slot.
    #[must_use]
    pub fn of_title(title: &str, service: Option<&str>) -> Self {
        let _ = (title, service);
        todo!("the engine")
    }

    /// Reads the text form written by `Display`.
    ///
    /// # Errors
    /// When `text` is not a template's text form.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let _ = text;
        todo!("the engine")
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!("the engine")
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
