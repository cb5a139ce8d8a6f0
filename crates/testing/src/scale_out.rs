//! The scale-out proof: API and worker replicas share nothing but PostgreSQL and Redis. [`run`] starts
//! `apis` `insights-api` processes and `workers` `insights-worker` processes (each with its own data
//! directory, JSON logs on) on one database and one Redis prefix, and a fake PagerDuty with one account per
//! organization. At once: one big organization backfills `big` incidents (one job, sequential by nature:
//! each page's cursor comes from the previous one), `orgs` other organizations backfill `per_org` each (the
//! work that spreads over workers), a webhook storm of `webhooks` signed deliveries goes into the APIs
//! round-robin over those organizations' integrations, and `readers` dashboard readers ask for the analytics
//! summary and the incident list through every API. Optionally, once the big backfill has stored a share of
//! its history, the worker running it is killed with SIGKILL and another takes it over (after
//! `INSIGHTS_JOB_HEARTBEAT_TIMEOUT_SECS`; with a single worker, a replacement process is started, as an
//! orchestrator would).
//!
//! Then it checks, and fails on any mismatch:
//! - every organization holds exactly the incidents its account served (no duplicate external ids) with
//!   their three timeline entries each, and exactly the incidents of the webhooks sent to it;
//! - every job ended `succeeded`; a job has a second attempt only if it was running when the worker died
//!   (the big backfill among them), and the workers' logs show exactly one recorded success per job;
//! - every page of the fake was read once — except pages read again after the kill: those belong to a
//!   backfill that was taken over, were read by the dead worker after its last checkpoint (the page in hand,
//!   not yet committed) and are the first pages its successor read;
//! - every dashboard read answered 200.
//!
//! It returns the figures (throughput, latency, who did what); timings are never asserted.

use crate::fake_pagerduty::{FakePagerDuty, Fetch, History, triggered_incident};
use crate::processes::{
    ApiProcess, Process, machine_cpu_seconds, process_cpu_seconds, sibling_binary,
};
use crate::{PASSWORD, TestDatabase, test_env};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The signing secret of every integration's webhooks.
const WEBHOOK_SECRET: &str = "scale-webhook-secret";

/// What to run.
#[derive(Clone, Debug)]
pub struct Load {
    pub apis: usize,
    pub workers: usize,
    /// The big organization's history (one backfill job).
    pub big: u64,
    /// Other organizations, each backfilling `per_org` incidents and receiving webhooks.
    pub orgs: usize,
    pub per_org: u64,
    /// Webhook deliveries, round-robin over the APIs and the other organizations.
    pub webhooks: usize,
    /// Dashboard readers (each one request at a time).
    pub readers: usize,
    /// Kill the worker running the big backfill once it has stored this share of it.
    pub kill_at: Option<f64>,
    /// Delay of every answer of the fake PagerDuty (to catch a small backfill in the middle).
    pub source_delay: Duration,
    /// Longest wait for everything to end.
    pub deadline: Duration,
    /// More settings for every process (`INSIGHTS_…`).
    pub settings: Vec<(String, String)>,
}

/// What a run measured.
#[derive(Debug, Default)]
pub struct Figures {
    pub apis: usize,
    pub workers: usize,
    /// Incidents stored by the backfills (all organizations).
    pub backfilled: u64,
    /// From the first backfill recorded to the last one finished.
    pub backfill_secs: f64,
    /// The big backfill alone (recorded → finished).
    pub big_secs: f64,
    /// The other organizations' backfills (the work that spreads over workers): first recorded → last
    /// finished.
    pub others_secs: f64,
    pub others: u64,
    pub webhooks: usize,
    /// From the first webhook accepted to the last one applied.
    pub webhook_secs: f64,
    /// Dashboard reads answered, their rate and latency.
    pub reads: usize,
    pub reads_per_sec: f64,
    pub read_p50: Duration,
    pub read_p99: Duration,
    /// Pages the fake served, and how many of them were served twice (after the kill).
    pub pages: usize,
    pub pages_read_again: usize,
    /// Jobs that needed a second attempt (running on the killed worker), by kind.
    pub taken_over: BTreeMap<String, usize>,
    /// From the kill to the big backfill's next attempt starting on another worker.
    pub takeover: Option<Duration>,
    /// Recorded job attempts per worker process: (name, syncs, webhooks, other).
    pub per_worker: Vec<(String, usize, usize, usize)>,
    /// Deliveries a worker skipped because the job was running elsewhere or had ended.
    pub duplicates_ignored: usize,
    /// Where the machine's CPU went meanwhile.
    pub cpu: Cpu,
}

