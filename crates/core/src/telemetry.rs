//! What both binaries report about themselves:
//!
//! - **Logs**: structured JSON lines (or human-readable with `INSIGHTS_LOG_FORMAT=pretty`), filtered by
//!   `RUST_LOG` (default `info`), each with the fields of the span it happened in.
//! - **Errors** (only with `SENTRY_DSN`): every `ERROR` event becomes a Sentry event (sentry-tracing's
//!   `ErrorLayer`) tagged with the fields that identify what failed — the API's request span (`request_id`,
//!   `route`, `method`, `org_id`, `user_id`), the worker's job span (`kind`, `job_id`, `org_id`) —, and panics
//!   are captured. Nothing secret leaves: [`scrub`] runs on every event (no headers, cookies, bodies or query
//!   strings; credentials cut from URLs; the project's redaction over every message and field), and
//!   `send_default_pii` is off.
//! - **Metrics**: the process-wide Prometheus recorder ([`prometheus`]), rendered by each binary's `/metrics`.

use crate::config::{GeneralConfig, LogFormat};
use secrecy::ExposeSecret;
use sentry::protocol::{Context as SentryContext, Event as SentryEvent, Map, Value};
use std::sync::{Arc, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

/// What stays alive while the process reports: dropping it flushes the events not sent yet (up to 2 s).
/// Keep it until the end of `main` (and drop it before `std::process::exit`, which runs no destructor).
#[must_use = "dropping it stops error reporting"]
pub struct Telemetry {
    _sentry: Option<sentry::ClientInitGuard>,
}

impl Telemetry {
    /// Whether errors are reported to Sentry.
    #[must_use]
    pub fn reports_errors(&self) -> bool {
        self._sentry.as_ref().is_some_and(|g| g.is_enabled())
    }
}

/// Installs the global subscriber and, with `SENTRY_DSN`, the Sentry client. Safe to call more than once
/// (later calls install no subscriber).
pub fn init(general: &GeneralConfig) -> Telemetry {
    let sentry = general.sentry.as_ref().map(|c| {
        let mut options = sentry::ClientOptions::default();
        options.dsn = c.dsn.expose_secret().parse().ok();
        options.release = Some(format!("incident-insights@{}", env!("CARGO_PKG_VERSION")).into());
        options.environment = Some(c.environment.clone().into());
        options.send_default_pii = false;
        // The stack of the place that logged the error: what Sentry groups the events by.
        options.attach_stacktrace = true;
        options.max_breadcrumbs = 0;
        options.before_send = Some(Arc::new(|event| Some(scrub(event))));
        sentry::init(options)
    });
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,apalis=warn,apalis_core=warn,apalis_redis=warn")
    });
    let logs = match general.log_format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Pretty => fmt::layer().boxed(),
    };
    let errors = sentry.as_ref().map(|_| ErrorEvents::default());
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(errors)
        .try_init();
    Telemetry { _sentry: sentry }
}

/// The span fields that become tags of an error event: they say which request or job failed, and are ids,
/// never content.
const TAG_FIELDS: &[&str] = &[
    "request_id",
    "route",
    "method",
    "org_id",
    "user_id",
    "kind",
    "job_id",
];

/// Sends each `ERROR` event to Sentry through sentry-tracing's `ErrorLayer`, with the [`TAG_FIELDS`] of the
/// spans it happened in (the innermost wins) as tags. The tags are set on a scope pushed for that one event.
#[derive(Default)]
struct ErrorEvents {
    inner: sentry::integrations::tracing::ErrorLayer,
}

/// A span's tag fields (kept in the span's extensions; `org_id` and `user_id` are recorded after it starts).
struct SpanTags(Vec<(&'static str, String)>);

#[derive(Default)]
struct TagVisitor(Vec<(&'static str, String)>);

impl TagVisitor {
    fn add(&mut self, field: &Field, value: String) {
        if let Some(name) = TAG_FIELDS.iter().find(|n| **n == field.name())
            && !value.is_empty()
        {
            self.0.retain(|(n, _)| n != name);
            self.0.push((name, value));
        }
    }
}

impl Visit for TagVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, value.to_owned());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, value.to_string());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.add(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.add(field, format!("{value:?}"));
    }
}

impl<S> Layer<S> for ErrorEvents
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut tags = TagVisitor::default();
        attrs.record(&mut tags);
        if let Some(span) = ctx.span(id)
            && !tags.0.is_empty()
        {
            span.extensions_mut().insert(SpanTags(tags.0));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut more = TagVisitor::default();
        values.record(&mut more);
        if more.0.is_empty() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanTags>() {
            Some(SpanTags(tags)) => {
                for (name, value) in more.0 {
                    tags.retain(|(n, _)| *n != name);
                    tags.push((name, value));
                }
            }
            None => ext.insert(SpanTags(more.0)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let mut tags: Vec<(&'static str, String)> = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanTags(t)) = span.extensions().get::<SpanTags>() {
                    for (name, value) in t {
                        tags.retain(|(n, _)| n != name);
                        tags.push((name, value.clone()));
                    }
                }
            }
        }
        sentry::with_scope(
            |scope| {
                for (name, value) in &tags {
                    scope.set_tag(name, value);
                }
            },
            || self.inner.on_event(event, ctx),
        );
    }
}

