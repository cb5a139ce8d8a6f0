//! Reading labelled sets and predictions, both JSON lines. Shared by `tests/eval.rs` and
//! `examples/evaluate.rs` (included with `#[path]`).
//!
//! - A labelled item: `{"id", "title", "service"?, "source"?, "group"}` (`id` and `group` a string or a number).
//! - A prediction, as `insights-worker cluster` writes them: `{"id", "cluster", "template"?}`.

use serde_json::Value;

/// One title with its true group.
#[derive(Clone, Debug)]
pub struct Labelled {
    pub id: String,
    pub title: String,
    pub service: Option<String>,
    /// The alerting tool that wrote the title, for reading the set; not given to the engine.
    pub source: Option<String>,
    pub group: String,
}

/// One item's predicted cluster.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub id: String,
    pub cluster: String,
    pub template: Option<String>,
}

/// Reads a labelled set; an error names the line.
pub fn parse_labelled(text: &str) -> Result<Vec<Labelled>, String> {
    objects(text, |v| {
        Ok(Labelled {
            id: key(v, "id").ok_or("no \"id\"")?,
            title: string(v, "title").ok_or("no \"title\"")?,
            service: string(v, "service"),
            source: string(v, "source"),
            group: key(v, "group").ok_or("no \"group\"")?,
        })
    })
}

/// Reads predictions; an error names the line.
pub fn parse_predictions(text: &str) -> Result<Vec<Prediction>, String> {
    objects(text, |v| {
        Ok(Prediction {
            id: key(v, "id").ok_or("no \"id\"")?,
            cluster: key(v, "cluster").ok_or("no \"cluster\"")?,
            template: string(v, "template"),
        })
    })
}

/// Each non-blank line parsed as JSON and read by `read`; the first error, with its 1-based line number.
fn objects<T>(
    text: &str,
    read: impl Fn(&Value) -> Result<T, &'static str>,
) -> Result<Vec<T>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1))?;
            read(&v).map_err(|e| format!("line {}: {e}", i + 1))
        })
        .collect()
}

fn string(v: &Value, field: &str) -> Option<String> {
    v.get(field)?.as_str().map(str::to_owned)
}

/// A field that may be a string or a number, as text.
fn key(v: &Value, field: &str) -> Option<String> {
    match v.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
