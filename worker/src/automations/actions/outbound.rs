//! The one way automations reach the internet (Slack, webhooks): the URL and every address its host resolves
//! to pass the engine's guard ([`insights_automation::outbound`]) before anything is sent, and the connection
//! goes only to an address that was checked — the client is told the addresses, it resolves nothing itself —
//! so a name cannot resolve to a private address between the check and the connection (DNS rebinding).
//! No redirects are followed (a redirect could lead anywhere), no proxy is used (it would resolve the name
//! itself), each request has a time limit, and the answer is read up to [`MAX_RESPONSE`] bytes.

use super::ActionError;
use insights_automation::outbound::{OutboundError, check_ip, check_url};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use url::{Host, Url};

/// The most of an answer that is read (and kept in the run's `response`).
pub const MAX_RESPONSE: usize = 64 * 1024;
/// The time limit of a request when the automation does not set a shorter one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The setting that lets requests reach private networks.
const ALLOW_VAR: &str = "INSIGHTS_OUTBOUND_ALLOWED_NETWORKS";

/// An answer, read up to [`MAX_RESPONSE`] bytes.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// Whether the body was longer than what was read.
    pub truncated: bool,
}

impl Answer {
    /// The body as JSON when it is JSON, else as text (for the run's `response`).
    #[must_use]
    pub fn to_value(&self) -> Option<serde_json::Value> {
        if self.body.is_empty() {
            return None;
        }
        if !self.truncated
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&self.body)
        {
            return Some(v);
        }
        Some(serde_json::Value::String(self.text()))
    }

    /// The body as text (lossy), for messages.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A short excerpt of the body for an error sentence.
    #[must_use]
    pub fn excerpt(&self) -> String {
        let text = self.text();
        let text = text.trim();
        if text.is_empty() {
            return "no details".into();
        }
        let mut short: String = text.chars().take(200).collect();
        if short.len() < text.len() {
            short.push('…');
        }
        short
    }
}

/// The client of outbound requests: the allowed networks and a time limit.
#[derive(Clone, Debug)]
pub struct Outbound {
    allowed: Vec<IpNet>,
    timeout: Duration,
}

impl Outbound {
    #[must_use]
    pub fn new(allowed: Vec<IpNet>, timeout: Duration) -> Self {
        Self { allowed, timeout }
    }

    /// POSTs `body` to `url` with `headers`, as the module describes. `what` names the destination in
    /// messages ("the Slack webhook"); the URL itself is never shown (it may carry a token).
    ///
    /// # Errors
    /// [`ActionError::Permanent`] for a refused URL or address, a redirect or an answer other than 2xx, 408,
    /// 429 and 5xx (which are [`ActionError::Retryable`], like a network failure or a timeout).
    pub async fn post(
        &self,
        what: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Answer, ActionError> {
        let url = check_url(url, &self.allowed).map_err(|e| refused(what, None, &e))?;
        let (host, addrs) = self.resolve(what, &url).await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .user_agent(concat!(
                "incident-insights-automations/",
                env!("CARGO_PKG_VERSION")
            ))
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|e| {
                ActionError::Permanent(format!("{what}: the HTTP client cannot start: {e}"))
            })?;
        let mut request = client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let mut response = request.send().await.map_err(|e| network_error(what, &e))?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            let target = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| Url::parse(l).ok())
                .and_then(|l| l.host_str().map(str::to_owned));
            return Err(ActionError::Permanent(match target {
                Some(to) => format!(
                    "{what} answered with a redirect (HTTP {status}) to {to}: redirects are not followed, \
                     use the final URL"
                ),
                None => format!(
                    "{what} answered with a redirect (HTTP {status}): redirects are not followed, use the \
                     final URL"
                ),
            }));
        }
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_RESPONSE - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                // The status is known: a body cut off after it does not change what happened.
                Err(_) => {
                    truncated = true;
                    break;
                }
            }
        }
        let answer = Answer {
            status,
            body,
            truncated,
        };
        match status {
            200..=299 => Ok(answer),
            408 | 429 | 500..=599 => Err(ActionError::Retryable(format!(
                "{what} answered HTTP {status}: {}",
                answer.excerpt()
            ))),
            _ => Err(ActionError::Permanent(format!(
                "{what} refused the request (HTTP {status}): {}",
                answer.excerpt()
            ))),
        }
    }

    /// The host and every address it resolves to, each checked.
    async fn resolve(
        &self,
        what: &str,
        url: &Url,
    ) -> Result<(String, Vec<SocketAddr>), ActionError> {
        let port = url.port_or_known_default().unwrap_or(443);
        let host = url.host_str().unwrap_or_default().to_owned();
        let ips: Vec<IpAddr> = match url.host() {
            Some(Host::Ipv4(v4)) => vec![IpAddr::V4(v4)],
            Some(Host::Ipv6(v6)) => vec![IpAddr::V6(v6)],
            _ => {
                let found = tokio::time::timeout(
                    self.timeout,
                    tokio::net::lookup_host((host.as_str(), port)),
                )
                .await
                .map_err(|_| ActionError::Retryable(format!("{what}: resolving {host} timed out")))?
                .map_err(|e| {
                    ActionError::Retryable(format!("{what}: {host} cannot be resolved ({e})"))
                })?;
                found.map(|a| a.ip()).collect()
            }
        };
        if ips.is_empty() {
            return Err(ActionError::Retryable(format!(
                "{what}: {host} resolves to no address"
            )));
        }
        for ip in &ips {
            check_ip(*ip, &self.allowed).map_err(|e| refused(what, Some(&host), &e))?;
        }
        Ok((
            host,
            ips.into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect(),
        ))
    }
}

