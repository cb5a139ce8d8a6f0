//! What the connectors' unit tests share.

use wiremock::{MockServer, Request};

/// The requests `server` received for path `p`, in order.
pub(crate) async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}
