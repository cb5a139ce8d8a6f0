//! The reference runner (issue 13): a Lambda function, deployed in the organization's own account, that runs
//! a runbook step's command on instances chosen by tag through SSM Run Command and returns its output.
//!
//! The payload (what a remote-command automation's template renders):
//! `{"command": "systemctl restart postgresql", "language": "shell", "targets": {"tag:role": ["db"]},
//! "timeout_secs": 120, "run_id": "…"}`. `targets` maps SSM target keys (`tag:<name>`, `tag-key`,
//! `InstanceIds`, `resource-groups:Name`) to one value or a list; a list of `{"Key", "Values"}` is accepted too.
//! Only `shell` runs (through the `AWS-RunShellScript` document); `kubectl` or `aws` commands are shell
//! commands and run when the instance has the tool.
//!
//! The answer: the command id, an overall status and, per instance, its status, exit code and the ends of
//! its stdout and stderr (capped). Invalid requests are refused with a clear error (a function error).

use aws_sdk_ssm::types::{CommandInvocationStatus, Target};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The document that runs shell commands on Linux instances.
pub const DOCUMENT: &str = "AWS-RunShellScript";
/// stdout and stderr kept per instance (the end of each).
pub const OUTPUT_CAP: usize = 8 * 1024;
/// The command's time limit when the request gives none.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// The longest time limit (an automation's, and a Lambda function's, longest).
pub const MAX_TIMEOUT_SECS: u64 = 900;
/// At most this many targets, as SSM allows.
pub const MAX_TARGETS: usize = 5;

/// What the runner is asked to do.
#[derive(Clone, Debug, Deserialize)]
pub struct RunRequest {
    pub command: String,
    /// Only `shell`.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub targets: Value,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    #[serde(default)]
    pub run_id: Option<String>,
}

/// One instance's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstanceResult {
    pub instance_id: String,
    /// SSM's status: `Success`, `Failed`, `TimedOut`, `Cancelled`, or `Pending`/`InProgress`/`Delayed` when the
    /// runner's time ran out first.
    pub status: String,
    /// SSM's details (`Undeliverable` for an instance that is not reachable, `ExecutionTimedOut`, …).
    pub status_details: Option<String>,
    /// The command's exit code (-1 when it did not run to the end).
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Whether stdout or stderr were cut to [`OUTPUT_CAP`] bytes (their end is kept).
    pub truncated: bool,
}

/// The runner's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunResult {
    pub command_id: String,
    /// `Success` (every instance succeeded), `Failed` (any failed, timed out or was not reachable),
    /// `NoInstances` (the targets matched none), or `Incomplete` (the runner's time ran out).
    pub status: String,
    pub instances: Vec<InstanceResult>,
    pub run_id: Option<String>,
}

/// Why the runner refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("SSM refused the command: {0}")]
    Ssm(String),
}

/// How the runner polls (tests shorten it).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub poll_every: Duration,
    /// How long before its time limit the runner stops waiting, so that its answer reaches the caller (who
    /// invoked it with the same limit) in time.
    pub margin: Duration,
    /// When the Lambda invocation ends (its context's deadline): the runner answers before it too.
    pub until: Option<std::time::SystemTime>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            poll_every: Duration::from_secs(1),
            margin: Duration::from_secs(2),
            until: None,
        }
    }
}

/// Parses the targets: `{"tag:role": ["db"], "InstanceIds": "i-1"}` or `[{"Key": …, "Values": […]}]`.
pub fn targets(value: &Value) -> Result<Vec<Target>, RunnerError> {
    let pairs: Vec<(String, Vec<String>)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), values(v)?)))
            .collect::<Result<_, RunnerError>>()?,
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let key = item
                    .get("Key")
                    .or_else(|| item.get("key"))
                    .and_then(Value::as_str);
                let vals = item.get("Values").or_else(|| item.get("values"));
                match (key, vals) {
                    (Some(k), Some(v)) => Ok((k.to_owned(), values(v)?)),
                    _ => Err(RunnerError::Invalid(
                        "each target needs a Key and Values".into(),
                    )),
                }
            })
            .collect::<Result<_, RunnerError>>()?,
        Value::Null => Vec::new(),
        _ => {
            return Err(RunnerError::Invalid(
                "targets must be an object like {\"tag:role\": [\"db\"]}".into(),
            ));
        }
    };
    if pairs.is_empty() || pairs.iter().all(|(_, v)| v.is_empty()) {
        return Err(RunnerError::Invalid(
            "no targets: give the instances by tag, e.g. {\"tag:role\": [\"db\"]} (the runner never runs a command \
             on every instance)"
                .into(),
        ));
    }
    if pairs.len() > MAX_TARGETS {
        return Err(RunnerError::Invalid(format!(
            "at most {MAX_TARGETS} targets"
        )));
    }
    pairs
        .into_iter()
        .map(|(key, vals)| {
            let known = key.starts_with("tag:") && key.len() > 4
                || matches!(key.as_str(), "tag-key" | "InstanceIds" | "resource-groups:Name");
            if !known {
                return Err(RunnerError::Invalid(format!(
                    "unknown target key {key:?}: use tag:<name>, tag-key, InstanceIds or resource-groups:Name"
                )));
            }
            if vals.is_empty() {
                return Err(RunnerError::Invalid(format!("target {key} has no value")));
            }
            Ok(Target::builder().key(key).set_values(Some(vals)).build())
        })
        .collect()
}

