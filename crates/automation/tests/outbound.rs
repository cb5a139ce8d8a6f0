//! The outbound guard: forbidden addresses, allowed networks, URL checks, and the Standard Webhooks
//! signature and payload helpers.

use std::net::IpAddr;

use insights_automation::outbound::{OutboundError, check_ip, check_url};
use insights_automation::payload;
use insights_automation::signature::{self, SignatureError};
use ipnet::IpNet;
use serde_json::json;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn private_and_special_addresses_are_forbidden() {
    for a in [
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "127.0.0.1",
        "127.8.9.10",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.255",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.10",
        "198.18.0.1",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.1.2.3",
        "::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "2001:db8::1",
        "fec0::1",
        "::ffff:8.8.8.8",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ] {
        let e = check_ip(ip(a), &[]).unwrap_err();
        assert!(matches!(e, OutboundError::Forbidden { .. }), "{a}");
        assert!(e.to_string().contains("not allowed"), "{e}");
    }
}

#[test]
fn public_addresses_are_allowed() {
    for a in ["1.1.1.1", "8.8.8.8", "52.95.110.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111"] {
        assert_eq!(check_ip(ip(a), &[]), Ok(()), "{a}");
    }
}

#[test]
fn the_metadata_address_says_what_it_is() {
    let e = check_ip(ip("169.254.169.254"), &[]).unwrap_err().to_string();
    assert!(e.contains("link-local"), "{e}");
}

#[test]
fn allowed_networks_open_exactly_what_they_cover() {
    let allowed: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap(), "10.1.0.0/16".parse().unwrap()];
    assert_eq!(check_ip(ip("127.0.0.1"), &allowed), Ok(()));
    assert_eq!(check_ip(ip("::ffff:127.0.0.1"), &allowed), Ok(()));
    assert_eq!(check_ip(ip("10.1.200.3"), &allowed), Ok(()));
    assert!(check_ip(ip("127.0.0.2"), &allowed).is_err());
    assert!(check_ip(ip("10.2.0.1"), &allowed).is_err());
    assert!(check_ip(ip("169.254.169.254"), &allowed).is_err());
    assert!(check_ip(ip("::1"), &allowed).is_err());
}

#[test]
fn urls_must_be_http_with_no_credentials() {
    assert!(check_url("https://hooks.slack.com/services/T0/B0/xyz", &[]).is_ok());
    assert!(check_url("http://example.com:8080/hook?x=1", &[]).is_ok());
    assert!(matches!(check_url("ftp://example.com/", &[]), Err(OutboundError::Scheme(_))));
    assert!(matches!(check_url("file:///etc/passwd", &[]), Err(OutboundError::Scheme(_))));
    assert!(matches!(check_url("gopher://example.com/", &[]), Err(OutboundError::Scheme(_))));
    assert_eq!(check_url("https://user:pw@example.com/", &[]), Err(OutboundError::Credentials));
    assert_eq!(check_url("https://user@example.com/", &[]), Err(OutboundError::Credentials));
    assert_eq!(check_url("not a url", &[]), Err(OutboundError::InvalidUrl));
    // Literal addresses are checked, in every spelling the URL parser accepts.
    for u in [
        "http://127.0.0.1/",
        "http://[::1]:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[::ffff:7f00:1]/",
        "http://localhost:3000/",
        "http://api.localhost/",
        "http://LOCALHOST./",
    ] {
        assert!(matches!(check_url(u, &[]), Err(OutboundError::Forbidden { .. })), "{u}");
    }
    let allowed: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
    assert!(check_url("http://127.0.0.1:4010/hook", &allowed).is_ok());
    assert!(check_url("http://localhost:4010/hook", &allowed).is_ok());
    // A refusal never echoes the URL (it may carry a token).
    let e = check_url("https://user:s3cr3t@example.com/", &[]).unwrap_err().to_string();
    assert!(!e.contains("s3cr3t"));
}

