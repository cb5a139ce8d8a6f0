//! The runner against SSM: a wiremock speaking SSM's JSON protocol (`X-Amz-Target: AmazonSSM.*`) for outputs,
//! failures, time limits and unreachable instances — and moto (`INSIGHTS_TEST_MOTO_URL`) for the request
//! shape and tag targeting, which it resolves to the tagged instances.

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use insights_runner::{Options, handle};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(url: &str) -> aws_sdk_ssm::Client {
    let conf = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(url)
        .build();
    aws_sdk_ssm::Client::from_conf(conf)
}

fn fast() -> Options {
    Options {
        poll_every: Duration::from_millis(20),
        margin: Duration::ZERO,
        until: None,
    }
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("Content-Type", "application/x-amz-json-1.1")
        .set_body_string(body.to_string())
}

/// An SSM fake whose command `cmd-1` went to `instances`; each instance answers `InProgress` once, then its
/// final invocation.
async fn ssm(instances: &[(&str, Value)]) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSSM.SendCommand"))
        .respond_with(ok(json!({"Command": {"CommandId": "cmd-1", "TargetCount": instances.len(),
                                            "DocumentName": "AWS-RunShellScript", "Status": "Pending"}})))
        .mount(&server)
        .await;
    let listed: Vec<Value> = instances
        .iter()
        .map(|(id, _)| json!({"CommandId": "cmd-1", "InstanceId": id, "Status": "InProgress"}))
        .collect();
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AmazonSSM.ListCommandInvocations"))
        .respond_with(ok(json!({"CommandInvocations": listed})))
        .mount(&server)
        .await;
    for (id, last) in instances {
        Mock::given(method("POST"))
            .and(header("x-amz-target", "AmazonSSM.GetCommandInvocation"))
            .and(body_partial_json(json!({"InstanceId": id})))
            .respond_with(ok(
                json!({"CommandId": "cmd-1", "InstanceId": id, "Status": "InProgress",
                                    "StatusDetails": "InProgress", "ResponseCode": -1}),
            ))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        let mut last = last.clone();
        last["CommandId"] = json!("cmd-1");
        last["InstanceId"] = json!(id);
        Mock::given(method("POST"))
            .and(header("x-amz-target", "AmazonSSM.GetCommandInvocation"))
            .and(body_partial_json(json!({"InstanceId": id})))
            .respond_with(ok(last))
            .mount(&server)
            .await;
    }
    server
}

fn payload(timeout: u64) -> Value {
    json!({"command": "systemctl restart postgresql && echo restarted", "language": "shell",
           "targets": {"tag:role": ["db"]}, "timeout_secs": timeout, "run_id": "run-42"})
}

#[tokio::test]
async fn a_command_runs_on_the_tagged_instances_and_returns_their_output() {
    let server = ssm(&[
        (
            "i-1",
            json!({"Status": "Success", "StatusDetails": "Success", "ResponseCode": 0,
                       "StandardOutputContent": "restarted\n", "StandardErrorContent": ""}),
        ),
        (
            "i-2",
            json!({"Status": "Success", "StatusDetails": "Success", "ResponseCode": 0,
                       "StandardOutputContent": "restarted\n", "StandardErrorContent": ""}),
        ),
    ])
    .await;
    let result = handle(&client(&server.uri()), payload(120), &fast())
        .await
        .expect("ran");
    assert_eq!(result.command_id, "cmd-1");
    assert_eq!(result.status, "Success");
    assert_eq!(result.run_id.as_deref(), Some("run-42"));
    let ids: Vec<&str> = result
        .instances
        .iter()
        .map(|i| i.instance_id.as_str())
        .collect();
    assert_eq!(ids, ["i-1", "i-2"]);
    assert!(
        result
            .instances
            .iter()
            .all(|i| i.exit_code == 0 && i.stdout == "restarted\n")
    );

    // The request SSM received: the shell document, the tag target, the command and its time limit.
    let requests = server.received_requests().await.unwrap();
    let send = requests
        .iter()
        .find(|r| {
            r.headers
                .get("x-amz-target")
                .is_some_and(|v| v == "AmazonSSM.SendCommand")
        })
        .expect("SendCommand");
    let body: Value = serde_json::from_slice(&send.body).unwrap();
    assert_eq!(body["DocumentName"], "AWS-RunShellScript");
    assert_eq!(
        body["Targets"],
        json!([{"Key": "tag:role", "Values": ["db"]}])
    );
    assert_eq!(
        body["Parameters"]["commands"],
        json!(["systemctl restart postgresql && echo restarted"])
    );
    assert_eq!(body["Parameters"]["executionTimeout"], json!(["120"]));
    assert!(body["Comment"].as_str().unwrap().contains("run-42"));
}

