//! The sandboxed template language of payloads and messages: Jinja syntax (minijinja) with no way out.
//!
//! - No loader and no `include` / `import` / `extends` (the engine is built without multi-template support):
//!   a template sees only its [`TemplateContext`]. There is no function reading the environment, a file or
//!   the network.
//! - Bounded work and memory: every render gets [`FUEL`] (instructions, and the bytes of every string and list
//!   built), the output is capped at [`MAX_OUTPUT_BYTES`], recursion at [`MAX_RECURSION`]; the source at
//!   [`MAX_SOURCE_CHARS`].
//! - Strict: an undefined variable or attribute is an error (a typo shows in the preview, not in production).
//! - Kind [`TemplateKind::Json`] (Lambda and webhook payloads): every `{{ value }}` is written as JSON — a string
//!   with its quotes and escapes, a number, a list, an object, `null` — so no incident text can break out of
//!   the document; `safe` and `escape` are not available and `{% autoescape %}` is refused; the output must
//!   parse as JSON. Kind [`TemplateKind::Text`] (notes, emails, Slack) writes values as text.

use std::fmt;
use std::io;

use chrono::{DateTime, TimeZone, Utc};
use minijinja::value::Value;
use minijinja::{Environment, ErrorKind, State, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::context::TemplateContext;

/// The work one render may do: one fuel per instruction, plus one per 64 bytes of data it builds (about 6 MB).
pub const FUEL: u64 = 100_000;
/// The largest output of a render.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// The longest template source.
pub const MAX_SOURCE_CHARS: usize = 20_000;
/// The deepest nesting of recursive loops.
pub const MAX_RECURSION: usize = 32;

/// The payload of a remote-command automation when it has no template of its own: the contract with the
/// reference runner (`{command, language, targets, timeout_secs, run_id}`; see docs/AUTOMATIONS.md).
pub const REMOTE_COMMAND_TEMPLATE: &str = r#"{
  "command": {{ step.command }},
  "language": {{ step.language }},
  "targets": {{ targets }},
  "timeout_secs": {{ run.timeout_secs }},
  "run_id": {{ run.id }}
}"#;

const NAME: &str = "template";

/// What a template produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// A JSON document (Lambda and webhook payloads): values are written as JSON and the output must parse.
    Json,
    /// Text (notes, emails, Slack messages): values are written as they are.
    Text,
}

/// A template that does not compile or render, in a sentence, with the template line when known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    /// The line of the template (from 1).
    pub line: Option<u32>,
}

impl TemplateError {
    fn new(message: impl Into<String>, line: Option<u32>) -> Self {
        TemplateError {
            message: message.into(),
            line,
        }
    }

    fn from_minijinja(err: &minijinja::Error) -> Self {
        let line = err.line().and_then(|l| u32::try_from(l).ok());
        let detail = err.detail().map(str::to_owned);
        let message = match err.kind() {
            ErrorKind::OutOfFuel => {
                "the template does too much work (it ran out of fuel): loop over fewer items or build smaller \
                 values"
                    .to_owned()
            }
            ErrorKind::UndefinedError => match detail {
                Some(d) => format!("undefined value: {d}"),
                None => "undefined value: a variable or attribute that does not exist (see the context for \
                         what templates see; `| default(…)` gives a fallback)"
                    .to_owned(),
            },
            ErrorKind::UnknownFilter
                if detail
                    .as_deref()
                    .is_some_and(|d| ["safe", "escape", "e"].iter().any(|f| d == format!("filter {f} is unknown"))) =>
            {
                "the `safe` and `escape` filters are not available: values in a JSON payload are always \
                 written as JSON"
                    .to_owned()
            }
            ErrorKind::SyntaxError
                if detail
                    .as_deref()
                    .is_some_and(|d| ["include", "import", "extends", "from"].iter().any(|w| d.contains(w))) =>
            {
                format!(
                    "syntax error: {} (templates cannot include, import or extend other templates)",
                    detail.unwrap_or_default()
                )
            }
            kind => match detail {
                Some(d) => format!("{kind}: {d}"),
                None => kind.to_string(),
            },
        };
        TemplateError { message, line }
    }
}

/// A compiled template, ready to render any number of times (cheap to clone, `Send + Sync`).
#[derive(Clone)]
pub struct Template {
    env: Environment<'static>,
    kind: TemplateKind,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Template")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Template {
    /// Compiles `src`: a syntax error, an unknown filter or test, a forbidden construct or a source longer
    /// than [`MAX_SOURCE_CHARS`] is an error with its line.
    pub fn compile(src: &str, kind: TemplateKind) -> Result<Template, TemplateError> {
        if src.chars().count() > MAX_SOURCE_CHARS {
            return Err(TemplateError::new(
                format!("the template is longer than {MAX_SOURCE_CHARS} characters"),
                None,
            ));
        }
        if kind == TemplateKind::Json
            && let Some(line) = autoescape_tag_line(src)
        {
            return Err(TemplateError::new(
                "`{% autoescape %}` is not available: values in a JSON payload are always written as JSON",
                Some(line),
            ));
        }
        let mut env = sandbox(kind);
        env.add_template_owned(NAME, src.to_owned())
            .map_err(|e| TemplateError::from_minijinja(&e))?;
        Ok(Template { env, kind })
    }

    /// What the template produces.
    #[must_use]
    pub fn kind(&self) -> TemplateKind {
        self.kind
    }

    /// Renders the template with `ctx`. Kind `json`: the output parses as JSON (else an error says why).
    pub fn render(&self, ctx: &TemplateContext) -> Result<String, TemplateError> {
        self.render_value(&ctx.to_value())
    }

