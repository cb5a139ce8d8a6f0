//! `insights-api`: serves the HTTP API and the web app. `insights-api migrate` applies the database
//! migrations and exits; `insights-api openapi` prints the OpenAPI description (no configuration needed);
//! `insights-api reset-link <email>` prints a password reset link for that account (for servers that send no
//! email: the administrator hands it over).

use insights_api::App;
use insights_core::config::{self, ApiConfig};
use insights_core::{db, telemetry};

#[tokio::main]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("openapi") {
        let (_, doc) = insights_api::app::api_parts();
        let mut out = std::io::stdout().lock();
        if let Err(e) = serde_json::to_writer_pretty(&mut out, &doc)
            .map_err(std::io::Error::from)
            .and_then(|()| std::io::Write::write_all(&mut out, b"\n"))
        {
            eprintln!("insights-api: {e}");
            std::process::exit(1);
        }
        return;
    }
    let config = match ApiConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("insights-api: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init(config.general.log_format);
    config::warn_unknown_variables();
    let result = match std::env::args().nth(1).as_deref() {
        Some("migrate") => db::migrate(&config.database.url)
            .await
            .map(|()| tracing::info!("migrations applied")),
        Some("reset-link") => reset_link(&config).await,
        None | Some("serve") => match App::build(config).await {
            Ok(app) => app.run().await,
            Err(e) => Err(e),
        },
        Some(other) => {
            eprintln!(
                "insights-api: unknown command {other:?}; use `insights-api` (serve), `insights-api migrate`, `insights-api reset-link <email>` or `insights-api openapi`"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        tracing::error!(error = ?e, "insights-api failed");
        eprintln!("insights-api: {e:#}");
        std::process::exit(1);
    }
}

/// `insights-api reset-link <email>`: prints the link on stdout (nothing else), so it can be piped.
async fn reset_link(config: &ApiConfig) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let email = std::env::args()
        .nth(2)
        .context("usage: insights-api reset-link <email>")?;
    let db = db::Db::connect_lazy(&config.database.url, &config.database.role, 1)?;
    let link = insights_core::accounts::reset_link(
        &db,
        &config.server.public_url,
        &email,
        config.auth.password_reset_ttl,
    )
    .await?;
    writeln!(std::io::stdout().lock(), "{link}")?;
    Ok(())
}
