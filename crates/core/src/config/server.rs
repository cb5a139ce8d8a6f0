//! The server section: where the API listens, the URL people use, the web app it serves.

use super::ConfigError;
use super::env::{Env, http_url};
use super::vars;
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

/// Read by the API.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub public_url: PublicUrl,
    pub web_dir: PathBuf,
    /// The internal address that serves `/metrics` (never the public one).
    pub metrics_bind: SocketAddr,
    /// Where the app's Help link and its feedback dialog send people.
    pub help: HelpUrls,
}

/// The user guide and the troubleshooting page the web app links to (`INSIGHTS_HELP_URL`,
/// `INSIGHTS_TROUBLESHOOTING_URL`): by default the pages in the project's repository, or an operator's own copy.
#[derive(Debug, Clone)]
pub struct HelpUrls {
    pub guide: Url,
    pub troubleshooting: Url,
}

/// Where the project's documentation is published: the default of both help links.
pub const DOCS_BASE_URL: &str = "https://github.com/OWNER/incident-insights/blob/main/docs/";

impl HelpUrls {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = |page: &str| {
            Url::parse(DOCS_BASE_URL)
                .and_then(|base| base.join(page))
                .expect("the documentation's URL is valid")
        };
        Ok(HelpUrls {
            guide: env
                .http_url(vars::HELP_URL)?
                .unwrap_or_else(|| default("guide/README.md")),
            troubleshooting: env
                .http_url(vars::TROUBLESHOOTING_URL)?
                .unwrap_or_else(|| default("troubleshooting.md")),
        })
    }
}

impl ServerConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(ServerConfig {
            bind: Self::bind(env)?,
            public_url: PublicUrl::from_env(env)?,
            web_dir: PathBuf::from(env.string(vars::WEB_DIR, "frontend/dist")?),
            metrics_bind: Self::metrics_bind(env)?,
            help: HelpUrls::from_env(env)?,
        })
    }

    /// `INSIGHTS_METRICS_ADDR`, default `127.0.0.1:9090`: also where the worker serves its `/metrics`.
    pub fn metrics_bind(env: &Env<'_>) -> Result<SocketAddr, ConfigError> {
        env.parse(vars::METRICS_ADDR, ([127, 0, 0, 1], 9090).into())
    }

    fn bind(env: &Env<'_>) -> Result<SocketAddr, ConfigError> {
        env.parse(vars::BIND, ([127, 0, 0, 1], 8080).into())
    }
}

/// The URL people use (`INSIGHTS_PUBLIC_URL`, by default `http://localhost:<port of INSIGHTS_BIND>`): links
/// in emails and pages, and the one origin CORS allows. The worker reads it too, for the links it mails.
#[derive(Debug, Clone)]
pub struct PublicUrl(Url);

impl PublicUrl {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let var = vars::PUBLIC_URL;
        if let Some(raw) = env.value(var)? {
            return Ok(PublicUrl(http_url(var, &raw)?));
        }
        let bind = ServerConfig::bind(env)?;
        let authority = if bind.ip().is_unspecified() || bind.ip().is_loopback() {
            format!("localhost:{}", bind.port())
        } else {
            bind.to_string()
        };
        Url::parse(&format!("http://{authority}"))
            .map(PublicUrl)
            .map_err(|e| {
                var.err(format!(
                    "must be set: INSIGHTS_BIND={bind} makes no URL ({e})"
                ))
            })
    }

    /// The origin (scheme://host[:port]) browsers use, for CORS.
    #[must_use]
    pub fn ascii_origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// An absolute URL under the public URL, e.g. `join?token=…`.
    #[must_use]
    pub fn link(&self, path_and_query: &str) -> String {
        format!(
            "{}/{}",
            self.0.as_str().trim_end_matches('/'),
            path_and_query.trim_start_matches('/')
        )
    }
}

impl std::ops::Deref for PublicUrl {
    type Target = Url;

    fn deref(&self) -> &Url {
        &self.0
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
