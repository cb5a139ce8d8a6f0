//! Secrets at rest: AES-256-GCM with `INSIGHTS_SECRET_KEY`, a random nonce per message, bound to where the
//! value is stored. Also the token helpers: random URL-safe tokens and their SHA-256 digests, which is what
//! the database keeps.
//!
//! A sealed value is `1 || key id (4 bytes) || nonce (12) || ciphertext and tag`. The key id is a
//! fingerprint of the key that sealed it, so a value names the key that opens it: the current key or one of
//! the previous keys kept for a rotation (`INSIGHTS_SECRET_KEY_PREVIOUS`). The associated data is that
//! header plus the value's place, `table.column/row id` ([`SealedAt`]): a value copied to another row or
//! column does not open. Values sealed before places were bound (`nonce || ciphertext`, no header) still open
//! with any configured key; `insights-api rotate-secret-key` rewrites them, and every value under a previous
//! key, in the current format.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt::Display;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The format byte of values bound to their place.
const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const HEADER_LEN: usize = 1 + KEY_ID_LEN;

#[derive(Debug, thiserror::Error)]
#[error(
    "stored secret cannot be decrypted (no configured key opens it — INSIGHTS_SECRET_KEY, \
     INSIGHTS_SECRET_KEY_PREVIOUS — or it was moved from another row, or it is corrupted)"
)]
pub struct DecryptError;

/// A column that holds sealed secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretColumn {
    pub table: &'static str,
    pub column: &'static str,
}

/// The columns that hold sealed secrets (what `rotate-secret-key` rewrites).
pub mod columns {
    use super::SecretColumn;

    pub const INTEGRATION_CREDENTIALS: SecretColumn = SecretColumn {
        table: "integrations",
        column: "credentials",
    };
    pub const INTEGRATION_WEBHOOK_SECRET: SecretColumn = SecretColumn {
        table: "integrations",
        column: "webhook_secret",
    };
    pub const INVITATION_TOKEN: SecretColumn = SecretColumn {
        table: "invitations",
        column: "token_ciphertext",
    };
    /// An AWS connection's access key pair (mode `keys`).
    pub const AWS_CONNECTION_CREDENTIALS: SecretColumn = SecretColumn {
        table: "aws_connections",
        column: "credentials",
    };
    /// An automation's secrets (a Slack or webhook URL, a webhook signing secret).
    pub const AUTOMATION_SECRETS: SecretColumn = SecretColumn {
        table: "automations",
        column: "secrets",
    };
    /// Kept only until the email is out and never beyond the link's lifetime (at most hours), so
    /// `rotate-secret-key` leaves it: a previous key still opens it until it is gone.
    pub const ACCOUNT_TOKEN: SecretColumn = SecretColumn {
        table: "account_tokens",
        column: "token_ciphertext",
    };
}

impl SecretColumn {
    /// The place of the value of row `id` in this column.
    #[must_use]
    pub fn row(self, id: impl Display) -> SealedAt {
        SealedAt(format!("{}.{}/{id}", self.table, self.column))
    }
}

/// Where a sealed value is stored, bound into its ciphertext as associated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedAt(String);

/// One key and its id.
#[derive(Clone)]
struct Key {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
}

impl Key {
    fn new(key: &[u8; 32]) -> Self {
        Key {
            id: key_id(key),
            cipher: Aes256Gcm::new(key.into()),
        }
    }
}

/// The id a key's values carry: the first bytes of a SHA-256 of the key (nothing about the key can be
/// learnt from it).
#[must_use]
pub fn key_id(key: &[u8; 32]) -> [u8; KEY_ID_LEN] {
    let digest = Sha256::new()
        .chain_update(b"incident-insights secret key id\0")
        .chain_update(key)
        .finalize();
    let mut id = [0; KEY_ID_LEN];
    id.copy_from_slice(&digest[..KEY_ID_LEN]);
    id
}

/// Seals with the current key and opens with whichever configured key a value names.
#[derive(Clone)]
pub struct SecretBox {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<keys>)")
    }
}

impl SecretBox {
    /// One key.
    #[must_use]
    pub fn new(key: &[u8; 32]) -> Self {
        Self::with_previous(key, &[])
    }

    /// The current key, which seals, and previous keys that still open what they sealed.
    #[must_use]
    pub fn with_previous(current: &[u8; 32], previous: &[[u8; 32]]) -> Self {
        Self {
            current: Key::new(current),
            previous: previous.iter().map(Key::new).collect(),
        }
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// Seals `plaintext` for its place `at` with the current key.
    #[must_use]
    pub fn seal(&self, at: &SealedAt, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&self.current.id);
        let aad = associated_data(&out, at);
        let ct = self
            .current
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of a small message cannot fail");
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a value sealed for the place `at` (or a legacy value, which is bound to no place).
    pub fn open(&self, at: &SealedAt, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if let Some(plain) = self.open_bound(at, sealed) {
            return Ok(plain);
        }
        self.keys()
            .find_map(|k| decrypt(&k.cipher, sealed, b""))
            .ok_or(DecryptError)
    }

    fn open_bound(&self, at: &SealedAt, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
            return None;
        }
        let (header, rest) = sealed.split_at(HEADER_LEN);
        let key = self.keys().find(|k| k.id == header[1..])?;
        decrypt(&key.cipher, rest, &associated_data(header, at))
    }

