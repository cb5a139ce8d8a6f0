//! `insights-worker cluster`, the offline command (issue 11, point 2), run as the real binary on a bare
//! environment: no configuration, database or network.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `insights-worker cluster` with an empty environment on `input`; answers (stdout lines, stderr, exit
/// code).
fn cluster(input: &str) -> (Vec<serde_json::Value>, String, Option<i32>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_insights-worker"))
        .arg("cluster")
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("input written");
    let out = child.wait_with_output().expect("the command ends");
    let lines = String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    (
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn the_cluster_command_answers_every_valid_line_in_order_and_names_the_bad_ones() {
    let input = r#"{"id": 1, "title": "High latency on kafka (p99 > 2s)", "service": "kafka"}
{"id": "b", "title": "High latency on postgres-main (p99 > 2s)", "service": "postgres-main"}
not json
{"id": 3, "title": "Certificate for api.acme.io expires in 7 days"}

{"id": 4}
{"id": 5, "title": "Certificate for www.acme.io expires in 12 days", "extra": true}
{"id": 6, "title": "Disk usage above 90% on node-7"}
"#;
    let (lines, stderr, code) = cluster(input);
    assert_eq!(
        code,
        Some(0),
        "bad lines are reported, not a failed run: {stderr}"
    );
    let ids: Vec<_> = lines.iter().map(|l| l["id"].clone()).collect();
    assert_eq!(
        ids,
        [
            serde_json::json!(1),
            serde_json::json!("b"),
            serde_json::json!(3),
            serde_json::json!(5),
            serde_json::json!(6)
        ],
        "one line per valid input, in input order, ids as given"
    );
    let template = |i: usize| {
        lines[i]["template"]
            .as_str()
            .expect("a template")
            .to_owned()
    };
    assert_eq!(
        lines[0]["cluster"], lines[1]["cluster"],
        "one alert on two services is one pattern"
    );
    assert_eq!(template(0), "High latency on <service> (p99 > <duration>)");
    assert_eq!(lines[2]["cluster"], lines[3]["cluster"]);
    assert_ne!(lines[0]["cluster"], lines[2]["cluster"]);
    assert_ne!(lines[2]["cluster"], lines[4]["cluster"]);
    assert!(
        stderr.contains("line 3"),
        "the bad JSON line is named: {stderr}"
    );
    assert!(
        stderr.contains("line 6"),
        "the line without a title is named: {stderr}"
    );
    assert!(
        !stderr.contains("line 5"),
        "a blank line is skipped silently: {stderr}"
    );
}

#[test]
fn unknown_arguments_are_refused_with_the_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_insights-worker"))
        .args(["cluster", "--threshold", "0.3"])
        .env_clear()
        .output()
        .expect("the worker binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: insights-worker"));
}
