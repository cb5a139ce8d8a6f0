//! The typed API client. This module is the transport: every request goes through it, with the shared request
//! and response types of `insights-types` (no hand-copied structs). It keeps the access token in memory only,
//! refreshes it silently through the `HttpOnly` refresh cookie shortly before it expires and whenever the API
//! answers 401, and turns error bodies into [`ApiFailure`], which forms use to put each message beside its
//! field. Downloads (exports) go through the same path: the token is sent as a header, and the answer is saved
//! from a `Blob`. Pages never write an API path: each endpoint has one typed function in the module of its
//! resource below. Those are plain functions that return the transport's future (awaited like an `async fn`):
//! an `async fn` wrapper per endpoint would add its own state machine to the WASM bundle.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod automations;
pub mod feedback;
pub mod incidents;
pub mod integrations;
pub mod invitations;
pub mod jobs;
pub mod me;
pub mod members;
pub mod orgs;
pub mod patterns;
pub mod runbooks;
pub mod sample_data;
pub mod services;
pub mod teams;

use crate::session::Session;
use insights_types::{ErrorBody, FieldError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCredentials, RequestInit, Response};

/// A failed call: the HTTP status (0 when the network failed) and the API's error body.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiFailure {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiFailure {
    fn local(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: 0,
            body: ErrorBody {
                error: insights_types::ErrorDetail {
                    code: code.to_owned(),
                    message: message.into(),
                    details: None,
                },
            },
        }
    }

    /// Field errors found in the browser (with the same validators as the API) before anything is sent.
    #[must_use]
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        Self {
            status: 422,
            body: ErrorBody {
                error: insights_types::ErrorDetail {
                    code: "validation_failed".to_owned(),
                    message: "Some fields need attention.".to_owned(),
                    details: Some(FieldError::details(&fields)),
                },
            },
        }
    }

    /// The sentence to show people.
    #[must_use]
    pub fn message(&self) -> String {
        self.body.error.message.clone()
    }

    /// The API's error code (`validation_failed`, `not_found`…), for deciding what to do.
    #[must_use]
    pub fn code(&self) -> &str {
        &self.body.error.code
    }

    /// The message for one field of a form, if the API named it.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<String> {
        self.body
            .field_errors()
            .into_iter()
            .find(|f| f.field == name)
            .map(|f| f.message)
    }

    /// The first message for a field or any field under it (`options.service_ids` also finds
    /// `options.service_ids[2]`).
    #[must_use]
    pub fn field_under(&self, prefix: &str) -> Option<String> {
        self.body
            .field_errors()
            .into_iter()
            .find(|f| {
                f.field == prefix
                    || f.field
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('.'))
            })
            .map(|f| f.message)
    }

    /// Whether any field error is present (then the banner can stay quiet).
    #[must_use]
    pub fn has_field_errors(&self) -> bool {
        !self.body.field_errors().is_empty()
    }
}

pub type ApiResult<T> = Result<T, ApiFailure>;

/// The address of one page of a cursor-paged list: `path?limit=…`, and `&cursor=…` (the previous page's
/// `next_cursor`) after the first page.
fn page_path(path: &str, limit: u32, cursor: Option<&str>) -> String {
    match cursor {
        Some(c) => format!(
            "{path}?limit={limit}&cursor={}",
            js_sys::encode_uri_component(c)
        ),
        None => format!("{path}?limit={limit}"),
    }
}

fn network() -> ApiFailure {
    ApiFailure::local(
        "network",
        "Cannot reach the server. Check your connection and try again.",
    )
}

/// Sends one request; returns the response, whatever its status.
async fn send(
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
    accept: &str,
) -> ApiResult<Response> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(b) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    let request = Request::new_with_str_and_init(path, &init)
        .map_err(|_| ApiFailure::local("client", "bad request"))?;
    let headers = request.headers();
    let _ = headers.set("accept", accept);
    if body.is_some() {
        let _ = headers.set("content-type", "application/json");
    }
    if let Some(t) = token {
        let _ = headers.set("authorization", &format!("Bearer {t}"));
    }
    let window = web_sys::window().ok_or_else(|| ApiFailure::local("client", "no window"))?;
    JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| network())?
        .dyn_into()
        .map_err(|_| network())
}

async fn text_of(resp: &Response) -> ApiResult<String> {
    Ok(JsFuture::from(resp.text().map_err(|_| network())?)
        .await
        .map_err(|_| network())?
        .as_string()
        .unwrap_or_default())
}

