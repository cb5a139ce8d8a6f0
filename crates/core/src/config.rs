//! Typed configuration from the environment, validated at start-up. A missing or malformed setting stops
//! the process with one line that names it. Secrets are wrapped so `Debug` never prints them; each secret may
//! also be given as a file with the `_FILE` suffix (Kubernetes secrets).

use base64::Engine;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// A setting that could not be used: names the variable and says why.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

fn err(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        reason: reason.into(),
    }
}

/// Everything both binaries read from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: SecretString,
    /// The role the application switches to after connecting (`SET ROLE`): not the owner of the tables, so
    /// row-level security applies to it.
    pub database_role: String,
    pub database_max_connections: u32,
    pub redis_url: SecretString,
    /// Prefix of every Redis key (job queues, rate limits); tests use a random one.
    pub redis_prefix: String,
    pub bind: SocketAddr,
    pub public_url: Url,
    pub data_dir: PathBuf,
    pub web_dir: PathBuf,
    /// 32 bytes that encrypt stored secrets (AES-256-GCM).
    pub secret_key: std::sync::Arc<SecretBox<[u8; 32]>>,
    pub jwt_secret: SecretString,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub invitation_ttl: Duration,
    /// Sign-up and login attempts allowed per client IP per minute.
    pub auth_rate_limit_per_ip: u32,
    /// Failed logins (and sign-ups) allowed per account per minute.
    pub auth_rate_limit_per_account: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    pub log_format: LogFormat,
    pub smtp: Option<SmtpConfig>,
    pub worker_concurrency: usize,
    pub job_max_attempts: u32,
    /// First retry delay; doubles on each attempt (with jitter), up to 10 minutes.
    pub job_backoff: Duration,
    /// A running job that has not sent a heartbeat for this long is taken to be dead (its worker crashed) and
    /// is run again from its last checkpoint.
    pub job_heartbeat_timeout: Duration,
    /// How often the worker looks for due syncs and lost or dead jobs.
    pub worker_tick: Duration,
    /// PagerDuty's REST API.
    pub pagerduty_api_url: Url,
    /// Opsgenie's REST API for every region (default: `api.opsgenie.com` or `api.eu.opsgenie.com`).
    pub opsgenie_api_url: Option<Url>,
    /// Minutes between incremental syncs of a new integration.
    pub sync_interval_minutes: u32,
    /// Retry policy of calls to PagerDuty and Opsgenie.
    pub source_max_attempts: u32,
    pub source_backoff: Duration,
    pub source_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, for a local relay), `smtp://host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465`; lettre's URL format.
    pub url: SecretString,
    pub from: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let secret = |name: &'static str| -> Result<Option<String>, ConfigError> {
            if let Some(v) = get(name) {
                return Ok(Some(v));
            }
            let file_var = format!("{name}_FILE");
            match get(&file_var) {
                Some(path) => std::fs::read_to_string(&path)
                    .map(|s| Some(s.trim().to_owned()))
                    .map_err(|e| err(name, format!("cannot read {file_var}={path}: {e}"))),
                None => Ok(None),
            }
        };
        let required = |name: &'static str| -> Result<String, ConfigError> {
            secret(name)?.ok_or_else(|| err(name, "is required"))
        };
        fn parse<T: std::str::FromStr>(
            name: &'static str,
            v: Option<String>,
            default: T,
        ) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            match v {
                None => Ok(default),
                Some(s) => s
                    .trim()
                    .parse()
                    .map_err(|e| err(name, format!("cannot parse {s:?}: {e}"))),
            }
        }
        let secs = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            let n: u64 = parse(name, get(name), default)?;
            if n == 0 {
                return Err(err(name, "must be greater than 0"));
            }
            Ok(Duration::from_secs(n))
        };

        let database_url = required("DATABASE_URL")?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(err(
                "DATABASE_URL",
                "must start with postgres:// or postgresql://",
            ));
        }
        let redis_url = required("REDIS_URL")?;
        if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
            return Err(err("REDIS_URL", "must start with redis:// or rediss://"));
        }

        let bind: SocketAddr = parse(
            "INSIGHTS_BIND",
            get("INSIGHTS_BIND"),
            ([127, 0, 0, 1], 8080).into(),
        )?;
        let public_url = match get("INSIGHTS_PUBLIC_URL") {
            Some(s) => {
                Url::parse(s.trim()).map_err(|e| err("INSIGHTS_PUBLIC_URL", format!("{e}")))?
            }
            None => {
                let host = if bind.ip().is_unspecified() || bind.ip().is_loopback() {
                    "localhost".to_owned()
                } else {
                    bind.ip().to_string()
                };
                Url::parse(&format!("http://{host}:{}", bind.port())).expect("valid default URL")
            }
        };
        if !matches!(public_url.scheme(), "http" | "https") || public_url.host().is_none() {
            return Err(err(
                "INSIGHTS_PUBLIC_URL",
                "must be an http:// or https:// URL with a host",
            ));
        }

        let secret_key = {
            let raw = required("INSIGHTS_SECRET_KEY")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .map_err(|_| {
                    err(
                        "INSIGHTS_SECRET_KEY",
                        "must be base64 (e.g. `openssl rand -base64 32`)",
                    )
                })?;
            let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
                err(
                    "INSIGHTS_SECRET_KEY",
                    format!("must decode to 32 bytes, not {}", b.len()),
                )
            })?;
            std::sync::Arc::new(SecretBox::new(Box::new(key)))
        };
        let jwt_secret = required("INSIGHTS_JWT_SECRET")?;
        if jwt_secret.len() < 32 {
            return Err(err("INSIGHTS_JWT_SECRET", "must be at least 32 characters"));
        }

        let log_format = match get("INSIGHTS_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(err(
                    "INSIGHTS_LOG_FORMAT",
                    format!("must be json or pretty, not {other:?}"),
                ));
            }
        };

        let smtp = match secret("INSIGHTS_SMTP_URL")? {
            None => None,
            Some(url) => {
                if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                    return Err(err(
                        "INSIGHTS_SMTP_URL",
                        "must start with smtp:// or smtps://",
                    ));
                }
                let from = get("INSIGHTS_SMTP_FROM").ok_or_else(|| {
                    err(
                        "INSIGHTS_SMTP_FROM",
                        "is required when INSIGHTS_SMTP_URL is set",
                    )
                })?;
                insights_types::domain::Email::parse_field("INSIGHTS_SMTP_FROM", &from)
                    .map_err(|e| err("INSIGHTS_SMTP_FROM", e.message))?;
                Some(SmtpConfig {
                    url: url.into(),
                    from,
                })
            }
        };

        let positive = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            let n: u32 = parse(name, get(name), default)?;
            if n == 0 {
                return Err(err(name, "must be greater than 0"));
            }
            Ok(n)
        };

        let redis_prefix = get("INSIGHTS_REDIS_PREFIX").unwrap_or_else(|| "insights".into());
        if !redis_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c))
        {
            return Err(err(
                "INSIGHTS_REDIS_PREFIX",
                "may hold only letters, digits, '-', '_' and ':'",
            ));
        }
        let database_role = get("INSIGHTS_DATABASE_ROLE").unwrap_or_else(|| "insights_app".into());
        if !database_role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(err(
                "INSIGHTS_DATABASE_ROLE",
                "may hold only letters, digits and '_'",
            ));
        }
        let data_dir = PathBuf::from(get("INSIGHTS_DATA_DIR").unwrap_or_else(|| ".data".into()));
        let api_url = |name: &'static str| -> Result<Option<Url>, ConfigError> {
            let Some(raw) = get(name) else {
                return Ok(None);
            };
            let url = Url::parse(raw.trim()).map_err(|e| err(name, format!("{e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(err(name, "must be an http:// or https:// URL with a host"));
            }
            Ok(Some(url))
        };
        let pagerduty_api_url = api_url("INSIGHTS_PAGERDUTY_API_URL")?
            .unwrap_or_else(|| Url::parse("https://api.pagerduty.com").expect("valid URL"));
        let opsgenie_api_url = api_url("INSIGHTS_OPSGENIE_API_URL")?;
        let sync_interval_minutes = positive("INSIGHTS_SYNC_INTERVAL_MINUTES", 15)?;
        if sync_interval_minutes > 1440 {
            return Err(err(
                "INSIGHTS_SYNC_INTERVAL_MINUTES",
                "must be at most 1440 (a day)",
            ));
        }
        let millis = |name: &'static str, default: u32| -> Result<Duration, ConfigError> {
            Ok(Duration::from_millis(u64::from(positive(name, default)?)))
        };

        Ok(Config {
            database_url: database_url.into(),
            database_role,
            database_max_connections: positive("INSIGHTS_DATABASE_MAX_CONNECTIONS", 20)?,
            redis_url: redis_url.into(),
            redis_prefix,
            bind,
            public_url,
            web_dir: PathBuf::from(
                get("INSIGHTS_WEB_DIR").unwrap_or_else(|| "frontend/dist".into()),
            ),
            data_dir,
            secret_key,
            jwt_secret: jwt_secret.into(),
            access_token_ttl: secs("INSIGHTS_ACCESS_TOKEN_TTL_SECS", 15 * 60)?,
            refresh_token_ttl: secs("INSIGHTS_REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            invitation_ttl: secs("INSIGHTS_INVITATION_TTL_SECS", 7 * 24 * 3600)?,
            auth_rate_limit_per_ip: positive("INSIGHTS_AUTH_RATE_LIMIT_PER_IP", 30)?,
            auth_rate_limit_per_account: positive("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT", 10)?,
            trust_forwarded_for: parse(
                "INSIGHTS_TRUST_FORWARDED_FOR",
                get("INSIGHTS_TRUST_FORWARDED_FOR"),
                false,
            )?,
            log_format,
            smtp,
            worker_concurrency: positive("INSIGHTS_WORKER_CONCURRENCY", 4)? as usize,
            job_max_attempts: positive("INSIGHTS_JOB_MAX_ATTEMPTS", 5)?,
            job_backoff: millis("INSIGHTS_JOB_BACKOFF_MS", 2000)?,
            job_heartbeat_timeout: secs("INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS", 120)?,
            worker_tick: millis("INSIGHTS_WORKER_TICK_MS", 15_000)?,
            pagerduty_api_url,
            opsgenie_api_url,
            sync_interval_minutes,
            source_max_attempts: positive("INSIGHTS_SOURCE_MAX_ATTEMPTS", 5)?,
            source_backoff: millis("INSIGHTS_SOURCE_BACKOFF_MS", 500)?,
            source_timeout: secs("INSIGHTS_SOURCE_TIMEOUT_SECS", 30)?,
        })
    }

    /// The 32-byte key that encrypts stored secrets.
    #[must_use]
    pub fn secret_key_bytes(&self) -> &[u8; 32] {
        self.secret_key.expose_secret()
    }

    /// Where the sources' APIs are.
    #[must_use]
    pub fn source_endpoints(&self) -> insights_ingest::connector::SourceEndpoints {
        insights_ingest::connector::SourceEndpoints {
            pagerduty: self.pagerduty_api_url.clone(),
            opsgenie: self.opsgenie_api_url.clone(),
        }
    }

    /// How calls to the sources are retried.
    #[must_use]
    pub fn source_policy(&self) -> insights_ingest::client::HttpPolicy {
        insights_ingest::client::HttpPolicy {
            max_attempts: self.source_max_attempts,
            backoff: self.source_backoff,
            max_backoff: (self.source_backoff * 60).min(Duration::from_secs(60)),
            timeout: self.source_timeout,
            ..insights_ingest::client::HttpPolicy::default()
        }
    }

    /// The origin (scheme://host[:port]) browsers use, for CORS.
    #[must_use]
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// An absolute URL under the public URL, e.g. `join?token=…`.
    #[must_use]
    pub fn public_link(&self, path_and_query: &str) -> String {
        format!(
            "{}/{}",
            self.public_url.as_str().trim_end_matches('/'),
            path_and_query.trim_start_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            ("DATABASE_URL", "postgres://u@127.0.0.1/db".to_owned()),
            ("REDIS_URL", "redis://127.0.0.1:6379".to_owned()),
            (
                "INSIGHTS_SECRET_KEY",
                base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
            ),
            ("INSIGHTS_JWT_SECRET", "x".repeat(40)),
        ])
    }

    fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_fill_everything_not_required() {
        let c = load(&base()).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.public_url.as_str(), "http://localhost:8080/");
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.invitation_ttl, Duration::from_secs(7 * 24 * 3600));
        assert!(c.smtp.is_none());
        assert_eq!(c.pagerduty_api_url.as_str(), "https://api.pagerduty.com/");
        assert!(c.opsgenie_api_url.is_none());
        assert_eq!(c.sync_interval_minutes, 15);
        assert_eq!(c.job_heartbeat_timeout, Duration::from_secs(120));
        assert_eq!(
            c.public_link("/join?token=a"),
            "http://localhost:8080/join?token=a"
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
            ("INSIGHTS_PUBLIC_URL", "ftp://x"),
            ("INSIGHTS_ACCESS_TOKEN_TTL_SECS", "-1"),
            ("INSIGHTS_LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x"),
            ("INSIGHTS_SMTP_URL", "smtp://localhost:25"),
            ("INSIGHTS_PAGERDUTY_API_URL", "api.pagerduty.com"),
            ("INSIGHTS_OPSGENIE_API_URL", "ftp://api.opsgenie.com"),
            ("INSIGHTS_SYNC_INTERVAL_MINUTES", "2000"),
            ("INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS", "0"),
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
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = std::env::temp_dir().join(format!("insights-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwt");
        std::fs::write(&path, format!("{}\n", "s".repeat(48))).unwrap();
        let mut vars = base();
        vars.remove("INSIGHTS_JWT_SECRET");
        vars.insert("INSIGHTS_JWT_SECRET_FILE", path.display().to_string());
        let c = load(&vars).unwrap();
        assert_eq!(c.jwt_secret.expose_secret(), "s".repeat(48));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = load(&base()).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains(&"x".repeat(40)));
        assert!(!shown.contains("postgres://u@"));
    }
}
