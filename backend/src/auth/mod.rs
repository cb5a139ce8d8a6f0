//! Authentication: password hashing, access tokens (JWT), refresh tokens and their cookie, rate limits.

pub mod password;
pub mod rate_limit;
pub mod tokens;