#[test]
fn standard_webhooks_signatures_match_the_reference_vector() {
    // The test vector of the Standard Webhooks specification's reference libraries.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    let ts = 1_614_265_330;
    let body = br#"{"test": 2432232314}"#;
    let sig = signature::sign(secret, id, ts, body).unwrap();
    assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_eq!(signature::verify(secret, id, "1614265330", &sig, body, ts + 10), Ok(()));
    // Several signatures (key rotation): any one matching will do.
    let several = format!("v1,bm90IHRoaXMgb25l {sig}");
    assert_eq!(signature::verify(secret, id, "1614265330", &several, body, ts), Ok(()));
    // A changed body, id or timestamp does not verify.
    assert_eq!(
        signature::verify(secret, id, "1614265330", &sig, br#"{"test": 1}"#, ts),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(signature::verify(secret, "msg_other", "1614265330", &sig, body, ts), Err(SignatureError::Mismatch));
    assert_eq!(
        signature::verify(secret, id, "1614265330", &sig, body, ts + 301),
        Err(SignatureError::TimestampOutOfTolerance)
    );
    assert_eq!(signature::verify(secret, id, "soon", &sig, body, ts), Err(SignatureError::InvalidTimestamp));
}

#[test]
fn generated_secrets_are_valid_and_distinct() {
    let a = signature::generate_secret();
    let b = signature::generate_secret();
    assert!(a.starts_with("whsec_"));
    assert_ne!(a, b);
    assert_eq!(signature::validate_secret(&a), Ok(()));
    assert_eq!(signature::secret_bytes(&a).unwrap().len(), 32);
    assert_eq!(signature::validate_secret("whsec_short"), Err(SignatureError::InvalidSecret));
    assert_eq!(signature::validate_secret("not-a-secret"), Err(SignatureError::InvalidSecret));
    let sig = signature::sign(&a, "msg_1", 1_700_000_000, b"{}").unwrap();
    assert!(signature::verify(&a, "msg_1", "1700000000", &sig, b"{}", 1_700_000_000).is_ok());
    assert!(signature::verify(&b, "msg_1", "1700000000", &sig, b"{}", 1_700_000_000).is_err());
}

#[test]
fn payload_hash_is_the_sha256_of_the_exact_bytes() {
    assert_eq!(payload::hash(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(payload::hash(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_ne!(payload::hash(br#"{"a":1}"#), payload::hash(br#"{"a": 1}"#));
}

#[test]
fn stored_payloads_have_their_secrets_redacted() {
    let v = json!({
        "command": "curl -H 'Authorization: Bearer abcdefghijklmnop1234' https://api.example.com",
        "password": "hunter2hunter2",
        "api_key": 12345,
        "db": "postgres://app:s3cr3tpass@db:5432/app",
        "nested": [{"token": "xyz-abc-123"}, {"host": "db-7", "count": 3, "ok": true}],
        "aws": "AKIAIOSFODNN7EXAMPLE",
        "title": "Disk usage above 95% on db-7",
    });
    let r = payload::redact(&v);
    let s = r.to_string();
    for secret in ["abcdefghijklmnop1234", "hunter2hunter2", "12345", "s3cr3tpass", "xyz-abc-123", "AKIAIOSFODNN7EXAMPLE"] {
        assert!(!s.contains(secret), "{secret} left in {s}");
    }
    assert_eq!(r["password"], json!("[REDACTED:secret]"));
    assert_eq!(r["title"], v["title"]);
    assert_eq!(r["nested"][1], v["nested"][1]);
}

#[test]
fn stored_responses_are_capped() {
    let big = "x".repeat(100_000);
    let v = payload::for_storage(&format!("{{\"out\": \"{big}\"}}"), 64 * 1024);
    assert_eq!(v["truncated"], json!(true));
    assert!(v.to_string().len() <= 64 * 1024 + 100);
    assert_eq!(payload::for_storage("{\"ok\": true}", 1024), json!({"ok": true}));
    assert_eq!(payload::for_storage("plain text", 1024), json!("plain text"));
}
