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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_groups_may_be_numbers_or_strings_and_blank_lines_are_skipped() {
        let set = parse_labelled(concat!(
            "{\"id\": 7, \"title\": \"Disk full on web-1\", \"service\": \"web\", \"group\": \"disk\"}\n",
            "\n",
            "{\"id\": \"a-8\", \"title\": \"CPU high\", \"source\": \"datadog\", \"group\": 3}\n",
        ))
        .expect("two items");
        assert_eq!(set.len(), 2);
        assert_eq!((set[0].id.as_str(), set[0].group.as_str()), ("7", "disk"));
        assert_eq!(set[0].service.as_deref(), Some("web"));
        assert_eq!((set[1].id.as_str(), set[1].group.as_str()), ("a-8", "3"));
        assert_eq!(set[1].source.as_deref(), Some("datadog"));
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        let err = parse_labelled(
            "{\"id\": 1, \"title\": \"x\", \"group\": \"g\"}\n\n{\"id\": 2, \"group\": \"g\"}\n",
        )
        .expect_err("the third line has no title");
        assert!(err.starts_with("line 3:") && err.contains("title"), "{err}");
        let err = parse_predictions("not json\n").expect_err("not JSON");
        assert!(err.starts_with("line 1:"), "{err}");
    }

    #[test]
    fn predictions_read_the_cluster_commands_lines() {
        let p = parse_predictions(
            "{\"id\": 3, \"cluster\": 0, \"template\": \"CPU high on <host>\"}\n",
        )
        .expect("one prediction");
        assert_eq!((p[0].id.as_str(), p[0].cluster.as_str()), ("3", "0"));
        assert_eq!(p[0].template.as_deref(), Some("CPU high on <host>"));
    }
}
