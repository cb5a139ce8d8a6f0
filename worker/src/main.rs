//! `insights-worker`: runs every background job and schedule until SIGTERM or Ctrl-C.
//!
//! `insights-worker cluster` is the offline command: JSON lines of incident titles on stdin, their recurring
//! patterns on stdout (see `insights_patterns::run`), with the product's engine and defaults; it needs no
//! configuration, database or network.

use insights_core::config::{self, WorkerConfig};
use insights_core::telemetry;

fn main() {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => serve(),
        (Some("cluster"), None) => std::process::exit(cluster()),
        (Some("-h" | "--help" | "help"), None) => {
            // The usage is the answer asked for: standard output, like any command's help.
            #[allow(clippy::print_stdout)]
            {
                println!("{USAGE}");
            }
        }
        _ => {
            eprintln!("insights-worker: unknown arguments\n{USAGE}");
            std::process::exit(2);
        }
    }
}

const USAGE: &str =
    "usage: insights-worker            run the jobs and schedules (configured by the environment)
       insights-worker cluster    read JSON lines {\"id\", \"title\", \"service\"?} on stdin, write
                                  {\"id\", \"cluster\", \"template\"} per line on stdout";

/// `insights-worker cluster`: exit code 0 when every input was read and every answer written — bad lines
/// are named on stderr and skipped, not a failure of the run —, 1 when reading or writing failed.
fn cluster() -> i32 {
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match insights_patterns::run(stdin, stdout, std::io::stderr().lock()) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("insights-worker cluster: {e}");
            1
        }
    }
}

#[tokio::main]
async fn serve() {
    let config = match WorkerConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("insights-worker: {e}");
            std::process::exit(2);
        }
    };
    let reporting = telemetry::init(&config.general);
    config::warn_unknown_variables();
    let result = match insights_worker::Worker::build(config).await {
        Ok(worker) => {
            worker
                .run_until(insights_core::telemetry::shutdown_signal())
                .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::error!(error = ?e, "insights-worker failed");
        eprintln!("insights-worker: {e:#}");
        // `exit` runs no destructor: the error above is flushed first.
        drop(reporting);
        std::process::exit(1);
    }
}
