//! The AWS client of automations (issue 13): credentials in the organization's account (STS AssumeRole with
//! the external id, or a sealed access key pair), the verification of a connection, and Lambda Invoke with
//! its outcomes classified. Used by the worker only, so the API never compiles the AWS SDK.
//!
//! - [`AwsClients`] holds the product's own AWS configuration (the standard credential chain, or explicit
//!   endpoints and static credentials in tests) and a cache of assumed-role credentials per connection.
//! - [`Connection`] is what the worker loaded from `aws_connections` (the keys already opened).
//! - [`AwsClients::invoke`] sends one Lambda `Invoke` with the SDK's own retries off (the run decides retries,
//!   so the attempts recorded are the attempts made) and the automation's time limit, and classifies what
//!   came back: [`InvokeOutcome`] or an [`InvokeError`].
//! - [`verify`] assumes the role (or checks the keys), then looks up each allow-listed function, and explains
//!   each failure in a sentence a person can act on.

mod clients;
mod invoke;
mod verify;

pub use clients::{
    AwsClients, AwsEndpoints, Connection, ConnectionAuth, CredentialsError, session_name,
};
pub use invoke::{
    CLIENT_CONTEXT_MAX_BYTES, ClientContext, Invocation, InvokeError, InvokeOutcome, InvokeRequest,
    LOG_TAIL_MAX_CHARS,
};
pub use verify::{AwsCheck, verify};
