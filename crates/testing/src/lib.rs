//! Test support (feature `testing`), shared by the integration tests of the backend and the worker: a fresh
//! database per test cloned from a migrated template, a random Redis key prefix, a running API on port 0, and
//! typed request helpers with personas; and [`fake_pagerduty`], a PagerDuty API on loopback.
//!
//! Needs `DATABASE_URL` (a role that may create databases; `scripts/test` starts a private cluster) and
//! `REDIS_URL` in the environment.

pub mod fake_pagerduty;

use base64::Engine;
use insights_api::App;
use insights_core::Config;
use insights_types::api::{AuthOut, InvitationOut};
use insights_types::{OrgId, Role, UserId};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::sync::OnceCell;

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

/// The environment variable holding the test cluster's admin URL.
fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at the test PostgreSQL (run scripts/test)")
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").expect("REDIS_URL must point at the test Redis (run scripts/test)")
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("DATABASE_URL is a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// A migrated template database, created once per migration set (its name carries a digest of them).
async fn template() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            use sha2::{Digest, Sha256};
            let mut h = Sha256::new();
            for m in insights_core::db::MIGRATOR.iter() {
                h.update(m.version.to_le_bytes());
                h.update(&*m.checksum);
            }
            let name = format!("insights_tpl_{}", &hex::encode(h.finalize())[..16]);
            let mut admin = PgConnection::connect(&admin_url())
                .await
                .expect("connect to test PostgreSQL");
            // Serialize template creation across test processes.
            admin
                .execute("SELECT pg_advisory_lock(424242)")
                .await
                .expect("lock");
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(&name)
                    .fetch_one(&mut admin)
                    .await
                    .expect("query");
            if !exists {
                let building = format!("{name}_building");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {building}"
                    )))
                    .await
                    .expect("drop");
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
                    .await
                    .expect("create template");
                insights_core::db::migrate(&with_database(&admin_url(), &building).into())
                    .await
                    .expect("migrate template");
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "ALTER DATABASE {building} RENAME TO {name}"
                    )))
                    .await
                    .expect("rename template");
            }
            admin
                .execute("SELECT pg_advisory_unlock(424242)")
                .await
                .expect("unlock");
            admin.close().await.ok();
            name
        })
        .await
}

/// A new, migrated database for one test; returns its URL.
pub async fn fresh_database() -> String {
    let tpl = template().await;
    let name = format!("insights_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("connect to test PostgreSQL");
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {tpl}"
        )))
        .await
        .expect("create test database");
    admin.close().await.ok();
    with_database(&admin_url(), &name)
}

/// The environment of a test app on port 0 with a fresh database and Redis prefix; `overrides` replace or
/// add settings. (Also what a test passes to a worker it runs as a separate process.)
pub async fn test_env(overrides: &[(&str, &str)]) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), fresh_database().await),
        ("REDIS_URL".into(), redis_url()),
        ("INSIGHTS_BIND".into(), "127.0.0.1:0".into()),
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

/// A running API and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub config: Config,
    pub state: insights_api::state::AppState,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
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
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            base: format!("http://{addr}"),
            config,
            state,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            stop: Some(stop),
        }
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