/// What an event keeps before it is sent: no request headers, cookies, body, query string or environment; URLs
/// without credentials, query or fragment; and the project's redaction (`insights_retrieval::redact`, and
/// secret-named keys via `insights_automation::payload::redact`) over the message, the exception values, the
/// extra data, the contexts' fields and the breadcrumbs.
#[must_use]
pub fn scrub(mut event: SentryEvent<'static>) -> SentryEvent<'static> {
    if let Some(req) = event.request.as_mut() {
        req.headers.clear();
        req.env.clear();
        req.cookies = None;
        req.data = None;
        req.query_string = None;
        if let Some(url) = req.url.as_mut() {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
        }
    }
    event.user = None;
    event.message = event.message.as_deref().map(text);
    if let Some(entry) = event.logentry.as_mut() {
        entry.message = text(&entry.message);
        entry.params = entry.params.iter().map(value).collect();
    }
    for e in &mut event.exception.values {
        e.value = e.value.as_deref().map(text);
    }
    event.extra = map(&event.extra);
    for ctx in event.contexts.values_mut() {
        if let SentryContext::Other(fields) = ctx {
            *fields = map(fields);
        }
    }
    for b in &mut event.breadcrumbs.values {
        b.message = b.message.as_deref().map(text);
        b.data = map(&b.data);
    }
    event
}

fn text(s: &str) -> String {
    insights_retrieval::redact::redact(s, false).text
}

fn value(v: &Value) -> Value {
    insights_automation::payload::redact(v)
}

fn map(m: &Map<String, Value>) -> Map<String, Value> {
    // Through an object, so that a secret-named key (`authorization`, `password`…) loses its value whole.
    let object = Value::Object(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    match value(&object) {
        Value::Object(o) => o.into_iter().collect(),
        _ => Map::new(),
    }
}

/// The process-wide Prometheus recorder (installed once, shared by every API and worker in a test process).
/// Latency histograms in seconds, from 1 ms to 10 s; job attempts from 10 ms to 10 minutes.
pub fn prometheus() -> metrics_exporter_prometheus::PrometheusHandle {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .expect("valid buckets")
                .set_buckets_for_metric(
                    Matcher::Full("job_attempt_duration_seconds".into()),
                    &[
                        0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                        600.0,
                    ],
                )
                .expect("valid buckets")
                .build_recorder();
            let handle = recorder.handle();
            // In a process that already has a recorder (a test binary), keep that one.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentry::protocol::{Exception, Request};

    #[test]
    fn scrubbing_removes_headers_bodies_query_strings_credentials_and_secrets_in_text() {
        let mut event = SentryEvent::new();
        event.request = Some(Request {
            url: "https://ada:hunter2@insights.example.com/api/v1/me?token=abc123#frag"
                .parse()
                .ok(),
            method: Some("GET".into()),
            data: Some(r#"{"password":"hunter2"}"#.into()),
            query_string: Some("token=abc123".into()),
            cookies: Some("refresh=rt-secret".into()),
            headers: [(
                "Authorization".to_owned(),
                "Bearer eyJhbGciOi.x.y".to_owned(),
            )]
            .into(),
            ..Default::default()
        });
        event.message = Some("cannot connect to postgres://app:s3cr3t-pw@db:5432/insights".into());
        event.exception.values.push(Exception {
            ty: "request failed".into(),
            value: Some("Authorization: Bearer abcdefgh12345678 refused".into()),
            ..Default::default()
        });
        event.extra.insert("password".into(), "hunter2".into());
        event.extra.insert("route".into(), "/api/v1/me".into());
        let mut fields = Map::new();
        fields.insert(
            "error".into(),
            "redis://:r3dis-pass@cache:6379 refused".into(),
        );
        event
            .contexts
            .insert("Rust Tracing Fields".into(), SentryContext::Other(fields));

        let event = scrub(event);
        let sent = serde_json::to_string(&event).unwrap();
        for secret in [
            "hunter2",
            "abc123",
            "rt-secret",
            "eyJhbGciOi",
            "s3cr3t-pw",
            "abcdefgh12345678",
            "r3dis-pass",
            "frag",
        ] {
            assert!(!sent.contains(secret), "{secret} was sent: {sent}");
        }
        let req = event.request.unwrap();
        assert_eq!(
            req.url.unwrap().as_str(),
            "https://insights.example.com/api/v1/me"
        );
        assert!(req.headers.is_empty());
        // What is not secret stays, so the event is still useful.
        assert_eq!(event.extra["route"], "/api/v1/me");
        assert!(sent.contains("db:5432/insights"), "{sent}");
    }
}