/// A refusal of the guard, in a sentence that says what to do.
fn refused(what: &str, host: Option<&str>, e: &OutboundError) -> ActionError {
    ActionError::Permanent(match (e, host) {
        (OutboundError::Forbidden { ip, kind }, Some(host))
            if host.trim_matches(['[', ']']) != ip.to_string() =>
        {
            format!(
                "{what}: {host} resolves to {ip}, {} {kind} address; allow it with {ALLOW_VAR}",
                article(kind)
            )
        }
        (OutboundError::Forbidden { ip, kind }, _) => format!(
            "{what}: {ip} is {} {kind} address; allow it with {ALLOW_VAR}",
            article(kind)
        ),
        (other, _) => format!("{what}: {other}"),
    })
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// A failed request, without the URL (reqwest's messages include it, and it may carry a token).
fn network_error(what: &str, e: &reqwest::Error) -> ActionError {
    let why = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    ActionError::Retryable(format!("{what}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_address_and_the_setting() {
        let e = OutboundError::Forbidden {
            ip: "10.0.0.5".parse().unwrap(),
            kind: "private",
        };
        assert_eq!(
            refused("the webhook", Some("hooks.internal"), &e).to_string(),
            "the webhook: hooks.internal resolves to 10.0.0.5, a private address; allow it with \
             INSIGHTS_OUTBOUND_ALLOWED_NETWORKS"
        );
        let e = OutboundError::Forbidden {
            ip: "127.0.0.1".parse().unwrap(),
            kind: "loopback",
        };
        assert_eq!(
            refused("the webhook", Some("127.0.0.1"), &e).to_string(),
            "the webhook: 127.0.0.1 is a loopback address; allow it with INSIGHTS_OUTBOUND_ALLOWED_NETWORKS"
        );
    }

    #[test]
    fn answers_are_json_when_they_are_else_text() {
        let json = Answer {
            status: 200,
            body: br#"{"ok":true}"#.to_vec(),
            truncated: false,
        };
        assert_eq!(json.to_value(), Some(serde_json::json!({"ok": true})));
        let text = Answer {
            status: 200,
            body: b"ok".to_vec(),
            truncated: false,
        };
        assert_eq!(text.to_value(), Some(serde_json::json!("ok")));
        let cut = Answer {
            status: 200,
            body: br#"{"ok":tr"#.to_vec(),
            truncated: true,
        };
        assert_eq!(cut.to_value(), Some(serde_json::json!(r#"{"ok":tr"#)));
    }
}