    /// Renders the template with any JSON context (dry runs and previews may bring partial contexts).
    pub fn render_value(&self, ctx: &serde_json::Value) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| TemplateError::from_minijinja(&e))?;
        let mut out = CappedWriter::default();
        let result =
            template.render_captured_to(Value::from(minijinja::value::Serde(ctx)), &mut out);
        if out.exceeded {
            return Err(TemplateError::new(
                format!(
                    "the output is larger than {} KiB: render fewer or shorter values",
                    MAX_OUTPUT_BYTES / 1024
                ),
                None,
            ));
        }
        result.map_err(|e| TemplateError::from_minijinja(&e))?;
        let text = String::from_utf8(out.buf)
            .map_err(|_| TemplateError::new("the output is not valid UTF-8", None))?;
        if self.kind == TemplateKind::Json
            && let Err(e) = serde_json::from_str::<serde_json::Value>(&text)
        {
            return Err(TemplateError::new(
                format!(
                    "the payload is not valid JSON ({e} of the output). Values are written as JSON already: \
                     write {{{{ incident.title }}}}, not \"{{{{ incident.title }}}}\""
                ),
                None,
            ));
        }
        Ok(text)
    }
}

/// The line of the first `{% autoescape … %}` tag, if any.
fn autoescape_tag_line(src: &str) -> Option<u32> {
    static TAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\{%[-+]?\s*(?:end)?autoescape\b").expect("valid pattern")
    });
    TAG.find(src)
        .map(|m| u32::try_from(src[..m.start()].matches('\n').count() + 1).unwrap_or(u32::MAX))
}

/// An environment with no loader, strict undefined values, fuel, a recursion limit and the filters users
/// need; for `json`, every printed value goes through JSON serialization.
fn sandbox(kind: TemplateKind) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(MAX_RECURSION);
    match kind {
        TemplateKind::Json => {
            env.set_auto_escape_callback(|_| minijinja::AutoEscape::Json);
            // Whatever the scope says, a value that is not already JSON (from `tojson`) is written as JSON.
            env.set_formatter(|out, _state, value| {
                if value.is_safe() {
                    out.write_str(value.as_str().unwrap_or_default())
                        .map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
                } else {
                    let json = serde_json::to_string(value).map_err(|e| {
                        minijinja::Error::new(ErrorKind::BadSerialization, e.to_string())
                    })?;
                    out.write_str(&json)
                        .map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
                }
            });
            for name in ["safe", "escape", "e"] {
                env.remove_filter(name);
            }
        }
        TemplateKind::Text => {
            env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        }
    }
    env.add_filter("truncate", truncate);
    env.add_filter("datetimeformat", datetimeformat);
    env.add_filter("date", datetimeformat);
    env
}

/// `{{ text | truncate(80) }}`, `{{ text | truncate(80, "...") }}`: at most `length` characters, the end
/// marker included (default `…`).
fn truncate(value: &str, length: Option<usize>, end: Option<&str>) -> String {
    let length = length.unwrap_or(255);
    let end = end.unwrap_or("…");
    if value.chars().count() <= length {
        return value.to_owned();
    }
    let keep = length.saturating_sub(end.chars().count());
    let mut out: String = value.chars().take(keep).collect();
    out.push_str(end);
    out
}

/// `{{ incident.triggered_at | datetimeformat("%Y-%m-%d %H:%M", "Europe/Paris") }}`: an RFC 3339 time (or
/// Unix seconds) in a `strftime` format (default `%Y-%m-%d %H:%M:%S %Z`) and an IANA time zone (default UTC).
fn datetimeformat(
    state: &State,
    value: &Value,
    format: Option<&str>,
    tz: Option<&str>,
) -> Result<String, minijinja::Error> {
    let _ = state;
    let invalid = |msg: String| minijinja::Error::new(ErrorKind::InvalidOperation, msg);
    let at: DateTime<Utc> = if let Some(s) = value.as_str() {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| invalid(format!("datetimeformat: {s:?} is not an RFC 3339 time")))?
    } else if let Some(secs) = value.as_i64() {
        Utc.timestamp_opt(secs, 0)
            .single()
            .ok_or_else(|| invalid(format!("datetimeformat: {secs} is not a valid time")))?
    } else {
        return Err(invalid(format!(
            "datetimeformat: expected a time, got {}",
            value.kind()
        )));
    };
    let format = format.unwrap_or("%Y-%m-%d %H:%M:%S %Z");
    let items: Vec<chrono::format::Item<'_>> = chrono::format::StrftimeItems::new(format).collect();
    if items
        .iter()
        .any(|i| matches!(i, chrono::format::Item::Error))
    {
        return Err(invalid(format!(
            "datetimeformat: {format:?} is not a valid strftime format"
        )));
    }
    let tz: chrono_tz::Tz = match tz {
        None => chrono_tz::UTC,
        Some(name) => name
            .parse()
            .map_err(|_| invalid(format!("datetimeformat: {name:?} is not an IANA time zone")))?,
    };
    let mut out = String::new();
    use std::fmt::Write as _;
    write!(
        out,
        "{}",
        at.with_timezone(&tz).format_with_items(items.into_iter())
    )
    .map_err(|_| invalid(format!("datetimeformat: cannot format with {format:?}")))?;
    Ok(out)
}

/// Collects the output and refuses to grow past [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
struct CappedWriter {
    buf: Vec<u8>,
    exceeded: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            self.exceeded = true;
            return Err(io::Error::other("output limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