    /// Whether `sealed` is already in the current format under the current key (nothing to rotate).
    #[must_use]
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.len() >= HEADER_LEN
            && sealed[0] == VERSION
            && sealed[1..HEADER_LEN] == self.current.id
    }

    /// The value sealed again under the current key for its place, or `None` when it already is.
    pub fn reseal(&self, at: &SealedAt, sealed: &[u8]) -> Result<Option<Vec<u8>>, DecryptError> {
        if self.is_current(sealed) && self.open_bound(at, sealed).is_some() {
            return Ok(None);
        }
        let plain = self.open(at, sealed)?;
        Ok(Some(self.seal(at, &plain)))
    }
}

/// The header and the place: both are authenticated with the value.
fn associated_data(header: &[u8], at: &SealedAt) -> Vec<u8> {
    [header, at.0.as_bytes()].concat()
}

/// `nonce || ciphertext` opened with `aad`.
fn decrypt(cipher: &Aes256Gcm, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
        .ok()
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
    use super::columns::{INTEGRATION_CREDENTIALS, INTEGRATION_WEBHOOK_SECRET};
    use super::*;

    fn at(row: u32) -> SealedAt {
        INTEGRATION_CREDENTIALS.row(row)
    }

    /// The format before values were bound to their place.
    fn legacy_seal(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
        let nonce = [3u8; NONCE_LEN];
        let ct = Aes256Gcm::new(key.into())
            .encrypt(&Nonce::from(nonce), plaintext)
            .unwrap();
        [&nonce[..], &ct].concat()
    }

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let a = SecretBox::new(&[1; 32]);
        let b = SecretBox::new(&[2; 32]);
        let sealed = a.seal(&at(1), b"pd-token-123");
        assert!(!sealed.windows(12).any(|w| w == b"pd-token-123"));
        assert_eq!(sealed[0], VERSION);
        assert_eq!(sealed[1..5], key_id(&[1; 32]));
        assert_eq!(a.open(&at(1), &sealed).unwrap(), b"pd-token-123");
        assert!(b.open(&at(1), &sealed).is_err());
        assert!(a.open(&at(1), &sealed[..5]).is_err());
        assert!(a.open(&at(1), &[]).is_err());
    }

    #[test]
    fn a_value_moved_to_another_row_or_column_does_not_open() {
        let a = SecretBox::new(&[1; 32]);
        let sealed = a.seal(&at(1), b"secret of row 1");
        assert!(a.open(&at(2), &sealed).is_err());
        assert!(a.open(&INTEGRATION_WEBHOOK_SECRET.row(1), &sealed).is_err());
        // Nor with its header rewritten to look like a legacy value.
        assert!(a.open(&at(2), &sealed[HEADER_LEN..]).is_err());
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let a = SecretBox::new(&[1; 32]);
        assert_ne!(a.seal(&at(1), b"x"), a.seal(&at(1), b"x"));
    }

    #[test]
    fn previous_keys_open_what_they_sealed_and_resealing_moves_it_to_the_current_key() {
        let old = SecretBox::new(&[1; 32]);
        let sealed = old.seal(&at(1), b"s");
        let rotated = SecretBox::with_previous(&[2; 32], &[[1; 32]]);
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open(&at(1), &sealed).unwrap(), b"s");
        let resealed = rotated.reseal(&at(1), &sealed).unwrap().unwrap();
        assert!(rotated.is_current(&resealed));
        assert_eq!(rotated.reseal(&at(1), &resealed).unwrap(), None);
        // Once the old key is gone, the resealed value still opens, the old one no longer.
        let new_only = SecretBox::new(&[2; 32]);
        assert_eq!(new_only.open(&at(1), &resealed).unwrap(), b"s");
        assert!(new_only.open(&at(1), &sealed).is_err());
        assert!(new_only.reseal(&at(1), &sealed).is_err());
    }

    #[test]
    fn legacy_values_still_open_and_are_resealed_bound() {
        let legacy = legacy_seal(&[1; 32], b"old");
        let a = SecretBox::new(&[1; 32]);
        assert_eq!(a.open(&at(1), &legacy).unwrap(), b"old");
        let rotated = SecretBox::with_previous(&[2; 32], &[[1; 32]]);
        assert_eq!(rotated.open(&at(1), &legacy).unwrap(), b"old");
        let resealed = a.reseal(&at(1), &legacy).unwrap().unwrap();
        assert!(a.is_current(&resealed));
        assert!(a.open(&at(2), &resealed).is_err());
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