fn values(v: &Value) -> Result<Vec<String>, RunnerError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| RunnerError::Invalid("target values must be strings".into()))
            })
            .collect(),
        _ => Err(RunnerError::Invalid(
            "target values must be a string or a list of strings".into(),
        )),
    }
}

/// Checks a request: a non-empty command, the `shell` language, targets, a time limit in range.
pub fn validate(request: &RunRequest) -> Result<(Vec<Target>, u64), RunnerError> {
    if request.command.trim().is_empty() {
        return Err(RunnerError::Invalid("the command is empty".into()));
    }
    match request.language.as_deref().map(str::trim) {
        None | Some("shell") => {}
        Some(other) => {
            return Err(RunnerError::Invalid(format!(
                "the runner runs shell commands only, not {other:?} (kubectl and aws commands are shell commands: \
                 they run on instances that have the tool)"
            )));
        }
    }
    let targets = targets(&request.targets)?;
    let timeout = request.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(1..=MAX_TIMEOUT_SECS).contains(&timeout) {
        return Err(RunnerError::Invalid(format!(
            "timeout_secs must be between 1 and {MAX_TIMEOUT_SECS}"
        )));
    }
    Ok((targets, timeout))
}

fn ssm_error<E: std::error::Error + aws_sdk_ssm::error::ProvideErrorMetadata + 'static>(
    e: &aws_sdk_ssm::error::SdkError<E, aws_sdk_ssm::config::http::HttpResponse>,
) -> String {
    match e {
        aws_sdk_ssm::error::SdkError::ServiceError(se) => format!(
            "{}: {}",
            se.err().code().unwrap_or("error"),
            se.err().message().unwrap_or("no message")
        ),
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

/// The end of `s` in at most `cap` bytes (on a character boundary), and whether it was cut.
fn tail(s: &str, cap: usize) -> (String, bool) {
    if s.len() <= cap {
        return (s.to_owned(), false);
    }
    let mut start = s.len() - cap;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    (s[start..].to_owned(), true)
}

/// Sends the command (`SendCommand` with [`DOCUMENT`] on the targets); returns its id and how many
/// instances it targets (as SSM resolved the targets, when it says so).
pub async fn send(
    ssm: &aws_sdk_ssm::Client,
    request: &RunRequest,
    targets: Vec<Target>,
    timeout_secs: u64,
) -> Result<(String, Option<i32>), RunnerError> {
    let comment: String = format!(
        "Incident Insights run {}",
        request.run_id.as_deref().unwrap_or("(manual)")
    )
    .chars()
    .take(100)
    .collect();
    let out = ssm
        .send_command()
        .document_name(DOCUMENT)
        .set_targets(Some(targets))
        .parameters("commands", vec![request.command.clone()])
        .parameters("executionTimeout", vec![timeout_secs.to_string()])
        .timeout_seconds(30)
        .comment(comment)
        .send()
        .await
        .map_err(|e| RunnerError::Ssm(ssm_error(&e)))?;
    let command = out
        .command()
        .ok_or_else(|| RunnerError::Ssm("SendCommand answered no command".into()))?;
    let id = command.command_id().unwrap_or_default().to_owned();
    if id.is_empty() {
        return Err(RunnerError::Ssm(
            "SendCommand answered no command id".into(),
        ));
    }
    Ok((id, Some(command.target_count()).filter(|n| *n > 0)))
}

/// One instance's invocation as it stands (`None`: SSM does not know it yet).
pub async fn invocation(
    ssm: &aws_sdk_ssm::Client,
    command_id: &str,
    instance_id: &str,
) -> Result<Option<InstanceResult>, RunnerError> {
    match ssm
        .get_command_invocation()
        .command_id(command_id)
        .instance_id(instance_id)
        .send()
        .await
    {
        Ok(out) => {
            let (stdout, cut_out) = tail(
                out.standard_output_content().unwrap_or_default(),
                OUTPUT_CAP,
            );
            let (stderr, cut_err) =
                tail(out.standard_error_content().unwrap_or_default(), OUTPUT_CAP);
            Ok(Some(InstanceResult {
                instance_id: instance_id.to_owned(),
                status: out
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "Pending".into()),
                status_details: out.status_details().map(str::to_owned),
                exit_code: out.response_code(),
                stdout,
                stderr,
                truncated: cut_out || cut_err,
            }))
        }
        Err(e) => {
            let text = ssm_error(&e);
            if text.starts_with("InvocationDoesNotExist") {
                Ok(None)
            } else {
                Err(RunnerError::Ssm(text))
            }
        }
    }
}

fn finished(status: &str) -> bool {
    !matches!(
        CommandInvocationStatus::from(status),
        CommandInvocationStatus::Pending
            | CommandInvocationStatus::InProgress
            | CommandInvocationStatus::Delayed
            | CommandInvocationStatus::Cancelling
    )
}

/// Runs a request: validates it, sends the command, lists the instances it went to, and polls each until it
/// has finished or the time limit (plus a margin for delivery) is reached.
pub async fn handle(
    ssm: &aws_sdk_ssm::Client,
    payload: Value,
    options: &Options,
) -> Result<RunResult, RunnerError> {
    let request: RunRequest = serde_json::from_value(payload)
        .map_err(|e| RunnerError::Invalid(format!("the payload is not a runner request: {e}")))?;
    let (targets, timeout_secs) = validate(&request)?;
    let started = Instant::now();
    let mut wait = Duration::from_secs(timeout_secs).saturating_sub(options.margin);
    if let Some(until) = options.until {
        let left = until
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        wait = wait.min(left.saturating_sub(options.margin));
    }
    let deadline = started + wait.max(Duration::from_millis(500));
    let (command_id, target_count) = send(ssm, &request, targets, timeout_secs).await?;
    // The instances the command went to (SSM resolves the tags).
    let mut instances: Vec<String> = Vec::new();
    loop {
        let listed = ssm
            .list_command_invocations()
            .command_id(&command_id)
            .send()
            .await
            .map_err(|e| RunnerError::Ssm(ssm_error(&e)))?;
        for inv in listed.command_invocations() {
            if let Some(id) = inv.instance_id()
                && !instances.iter().any(|i| i == id)
            {
                instances.push(id.to_owned());
            }
        }
        let enough = match target_count {
            Some(n) => instances.len() >= usize::try_from(n).unwrap_or(0),
            None => !instances.is_empty() || started.elapsed() > Duration::from_secs(10),
        };
        if enough || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(options.poll_every).await;
    }
    let mut results: Vec<Option<InstanceResult>> = vec![None; instances.len()];
    loop {
        for (i, instance) in instances.iter().enumerate() {
            if results[i].as_ref().is_some_and(|r| finished(&r.status)) {
                continue;
            }
            if let Some(r) = invocation(ssm, &command_id, instance).await? {
                results[i] = Some(r);
            }
        }
        let done = results
            .iter()
            .all(|r| r.as_ref().is_some_and(|r| finished(&r.status)));
        if done || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(options.poll_every).await;
    }
    let instances: Vec<InstanceResult> = results
        .into_iter()
        .zip(instances)
        .map(|(r, id)| {
            r.unwrap_or(InstanceResult {
                instance_id: id,
                status: "Pending".into(),
                status_details: None,
                exit_code: -1,
                stdout: String::new(),
                stderr: String::new(),
                truncated: false,
            })
        })
        .collect();
    let status = if instances.is_empty() {
        "NoInstances"
    } else if instances.iter().any(|r| !finished(&r.status)) {
        "Incomplete"
    } else if instances.iter().all(|r| r.status == "Success") {
        "Success"
    } else {
        "Failed"
    };
    Ok(RunResult {
        command_id,
        status: status.into(),
        instances,
        run_id: request.run_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(v: Value) -> RunRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn only_shell_commands_on_given_targets_are_accepted() {
        let ok = request(
            json!({"command": "uptime", "language": "shell", "targets": {"tag:role": ["db"]}}),
        );
        let (targets, timeout) = validate(&ok).unwrap();
        assert_eq!(timeout, DEFAULT_TIMEOUT_SECS);
        assert_eq!(targets[0].key(), Some("tag:role"));
        assert_eq!(targets[0].values(), ["db"]);

        let python = request(
            json!({"command": "print(1)", "language": "python", "targets": {"tag:role": "db"}}),
        );
        assert!(
            validate(&python)
                .unwrap_err()
                .to_string()
                .contains("shell commands only")
        );
        let untargeted = request(json!({"command": "uptime", "targets": {}}));
        assert!(
            validate(&untargeted)
                .unwrap_err()
                .to_string()
                .contains("no targets")
        );
        let missing = request(json!({"command": "uptime"}));
        assert!(
            validate(&missing)
                .unwrap_err()
                .to_string()
                .contains("no targets")
        );
        let empty = request(json!({"command": "  ", "targets": {"tag:role": "db"}}));
        assert!(validate(&empty).unwrap_err().to_string().contains("empty"));
        let odd = request(json!({"command": "uptime", "targets": {"name": "db"}}));
        assert!(
            validate(&odd)
                .unwrap_err()
                .to_string()
                .contains("unknown target key")
        );
        let long = request(
            json!({"command": "uptime", "targets": {"tag:role": "db"}, "timeout_secs": 5000}),
        );
        assert!(validate(&long).is_err());
        let list = request(
            json!({"command": "uptime", "targets": [{"Key": "InstanceIds", "Values": ["i-1", "i-2"]}]}),
        );
        assert_eq!(validate(&list).unwrap().0[0].values(), ["i-1", "i-2"]);
    }

    #[test]
    fn output_keeps_its_end_on_a_character_boundary() {
        let s = "é".repeat(10);
        let (t, cut) = tail(&s, 5);
        assert!(cut);
        assert_eq!(t, "éé");
        assert_eq!(tail("short", 10), ("short".to_owned(), false));
    }
}
