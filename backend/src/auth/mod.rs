//! Authentication: password hashing, access tokens (JWT), refresh tokens and their cookie, device cookies,
//! session checks, rate limits.

pub mod password;
pub mod rate_limit;
pub mod sessions;
pub mod tokens;
