//! A Sentry server for tests: takes what the Sentry SDK sends (`POST /api/<project>/envelope/`, the envelope
//! protocol: a header line, then items each with a header line and a payload) and keeps each envelope's bytes as
//! received, so a test can read its events and search all of it for a secret.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// The project id in the DSN.
pub const PROJECT: &str = "42";

pub struct FakeSentry {
    addr: std::net::SocketAddr,
    received: Arc<Mutex<Vec<Bytes>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakeSentry {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn envelope(
    State(received): State<Arc<Mutex<Vec<Bytes>>>>,
    Path(project): Path<String>,
    body: Bytes,
) -> StatusCode {
    if project != PROJECT {
        return StatusCode::NOT_FOUND;
    }
    received.lock().expect("received").push(body);
    StatusCode::OK
}

impl FakeSentry {
    /// Starts on a free loopback port.
    pub async fn start() -> FakeSentry {
        let received = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/api/{project}/envelope/", post(envelope))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Sentry's address");
        let addr = listener.local_addr().expect("address");
        let stop = crate::serve_until_stopped(listener, app);
        FakeSentry {
            addr,
            received,
            stop: Some(stop),
        }
    }

    /// What `SENTRY_DSN` is set to.
    #[must_use]
    pub fn dsn(&self) -> String {
        format!("http://public@{}/{PROJECT}", self.addr)
    }

    /// Every envelope received, as text, in order.
    #[must_use]
    pub fn envelopes(&self) -> Vec<String> {
        self.received
            .lock()
            .expect("received")
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    /// The events (items of type `event`) of every envelope, in order.
    #[must_use]
    pub fn events(&self) -> Vec<Value> {
        self.received
            .lock()
            .expect("received")
            .iter()
            .flat_map(|b| items(b))
            .filter(|(header, _)| header["type"] == "event")
            .filter_map(|(_, payload)| serde_json::from_slice(&payload).ok())
            .collect()
    }
}

/// An envelope's items: (item header, payload). A payload is `length` bytes when the header gives it, else up
/// to the end of its line.
fn items(envelope: &[u8]) -> Vec<(Value, Vec<u8>)> {
    let mut rest = match envelope.iter().position(|&c| c == b'\n') {
        Some(i) => &envelope[i + 1..],
        None => return Vec::new(),
    };
    let mut out = Vec::new();
    while let Some(i) = rest.iter().position(|&c| c == b'\n') {
        let Ok(header) = serde_json::from_slice::<Value>(&rest[..i]) else {
            break;
        };
        rest = &rest[i + 1..];
        let len = header["length"].as_u64().map_or_else(
            || rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len()),
            |n| usize::try_from(n).unwrap_or(usize::MAX).min(rest.len()),
        );
        out.push((header, rest[..len].to_vec()));
        rest = rest.get(len + 1..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_are_read_by_length_or_by_line() {
        let envelope = b"{\"event_id\":\"e\"}\n{\"type\":\"event\",\"length\":9}\n{\"a\":\"\n\"}\n{\"type\":\"event\"}\n{\"b\":2}\n";
        let items = super::items(envelope);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].1, b"{\"a\":\"\n\"}");
        assert_eq!(items[1].1, b"{\"b\":2}");
    }
}
