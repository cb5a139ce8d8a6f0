//! Opsgenie connector (interface only; being written).

pub mod webhook;

use super::connector::{Progress, Step};
use super::http::{SourceError, SourceHttp};
use chrono::{DateTime, Utc};
use insights_types::api::OpsgenieOptions;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

/// A position in a walk (saved after every step).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub until: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Opsgenie {
    http: SourceHttp,
    #[allow(dead_code)]
    base: Url,
    #[allow(dead_code)]
    token: SecretString,
    #[allow(dead_code)]
    options: OpsgenieOptions,
}

impl Opsgenie {
    #[must_use]
    pub fn new(http: SourceHttp, base: Url, token: SecretString, options: OpsgenieOptions) -> Self {
        Self {
            http,
            base,
            token,
            options,
        }
    }

    pub async fn verify(&self) -> Result<(), SourceError> {
        Err(SourceError::Rejected {
            source_name: "Opsgenie",
            status: 0,
            detail: "not built yet".into(),
        })
    }

    #[must_use]
    pub fn backfill(&self, until: DateTime<Utc>) -> Cursor {
        Cursor { until }
    }

    #[must_use]
    pub fn changes(&self, _since: DateTime<Utc>, until: DateTime<Utc>) -> Cursor {
        Cursor { until }
    }

    pub async fn step(&self, _cursor: &Cursor) -> Result<Step<Cursor>, SourceError> {
        Ok(Step::default())
    }

    #[must_use]
    pub fn progress(_cursor: &Cursor) -> Progress {
        Progress {
            phase: "incidents",
            fraction: 0.0,
        }
    }

    #[must_use]
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }
}