#[tokio::test]
async fn a_failed_command_reports_its_exit_code_and_stderr() {
    let server = ssm(&[
        ("i-1", json!({"Status": "Success", "StatusDetails": "Success", "ResponseCode": 0,
                       "StandardOutputContent": "ok", "StandardErrorContent": ""})),
        ("i-2", json!({"Status": "Failed", "StatusDetails": "Failed", "ResponseCode": 3,
                       "StandardOutputContent": "", "StandardErrorContent": "Job for postgresql.service failed"})),
    ])
    .await;
    let result = handle(&client(&server.uri()), payload(60), &fast())
        .await
        .expect("ran");
    assert_eq!(result.status, "Failed");
    let failed = &result.instances[1];
    assert_eq!((failed.status.as_str(), failed.exit_code), ("Failed", 3));
    assert_eq!(failed.stderr, "Job for postgresql.service failed");
}

#[tokio::test]
async fn a_command_that_times_out_and_an_unreachable_instance_are_failures_with_details() {
    let server = ssm(&[
        (
            "i-slow",
            json!({"Status": "TimedOut", "StatusDetails": "ExecutionTimedOut", "ResponseCode": -1,
                          "StandardOutputContent": "waiting…", "StandardErrorContent": ""}),
        ),
        (
            "i-gone",
            json!({"Status": "Failed", "StatusDetails": "Undeliverable", "ResponseCode": -1,
                          "StandardOutputContent": "", "StandardErrorContent": ""}),
        ),
    ])
    .await;
    let result = handle(&client(&server.uri()), payload(5), &fast())
        .await
        .expect("ran");
    assert_eq!(result.status, "Failed");
    assert_eq!(
        result.instances[0].status_details.as_deref(),
        Some("ExecutionTimedOut")
    );
    assert_eq!(result.instances[0].status, "TimedOut");
    assert_eq!(
        result.instances[1].status_details.as_deref(),
        Some("Undeliverable")
    );
}

#[tokio::test]
async fn the_runner_stops_waiting_at_its_time_limit() {
    let server = ssm(&[(
        "i-1",
        json!({"Status": "InProgress", "StatusDetails": "InProgress", "ResponseCode": -1}),
    )])
    .await;
    let started = std::time::Instant::now();
    let result = handle(&client(&server.uri()), payload(1), &fast())
        .await
        .expect("answered");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(result.status, "Incomplete");
    assert_eq!(result.instances[0].status, "InProgress");
}

#[tokio::test]
async fn refused_requests_never_reach_ssm() {
    let server = MockServer::start().await;
    let ssm = client(&server.uri());
    for (bad, expected) in [
        (
            json!({"command": "print(1)", "language": "python", "targets": {"tag:role": "db"}}),
            "shell commands only",
        ),
        (
            json!({"command": "uptime", "language": "shell", "targets": {}}),
            "no targets",
        ),
        (
            json!({"command": "uptime", "language": "shell"}),
            "no targets",
        ),
        (json!({"language": "shell"}), "not a runner request"),
    ] {
        let err = handle(&ssm, bad, &fast()).await.unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn against_moto_tag_targets_resolve_to_the_tagged_instances() {
    let url = insights_testing::moto::url();
    let tag = format!("db-{}", std::process::id());
    let tagged = insights_testing::moto::run_instances("us-east-1", 2, "role", &tag).await;
    insights_testing::moto::run_instances("us-east-1", 1, "role", "web").await;
    assert_eq!(tagged.len(), 2);
    let ssm = client(&url);
    let request: insights_runner::RunRequest = serde_json::from_value(json!({
        "command": "uptime", "language": "shell", "targets": {"tag:role": [tag]}, "timeout_secs": 30}))
    .unwrap();
    let (targets, timeout) = insights_runner::validate(&request).unwrap();
    let (command_id, count) = insights_runner::send(&ssm, &request, targets, timeout)
        .await
        .expect("sent");
    assert_eq!(count, Some(2), "the two tagged instances, not the third");
    for instance in &tagged {
        let inv = insights_runner::invocation(&ssm, &command_id, instance)
            .await
            .unwrap()
            .expect("known");
        assert_eq!(inv.status, "Success");
        assert_eq!(inv.instance_id, *instance);
    }
}
