//! The moto server (an AWS emulator) that `scripts/test` starts: its URL from `INSIGHTS_TEST_MOTO_URL`, and
//! fixtures — an IAM role, a Lambda function (Docker-free backend: the code never runs and invocations echo
//! their payload), EC2 instances with tags for SSM Run Command.
//!
//! moto speaks the AWS wire protocols, so fixtures are made with plain signed-or-not HTTP requests (moto does
//! not check signatures by default).

use serde_json::{Value, json};

/// The moto server's URL. Panics with a clear message when `INSIGHTS_TEST_MOTO_URL` is not set: a test that
/// needs moto must never pass silently without it.
pub fn url() -> String {
    match std::env::var("INSIGHTS_TEST_MOTO_URL") {
        Ok(u) if !u.trim().is_empty() => u.trim_end_matches('/').to_owned(),
        _ => panic!(
            "INSIGHTS_TEST_MOTO_URL is not set: this test needs the moto server that scripts/test starts \
             (or start one: source scripts/lib/common.sh && ensure_moto && start_moto DIR PORT)"
        ),
    }
}

/// The account id moto uses.
pub const ACCOUNT: &str = "123456789012";

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A moto form-encoded (awsQuery) call: IAM, STS, EC2.
async fn query(service: &str, region: &str, params: &[(&str, &str)]) -> String {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let response = client()
        .post(format!("{}/", url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20261129/{region}/{service}/aws4_request, \
                 SignedHeaders=host, Signature=0"
            ),
        )
        .body(body)
        .send()
        .await
        .expect("moto answers");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "moto {service} {params:?} answered {status}: {text}"
    );
    text
}

/// Switches moto's Lambda to its Docker-free backend (idempotent; `scripts/test` does it too).
pub async fn use_simple_lambda() {
    let response = client()
        .post(format!("{}/moto-api/config", url()))
        .json(&json!({"lambda": {"use_docker": false}}))
        .send()
        .await
        .expect("moto answers");
    assert!(
        response.status().is_success(),
        "moto config: {}",
        response.status()
    );
}

/// Creates an IAM role (any trust policy) and returns its ARN.
pub async fn create_role(name: &str) -> String {
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
                       "Action": "sts:AssumeRole"}]
    })
    .to_string();
    query(
        "iam",
        "us-east-1",
        &[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name),
            ("AssumeRolePolicyDocument", &policy),
        ],
    )
    .await;
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// Creates a Lambda function (python3.12, a one-line zip) in `region` with `role_arn` and returns its ARN.
pub async fn create_function(region: &str, name: &str, role_arn: &str) -> String {
    use base64::Engine as _;
    use std::io::Write as _;
    // A stored zip of one file (moto checks the zip only loosely, but keep it a real archive).
    let source = b"def handler(event, context):\n    return event\n";
    let mut zip = Vec::new();
    let crc = crc32(source);
    let name_bytes = b"index.py";
    let local = |zip: &mut Vec<u8>| {
        zip.write_all(&0x0403_4b50u32.to_le_bytes()).unwrap();
        zip.write_all(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        zip.write_all(&crc.to_le_bytes()).unwrap();
        zip.write_all(&(source.len() as u32).to_le_bytes()).unwrap();
        zip.write_all(&(source.len() as u32).to_le_bytes()).unwrap();
        zip.write_all(&(name_bytes.len() as u16).to_le_bytes())
            .unwrap();
        zip.write_all(&0u16.to_le_bytes()).unwrap();
        zip.write_all(name_bytes).unwrap();
        zip.write_all(source).unwrap();
    };
    local(&mut zip);
    let central_offset = zip.len() as u32;
    zip.write_all(&0x0201_4b50u32.to_le_bytes()).unwrap();
    zip.write_all(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        .unwrap();
    zip.write_all(&crc.to_le_bytes()).unwrap();
    zip.write_all(&(source.len() as u32).to_le_bytes()).unwrap();
    zip.write_all(&(source.len() as u32).to_le_bytes()).unwrap();
    zip.write_all(&(name_bytes.len() as u16).to_le_bytes())
        .unwrap();
    zip.write_all(&[0; 12]).unwrap();
    zip.write_all(&0u32.to_le_bytes()).unwrap();
    zip.write_all(name_bytes).unwrap();
    let central_size = zip.len() as u32 - central_offset;
    zip.write_all(&0x0605_4b50u32.to_le_bytes()).unwrap();
    zip.write_all(&[0, 0, 0, 0, 1, 0, 1, 0]).unwrap();
    zip.write_all(&central_size.to_le_bytes()).unwrap();
    zip.write_all(&central_offset.to_le_bytes()).unwrap();
    zip.write_all(&0u16.to_le_bytes()).unwrap();
    let body = json!({
        "FunctionName": name,
        "Runtime": "python3.12",
        "Role": role_arn,
        "Handler": "index.handler",
        "Code": {"ZipFile": base64::engine::general_purpose::STANDARD.encode(&zip)},
    });
    let response = client()
        .post(format!("{}/2015-03-31/functions", url()))
        .header(
            "Authorization",
            format!("AWS4-HMAC-SHA256 Credential=test/20261129/{region}/lambda/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .json(&body)
        .send()
        .await
        .expect("moto answers");
    let status = response.status();
    let out: Value = response.json().await.unwrap_or(Value::Null);
    assert!(
        status.is_success(),
        "moto CreateFunction {name} answered {status}: {out}"
    );
    out["FunctionArn"].as_str().unwrap_or_default().to_owned()
}

/// Starts `count` EC2 instances tagged `key=value` in `region`, returns their ids.
pub async fn run_instances(region: &str, count: u32, key: &str, value: &str) -> Vec<String> {
    let count = count.to_string();
    let text = query(
        "ec2",
        region,
        &[
            ("Action", "RunInstances"),
            ("Version", "2016-11-15"),
            ("ImageId", "ami-12c6146b"),
            ("MinCount", &count),
            ("MaxCount", &count),
            ("InstanceType", "t3.micro"),
            ("TagSpecification.1.ResourceType", "instance"),
            ("TagSpecification.1.Tag.1.Key", key),
            ("TagSpecification.1.Tag.1.Value", value),
        ],
    )
    .await;
    text.split("<instanceId>")
        .skip(1)
        .filter_map(|s| s.split("</instanceId>").next())
        .map(str::to_owned)
        .collect()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
