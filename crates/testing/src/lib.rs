//! Test support (a dev-dependency), shared by the integration tests of the API, the worker and the browser: a
//! fresh database per test cloned from a migrated template, a random Redis key prefix, a running API on port 0
//! (and, on request, a worker: [`TestApp::with_worker`], [`TestApp::wait_for_job`]), and typed request helpers
//! with personas; [`fake_pagerduty`], a PagerDuty API on loopback; [`fake_lambda`], the Lambda and STS APIs
//! with programmable functions; [`fake_sentry`], a Sentry that keeps the envelopes it receives; [`moto`], the moto server of `scripts/test`; [`smtp`], an SMTP server that keeps what it
//! receives; [`services`], PostgreSQL and Redis servers of a test's own, to restart or flush; [`replica`], the
//! streaming replica of the test cluster ([`TestApp::with_read_replica`]); [`processes`], the API and worker
//! binaries run as processes of their own; and [`scale_out`], the proof that API and worker replicas share
//! nothing but PostgreSQL and Redis.
//!
//! A [`TestApp`] ends its test cleanly: it drops its database, and fails the test if jobs were left queued or
//! running (see [`TestApp::allow_pending_jobs`]).
//!
//! Needs `DATABASE_URL` (a role that may create databases; `scripts/test` starts a private cluster) and
//! `REDIS_URL` in the environment.

mod database;
pub mod embedding;
pub mod fake_lambda;
pub mod fake_llm;
pub mod fake_pagerduty;
pub mod fake_sentry;
pub mod moto;
pub mod processes;
pub mod replica;
pub mod scale_out;
pub mod services;
pub mod smtp;

pub use database::{TestDatabase, fresh_database};

use base64::Engine;
use insights_api::App;
use insights_core::Config;
use insights_types::api::{AuthOut, InvitationOut, JobRunOut};
use insights_types::{JobRunId, OrgId, Role, UserId};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether a benchmark binary was started by `cargo bench`, which passes `--bench`. `cargo test --all-targets`
/// runs bench binaries too, without it: they should then only prove that they build, not measure for minutes.
#[must_use]
pub fn benchmarking() -> bool {
    let yes = std::env::args().any(|a| a == "--bench");
    if !yes {
        eprintln!("not measuring: run it with `cargo bench`");
    }
    yes
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").expect("REDIS_URL must point at the test Redis (run scripts/test)")
}

/// The environment of a test app on port 0 with a fresh database (unless `overrides` name one) and Redis
/// prefix; `overrides` replace or add settings. (Also what a test passes to a worker it runs as a separate
/// process.) The database is the [`TestApp`]'s that is started with it.
pub async fn test_env(overrides: &[(&str, &str)]) -> HashMap<String, String> {
    let database = match overrides.iter().find(|(k, _)| *k == "DATABASE_URL") {
        Some((_, url)) => (*url).to_owned(),
        None => fresh_database().await,
    };
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database),
        ("REDIS_URL".into(), redis_url()),
        ("INSIGHTS_BIND".into(), "127.0.0.1:0".into()),
        ("INSIGHTS_METRICS_ADDR".into(), "127.0.0.1:0".into()),
        ("INSIGHTS_PUBLIC_URL".into(), "http://localhost:8080".into()),
        (
            "INSIGHTS_REDIS_PREFIX".into(),
            format!("test-{}", uuid::Uuid::new_v4().simple()),
        ),
        (
            "INSIGHTS_SECRET_KEY".into(),
            base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>()),
        ),
        (
            "INSIGHTS_JWT_SECRET".into(),
            insights_core::crypto::random_token(),
        ),
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_IP".into(), "100000".into()),
        ("INSIGHTS_AUTH_RATE_LIMIT_PER_ACCOUNT".into(), "1000".into()),
        ("INSIGHTS_DATABASE_MAX_CONNECTIONS".into(), "5".into()),
        // Each app's own data directory (the worker's embedded vector index has one owner), removed by the app.
        (
            "INSIGHTS_DATA_DIR".into(),
            test_data_root()
                .join(uuid::Uuid::new_v4().simple().to_string())
                .display()
                .to_string(),
        ),
        (
            "INSIGHTS_WEB_DIR".into(),
            std::env::temp_dir()
                .join("insights-no-web")
                .display()
                .to_string(),
        ),
    ]);
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    vars
}

