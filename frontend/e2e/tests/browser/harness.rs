//! The browser test harness: a private chromedriver per test, a fresh Chromium profile per browser session
//! (so two sessions are two different people), the real app on a known port, and helpers that wait for the
//! page instead of sleeping. A failing step saves a screenshot and the HTML before the panic continues.

use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use insights_testing::TestApp;
use insights_types::api::{IntegrationOut, IntegrationStatus};
use insights_types::{IntegrationId, OrgId};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use insights_testing::PASSWORD;

const WAIT: Duration = Duration::from_secs(20);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver process, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (scripts/test installs Debian's chromium-driver)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, url }
    }
}

/// The app under test (API and worker) and a chromedriver.
pub struct E2e {
    pub app: TestApp,
    driver: Driver,
}

impl E2e {
    /// Starts the app on `http://localhost:<port>`, serving the built web app.
    pub async fn start(overrides: &[(&str, &str)]) -> E2e {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let public = format!("http://localhost:{port}");
        let web = std::env::var("INSIGHTS_WEB_DIR")
            .unwrap_or_else(|_| repo_root().join("frontend/dist").display().to_string());
        assert!(
            PathBuf::from(&web).join("index.html").exists(),
            "the web app is not built in {web}: run scripts/build-frontend --release"
        );
        let mut vars = vec![
            ("INSIGHTS_BIND", bind.as_str()),
            ("INSIGHTS_PUBLIC_URL", public.as_str()),
            ("INSIGHTS_WEB_DIR", web.as_str()),
        ];
        vars.extend_from_slice(overrides);
        E2e {
            app: TestApp::spawn(&vars).await.with_worker().await,
            driver: Driver::start().await,
        }
    }

    /// Runs `steps` in a new browser session (1280×800), saving artifacts if it panics.
    pub async fn run<T, F, Fut>(&self, name: &str, steps: F) -> T
    where
        F: FnOnce(Browser) -> Fut,
        Fut: Future<Output = T>,
    {
        self.run_sized(name, 1280, 800, steps).await
    }

