use super::vars::SECTIONS;
use super::*;
use base64::Engine;
use secrecy::ExposeSecret;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// A secret as `openssl rand -base64 48` makes it.
const JWT_SECRET: &str = "u3C1kQ9mZr8VxP0sLw7yTg2HbN5eJd4fAo6iRc+Mq/KtUvWzXl1YpSaEhGnFjBb9";

fn base() -> HashMap<&'static str, String> {
    HashMap::from([
        ("DATABASE_URL", "postgres://u@127.0.0.1/db".to_owned()),
        ("REDIS_URL", "redis://127.0.0.1:6379".to_owned()),
        (
            "INSIGHTS_SECRET_KEY",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        ),
        ("INSIGHTS_JWT_SECRET", JWT_SECRET.to_owned()),
    ])
}

fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
    Config::from_lookup(|k| vars.get(k).cloned())
}

fn unknown(names: &[&str]) -> Vec<UnknownVariable> {
    unknown_variables(names.iter().map(|n| (*n).to_owned()))
}

#[test]
fn defaults_fill_everything_not_required() {
    let c = load(&base()).unwrap();
    assert_eq!(c.server.bind, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.server.metrics_bind, "127.0.0.1:9090".parse().unwrap());
    assert_eq!(c.server.public_url.as_str(), "http://localhost:8080/");
    assert_eq!(c.general.log_format, LogFormat::Json);
    assert_eq!(c.database.role, "insights_app");
    assert_eq!(c.jobs.redis_prefix, "insights");
    assert_eq!(c.auth.access_token_ttl, Duration::from_secs(900));
    assert_eq!(c.auth.invitation_ttl, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(
        c.auth.privileged_invitation_ttl,
        Duration::from_secs(24 * 3600)
    );
    assert_eq!(c.limits.invitations_per_day, 100);
    assert_eq!(c.auth.password_reset_ttl, Duration::from_secs(30 * 60));
    assert_eq!(
        c.auth.email_verification_ttl,
        Duration::from_secs(48 * 3600)
    );
    assert_eq!(c.auth.refresh_grace, Duration::from_secs(30));
    assert_eq!(c.auth.session_check_cache, Duration::from_secs(5));
    assert_eq!(
        c.auth.device_cookie_ttl,
        Duration::from_secs(365 * 24 * 3600)
    );
    assert!(c.smtp.is_none());
    assert_eq!(
        c.sources.pagerduty_api_url.as_str(),
        "https://api.pagerduty.com/"
    );
    assert!(c.sources.opsgenie_api_url.is_none());
    assert_eq!(c.sources.sync_interval_minutes, 15);
    assert_eq!(c.jobs.heartbeat_timeout, Duration::from_secs(120));
    assert_eq!(
        c.server.public_url.link("/join#token=a"),
        "http://localhost:8080/join#token=a"
    );
    assert_eq!(c.server.public_url.ascii_origin(), "http://localhost:8080");
}

#[test]
fn the_default_public_url_follows_the_bind_address() {
    let mut vars = base();
    vars.insert("INSIGHTS_BIND", "10.0.0.5:9000".into());
    let c = load(&vars).unwrap();
    assert_eq!(c.server.public_url.as_str(), "http://10.0.0.5:9000/");
    vars.insert("INSIGHTS_BIND", "[2001:db8::1]:9000".into());
    let c = load(&vars).unwrap();
    assert_eq!(c.server.public_url.as_str(), "http://[2001:db8::1]:9000/");
}

#[test]
fn the_help_links_point_at_the_guides_unless_set() {
    let c = load(&base()).unwrap();
    assert_eq!(
        c.server.help.guide.as_str(),
        format!("{}guide/README.md", server::DOCS_BASE_URL)
    );
    assert_eq!(
        c.server.help.troubleshooting.as_str(),
        format!("{}troubleshooting.md", server::DOCS_BASE_URL)
    );
    let mut vars = base();
    vars.insert(
        "INSIGHTS_HELP_URL",
        "https://help.example.com/guide/".into(),
    );
    vars.insert(
        "INSIGHTS_TROUBLESHOOTING_URL",
        "https://help.example.com/troubleshooting".into(),
    );
    let c = load(&vars).unwrap();
    assert_eq!(
        c.server.help.guide.as_str(),
        "https://help.example.com/guide/"
    );
    assert_eq!(
        c.server.help.troubleshooting.as_str(),
        "https://help.example.com/troubleshooting"
    );
}

#[test]
fn each_missing_required_setting_is_named() {
    for name in [
        "DATABASE_URL",
        "REDIS_URL",
        "INSIGHTS_SECRET_KEY",
        "INSIGHTS_JWT_SECRET",
    ] {
        let mut vars = base();
        vars.remove(name);
        let e = load(&vars).unwrap_err();
        assert_eq!(e.name, name);
        assert!(e.to_string().contains(name));
    }
}

#[test]
fn malformed_settings_are_named() {
    let cases = [
        ("INSIGHTS_SECRET_KEY", "not base64!"),
        ("INSIGHTS_SECRET_KEY", "c2hvcnQ="),
        ("INSIGHTS_BIND", "localhost"),
        ("INSIGHTS_METRICS_ADDR", "9090"),
        ("INSIGHTS_PUBLIC_URL", "ftp://x"),
        ("INSIGHTS_HELP_URL", "docs/guide/README.md"),
        ("INSIGHTS_TROUBLESHOOTING_URL", "javascript:alert(1)"),
        ("INSIGHTS_ACCESS_TOKEN_TTL_SECS", "-1"),
        ("INSIGHTS_LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "postgres:x"),
        ("DATABASE_READ_URL", "mysql://x"),
        ("REDIS_URL", "http://x"),
        ("INSIGHTS_REDIS_PREFIX", "a b"),
        ("INSIGHTS_DATABASE_ROLE", "app;drop"),
        ("INSIGHTS_SMTP_URL", "smtp://localhost:25"),
        ("INSIGHTS_PAGERDUTY_API_URL", "api.pagerduty.com"),
        ("INSIGHTS_OPSGENIE_API_URL", "ftp://api.opsgenie.com"),
        ("INSIGHTS_SYNC_INTERVAL_MINUTES", "2000"),
        ("INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS", "0"),
        ("INSIGHTS_WORKER_TICK_MS", "0"),
    ];
    for (name, value) in cases {
        let mut vars = base();
        vars.insert(name, value.to_owned());
        let e = load(&vars).unwrap_err();
        let expected = if name == "INSIGHTS_SMTP_URL" {
            "INSIGHTS_SMTP_FROM"
        } else {
            name
        };
        assert_eq!(e.name, expected, "{name}={value}");
    }
    let mut vars = base();
    vars.insert("DATABASE_URL", "mysql://x".into());
    assert_eq!(
        load(&vars).unwrap_err().to_string(),
        "configuration error: DATABASE_URL: must start with postgres:// or postgresql://"
    );
}

#[test]
fn a_jwt_secret_with_less_than_256_bits_of_entropy_is_refused() {
    for weak in [
        "x".repeat(40),
        "my-very-secret-jwt-signing-key-2024".to_owned(),
        "0123456789abcdef".repeat(4),
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 24]>()),
    ] {
        let mut vars = base();
        vars.insert("INSIGHTS_JWT_SECRET", weak.clone());
        let e = load(&vars).unwrap_err();
        assert_eq!(e.name, "INSIGHTS_JWT_SECRET", "{weak}");
        assert!(e.to_string().contains("openssl rand -base64 48"), "{e}");
    }
}

