//! Password hashing with argon2id at OWASP's recommended parameters (m = 19 MiB, t = 2, p = 1), computed on
//! the blocking pool and bounded by a semaphore, so a flood of logins neither stalls the async runtime nor
//! exhausts memory.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// Hashes and verifies passwords off the async runtime.
#[derive(Clone, Debug)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    /// At most `concurrency` hashes at once (each needs 19 MiB and one core for ~20–40 ms).
    #[must_use]
    pub fn new(concurrency: usize) -> Self {
        // Made now, not by the first login for an unknown address (which would take twice as long).
        dummy_hash();
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            argon2()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hash failed: {e}"))
        })
        .await?
    }

    /// Whether `password` matches the stored PHC string. With `stored = None` (unknown account) it verifies
    /// against a dummy hash anyway, so both cases take the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let known = stored.is_some();
            let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
            let parsed = PasswordHash::new(&stored)
                .map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
            let ok = argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(ok && known)
        })
        .await?
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        argon2()
            .hash_password(b"not a real password, only for timing")
            .expect("argon2 hash")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = PasswordHasher::new(2);
        let stored = h.hash("correct horse battery".into()).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(
            h.verify("correct horse battery".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("wrong horse battery".into(), Some(stored))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let h = PasswordHasher::new(1);
        assert!(
            !h.verify("not a real password, only for timing".into(), None)
                .await
                .unwrap()
        );
    }
}
