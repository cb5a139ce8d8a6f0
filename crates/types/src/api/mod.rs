//! Request and response bodies of the HTTP API (`…In` is what a client sends, `…Out` what it gets back,
//! `…Patch` a partial update). Request bodies refuse unknown fields so that a typo is an error, not a no-op.

use serde::{Deserialize, Serialize};

mod accounts;
mod analytics;
mod automations;
mod incidents;
mod integrations;
mod invitations;
mod jobs;
mod orgs;
mod patterns;
mod runbooks;

pub use accounts::*;
pub use analytics::*;
pub use automations::*;
pub use incidents::*;
pub use integrations::*;
pub use invitations::*;
pub use jobs::*;
pub use orgs::*;
pub use patterns::*;
pub use runbooks::*;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// One page of a list: `next_cursor` is present when there is more; pass it back as `?cursor=`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
