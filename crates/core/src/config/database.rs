//! The database section: PostgreSQL.

use super::ConfigError;
use super::env::{Env, check_scheme};
use super::vars;
use secrecy::SecretString;

/// Read by both binaries.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: SecretString,
    /// The role the application switches to after connecting (`SET ROLE`): not the owner of the tables, so
    /// row-level security applies to it.
    pub role: String,
    /// Pool size per process (of each pool: the primary's and the read replica's).
    pub max_connections: u32,
    /// A streaming replica of the primary, for the reads that tolerate replication lag (`db::Db::org_read_tx`);
    /// `None`: those reads use the primary.
    pub read_url: Option<SecretString>,
}

impl DatabaseConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(DatabaseConfig {
            url: env
                .required_url(vars::DATABASE_URL, &["postgres", "postgresql"])?
                .into(),
            role: env.word(
                vars::DATABASE_ROLE,
                "insights_app",
                |c| c.is_ascii_alphanumeric() || c == '_',
                "letters, digits and '_'",
            )?,
            max_connections: env.positive(vars::DATABASE_MAX_CONNECTIONS, 20)?,
            read_url: match env.value(vars::DATABASE_READ_URL)? {
                Some(url) => {
                    check_scheme(vars::DATABASE_READ_URL, &url, &["postgres", "postgresql"])?;
                    Some(url.into())
                }
                None => None,
            },
        })
    }
}