/// Where test apps keep their data directories.
fn test_data_root() -> std::path::PathBuf {
    std::env::temp_dir().join("insights-test-data")
}

/// Configuration for a test app on port 0 with a fresh database and Redis prefix. `overrides` replace or add
/// environment settings.
pub async fn test_config(overrides: &[(&str, &str)]) -> Config {
    config_from(&test_env(overrides).await)
}

/// The configuration of an environment made by [`test_env`].
#[must_use]
pub fn config_from(vars: &HashMap<String, String>) -> Config {
    Config::from_lookup(|k| vars.get(k).cloned()).expect("valid test configuration")
}

/// How long [`TestApp::wait_for_job`] waits.
const JOB_WAIT: Duration = Duration::from_secs(60);

/// A running API (and, with [`TestApp::with_worker`], a worker) and a client for it.
///
/// It owns the test database its configuration names (made by [`fresh_database`], [`test_env`] or
/// [`test_config`]), unless another live app already does. When it ends it drops that database, also when
/// the test panics; and, when the test did not panic, it fails it if any job run of any organization is still
/// queued, running or retrying there: a test that enqueues work runs it
/// ([`TestApp::with_worker`], [`TestApp::wait_for_job`]), or says that it leaves it
/// ([`TestApp::allow_pending_jobs`]).
pub struct TestApp {
    pub addr: SocketAddr,
    /// The internal address that serves `/metrics`.
    pub metrics_addr: SocketAddr,
    pub base: String,
    pub config: Config,
    pub state: insights_api::state::AppState,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    worker: Option<insights_worker::RunningWorker>,
    /// The test database this app drops when it ends.
    database: Option<String>,
    pending_jobs_allowed: AtomicBool,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Asks the worker to stop; whatever it still runs is cut off with the database.
        drop(self.worker.take());
        // Its data directory goes with it (only one of this test's own: never a configured one).
        if self.database.is_some() && self.config.general.data_dir.starts_with(test_data_root()) {
            let _ = std::fs::remove_dir_all(&self.config.general.data_dir);
        }
        // Only the app that owns the test database checks it: another app may share it, and one on a database
        // that is not a test database (an unreachable one, say) has nothing to check.
        let owner = self.database.is_some();
        let unfinished = database::Teardown {
            pool: Some(self.state.db.pool().clone()),
            check_jobs: owner
                && !std::thread::panicking()
                && !self.pending_jobs_allowed.load(Ordering::Relaxed),
            drop_database: self.database.take(),
        }
        .run();
        if !unfinished.is_empty() {
            let list: Vec<String> = unfinished.iter().map(|j| format!("  {j}")).collect();
            panic!(
                "the test left {} job(s) unfinished:\n{}\nrun them (`TestApp::with_worker` and \
                 `wait_for_job`), or say that the test leaves them (`TestApp::allow_pending_jobs`)",
                unfinished.len(),
                list.join("\n")
            );
        }
    }
}

/// An answer: status, headers and the JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    /// The `error.code` of an error body (panics when the body is not one, which tests want).
    #[must_use]
    pub fn error_code(&self) -> &str {
        let err = self
            .body
            .get("error")
            .unwrap_or_else(|| panic!("not an error body: {}", self.text));
        assert!(
            err.get("message")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty()),
            "error without message: {}",
            self.text
        );
        err["code"].as_str().expect("error.code is a string")
    }

    /// The refresh token set by this answer, if any.
    #[must_use]
    pub fn refresh_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.strip_prefix(&format!("{}=", insights_api::auth::tokens::REFRESH_COOKIE))
            })
            .map(|c| c.split(';').next().unwrap_or_default().to_owned())
            .filter(|c| !c.is_empty())
    }

    #[must_use]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("unexpected body ({e}): {}", self.text))
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: UserId,
    pub email: String,
    pub token: String,
    pub refresh: Option<String>,
}