    pub async fn run_sized<T, F, Fut>(&self, name: &str, width: u32, height: u32, steps: F) -> T
    where
        F: FnOnce(Browser) -> Fut,
        Fut: Future<Output = T>,
    {
        let profile =
            std::env::temp_dir().join(format!("insights-e2e-{}", uuid::Uuid::new_v4().simple()));
        let mut caps = serde_json::Map::new();
        let mut chrome = serde_json::json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={},{height}", width.max(500)),
            ]
        });
        // Headless windows are at least 500 px wide: phone widths are emulated.
        if width < 500 {
            chrome["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "touch": true }
            });
        }
        caps.insert("goog:chromeOptions".into(), chrome);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.driver.url)
            .await
            .expect("a Chromium session");
        let browser = Browser {
            client: client.clone(),
            base: self
                .app
                .config
                .server
                .public_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
        };
        let checker = browser.clone();
        let outcome = AssertUnwindSafe(async {
            let v = steps(browser).await;
            // A panic in the app (or any console error) fails the test even when the page looked right.
            let errors = checker.execute("return window.__errors || []").await;
            assert_eq!(
                errors,
                serde_json::json!([]),
                "the app reported errors on the console"
            );
            v
        })
        .catch_unwind()
        .await;
        if outcome.is_err() {
            save_artifacts(&client, name).await;
        }
        let _ = client.close().await;
        let _ = std::fs::remove_dir_all(profile);
        match outcome {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

async fn save_artifacts(client: &Client, name: &str) {
    let dir = target_dir().join("e2e-artifacts");
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(png) = client.screenshot().await {
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
    if let Ok(html) = client.source().await {
        let _ = std::fs::write(dir.join(format!("{name}.html")), html);
    }
    if let Ok(errors) = client.execute("return window.__errors || []", vec![]).await {
        let _ = std::fs::write(dir.join(format!("{name}.console.txt")), errors.to_string());
    }
    eprintln!("browser artifacts saved in {}", dir.display());
}

/// One browser session.
#[derive(Clone)]
pub struct Browser {
    client: Client,
    base: String,
}

impl Browser {
    pub async fn goto(&self, path: &str) {
        self.goto_url(&format!("{}{path}", self.base)).await;
    }

    pub async fn goto_url(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
    }

    /// Opens `path` in a new tab of this browser (same profile, same cookies) and switches to it; returns the
    /// tab it came from.
    pub async fn open_tab(&self, path: &str) -> fantoccini::wd::WindowHandle {
        let from = self.client.window().await.expect("current tab");
        let tab = self.client.new_window(true).await.expect("new tab");
        self.client
            .switch_to_window(tab.handle)
            .await
            .expect("switch tab");
        self.goto(path).await;
        from
    }

    /// Switches to another tab; returns the one it came from.
    pub async fn switch_to(
        &self,
        tab: fantoccini::wd::WindowHandle,
    ) -> fantoccini::wd::WindowHandle {
        let from = self.client.window().await.expect("current tab");
        self.client.switch_to_window(tab).await.expect("switch tab");
        from
    }

    /// The current path (without the query).
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }

    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        if text.is_empty() {
            // Clearing fires no `input` event, and typing nothing fires none either: the app would not know.
            self.client
                .execute(
                    "arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
                    vec![serde_json::to_value(&el).expect("element")],
                )
                .await
                .unwrap_or_else(|e| panic!("input event on {css}: {e}"));
            return;
        }
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Chooses files in a file input (several at once when it is `multiple`).
    pub async fn upload(&self, css: &str, files: &[PathBuf]) {
        let el = self.element(css).await;
        let paths = files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        el.send_keys(&paths)
            .await
            .unwrap_or_else(|e| panic!("choose files in {css}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        let el = self.element(css).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub async fn select(&self, css: &str, value: &str) {
        let el = self.element(css).await;
        el.select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    pub async fn text(&self, css: &str) -> String {
        self.element(css).await.text().await.unwrap_or_default()
    }

    pub async fn value(&self, css: &str) -> String {
        self.element(css)
            .await
            .prop("value")
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |v| v.len())
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.element(css)
            .await
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("read {name} of {css}: {e}"))
    }

    /// Types keys (e.g. `"\u{E00C}"`, Escape) into the element that has the focus.
    pub async fn press(&self, keys: &str) {
        let el = self
            .client
            .active_element()
            .await
            .expect("a focused element");
        el.send_keys(keys).await.expect("keys");
    }

    /// Waits until an element matching `css` contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) {
        self.wait_text_within(css, needle, WAIT).await;
    }

    /// `wait_text` with its own time limit (for work that takes longer, like an import).
    pub async fn wait_text_within(&self, css: &str, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(els) = self.client.find_all(Locator::Css(css)).await {
                for el in els {
                    if el.text().await.is_ok_and(|t| t.contains(needle)) {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {css} containing {needle:?} within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.count(css).await > 0 {
            assert!(
                Instant::now() < deadline,
                "{css} still there after {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `ready` says yes.
    pub async fn wait_for<F, Fut>(&self, ready: F)
    where
        F: Fn() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + WAIT;
        while !ready().await {
            assert!(
                Instant::now() < deadline,
                "condition not met within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn execute(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// Signs up through the form with a new organization and waits for its dashboard.
    pub async fn sign_up(&self, name: &str, email: &str, organization: &str) {
        self.goto("/signup").await;
        self.fill("#name", name).await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.fill("#organization_name", organization).await;
        self.click("button[type=submit]").await;
        self.wait_text("main h1", "Dashboard").await;
    }

    /// Logs in through the form and waits for the signed-in shell.
    pub async fn login(&self, email: &str) {
        self.goto("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click("button[type=submit]").await;
        self.element(".topbar #org-switcher").await;
    }

    /// Saves a screenshot under `target/screenshots/` (and `docs/screenshots/` with
    /// `INSIGHTS_UPDATE_SCREENSHOTS=1`).
    pub async fn save_screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let mut dirs = vec![target_dir().join("screenshots")];
        if std::env::var("INSIGHTS_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            dirs.push(repo_root().join("docs/screenshots"));
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        }
    }
}

/// Connects PagerDuty through the API (as the wizard would) and returns the integration.
pub async fn connect_pagerduty(
    app: &TestApp,
    org: OrgId,
    token: &str,
    name: &str,
    api_token: &str,
) -> IntegrationOut {
    let r = app
        .post(
            &format!("/api/v1/orgs/{org}/integrations"),
            token,
            serde_json::json!({ "kind": "pagerduty", "name": name, "credentials": { "api_token": api_token } }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
    r.json()
}

/// Waits (up to a minute) until the integration's import has finished, and returns it.
pub async fn wait_synced(
    app: &TestApp,
    org: OrgId,
    token: &str,
    id: IntegrationId,
) -> IntegrationOut {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app
            .get(&format!("/api/v1/orgs/{org}/integrations/{id}"), token)
            .await;
        let out: IntegrationOut = r.json();
        let idle = out
            .current_run
            .as_ref()
            .is_some_and(|run| !run.state.is_active());
        if idle && out.status == IntegrationStatus::Active {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "the import did not finish: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
