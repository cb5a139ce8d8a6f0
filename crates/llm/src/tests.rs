//! The client against wiremock speaking the chat-completions and embeddings wire format.

use super::*;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn settings(server: &MockServer, attempts: u32) -> LlmSettings {
    LlmSettings {
        base_url: format!("{}/v1", server.uri()),
        api_key: Some("sk-test-key-123".into()),
        timeout: Duration::from_millis(500),
        max_attempts: attempts,
        backoff: Duration::from_millis(10),
    }
}

fn model(server: &MockServer, attempts: u32) -> ChatModel {
    ChatModel {
        settings: settings(server, attempts),
        model: "test-model".into(),
    }
}

fn completion(content: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    })
}

fn schema() -> serde_json::Value {
    json!({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
           "additionalProperties": false})
}

fn messages() -> Vec<Message> {
    vec![Message::system("be brief"), Message::user("give a")]
}

fn bodies(requests: &[Request]) -> Vec<serde_json::Value> {
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect()
}

#[tokio::test]
async fn structured_output_is_asked_for_and_parsed_with_its_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test-key-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(r#"{"a": 1}"#)))
        .expect(1)
        .mount(&server)
        .await;
    let (value, usage) = model(&server, 3)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap();
    assert_eq!(value, json!({"a": 1}));
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 11,
            completion_tokens: 7
        }
    );
    let sent = bodies(&server.received_requests().await.unwrap());
    assert_eq!(sent[0]["response_format"]["type"], "json_schema");
    assert_eq!(sent[0]["response_format"]["json_schema"]["strict"], true);
    assert_eq!(sent[0]["response_format"]["json_schema"]["name"], "answer");
    assert_eq!(
        sent[0]["response_format"]["json_schema"]["schema"],
        schema()
    );
    assert_eq!(sent[0]["messages"][0]["role"], "system");
    assert_eq!(sent[0]["messages"][1]["content"], "give a");
}

#[tokio::test]
async fn an_endpoint_refusing_json_schema_is_asked_with_json_object_and_the_schema_in_the_prompt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(wiremock::matchers::body_partial_json(json!({"response_format": {"type": "json_schema"}})))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"message": "response_format json_schema is not supported", "type": "invalid_request_error"}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(wiremock::matchers::body_partial_json(
            json!({"response_format": {"type": "json_object"}}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(completion("```json\n{\"a\": 2}\n```")),
        )
        .mount(&server)
        .await;
    let (value, _) = model(&server, 1)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap();
    assert_eq!(value, json!({"a": 2}), "the fenced answer is repaired");
    let sent = bodies(&server.received_requests().await.unwrap());
    assert_eq!(sent.len(), 2);
    let system = sent[1]["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("be brief"), "{system}");
    assert!(
        system.contains("\"additionalProperties\":false"),
        "{system}"
    );
}

#[tokio::test]
async fn a_429_then_success_retries_honouring_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after-ms", "300")
                .set_body_json(
                    json!({"error": {"message": "slow down", "type": "rate_limit_error"}}),
                ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(r#"{"a": 3}"#)))
        .with_priority(2)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let (value, _) = model(&server, 3)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap();
    assert_eq!(value, json!({"a": 3}));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn rate_limited_every_time_makes_exactly_the_configured_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429).set_body_json(
                json!({"error": {"message": "slow down", "type": "rate_limit_error"}}),
            ),
        )
        .mount(&server)
        .await;
    let err = model(&server, 3)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::RateLimited), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_spent_quota_and_a_bad_key_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}),
        ))
        .mount(&server)
        .await;
    let err = model(&server, 4)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LlmError::Refused(m) if m.starts_with("401")),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("sk-test-key-123"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429).set_body_json(
                json!({"error": {"message": "quota", "type": "insufficient_quota"}}),
            ),
        )
        .mount(&server)
        .await;
    let err = model(&server, 4)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Refused(_)), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_hanging_endpoint_times_out_per_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(r#"{"a": 1}"#))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let err = model(&server, 2)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Timeout(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn server_errors_then_malformed_then_valid_succeeds_within_the_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(completion("Sure! here it is: {\"a\": ")),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(r#"{"a": 4}"#)))
        .with_priority(3)
        .mount(&server)
        .await;
    let (value, usage) = model(&server, 3)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap();
    assert_eq!(value, json!({"a": 4}));
    assert_eq!(usage.total(), 36, "the malformed answer's tokens count too");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion("not json at all")))
        .mount(&server)
        .await;
    let err = model(&server, 2)
        .complete_json(&messages(), "answer", &schema())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Malformed(_)), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn embeddings_come_back_in_order_with_their_dimensions_checked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "model": "emb",
            "data": [
                {"object": "embedding", "index": 1, "embedding": [0.0, 1.0, 0.0]},
                {"object": "embedding", "index": 0, "embedding": [1.0, 0.0, 0.0]}
            ],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}
        })))
        .mount(&server)
        .await;
    let embedder = Embedder {
        settings: settings(&server, 2),
        model: "emb".into(),
        dimensions: 3,
    };
    let (vectors, usage) = embedder.embed(&["a".into(), "b".into()]).await.unwrap();
    assert_eq!(vectors, vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]]);
    assert_eq!(usage.prompt_tokens, 4);
    let sent = bodies(&server.received_requests().await.unwrap());
    assert_eq!(sent[0]["input"], json!(["a", "b"]));
    assert_eq!(sent[0]["dimensions"], 3);

    let wrong = Embedder {
        settings: settings(&server, 1),
        model: "emb".into(),
        dimensions: 4,
    };
    let err = wrong.embed(&["a".into(), "b".into()]).await.unwrap_err();
    assert!(matches!(err, LlmError::Malformed(_)), "{err:?}");
}

#[test]
fn the_key_is_not_in_debug_output() {
    let s = LlmSettings {
        base_url: "http://x/v1".into(),
        api_key: Some("sk-secret".into()),
        timeout: Duration::from_secs(1),
        max_attempts: 1,
        backoff: Duration::from_millis(1),
    };
    assert!(!format!("{s:?}").contains("sk-secret"));
}

#[test]
fn backoff_grows_and_honours_retry_after() {
    let base = Duration::from_millis(100);
    for _ in 0..20 {
        let first = backoff_delay(base, 1, None);
        assert!(
            first >= Duration::from_millis(50) && first <= base,
            "{first:?}"
        );
        let third = backoff_delay(base, 3, None);
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
    }
    assert_eq!(
        backoff_delay(base, 1, Some(Duration::from_secs(2))),
        Duration::from_secs(2)
    );
    assert_eq!(
        backoff_delay(base, 1, Some(Duration::from_secs(9999))),
        Duration::from_secs(120)
    );
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("retry-after", "3".parse().unwrap());
    assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
    h.insert("retry-after-ms", "250".parse().unwrap());
    assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(250)));
}