/// An organization with one member of each role.
#[derive(Debug, Clone)]
pub struct Personas {
    pub org_id: OrgId,
    pub owner: Session,
    pub admin: Session,
    pub member: Session,
    pub viewer: Session,
    /// The owner of another organization.
    pub outsider: Session,
}

impl Personas {
    #[must_use]
    pub fn by_role(&self, role: Role) -> &Session {
        match role {
            Role::Owner => &self.owner,
            Role::Admin => &self.admin,
            Role::Member => &self.member,
            Role::Viewer => &self.viewer,
        }
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Starts an app with the test configuration (plus `overrides`).
    pub async fn spawn(overrides: &[(&str, &str)]) -> TestApp {
        Self::spawn_with(test_config(overrides).await).await
    }

    pub async fn spawn_with(config: Config) -> TestApp {
        let app = App::build(config.clone()).await.expect("app builds");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            metrics_addr,
            base: format!("http://{addr}"),
            config,
            database: database::claim(state.db.pool()),
            state,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            stop: Some(stop),
            worker: None,
            pending_jobs_allowed: AtomicBool::new(false),
        }
    }

    /// Starts a worker in this process with the app's configuration (its database and Redis prefix, so it runs
    /// what the app enqueues); it runs until [`TestApp::stop_worker`] or the end of the app.
    pub async fn with_worker(mut self) -> TestApp {
        self.start_worker().await;
        self
    }

    /// [`TestApp::with_worker`] for an app already in use: for a test that checks what was queued before
    /// it runs it.
    pub async fn start_worker(&mut self) {
        self.start_worker_with_aws(None).await;
    }

    /// [`TestApp::with_worker`] whose AWS calls (automations) go to these endpoints — moto, the fake
    /// Lambda ([`fake_lambda`]) — with static test credentials, instead of the standard chain.
    pub async fn with_worker_aws(mut self, endpoints: insights_aws::AwsEndpoints) -> TestApp {
        self.start_worker_with_aws(Some(endpoints)).await;
        self
    }

    async fn start_worker_with_aws(&mut self, aws: Option<insights_aws::AwsEndpoints>) {
        assert!(self.worker.is_none(), "the app already has a worker");
        let mut worker = insights_worker::Worker::build(self.config.clone())
            .await
            .expect("worker builds");
        if let Some(endpoints) = aws {
            worker = worker.with_aws(insights_aws::AwsClients::with_endpoints(
                endpoints,
                self.config.automations.aws_session,
                self.config.automations.aws_principal.clone(),
            ));
        }
        self.worker = Some(worker.spawn());
    }

    /// Where the app's worker (started by [`TestApp::with_worker`]) serves `/metrics`.
    #[must_use]
    pub fn worker_metrics_addr(&self) -> Option<SocketAddr> {
        self.worker.as_ref().map(|w| w.metrics_addr)
    }

