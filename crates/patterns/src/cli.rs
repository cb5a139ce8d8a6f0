//! The logic of `insights-worker cluster`: JSON lines `{"id": int|string, "title": string, "service":
//! string?}` in, one line `{"id", "cluster", "template"}` per valid input out, in input order, clustered with
//! the product's engine and defaults. A bad line gets `line N: <what is wrong>` on the error stream and the
//! rest is processed; unknown fields are ignored and blank lines skipped.

use std::io::{BufRead, Write};

use serde_json::Value;

use crate::{Item, cluster};

struct Input {
    id: Value,
    title: String,
    service: Option<String>,
}

fn parse_line(line: &str) -> Result<Input, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut map) = value else {
        return Err("not a JSON object".to_owned());
    };
    let id = match map.remove("id") {
        Some(id @ Value::String(_)) => id,
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n),
        Some(_) => return Err("`id` must be an integer or a string".to_owned()),
        None => return Err("`id` is missing".to_owned()),
    };
    let title = match map.remove("title") {
        Some(Value::String(t)) => t,
        Some(_) => return Err("`title` must be a string".to_owned()),
        None => return Err("`title` is missing".to_owned()),
    };
    let service = match map.remove("service") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Null) | None => None,
        Some(_) => return Err("`service` must be a string".to_owned()),
    };
    Ok(Input { id, title, service })
}

/// Reads JSON lines from `input`, writes the clustering to `output` and the bad lines to `errors`; answers
/// how many lines were bad.
///
/// # Errors
/// When reading or writing fails.
pub fn run(
    mut input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> std::io::Result<u64> {
    let mut inputs = Vec::new();
    let mut bad = 0u64;
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        number += 1;
        let result = match std::str::from_utf8(&buf) {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => parse_line(line),
            Err(_) => Err("not UTF-8".to_owned()),
        };
        match result {
            Ok(i) => inputs.push(i),
            Err(what) => {
                bad += 1;
                writeln!(errors, "line {number}: {what}")?;
            }
        }
    }
    let items: Vec<Item<'_>> = inputs
        .iter()
        .map(|i| Item {
            title: &i.title,
            service: i.service.as_deref(),
        })
        .collect();
    let clustering = cluster(&items);
    let texts: Vec<String> = clustering
        .templates
        .iter()
        .map(ToString::to_string)
        .collect();
    for (i, &c) in inputs.iter().zip(&clustering.assignments) {
        let line = serde_json::json!({
            "id": i.id,
            "cluster": c,
            "template": texts[c as usize],
        });
        serde_json::to_writer(&mut output, &line)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    errors.flush()?;
    Ok(bad)
}
