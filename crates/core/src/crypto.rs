//! Secrets at rest: AES-256-GCM with `INSIGHTS_SECRET_KEY`, a random nonce per message, stored as
//! `nonce || ciphertext`. Also the token helpers: random URL-safe tokens and their SHA-256 digests, which is
//! what the database keeps.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
#[error("stored secret cannot be decrypted (wrong INSIGHTS_SECRET_KEY or corrupted data)")]
pub struct DecryptError;

/// Encrypts and decrypts small secrets with one key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

impl SecretBox {
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    #[must_use]
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext)
            .expect("AES-GCM encryption of a small message cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError)?;
        self.cipher
            .decrypt(&Nonce::from(nonce), ct)
            .map_err(|_| DecryptError)
    }
}

/// A new random token: 32 bytes, URL-safe base64 without padding (43 characters).
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 digest stored in place of a token.
#[must_use]
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let a = SecretBox::new(&[1; 32]);
        let b = SecretBox::new(&[2; 32]);
        let sealed = a.seal(b"pd-token-123");
        assert_ne!(&sealed[NONCE_LEN..], b"pd-token-123");
        assert_eq!(a.open(&sealed).unwrap(), b"pd-token-123");
        assert!(b.open(&sealed).is_err());
        assert!(a.open(&sealed[..5]).is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let a = SecretBox::new(&[1; 32]);
        assert_ne!(a.seal(b"x"), a.seal(b"x"));
    }

    #[test]
    fn tokens_are_random_and_hash_deterministically() {
        let t = random_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_token());
        assert_eq!(token_hash(&t), token_hash(&t));
        assert_eq!(token_hash(&t).len(), 32);
    }
}
