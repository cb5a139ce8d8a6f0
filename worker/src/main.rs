//! `insights-worker`: runs every background job and schedule until SIGTERM or Ctrl-C.

use insights_core::config::{self, WorkerConfig};
use insights_core::telemetry;

#[tokio::main]
async fn main() {
    let config = match WorkerConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("insights-worker: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init(config.general.log_format);
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
        std::process::exit(1);
    }
}