/// One HTTP exchange; returns the status and the body text.
async fn exchange(
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> ApiResult<(u16, String)> {
    let resp = send(method, path, body, token, "application/json").await?;
    let text = text_of(&resp).await?;
    Ok((resp.status(), text))
}

fn decode<T: DeserializeOwned>(status: u16, text: &str) -> ApiResult<T> {
    if (200..300).contains(&status) {
        let text = if text.is_empty() { "null" } else { text };
        serde_json::from_str(text).map_err(|e| {
            ApiFailure::local("client", format!("Unexpected answer from the server: {e}"))
        })
    } else {
        Err(failure(status, text))
    }
}

/// The failure an error answer describes.
fn failure(status: u16, text: &str) -> ApiFailure {
    ApiFailure {
        status,
        body: serde_json::from_str(text)
            .unwrap_or_else(|_| ApiFailure::local("http", format!("HTTP {status}")).body),
    }
}

/// No request body.
const NO_BODY: Option<&()> = None;

/// Calls the API without a token (sign-up, login, invitation look-up).
async fn anonymous<T: DeserializeOwned>(
    method: &str,
    path: String,
    body: Option<&impl Serialize>,
) -> ApiResult<T> {
    let body = body.map(|b| serde_json::to_string(b).expect("request serializes"));
    let (status, text) = exchange(method, &path, body.as_deref(), None).await?;
    decode(status, &text)
}

/// Calls the API as the signed-in user; refreshes the token first when it is about to expire, and once more
/// (then retries) on a 401. When the session is gone, signs out locally and the app redirects to login.
async fn call<T: DeserializeOwned>(
    session: Session,
    method: &str,
    path: String,
    body: Option<&impl Serialize>,
) -> ApiResult<T> {
    let body = body.map(|b| serde_json::to_string(b).expect("request serializes"));
    if session.expires_soon() {
        let _ = session.refresh().await;
    }
    let token = session
        .token()
        .ok_or_else(|| ApiFailure::local("unauthenticated", "Sign in first."))?;
    let (status, text) = exchange(method, &path, body.as_deref(), Some(&token)).await?;
    if status == 401 && session.refresh().await.is_ok() {
        let token = session.token().unwrap_or_default();
        let (status, text) = exchange(method, &path, body.as_deref(), Some(&token)).await?;
        return decode(status, &text);
    }
    if status == 401 {
        session.sign_out_locally();
    }
    decode(status, &text)
}

/// `call` without a body.
async fn get<T: DeserializeOwned>(session: Session, path: String) -> ApiResult<T> {
    call::<T>(session, "GET", path, NO_BODY).await
}

/// Downloads a file from the API as the signed-in user (the token is in memory, so a plain link cannot carry
/// it) and hands it to the browser to save, named after the server's `Content-Disposition` or `fallback_name`.
/// Returns the file name.
async fn download(session: Session, path: String, fallback_name: String) -> ApiResult<String> {
    if session.expires_soon() {
        let _ = session.refresh().await;
    }
    let token = session
        .token()
        .ok_or_else(|| ApiFailure::local("unauthenticated", "Sign in first."))?;
    let mut resp = send("GET", &path, None, Some(&token), "*/*").await?;
    if resp.status() == 401 && session.refresh().await.is_ok() {
        let token = session.token().unwrap_or_default();
        resp = send("GET", &path, None, Some(&token), "*/*").await?;
    }
    if !(200..300).contains(&resp.status()) {
        let text = text_of(&resp).await?;
        return Err(failure(resp.status(), &text));
    }
    let name = resp
        .headers()
        .get("content-disposition")
        .ok()
        .flatten()
        .and_then(|h| attachment_name(&h))
        .unwrap_or(fallback_name);
    let blob: web_sys::Blob = JsFuture::from(resp.blob().map_err(|_| network())?)
        .await
        .map_err(|_| network())?
        .dyn_into()
        .map_err(|_| network())?;
    save_blob(&blob, &name)?;
    Ok(name)
}

/// The file name of `attachment; filename="incidents.csv"`.
fn attachment_name(header: &str) -> Option<String> {
    header.split(';').find_map(|part| {
        let value = part.trim().strip_prefix("filename=")?;
        let value = value.trim_matches('"');
        (!value.is_empty() && !value.contains(['/', '\\'])).then(|| value.to_owned())
    })
}

/// Saves text made in the browser (a chart's CSV) as a file named `name`, of type `mime`.
pub fn save_text(text: &str, name: &str, mime: &str) -> ApiResult<()> {
    let fail = || ApiFailure::local("client", "The browser could not save the file.");
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(|_| fail())?;
    save_blob(&blob, name)
}

/// Saves a `Blob` through a temporary object URL and a click on a `download` link.
fn save_blob(blob: &web_sys::Blob, name: &str) -> ApiResult<()> {
    let fail = || ApiFailure::local("client", "The browser could not save the file.");
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(|_| fail())?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(fail)?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| fail())?
        .dyn_into()
        .map_err(|_| fail())?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The download has started from the URL; release it a little later.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(10),
    );
    Ok(())
}