    /// Stops the worker gracefully (the jobs it is running finish) and checks that it ended cleanly.
    pub async fn stop_worker(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop().await.expect("the worker stops cleanly");
        }
    }

    /// Lets the test end with jobs still queued or running (the check at the end is skipped), for tests of
    /// what the API records when it enqueues, which do not run the work.
    pub fn allow_pending_jobs(&self) {
        self.pending_jobs_allowed.store(true, Ordering::Relaxed);
    }

    /// Polls the job run (as `token`, in `org`) until it has ended (succeeded, failed or cancelled), and
    /// returns it; panics after a minute. Something must run it: [`TestApp::with_worker`].
    pub async fn wait_for_job(&self, token: &str, org: OrgId, job: JobRunId) -> JobRunOut {
        let deadline = tokio::time::Instant::now() + JOB_WAIT;
        loop {
            let r = self
                .get(&format!("/api/v1/orgs/{org}/jobs/{job}"), token)
                .await;
            assert_eq!(r.status, StatusCode::OK, "job {job}: {}", r.text);
            let j: JobRunOut = r.json();
            if !j.state.is_active() {
                return j;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {} {job} still {} after {JOB_WAIT:?} (attempt {}/{}, last error {:?}){}",
                j.kind,
                j.state.as_str(),
                j.attempts,
                j.max_attempts,
                j.last_error,
                if self.worker.is_none() {
                    "; no worker runs in this app (`TestApp::with_worker`)"
                } else {
                    ""
                }
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The jobs of `org` (up to 200), newest first, as the API lists them.
    pub async fn jobs(&self, token: &str, org: OrgId) -> Vec<JobRunOut> {
        let path = format!("/api/v1/orgs/{org}/jobs?limit=200");
        let jobs: insights_types::api::Page<JobRunOut> = self.get(&path, token).await.json();
        jobs.items
    }

    /// Waits (see [`TestApp::wait_for_job`]) until every job of `org` has ended; returns them all, newest
    /// first.
    pub async fn wait_for_jobs(&self, token: &str, org: OrgId) -> Vec<JobRunOut> {
        for job in self
            .jobs(token, org)
            .await
            .iter()
            .filter(|j| j.state.is_active())
        {
            self.wait_for_job(token, org, job.id).await;
        }
        self.jobs(token, org).await
    }

    /// Sends a request; `body` as JSON when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// Sends a prepared request (for raw bodies and custom headers).
    /// `GET /metrics` on the internal metrics address.
    pub async fn metrics(&self) -> TestResponse {
        self.send(
            self.client
                .get(format!("http://{}/metrics", self.metrics_addr)),
        )
        .await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> TestResponse {
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    /// A request builder for unusual requests.
    pub fn raw(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    pub async fn get(&self, path: &str, token: &str) -> TestResponse {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> TestResponse {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> TestResponse {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// `POST` without an access token (the public endpoints: sign-up, login, the links sent by email).
    pub async fn post_anonymous(&self, path: &str, body: Value) -> TestResponse {
        self.request(Method::POST, path, None, Some(body)).await
    }

    /// `POST /api/v1/auth/login`, whatever the answer.
    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.post_anonymous(
            "/api/v1/auth/login",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// `POST /api/v1/auth/refresh` with this refresh cookie, whatever the answer.
    pub async fn refresh(&self, cookie: &str) -> TestResponse {
        self.send(
            self.raw(Method::POST, "/api/v1/auth/refresh")
                .header(header::COOKIE, format!("insights_refresh={cookie}")),
        )
        .await
    }

    /// `POST /api/v1/auth/signup` with any body, for tests of what it refuses.
    pub async fn signup_with(&self, body: Value) -> TestResponse {
        self.request(Method::POST, "/api/v1/auth/signup", None, Some(body))
            .await
    }

    /// Signs up with a new organization; panics unless 201.
    pub async fn signup(&self, email: &str, org: &str) -> (Session, OrgId) {
        let r = self
            .request(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({ "email": email, "password": PASSWORD, "name": "Test User", "organization_name": org })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let out: AuthOut = r.json();
        let org_id = out.organization.as_ref().expect("organization").id;
        (
            Session {
                user_id: out.user.id,
                email: out.user.email,
                token: out.access_token,
                refresh: r.refresh_cookie(),
            },
            org_id,
        )
    }

    /// Connects a PagerDuty integration named `name` with the REST API key `token` and import `options`
    /// (`POST …/integrations`, which enqueues its backfill); panics unless 201.
    pub async fn connect_pagerduty(
        &self,
        by: &Session,
        org: OrgId,
        name: &str,
        token: &str,
        options: Value,
    ) -> insights_types::api::IntegrationOut {
        let r = self
            .post(
                &format!("/api/v1/orgs/{org}/integrations"),
                &by.token,
                json!({ "kind": "pagerduty", "name": name, "credentials": { "api_token": token },
                        "options": options }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()
    }

    /// Asks for the sample history (`POST …/sample-data`); panics unless 202. Returns its job, queued: run it
    /// with [`TestApp::with_worker`] and [`TestApp::wait_for_job`].
    pub async fn load_sample_data(&self, token: &str, org: OrgId) -> JobRunOut {
        let r = self
            .post(&format!("/api/v1/orgs/{org}/sample-data"), token, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        r.json()
    }

    /// Invites `email` into `org` as `role` (by `by`); returns the invitation with its `accept_url`.
    pub async fn invite(&self, by: &Session, org: OrgId, email: &str, role: Role) -> InvitationOut {
        let r = self
            .post(
                &format!("/api/v1/orgs/{org}/invitations"),
                &by.token,
                json!({ "email": email, "role": role }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()
    }

    /// Signs up through an invitation; panics unless 201.
    pub async fn join(&self, invitation: &InvitationOut) -> Session {
        let token = token_of(invitation);
        let r = self
            .request(
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(json!({ "email": invitation.email, "password": PASSWORD, "name": "Invited", "invitation_token": token })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let out: AuthOut = r.json();
        Session {
            user_id: out.user.id,
            email: out.user.email,
            token: out.access_token,
            refresh: r.refresh_cookie(),
        }
    }

    /// An organization with an owner, an admin, a member and a viewer, and an outsider in another organization.
    pub async fn personas(&self) -> Personas {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let (owner, org_id) = self
            .signup(&format!("owner-{tag}@example.com"), "Acme")
            .await;
        let mut others = Vec::new();
        for role in [Role::Admin, Role::Member, Role::Viewer] {
            let inv = self
                .invite(&owner, org_id, &format!("{role}-{tag}@example.com"), role)
                .await;
            others.push(self.join(&inv).await);
        }
        let (outsider, _) = self
            .signup(&format!("outsider-{tag}@example.com"), "Globex")
            .await;
        let mut it = others.into_iter();
        Personas {
            org_id,
            owner,
            admin: it.next().expect("admin"),
            member: it.next().expect("member"),
            viewer: it.next().expect("viewer"),
            outsider,
        }
    }
}

/// The token inside an invitation's `accept_url`.
#[must_use]
pub fn token_of(invitation: &InvitationOut) -> String {
    let url = invitation
        .accept_url
        .as_deref()
        .expect("accept_url is present on creation");
    url.split("token=")
        .nth(1)
        .expect("token in accept_url")
        .to_owned()
}

/// Serves `app` on `listener` in the background until the returned sender is used or dropped (a fake
/// service's lifetime: it stops with the value that holds the sender).
pub(crate) fn serve_until_stopped(
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    stop
}

/// Inserts `n` incidents into `org` straight into the table (as its owner, past row-level security): varied
/// titles and descriptions, the `g`-th triggered `g × every` ago. For tests and benches that need a history
/// without importing one.
pub async fn seed_incidents(app: &TestApp, org: OrgId, n: i32, every: chrono::Duration) {
    use sqlx::Connection;
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query(
        "INSERT INTO incidents (id, org_id, source, external_id, title, description, status, triggered_at,
                                source_updated_at)
         SELECT gen_random_uuid(), $1, 'sample', 'seed-' || g,
                (ARRAY['Database latency high', 'Disk full', 'Payment provider timeouts', 'Queue backlog growing',
                       'Certificate expiring', 'Pod crash looping'])[g % 6 + 1] || ' on checkout-' || (g % 500),
                'Threshold crossed on host web-' || (g % 997) || ' in region '
                    || (ARRAY['eu-west', 'us-east', 'ap-south'])[g % 3 + 1],
                (ARRAY['triggered', 'acknowledged', 'resolved'])[g % 3 + 1], now() - g * $3::interval, now()
           FROM generate_series(1, $2) g",
    )
    .bind(org.0)
    .bind(n)
    .bind(every.to_std().expect("a positive interval"))
    .execute(&mut c)
    .await
    .expect("seed incidents");
}