/// Where the machine's CPU went from the sign-ups to the last job's end (from `/proc`; zero off Linux): the
/// seconds of all cores busy, and the CPU seconds of the workers (the killed one's up to its death), the
/// APIs and this process (the fake PagerDuty, the storm, the readers). The rest of the busy time is
/// PostgreSQL, Redis and whatever else the machine ran.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub wall_secs: f64,
    pub cores: usize,
    pub busy_secs: f64,
    pub workers_secs: f64,
    pub apis_secs: f64,
    pub bench_secs: f64,
}

impl Cpu {
    /// Cores busy on average.
    #[must_use]
    pub fn busy_cores(&self) -> f64 {
        self.busy_secs / self.wall_secs.max(1e-9)
    }

    /// Busy CPU seconds not spent by the workers, the APIs or this process: PostgreSQL, Redis, the rest.
    #[must_use]
    pub fn rest_secs(&self) -> f64 {
        (self.busy_secs - self.workers_secs - self.apis_secs - self.bench_secs).max(0.0)
    }
}

/// A CPU reading: the machine's busy seconds, the wall clock, and each process's CPU seconds.
struct CpuMark {
    busy: f64,
    at: Instant,
    workers: f64,
    apis: f64,
    bench: f64,
}

impl CpuMark {
    fn take(workers: &[Process], apis: &[ApiProcess], killed_workers: f64) -> CpuMark {
        let sum = |ps: &mut dyn Iterator<Item = &Process>| -> f64 {
            ps.filter_map(Process::cpu_seconds).sum()
        };
        CpuMark {
            busy: machine_cpu_seconds().map_or(0.0, |(busy, _)| busy),
            at: Instant::now(),
            workers: sum(&mut workers.iter()) + killed_workers,
            apis: sum(&mut apis.iter().map(|a| &a.process)),
            bench: process_cpu_seconds("/proc/self/stat").unwrap_or_default(),
        }
    }

    fn since(&self, start: &CpuMark) -> Cpu {
        Cpu {
            wall_secs: (self.at - start.at).as_secs_f64(),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            busy_secs: self.busy - start.busy,
            workers_secs: self.workers - start.workers,
            apis_secs: self.apis - start.apis,
            bench_secs: self.bench - start.bench,
        }
    }
}

impl Figures {
    #[must_use]
    pub fn incidents_per_sec(&self) -> f64 {
        self.backfilled as f64 / self.backfill_secs.max(1e-9)
    }

    /// Incidents per second of the other organizations' backfills.
    #[must_use]
    pub fn others_per_sec(&self) -> f64 {
        self.others as f64 / self.others_secs.max(1e-9)
    }

    #[must_use]
    pub fn webhooks_per_sec(&self) -> f64 {
        self.webhooks as f64 / self.webhook_secs.max(1e-9)
    }
}

fn token(org: usize) -> String {
    format!("scale-token-{org}")
}

/// Spacing so that a year or two holds the history, as a busy account's would.
fn spacing(n: u64) -> chrono::Duration {
    if n > 50_000 {
        chrono::Duration::minutes(5)
    } else {
        chrono::Duration::minutes(30)
    }
}

/// A client that talks to the API processes.
#[derive(Clone)]
struct Apis {
    client: reqwest::Client,
    bases: Arc<Vec<String>>,
}

