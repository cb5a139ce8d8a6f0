//! PostgreSQL and Redis servers of a test's own, for tests that restart or flush them (the shared test
//! services must never be disturbed: other tests run on them at the same time). Each runs on a free loopback
//! port with its files in a temporary directory, is started and stopped the way `scripts/dev` does it
//! (`scripts/lib/common.sh`), and is stopped and removed when dropped, also when the test panics.

use crate::processes::free_port;
use std::path::PathBuf;
use std::process::Command;

/// Runs `script` in bash with `scripts/lib/common.sh` loaded; panics (with its output) if it fails.
fn common_sh(script: &str) {
    let lib = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/lib/common.sh");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -e; source '{lib}'; {script}"))
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "`{script}` failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// [`common_sh`] for clean-up: failures are ignored (it runs in `drop`, maybe while a test panics).
fn common_sh_quietly(script: &str) {
    let lib = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/lib/common.sh");
    let _ = Command::new("bash")
        .arg("-c")
        .arg(format!("source '{lib}'; {script}"))
        .output();
}

fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "insights-own-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// A Redis server of the test's own.
pub struct OwnRedis {
    dir: PathBuf,
    /// `redis://127.0.0.1:<port>`.
    pub url: String,
}

impl OwnRedis {
    #[must_use]
    pub fn start() -> OwnRedis {
        let (dir, port) = (scratch_dir("redis"), free_port());
        common_sh(&format!("start_redis '{}' {port}", dir.display()));
        OwnRedis {
            dir,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }

    /// Deletes every key of every database, as an outage that loses Redis's data would.
    pub async fn flush_all(&self) {
        let client = redis::Client::open(self.url.as_str()).expect("Redis URL");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect to the test's Redis");
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut conn)
            .await
            .expect("FLUSHALL");
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        // Waits for the server to exit: it writes its log until then, which would keep the directory.
        common_sh_quietly(&format!(
            "pid=$(cat '{0}/redis/redis.pid'); stop_redis '{0}'; \
             for _ in $(seq 100); do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.05; done",
            self.dir.display()
        ));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL cluster of the test's own, with the database `insights` migrated.
pub struct OwnPostgres {
    dir: PathBuf,
    port: u16,
    /// The `insights` database, as the cluster's owner.
    pub url: String,
}

impl OwnPostgres {
    pub async fn start() -> OwnPostgres {
        let port = free_port();
        let pg = OwnPostgres {
            dir: scratch_dir("pg"),
            port,
            url: format!("postgres://postgres@127.0.0.1:{port}/insights"),
        };
        pg.start_server();
        let pool = sqlx::PgPool::connect(&pg.url)
            .await
            .expect("connect to the test's PostgreSQL");
        insights_core::db::MIGRATOR
            .run(&pool)
            .await
            .expect("migrate the test's PostgreSQL");
        pool.close().await;
        pg
    }

    fn start_server(&self) {
        common_sh(&format!(
            "start_postgres '{}' {} '-c fsync=off -c synchronous_commit=off'",
            self.dir.display(),
            self.port
        ));
    }

    /// Stops the server (`pg_ctl stop -m fast`: every connection is cut) and starts it again.
    pub fn restart(&self) {
        common_sh(&format!("stop_postgres '{}'", self.dir.display()));
        self.start_server();
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        common_sh_quietly(&format!("stop_postgres '{}'", self.dir.display()));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
