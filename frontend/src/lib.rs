//! The Incident Insights web app: a Leptos application rendered in the browser (WASM), served by
//! `insights-api` at `/`. This first version proves the pipeline — build, serve, load, call the API with the
//! shared types of `insights-types` — and shows whether the API is ready. The full interface lives on top.

use insights_types::api::HealthOut;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Entry point, run when the module is loaded.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

/// The application.
#[component]
pub fn App() -> impl IntoView {
    let ready = LocalResource::new(check_ready);
    view! {
        <header class="top">
            <span class="brand">"Incident Insights"</span>
        </header>
        <main class="page">
            <h1>"Incident analytics for on-call teams"</h1>
            <p>
                "Import your PagerDuty and Opsgenie history, see trends, find recurring patterns, "
                "and act on them."
            </p>
            <section class="status" aria-live="polite">
                <h2>"Service status"</h2>
                <Suspense fallback=|| view! { <p class="muted">"Checking the API…"</p> }>
                    {move || {
                        ready
                            .get()
                            .map(|r| match r {
                                Ok(h) => view! { <p class="ok">{format!("API {}", status_text(&h))}</p> }.into_any(),
                                Err(e) => view! { <p class="err">{format!("API not reachable: {e}")}</p> }.into_any(),
                            })
                    }}
                </Suspense>
            </section>
            <p class="muted">
                "The API is described at " <a href="/api/v1/openapi.json">"/api/v1/openapi.json"</a> "."
            </p>
        </main>
    }
}

/// A sentence for a readiness answer: `ready`, or which dependency is down.
fn status_text(h: &HealthOut) -> String {
    if h.status == "ok" {
        return "ready".to_owned();
    }
    let down: Vec<&str> = h
        .checks
        .iter()
        .filter(|(_, v)| v.as_str() != Some("ok"))
        .map(|(k, _)| k.as_str())
        .collect();
    format!("unavailable ({})", down.join(", "))
}

/// `GET /health/ready`, parsed into the shared `HealthOut` type.
async fn check_ready() -> Result<HealthOut, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str("/health/ready"))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    let text = JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str::<HealthOut>(&text).map_err(|_| format!("HTTP {}", resp.status()))
}