#[test]
fn the_example_secrets_of_k8s_are_refused_by_name() {
    let example = include_str!("../../../../k8s/secret.example.yaml");
    let mut seen = 0;
    for line in example.lines() {
        let line = line.trim_start_matches([' ', '#']);
        let Some((name, value)) = line.split_once(": \"") else {
            continue;
        };
        let Some(var) = SECTIONS
            .iter()
            .flat_map(|s| s.iter())
            .find(|v| v.name == name)
        else {
            continue;
        };
        seen += 1;
        let mut vars = base();
        vars.insert(var.name, value.trim_end_matches('"').to_owned());
        if var.name == "INSIGHTS_SMTP_URL" {
            vars.insert("INSIGHTS_SMTP_FROM", "insights@example.com".into());
        }
        let e = load(&vars).unwrap_err();
        assert_eq!(e.name, var.name);
        assert!(e.to_string().contains("example value"), "{e}");
    }
    // DATABASE_URL, REDIS_URL, INSIGHTS_SECRET_KEY, INSIGHTS_JWT_SECRET, INSIGHTS_SMTP_URL.
    assert_eq!(seen, 5);
}

#[test]
fn secrets_can_come_from_files() {
    let dir = std::env::temp_dir().join(format!("insights-cfg-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwt");
    std::fs::write(&path, format!("{JWT_SECRET}\n")).unwrap();
    let mut vars = base();
    vars.remove("INSIGHTS_JWT_SECRET");
    vars.insert("INSIGHTS_JWT_SECRET_FILE", path.display().to_string());
    let c = load(&vars).unwrap();
    assert_eq!(c.auth.jwt_secret.expose_secret(), JWT_SECRET);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn debug_output_hides_secrets() {
    let c = load(&base()).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains(JWT_SECRET));
    assert!(!shown.contains("postgres://u@"));
}

#[test]
fn the_worker_loads_without_the_api_only_settings() {
    let mut vars = base();
    vars.remove("INSIGHTS_JWT_SECRET");
    vars.insert("INSIGHTS_ACCESS_TOKEN_TTL_SECS", "never".into());
    vars.insert("INSIGHTS_PUBLIC_URL", "https://insights.example.com".into());
    let worker = WorkerConfig::load(&Env::new(|k| vars.get(k).cloned())).unwrap();
    assert_eq!(
        worker.public_url.link("join?token=a"),
        "https://insights.example.com/join?token=a"
    );
    let e = ApiConfig::from_lookup(|k| vars.get(k).cloned()).unwrap_err();
    assert_eq!(e.name, "INSIGHTS_JWT_SECRET");
}

#[test]
fn the_worker_reads_the_same_sections_as_the_whole_configuration() {
    let mut vars = base();
    vars.insert("INSIGHTS_BIND", "0.0.0.0:9000".into());
    vars.insert("INSIGHTS_JOB_MAX_ATTEMPTS", "3".into());
    let lookup = |k: &str| vars.get(k).cloned();
    let worker = WorkerConfig::load(&Env::new(lookup)).unwrap();
    let from_whole = WorkerConfig::from(Config::from_lookup(lookup).unwrap());
    assert_eq!(worker.public_url.as_str(), "http://localhost:9000/");
    assert_eq!(from_whole.public_url.as_str(), worker.public_url.as_str());
    assert_eq!(from_whole.jobs.max_attempts, 3);
    assert_eq!(worker.jobs.max_attempts, 3);
}

/// A value every variable accepts.
fn valid_value(name: &str) -> String {
    match name {
        "DATABASE_URL" => "postgres://u@127.0.0.1/db".into(),
        "DATABASE_READ_URL" => "postgres://u@127.0.0.2/db".into(),
        "REDIS_URL" => "redis://127.0.0.1:6379".into(),
        "INSIGHTS_SECRET_KEY" | "INSIGHTS_SECRET_KEY_PREVIOUS" => {
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        }
        "INSIGHTS_JWT_SECRET" => JWT_SECRET.into(),
        "INSIGHTS_SMTP_URL" => "smtp://localhost:25".into(),
        "INSIGHTS_SMTP_FROM" => "insights@example.com".into(),
        "INSIGHTS_BIND" => "127.0.0.1:8080".into(),
        "INSIGHTS_METRICS_ADDR" => "0.0.0.0:9090".into(),
        "INSIGHTS_LOG_FORMAT" => "pretty".into(),
        "INSIGHTS_TRUST_FORWARDED_FOR" => "true".into(),
        "INSIGHTS_TRUSTED_PROXIES" => "10.0.0.0/8".into(),
        "INSIGHTS_AWS_PRINCIPAL_ARN" => "arn:aws:iam::123456789012:role/insights".into(),
        "INSIGHTS_AWS_SESSION_SECS" => "900".into(),
        "INSIGHTS_OUTBOUND_ALLOWED_NETWORKS" => "127.0.0.1,10.0.0.0/8".into(),
        "SENTRY_DSN" => "https://key@sentry.example.com/42".into(),
        "SENTRY_ENVIRONMENT" => "staging".into(),
        n if n.ends_with("_URL") => "http://localhost:1".into(),
        n if n.ends_with("_DIR") || n.ends_with("_ROLE") || n.ends_with("_PREFIX") => "x".into(),
        _ => "7".into(),
    }
}

#[test]
fn the_declared_names_are_exactly_the_names_read() {
    let all: Vec<Var> = SECTIONS.iter().flat_map(|s| s.iter().copied()).collect();
    let dir = std::env::temp_dir().join(format!("insights-cfg-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let read = RefCell::new(BTreeSet::new());
    // Once with every variable set, once with every secret given as a file instead.
    for as_files in [false, true] {
        let mut vars: HashMap<String, String> = HashMap::new();
        for var in &all {
            let value = valid_value(var.name);
            if as_files && var.file {
                let path = dir.join(var.name);
                std::fs::write(&path, value).unwrap();
                vars.insert(format!("{}_FILE", var.name), path.display().to_string());
            } else {
                vars.insert(var.name.to_owned(), value);
            }
        }
        Config::from_lookup(|k| {
            read.borrow_mut().insert(k.to_owned());
            vars.get(k).cloned()
        })
        .unwrap();
    }
    std::fs::remove_dir_all(dir).unwrap();
    let declared: BTreeSet<String> = all
        .iter()
        .flat_map(|v| {
            let file = v.file.then(|| format!("{}_FILE", v.name));
            std::iter::once(v.name.to_owned()).chain(file)
        })
        .collect();
    assert_eq!(read.into_inner(), declared);
}

#[test]
fn a_misspelled_setting_is_reported_with_the_name_it_probably_meant() {
    let found = unknown(&["INSIGHTS_JWT_SECRT", "INSIGHTS_WORKER_CONCURENCY"]);
    assert_eq!(
        found,
        vec![
            UnknownVariable {
                name: "INSIGHTS_JWT_SECRT".into(),
                suggestion: Some("INSIGHTS_JWT_SECRET".into()),
            },
            UnknownVariable {
                name: "INSIGHTS_WORKER_CONCURENCY".into(),
                suggestion: Some("INSIGHTS_WORKER_CONCURRENCY".into()),
            },
        ]
    );
    assert_eq!(
        found[0].to_string(),
        "unknown setting INSIGHTS_JWT_SECRT is ignored (did you mean INSIGHTS_JWT_SECRET?)"
    );
    assert_eq!(
        unknown(&["INSIGHTS_SMTP_URL_FIEL"])[0]
            .suggestion
            .as_deref(),
        Some("INSIGHTS_SMTP_URL_FILE")
    );
}

#[test]
fn an_unknown_setting_far_from_every_name_is_reported_without_a_suggestion() {
    let found = unknown(&["INSIGHTS_COLOUR_SCHEME", "INSIGHTS_BIND_FILE"]);
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|u| u.suggestion.is_none()), "{found:?}");
    assert_eq!(
        found[1].to_string(),
        "unknown setting INSIGHTS_COLOUR_SCHEME is ignored"
    );
}

#[test]
fn known_test_and_other_variables_are_not_reported() {
    let mut names: Vec<String> = SECTIONS
        .iter()
        .flat_map(|s| s.iter())
        .map(|v| v.name.to_owned())
        .collect();
    names.extend(
        [
            "INSIGHTS_SECRET_KEY_FILE",
            "INSIGHTS_JWT_SECRET_FILE",
            "INSIGHTS_SMTP_URL_FILE",
            "DATABASE_URL_FILE",
            "REDIS_URL_FILE",
            "INSIGHTS_TEST_PRISM_PAGERDUTY",
            "INSIGHTS_TEST_DIR",
            "INSIGHTS_TOOLS_DIR",
            "INSIGHTS_LLM_MODEL",
            "INSIGHTS_EMBEDDING_MODEL",
            "PATH",
            "RUST_LOG",
            "DATABASE_URLL",
        ]
        .map(String::from),
    );
    assert_eq!(unknown_variables(names), vec![]);
}

#[test]
fn sentry_is_off_without_a_dsn_and_a_bad_dsn_stops_start_up_without_showing_it() {
    let c = load(&base()).unwrap();
    assert!(
        c.general.sentry.is_none(),
        "nothing is sent without SENTRY_DSN"
    );
    assert!(!crate::telemetry::init(&c.general).reports_errors());

    let mut vars = base();
    vars.insert("SENTRY_DSN", "not a dsn with s3cret-key".to_owned());
    let err = load(&vars).unwrap_err();
    assert_eq!(err.name, "SENTRY_DSN");
    assert!(!err.to_string().contains("s3cret-key"), "{err}");

    vars.insert("SENTRY_DSN", "https://k3y@sentry.example.com/42".to_owned());
    let c = load(&vars).unwrap();
    let sentry = c.general.sentry.as_ref().unwrap();
    assert_eq!(sentry.environment, "production");
    assert!(!format!("{c:?}").contains("k3y"), "the DSN is a secret");
    let worker = WorkerConfig::from(c);
    assert_eq!(worker.metrics_bind, "127.0.0.1:9090".parse().unwrap());

    vars.insert("SENTRY_ENVIRONMENT", "staging".to_owned());
    let c = load(&vars).unwrap();
    assert_eq!(c.general.sentry.unwrap().environment, "staging");
}

#[test]
fn the_read_replica_is_optional_and_never_printed() {
    let c = load(&base()).unwrap();
    assert!(c.database.read_url.is_none());
    let mut vars = base();
    vars.insert(
        "DATABASE_READ_URL",
        "postgres://u:replica-pw@10.0.0.9/db".into(),
    );
    let c = load(&vars).unwrap();
    assert_eq!(
        c.database
            .read_url
            .as_ref()
            .map(|u| u.expose_secret().to_owned()),
        Some("postgres://u:replica-pw@10.0.0.9/db".to_owned())
    );
    assert!(!format!("{c:?}").contains("replica-pw"));
}