impl Apis {
    async fn call(
        &self,
        api: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let base = &self.bases[api % self.bases.len()];
        let mut req = self.client.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request sent");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// An organization of the run: its owner's token, its integration and backfill job, what its account holds.
struct Org {
    id: String,
    token: String,
    integration: String,
    job: uuid::Uuid,
    history: u64,
}

/// The `X-PagerDuty-Signature` of `body` under `secret`.
#[must_use]
pub fn pagerduty_signature(secret: &str, body: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn db(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the test database")
}

/// Runs `load` with the worker binary `worker_binary` (`env!("CARGO_BIN_EXE_insights-worker")`; the API
/// binary is found beside it), checks it and returns its figures.
pub async fn run(load: &Load, worker_binary: &str) -> Figures {
    assert!(load.apis >= 1 && load.workers >= 1 && load.orgs >= 1);
    let api_binary = sibling_binary(worker_binary, "insights-api", "insights-api");
    let database = TestDatabase::migrated().await;
    let logs: PathBuf = std::env::temp_dir().join(format!(
        "insights-scale-out-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let histories: Vec<History> = std::iter::once(load.big)
        .chain(std::iter::repeat_n(load.per_org, load.orgs))
        .map(|n| History::recent(n, spacing(n)))
        .collect();
    let pd = FakePagerDuty::start(&token(0), histories[0]).await;
    for (i, h) in histories.iter().enumerate().skip(1) {
        pd.add_account(&token(i), *h);
    }
    pd.set_delay(load.source_delay);
    let mut settings: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database.url().to_owned()),
        ("INSIGHTS_PAGERDUTY_API_URL".into(), pd.url.clone()),
        ("INSIGHTS_LOG_FORMAT".into(), "json".into()),
        // The production pool size (the test default is smaller).
        ("INSIGHTS_DATABASE_MAX_CONNECTIONS".into(), "20".into()),
        // No incremental sync in the middle of the count.
        ("INSIGHTS_SYNC_INTERVAL_MINUTES".into(), "1440".into()),
        // A storm, not an abuse: the per-integration limit would rightly cut it.
        (
            "INSIGHTS_WEBHOOK_DELIVERIES_PER_MINUTE".into(),
            "1000000".into(),
        ),
    ];
    settings.extend(load.settings.iter().cloned());
    let borrowed: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let vars = test_env(&borrowed).await;
    let data_dir = PathBuf::from(&vars["INSIGHTS_DATA_DIR"]);

    let mut apis = Vec::new();
    for i in 0..load.apis {
        apis.push(ApiProcess::start(&api_binary, &format!("api-{i}"), &vars, &logs).await);
    }
    // Each worker has a data directory of its own: the embedded vector index has one owner (at scale, all
    // point at a Qdrant server instead); nothing else is shared but the database and Redis.
    let spawn_worker = |name: &str| {
        let mut v = vars.clone();
        v.insert(
            "INSIGHTS_DATA_DIR".into(),
            data_dir.join(name).display().to_string(),
        );
        Process::spawn(Path::new(worker_binary), &[], name, &v, &logs)
    };
    let mut workers: Vec<Process> = (0..load.workers)
        .map(|i| spawn_worker(&format!("worker-{i}")))
        .collect();
    let client = Apis {
        client: reqwest::Client::new(),
        bases: Arc::new(apis.iter().map(|a| a.base.clone()).collect()),
    };
    let admin = database.url().to_owned();
    let cpu_start = CpuMark::take(&workers, &apis, 0.0);
    let mut killed_cpu = 0.0;

    // Sign-ups and connections, through the APIs in turn; every backfill starts at once.
    let mut orgs = Vec::new();
    for (i, h) in histories.iter().enumerate() {
        let (status, auth) = client
            .call(
                i,
                Method::POST,
                "/api/v1/auth/signup",
                None,
                Some(
                    json!({ "email": format!("scale-{i}@example.com"), "password": PASSWORD,
                             "name": "Scale", "organization_name": format!("Scale {i}") }),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{auth}");
        let id = auth["organization"]["id"]
            .as_str()
            .expect("org id")
            .to_owned();
        let owner = auth["access_token"].as_str().expect("token").to_owned();
        let since = h.start - chrono::Duration::hours(1);
        let (status, integration) = client
            .call(
                i + 1,
                Method::POST,
                &format!("/api/v1/orgs/{id}/integrations"),
                Some(&owner),
                Some(json!({ "kind": "pagerduty", "name": format!("PD {i}"),
                             "credentials": { "api_token": token(i) }, "options": { "since": since } })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{integration}");
        let integration_id = integration["id"].as_str().expect("id").to_owned();
        let job: uuid::Uuid = integration["current_run"]["id"]
            .as_str()
            .and_then(|j| j.parse().ok())
            .expect("a backfill job");
        orgs.push(Org {
            id,
            token: owner,
            integration: integration_id,
            job,
            history: h.count,
        });
    }
    for (i, o) in orgs.iter().enumerate().skip(1) {
        let (status, body) = client
            .call(
                i,
                Method::PATCH,
                &format!("/api/v1/orgs/{}/integrations/{}", o.id, o.integration),
                Some(&o.token),
                Some(json!({ "webhook_secret": WEBHOOK_SECRET })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // The webhook storm: new incidents (which no account's listing serves, so no backfill stores them),
    // delivered signed, through the APIs in turn.
    let mut storm = Vec::new();
    let mut expected_live: HashSet<(String, String)> = HashSet::new();
    for n in 0..load.webhooks {
        let o = 1 + n % load.orgs;
        let id = format!("LIVE{n:05}");
        let incident = triggered_incident(&id, n, &format!("Checkout errors on cart-{n}"), n);
        let body = json!({ "event": { "id": format!("ev-{n}"), "event_type": "incident.triggered",
                                      "resource_type": "incident", "occurred_at": chrono::Utc::now().to_rfc3339(),
                                      "data": incident } })
        .to_string();
        expected_live.insert((orgs[o].id.clone(), id));
        storm.push((n, orgs[o].integration.clone(), body));
    }
    let storm_task = {
        let client = client.clone();
        tokio::spawn(async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(16));
            let mut sent = tokio::task::JoinSet::new();
            for (n, integration, body) in storm {
                let permit = permits.clone().acquire_owned().await.expect("semaphore");
                let client = client.clone();
                sent.spawn(async move {
                    let base = &client.bases[n % client.bases.len()];
                    let r = client
                        .client
                        .post(format!("{base}/hooks/pagerduty/{integration}"))
                        .header("content-type", "application/json")
                        .header(
                            "x-pagerduty-signature",
                            pagerduty_signature(WEBHOOK_SECRET, &body),
                        )
                        .header("x-webhook-id", format!("storm-{n}"))
                        .body(body)
                        .send()
                        .await
                        .expect("webhook sent");
                    drop(permit);
                    r.status()
                });
            }
            let mut refused = Vec::new();
            while let Some(status) = sent.join_next().await {
                let status = status.expect("a delivery task");
                if status != StatusCode::ACCEPTED {
                    refused.push(status);
                }
            }
            refused
        })
    };

    // Dashboard readers, through every API, over every organization.
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = tokio::task::JoinSet::new();
    let targets: Arc<Vec<(String, String)>> = Arc::new(
        orgs.iter()
            .map(|o| (o.id.clone(), o.token.clone()))
            .collect(),
    );
    for r in 0..load.readers {
        let (client, stop, targets) = (client.clone(), stop.clone(), targets.clone());
        readers.spawn(async move {
            let mut answers: Vec<(StatusCode, Duration, String)> = Vec::new();
            let mut k = r;
            while !stop.load(Ordering::Relaxed) {
                let (org, token) = &targets[k % targets.len()];
                let path = if k.is_multiple_of(2) {
                    format!("/api/v1/orgs/{org}/analytics/summary")
                } else {
                    format!("/api/v1/orgs/{org}/incidents?limit=50")
                };
                let at = Instant::now();
                let (status, body) = client.call(k, Method::GET, &path, Some(token), None).await;
                let error = if status == StatusCode::OK {
                    String::new()
                } else {
                    format!("{path}: {body}")
                };
                answers.push((status, at.elapsed(), error));
                k += 1;
            }
            answers
        });
    }
    let reading_since = Instant::now();

    // The kill: the worker running the big backfill, once it is under way.
    let mut killed: Option<(String, chrono::DateTime<chrono::Utc>, Instant)> = None;
    let mut running_at_kill: HashSet<uuid::Uuid> = HashSet::new();
    if let Some(share) = load.kill_at {
        let mut c = db(&admin).await;
        let target = (orgs[0].history as f64 * share) as i64;
        let deadline = Instant::now() + load.deadline;
        loop {
            let (state, stored): (String, i64) = sqlx::query_as(
                "SELECT state, coalesce((progress->>'stored')::bigint, 0) FROM job_runs WHERE id = $1",
            )
            .bind(orgs[0].job)
            .fetch_one(&mut c)
            .await
            .expect("the big backfill");
            assert!(
                state == "queued" || state == "running",
                "the big backfill must be caught under way, not {state} (stored {stored} of {})",
                orgs[0].history
            );
            if state == "running" && stored >= target {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the big backfill never got under way"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let job = orgs[0].job.to_string();
        let runner = workers
            .iter()
            .position(|w| {
                w.events("sync started")
                    .iter()
                    .any(|e| e["job"].as_str() == Some(job.as_str()))
            })
            .expect("a worker logged the start of the big backfill");
        killed_cpu = workers[runner].cpu_seconds().unwrap_or_default();
        workers[runner].kill();
        let at = (
            workers[runner].name.clone(),
            chrono::Utc::now(),
            Instant::now(),
        );
        running_at_kill = sqlx::query_scalar("SELECT id FROM job_runs WHERE state = 'running'")
            .fetch_all(&mut c)
            .await
            .expect("running jobs")
            .into_iter()
            .collect();
        killed = Some(at);
        if workers.iter_mut().all(|w| !w.running()) {
            workers.push(spawn_worker("worker-replacement"));
        }
    }

    // Until every job has ended (and every webhook has its job).
    let refused = storm_task.await.expect("the storm");
    assert!(
        refused.is_empty(),
        "webhook deliveries refused: {refused:?}"
    );
    {
        let mut c = db(&admin).await;
        let deadline = Instant::now() + load.deadline;
        loop {
            let (active, webhooks): (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE state IN ('queued', 'running', 'retrying')),
                        count(*) FILTER (WHERE kind = 'process_webhook') FROM job_runs",
            )
            .fetch_one(&mut c)
            .await
            .expect("job counts");
            if active == 0 && webhooks == load.webhooks as i64 {
                break;
            }
            if Instant::now() >= deadline {
                let still: Vec<(String, String, i32)> = sqlx::query_as(
                    "SELECT kind, state, attempts FROM job_runs
                      WHERE state IN ('queued', 'running', 'retrying') ORDER BY kind",
                )
                .fetch_all(&mut c)
                .await
                .expect("active jobs");
                panic!(
                    "{active} jobs still active ({still:?}), {webhooks} of {} webhooks recorded after {:?}",
                    load.webhooks, load.deadline
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let cpu = CpuMark::take(&workers, &apis, killed_cpu).since(&cpu_start);
    stop.store(true, Ordering::Relaxed);
    let reading_secs = reading_since.elapsed().as_secs_f64();
    let mut answers = Vec::new();
    while let Some(a) = readers.join_next().await {
        answers.extend(a.expect("a reader"));
    }

    let mut figures = check(
        &admin,
        load,
        &orgs,
        &expected_live,
        &pd.fetches(),
        &workers,
        killed.as_ref(),
        &running_at_kill,
        answers,
        reading_secs,
    )
    .await;
    figures.cpu = cpu;
    for w in &mut workers {
        assert!(
            !w.running() || w.terminate(Duration::from_secs(30)),
            "{} did not stop cleanly:\n{}",
            w.name,
            w.tail(10)
        );
    }
    for a in &mut apis {
        assert!(
            a.process.terminate(Duration::from_secs(30)),
            "{} did not stop cleanly:\n{}",
            a.process.name,
            a.process.tail(10)
        );
    }
    let _ = std::fs::remove_dir_all(&logs);
    let _ = std::fs::remove_dir_all(&data_dir);
    figures
}

/// The checks after the run, and the figures.
#[allow(clippy::too_many_arguments)]
async fn check(
    admin: &str,
    load: &Load,
    orgs: &[Org],
    expected_live: &HashSet<(String, String)>,
    fetches: &[Fetch],
    workers: &[Process],
    killed: Option<&(String, chrono::DateTime<chrono::Utc>, Instant)>,
    running_at_kill: &HashSet<uuid::Uuid>,
    mut answers: Vec<(StatusCode, Duration, String)>,
    reading_secs: f64,
) -> Figures {
    let mut c = db(admin).await;

    // Every incident its account served, once, with its timeline; every webhook's incident.
    let stored: Vec<(uuid::Uuid, i64, i64, i64)> = sqlx::query_as(
        "SELECT org_id, count(*) FILTER (WHERE external_id NOT LIKE 'LIVE%'),
                count(DISTINCT external_id) FILTER (WHERE external_id NOT LIKE 'LIVE%'),
                (SELECT count(*) FROM incident_events e WHERE e.org_id = i.org_id)
           FROM incidents i GROUP BY org_id",
    )
    .fetch_all(&mut c)
    .await
    .expect("incident counts");
    let stored: HashMap<String, (i64, i64, i64)> = stored
        .into_iter()
        .map(|(o, n, d, e)| (o.to_string(), (n, d, e)))
        .collect();
    for o in orgs {
        let h = o.history as i64;
        assert_eq!(
            stored.get(&o.id).copied().unwrap_or_default(),
            (h, h, 3 * h),
            "organization {}: (incidents, distinct external ids, timeline entries) = what its account served, \
             each once",
            o.id
        );
    }
    let live: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT org_id, external_id FROM incidents WHERE external_id LIKE 'LIVE%'")
            .fetch_all(&mut c)
            .await
            .expect("webhook incidents");
    let live: HashSet<(String, String)> =
        live.into_iter().map(|(o, e)| (o.to_string(), e)).collect();
    assert_eq!(
        live.len(),
        expected_live.len(),
        "one incident per webhook delivery, in its organization"
    );
    assert_eq!(
        &live, expected_live,
        "every webhook's incident, in its organization"
    );

    // Every job succeeded; a second attempt only for a job that was running on the killed worker.
    type JobRow = (
        uuid::Uuid,
        String,
        String,
        i32,
        Option<String>,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    let jobs: Vec<JobRow> =
        sqlx::query_as("SELECT id, kind, state, attempts, last_error, finished_at FROM job_runs")
            .fetch_all(&mut c)
            .await
            .expect("jobs");
    let mut taken_over: BTreeMap<String, usize> = BTreeMap::new();
    let mut retaken: HashSet<uuid::Uuid> = HashSet::new();
    for (id, kind, state, attempts, error, _) in &jobs {
        assert_eq!(state, "succeeded", "{kind} {id}: {error:?}");
        let expected = if running_at_kill.contains(id) {
            1..=2
        } else {
            1..=1
        };
        assert!(
            expected.contains(attempts),
            "{kind} {id} took {attempts} attempts (running when the worker was killed: {}); last error {error:?}",
            running_at_kill.contains(id)
        );
        if *attempts == 2 {
            *taken_over.entry(kind.clone()).or_default() += 1;
            retaken.insert(*id);
        }
    }
    let count = |kind: &str| jobs.iter().filter(|j| j.1 == kind).count();
    assert_eq!(count("sync_integration"), orgs.len());
    assert_eq!(count("process_webhook"), load.webhooks);
    if killed.is_some() {
        assert!(
            retaken.contains(&orgs[0].job),
            "the big backfill was taken over by another attempt"
        );
    }

    // The workers' own account: exactly one recorded success per job, across all of them.
    let mut successes: HashMap<String, usize> = HashMap::new();
    let mut per_worker = Vec::new();
    let mut duplicates_ignored = 0;
    for w in workers {
        let (mut syncs, mut hooks, mut other) = (0, 0, 0);
        for e in w.events("job attempt finished") {
            if e["ok"] == true && e["recorded"] == true {
                *successes
                    .entry(e["job"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
                match e["kind"].as_str() {
                    Some("sync_integration") => syncs += 1,
                    Some("process_webhook") => hooks += 1,
                    _ => other += 1,
                }
            }
        }
        duplicates_ignored += w
            .events("job already ended; duplicate delivery ignored")
            .len()
            + w.events("job is running elsewhere; duplicate delivery ignored")
                .len();
        per_worker.push((w.name.clone(), syncs, hooks, other));
    }
    for (id, kind, _, _, _, finished) in &jobs {
        let logged = successes.get(&id.to_string()).copied().unwrap_or_default();
        // A worker killed between its commit and its log line leaves a success unlogged: only just before
        // the kill.
        let unlogged_at_kill = logged == 0
            && killed.is_some_and(|(_, at, _)| {
                finished.is_some_and(|f| f <= *at && *at - f < chrono::Duration::seconds(1))
            });
        assert!(
            logged == 1 || unlogged_at_kill,
            "{kind} {id}: {logged} recorded successes in the workers' logs, not one"
        );
    }
    assert!(
        successes
            .keys()
            .all(|j| jobs.iter().any(|r| r.0.to_string() == *j)),
        "no success logged for another job"
    );

    // Every page read once, except those the dead worker held, read again first by its successor.
    let mut reads: HashMap<(&str, &str), Vec<Instant>> = HashMap::new();
    for f in fetches {
        reads.entry((&f.token, &f.page)).or_default().push(f.at);
    }
    let again: Vec<(&(&str, &str), &Vec<Instant>)> =
        reads.iter().filter(|(_, at)| at.len() > 1).collect();
    match killed {
        None => assert!(
            again.is_empty(),
            "pages read more than once without a kill: {:?}",
            again.iter().map(|(k, v)| (k, v.len())).collect::<Vec<_>>()
        ),
        Some((_, _, kill)) => {
            let retaken_tokens: HashSet<String> = orgs
                .iter()
                .enumerate()
                .filter(|(_, o)| retaken.contains(&o.job))
                .map(|(i, _)| token(i))
                .collect();
            let mut by_token: HashMap<&str, usize> = HashMap::new();
            for ((t, page), at) in &again {
                assert!(
                    retaken_tokens.contains(*t),
                    "{page} of {t} read {} times, but that backfill was not taken over",
                    at.len()
                );
                assert!(
                    at.len() == 2 && at[0] < *kill && at[1] > *kill,
                    "{page} of {t}: read before the kill and once again after it"
                );
                *by_token.entry(t).or_default() += 1;
            }
            // The pages read again are the successor's first reads of that account.
            for (t, n) in by_token {
                let after: Vec<&Fetch> = fetches
                    .iter()
                    .filter(|f| f.token == t && f.at > *kill)
                    .take(n)
                    .collect();
                for f in after {
                    assert!(
                        reads[&(t, f.page.as_str())].len() == 2,
                        "{t}: the resumed backfill read {} before the pages the dead worker held",
                        f.page
                    );
                }
            }
        }
    }

    // Every dashboard read answered.
    let failed: Vec<&str> = answers
        .iter()
        .filter(|a| a.0 != StatusCode::OK)
        .map(|a| a.2.as_str())
        .collect();
    assert!(failed.is_empty(), "dashboard reads failed: {failed:?}");
    answers.sort_by_key(|a| a.1);
    let pct = |p: f64| {
        answers
            .get(((answers.len() as f64 - 1.0) * p).round() as usize)
            .map(|a| a.1)
            .unwrap_or_default()
    };

    // The figures, from the database's clock.
    let span = |kind: &'static str| {
        sqlx::query_scalar::<_, Option<f64>>(
            "SELECT extract(epoch FROM max(finished_at) - min(created_at))::float8 FROM job_runs WHERE kind = $1",
        )
        .bind(kind)
    };
    let backfill_secs = span("sync_integration")
        .fetch_one(&mut c)
        .await
        .expect("span")
        .unwrap_or_default();
    let webhook_secs = span("process_webhook")
        .fetch_one(&mut c)
        .await
        .expect("span")
        .unwrap_or_default();
    let big_secs: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM finished_at - created_at)::float8 FROM job_runs WHERE id = $1",
    )
    .bind(orgs[0].job)
    .fetch_one(&mut c)
    .await
    .expect("the big backfill");
    let others: Vec<uuid::Uuid> = orgs[1..].iter().map(|o| o.job).collect();
    let others_secs: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM max(finished_at) - min(created_at))::float8 FROM job_runs WHERE id = ANY($1)",
    )
    .bind(&others)
    .fetch_one(&mut c)
    .await
    .expect("the other backfills");
    let takeover = killed.and_then(|(_, at, _)| {
        let job = orgs[0].job.to_string();
        workers
            .iter()
            .flat_map(|w| w.events("sync started"))
            .filter(|e| e["job"].as_str() == Some(job.as_str()) && e["attempt"] == 2)
            .filter_map(|e| {
                chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str()?)
                    .ok()
                    .map(|t| t.with_timezone(&chrono::Utc))
            })
            .next()
            .and_then(|t| (t - *at).to_std().ok())
    });
    Figures {
        apis: load.apis,
        workers: load.workers,
        backfilled: orgs.iter().map(|o| o.history).sum(),
        backfill_secs,
        big_secs,
        others_secs,
        others: orgs[1..].iter().map(|o| o.history).sum(),
        webhooks: load.webhooks,
        webhook_secs,
        reads: answers.len(),
        reads_per_sec: answers.len() as f64 / reading_secs.max(1e-9),
        read_p50: pct(0.5),
        read_p99: pct(0.99),
        pages: reads.len(),
        pages_read_again: again.len(),
        taken_over,
        takeover,
        per_worker,
        duplicates_ignored,
        cpu: Cpu::default(),
    }
}
