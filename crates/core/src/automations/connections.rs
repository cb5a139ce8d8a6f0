//! AWS connections, API side: create one with a generated external id, seal and open an access key pair
//! (mode `keys`), change one (it must then be verified again), delete one (refused while an automation uses
//! it), list them, and ask for a verification (recorded, then the `verify_aws_connection` job).

use crate::crypto::SecretBox;
use crate::crypto::columns::AWS_CONNECTION_CREDENTIALS;
use insights_types::AwsConnectionId;
use insights_types::api::AwsKeysIn;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// An opened access key pair.
#[derive(Debug, Clone)]
pub struct AwsKeys {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
}

impl From<AwsKeysIn> for AwsKeys {
    fn from(k: AwsKeysIn) -> Self {
        AwsKeys {
            access_key_id: k.access_key_id,
            secret_access_key: k.secret_access_key.into(),
        }
    }
}

/// The JSON sealed in `aws_connections.credentials`.
#[derive(Serialize, Deserialize)]
struct StoredKeys {
    access_key_id: String,
    secret_access_key: String,
}

/// Seals a key pair for the connection's row (bound to it: moved to another row, it does not open).
#[must_use]
pub fn seal_keys(secrets: &SecretBox, connection: AwsConnectionId, keys: &AwsKeys) -> Vec<u8> {
    let json = serde_json::to_vec(&StoredKeys {
        access_key_id: keys.access_key_id.clone(),
        secret_access_key: keys.secret_access_key.expose_secret().to_owned(),
    })
    .expect("keys serialize");
    secrets.seal(&AWS_CONNECTION_CREDENTIALS.row(connection), &json)
}

/// Opens a connection's stored key pair.
pub fn open_keys(
    secrets: &SecretBox,
    connection: AwsConnectionId,
    sealed: &[u8],
) -> anyhow::Result<AwsKeys> {
    let plain = secrets.open(&AWS_CONNECTION_CREDENTIALS.row(connection), sealed)?;
    let stored: StoredKeys = serde_json::from_slice(&plain)?;
    Ok(AwsKeys {
        access_key_id: stored.access_key_id,
        secret_access_key: stored.secret_access_key.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn sealed_keys_open_only_in_their_own_row() {
        let secret_box = SecretBox::new(&[3; 32]);
        let id = AwsConnectionId(Uuid::new_v4());
        let keys = AwsKeys {
            access_key_id: "AKIAEXAMPLE12345".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG".to_owned().into(),
        };
        let sealed = seal_keys(&secret_box, id, &keys);
        assert!(!String::from_utf8_lossy(&sealed).contains("wJalrXUtnFEMI"));
        let opened = open_keys(&secret_box, id, &sealed).unwrap();
        assert_eq!(opened.access_key_id, "AKIAEXAMPLE12345");
        assert_eq!(
            opened.secret_access_key.expose_secret(),
            "wJalrXUtnFEMI/K7MDENG"
        );
        assert!(open_keys(&secret_box, AwsConnectionId(Uuid::new_v4()), &sealed).is_err());
    }
}
