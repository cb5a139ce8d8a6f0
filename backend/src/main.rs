//! `insights-api`: serves the HTTP API and the web app. `insights-api migrate` applies the database
//! migrations and exits; `insights-api rotate-secret-key` re-seals every stored secret under
//! `INSIGHTS_SECRET_KEY` (see docs/configuration.md); `insights-api reset-link <email>` prints a password reset
//! link for that account (for servers that send no email: the administrator hands it over);
//! `insights-api openapi` prints the OpenAPI description (no configuration needed).

use insights_api::App;
use insights_core::config::{self, ApiConfig};
use insights_core::{db, telemetry};
use std::io::Write;

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
    let reporting = telemetry::init(&config.general);
    config::warn_unknown_variables();
    let result = match std::env::args().nth(1).as_deref() {
        Some("migrate") => db::migrate(&config.database.url)
            .await
            .map(|()| tracing::info!("migrations applied")),
        Some("rotate-secret-key") => rotate_secret_key(&config).await,
        Some("reset-link") => reset_link(&config).await,
        None | Some("serve") => match App::build(config).await {
            Ok(app) => app.run().await,
            Err(e) => Err(e),
        },
        Some(other) => {
            eprintln!(
                "insights-api: unknown command {other:?}; use `insights-api` (serve), `insights-api migrate`, `insights-api rotate-secret-key`, `insights-api reset-link <email>` or `insights-api openapi`"
            );
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        tracing::error!(error = ?e, "insights-api failed");
        eprintln!("insights-api: {e:#}");
        // `exit` runs no destructor: the error above is flushed first.
        drop(reporting);
        std::process::exit(1);
    }
}

/// Re-seals every stored secret under the current key; the previous keys open what they sealed.
async fn rotate_secret_key(config: &ApiConfig) -> anyhow::Result<()> {
    let db = db::Db::connect_lazy(&config.database.url, &config.database.role, 2)?;
    let done = insights_core::secrets::rotate(&db, &config.general.secrets()).await?;
    db.pool().close().await;
    tracing::info!(
        organizations = done.organizations,
        resealed = done.resealed,
        already_current = done.current,
        "stored secrets sealed under the current INSIGHTS_SECRET_KEY"
    );
    // The operator's answer, whatever the log format.
    writeln!(
        std::io::stdout().lock(),
        "rotate-secret-key: {} secret(s) re-sealed, {} already under the current key, in {} organization(s); \
         INSIGHTS_SECRET_KEY_PREVIOUS can now be removed",
        done.resealed,
        done.current,
        done.organizations
    )?;
    Ok(())
}

/// `insights-api reset-link <email>`: prints the link on stdout (nothing else), so it can be piped.
async fn reset_link(config: &ApiConfig) -> anyhow::Result<()> {
    use anyhow::Context;
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
