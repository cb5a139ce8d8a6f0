//! The product's binaries as processes of their own — `insights-api` and `insights-worker` started with an
//! environment from [`test_env`](crate::test_env), their JSON logs kept in a file, stopped with SIGTERM or
//! killed with SIGKILL — for tests and benches that prove what separate processes share (PostgreSQL and Redis,
//! nothing else) and what survives one of them dying. Every process is killed when its value is dropped,
//! also when the test panics.

use reqwest::StatusCode;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary `name` of this workspace, built in the same profile as `beside` (a binary of the caller's
/// package, `env!("CARGO_BIN_EXE_…")`): cargo only builds a test's own package's binaries, so another
/// package's is found next to it — where `cargo test --workspace` (and `cargo bench` with that package
/// selected too) has just built it — and built with `cargo build` when it is not there. (A test run alone,
/// `cargo test -p insights-worker`, uses whatever build of it is there: rebuild it after changing the API.)
#[must_use]
pub fn sibling_binary(beside: &str, package: &str, name: &str) -> PathBuf {
    let path = Path::new(beside).with_file_name(name);
    if !path.exists() {
        let release = Path::new(beside)
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", package, "--bin", name]);
        if release {
            build.arg("--release");
        }
        eprintln!("{} is not built: building it ({build:?})", path.display());
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "cannot build {name}");
    }
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// CPU time (user + system) of the process whose `/proc/<pid>/stat` is `stat_path` (`/proc/self/stat`: this
/// one), in seconds; `None` off Linux or once it is gone.
#[must_use]
pub fn process_cpu_seconds(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // After "pid (comm)": state is field 3, utime 14 and stime 15 (proc(5)), in USER_HZ (100) ticks.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// The machine's CPU time so far, all cores: (busy, total) seconds from `/proc/stat` (busy is everything but
/// idle and iowait); `None` off Linux.
#[must_use]
pub fn machine_cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some(((total - idle) / 100.0, total / 100.0))
}

/// A free TCP port on loopback (free when this returns: another process could take it, rarely).
#[must_use]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running binary whose standard output and error go to `log` (JSON lines with `INSIGHTS_LOG_FORMAT=json`).
pub struct Process {
    pub name: String,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Process {
    /// Starts `program` with exactly `vars` (plus `args`), logging into `<log_dir>/<name>.log`.
    pub fn spawn(
        program: &Path,
        args: &[&str],
        name: &str,
        vars: &HashMap<String, String>,
        log_dir: &Path,
    ) -> Process {
        std::fs::create_dir_all(log_dir).expect("log directory");
        let log = log_dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(program)
            .args(args)
            .env_clear()
            .envs(vars)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", program.display()));
        Process {
            name: name.to_owned(),
            log,
            child: Some(child),
        }
    }

    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// CPU time (user + system) it has used so far, while it runs.
    #[must_use]
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.pid()
            .and_then(|pid| process_cpu_seconds(&format!("/proc/{pid}/stat")))
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL: no graceful shutdown, the process just dies (as when its node or container is lost).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits up to `grace` for the process to stop (SIGKILL after that); returns whether it
    /// stopped by itself with success.
    pub fn terminate(&mut self, grace: Duration) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    /// Its log so far, one line each.
    #[must_use]
    pub fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Its JSON log events whose message is `message` (fields flattened, as `INSIGHTS_LOG_FORMAT=json` writes
    /// them).
    #[must_use]
    pub fn events(&self, message: &str) -> Vec<serde_json::Value> {
        self.log_lines()
            .iter()
            .filter(|l| l.contains(message))
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["message"] == message)
            .collect()
    }

    /// The last lines of its log, for a failure message.
    #[must_use]
    pub fn tail(&self, n: usize) -> String {
        let lines = self.log_lines();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An `insights-api` process listening on free loopback ports.
pub struct ApiProcess {
    pub process: Process,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `http://127.0.0.1:<port>` of its internal metrics listener.
    pub metrics: String,
}

impl ApiProcess {
    /// Starts `binary` with `vars` on free ports and waits (up to a minute) until `/health/ready` answers 200.
    pub async fn start(
        binary: &Path,
        name: &str,
        vars: &HashMap<String, String>,
        log_dir: &Path,
    ) -> ApiProcess {
        let (port, metrics_port) = (free_port(), free_port());
        let mut vars = vars.clone();
        vars.insert("INSIGHTS_BIND".into(), format!("127.0.0.1:{port}"));
        vars.insert(
            "INSIGHTS_METRICS_ADDR".into(),
            format!("127.0.0.1:{metrics_port}"),
        );
        let mut process = Process::spawn(binary, &[], name, &vars, log_dir);
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client
                .get(format!("{base}/health/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ready {
                break;
            }
            assert!(
                process.running() && Instant::now() < deadline,
                "{name} did not become ready:\n{}",
                process.tail(20)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ApiProcess {
            process,
            base,
            metrics: format!("http://127.0.0.1:{metrics_port}"),
        }
    }
}
