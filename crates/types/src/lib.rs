//! Types shared by the backend and the web app. Everything here compiles to WASM: typed ids, the request and
//! response bodies of the API (DTOs), the domain values that parse user input, the error body, and the table
//! of what each organization role may do.

pub mod api;
pub mod domain;
pub mod error;
pub mod ids;
pub mod roles;

pub use error::{ErrorBody, ErrorDetail, FieldError};
pub use ids::*;
pub use roles::{Permission, Role};
