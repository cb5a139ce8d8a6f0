//! The product's AWS configuration and the credentials of a connection.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Assumed-role credentials are used until this long before they expire, then assumed again.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// How the product gets credentials in the organization's account.
#[derive(Clone)]
pub enum ConnectionAuth {
    /// STS AssumeRole into `role_arn` with `external_id` (the product's own credentials sign the call).
    Role {
        role_arn: String,
        external_id: String,
    },
    /// An access key pair (self-hosters), already opened from its sealed form.
    Keys {
        access_key_id: String,
        secret_access_key: SecretString,
    },
}

impl std::fmt::Debug for ConnectionAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionAuth::Role {
                role_arn,
                external_id,
            } => f
                .debug_struct("Role")
                .field("role_arn", role_arn)
                .field("external_id", external_id)
                .finish(),
            ConnectionAuth::Keys { access_key_id, .. } => f
                .debug_struct("Keys")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"[redacted]")
                .finish(),
        }
    }
}

/// An AWS connection of an organization, as the worker loaded it.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The region of the functions (and of the STS endpoint used), e.g. `eu-west-1`.
    pub region: String,
    pub auth: ConnectionAuth,
}

/// Explicit endpoints and credentials (tests: moto, the fake Lambda), instead of the standard chain's.
#[derive(Clone, Debug, Default)]
pub struct AwsEndpoints {
    /// STS endpoint, e.g. `http://127.0.0.1:5000`.
    pub sts: Option<String>,
    /// Lambda endpoint.
    pub lambda: Option<String>,
    /// The product's own credentials (access key id, secret); `None`: the standard chain.
    pub static_credentials: Option<(String, String)>,
}

/// Why no credentials could be had for a connection.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CredentialsError {
    /// STS refused AssumeRole (`AccessDenied`): the role does not trust the product's principal or the
    /// external id differs.
    #[error(
        "AWS refused to let the product assume the role {role_arn}: the role does not trust the product's \
         principal{principal} or the external id in its trust policy differs from {external_id} ({detail})"
    )]
    Denied {
        role_arn: String,
        external_id: String,
        principal: String,
        detail: String,
    },
    /// The product's own credentials are missing or invalid (a problem of ours, not of the organization).
    #[error("the product's own AWS credentials are missing or invalid: {0}")]
    OwnCredentials(String),
    /// The connection's access keys were refused.
    #[error(
        "AWS refused the access key {access_key_hint}: it is unknown, inactive or its secret is wrong ({detail})"
    )]
    BadKeys {
        access_key_hint: String,
        detail: String,
    },
    /// Any other STS failure (service error, network, time limit).
    #[error("could not get credentials from AWS STS: {0}")]
    Other(String),
}

struct Cached {
    credentials: Credentials,
    expires: SystemTime,
}

/// The product's AWS configuration plus a cache of assumed-role credentials (one per role and external id),
/// shared by the worker's jobs.
pub struct AwsClients {
    base: SdkConfig,
    endpoints: AwsEndpoints,
    session: Duration,
    principal: Option<String>,
    cache: Mutex<HashMap<(String, String), Cached>>,
}

impl std::fmt::Debug for AwsClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClients")
            .field("endpoints", &self.endpoints)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// The STS role session name for a run or a verification: `incident-insights-<id>`, at most 64 characters
/// of the allowed set (`[\w+=,.@-]`), anything else replaced by `-`.
pub fn session_name(id: &str) -> String {
    let mut name = String::from("incident-insights-");
    name.extend(id.chars().map(|c| {
        if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
            c
        } else {
            '-'
        }
    }));
    name.truncate(64);
    name
}

impl AwsClients {
    /// The product's own identity from the standard chain (environment, profile, web identity, container or
    /// instance role); `session` is how long assumed-role sessions last (900–3600 s); `principal` the ARN
    /// customers' roles trust (only used to word a refusal).
    pub async fn from_env(session: Duration, principal: Option<String>) -> Self {
        let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::with_config(base, AwsEndpoints::default(), session, principal)
    }

    /// Explicit endpoints and (optionally) static credentials; the region of each call is the connection's.
    pub fn with_endpoints(
        endpoints: AwsEndpoints,
        session: Duration,
        principal: Option<String>,
    ) -> Self {
        let mut builder = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"));
        if let Some((id, secret)) = &endpoints.static_credentials {
            builder = builder.credentials_provider(SharedCredentialsProvider::new(
                Credentials::new(id.clone(), secret.clone(), None, None, "insights-static"),
            ));
        }
        Self::with_config(builder.build(), endpoints, session, principal)
    }

    fn with_config(
        base: SdkConfig,
        endpoints: AwsEndpoints,
        session: Duration,
        principal: Option<String>,
    ) -> Self {
        AwsClients {
            base,
            endpoints,
            session,
            principal,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// An STS client in `region`, signed with `credentials` (or the product's own).
    pub(crate) fn sts(
        &self,
        region: &str,
        credentials: Option<Credentials>,
    ) -> aws_sdk_sts::Client {
        let mut conf =
            aws_sdk_sts::config::Builder::from(&self.base).region(Region::new(region.to_owned()));
        if let Some(url) = &self.endpoints.sts {
            conf = conf.endpoint_url(url);
        }
        if let Some(c) = credentials {
            conf = conf.credentials_provider(c);
        }
        aws_sdk_sts::Client::from_conf(conf.build())
    }

    /// A Lambda client in `region` with `credentials`, no retries, and `timeout` per call (when given).
    pub(crate) fn lambda(
        &self,
        region: &str,
        credentials: Credentials,
        timeout: Option<Duration>,
    ) -> aws_sdk_lambda::Client {
        let mut conf = aws_sdk_lambda::config::Builder::from(&self.base)
            .region(Region::new(region.to_owned()))
            .credentials_provider(credentials)
            .retry_config(aws_config::retry::RetryConfig::disabled());
        if let Some(t) = timeout {
            conf = conf.timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(t.min(Duration::from_secs(10)))
                    .operation_timeout(t)
                    .operation_attempt_timeout(t)
                    .build(),
            );
        }
        if let Some(url) = &self.endpoints.lambda {
            conf = conf.endpoint_url(url);
        }
        aws_sdk_lambda::Client::from_conf(conf.build())
    }

    /// Credentials in the connection's account: the key pair as is, or the role assumed with the external id
    /// (cached per role and external id until a minute before they expire). `session_id` names the session
    /// (`incident-insights-<id>`, see [`session_name`]) when a new one is needed.
    pub async fn credentials(
        &self,
        connection: &Connection,
        session_id: &str,
    ) -> Result<Credentials, CredentialsError> {
        let (role_arn, external_id) = match &connection.auth {
            ConnectionAuth::Keys {
                access_key_id,
                secret_access_key,
            } => {
                return Ok(Credentials::new(
                    access_key_id.clone(),
                    secret_access_key.expose_secret().to_owned(),
                    None,
                    None,
                    "insights-connection-keys",
                ));
            }
            ConnectionAuth::Role {
                role_arn,
                external_id,
            } => (role_arn, external_id),
        };
        let key = (role_arn.clone(), external_id.clone());
        let now = SystemTime::now();
        if let Some(c) = self.cache.lock().expect("cache").get(&key)
            && c.expires > now + REFRESH_BEFORE_EXPIRY
        {
            return Ok(c.credentials.clone());
        }
        let out = self
            .sts(&connection.region, None)
            .assume_role()
            .role_arn(role_arn)
            .external_id(external_id)
            .role_session_name(session_name(session_id))
            .duration_seconds(self.session.as_secs().clamp(900, 43_200) as i32)
            .send()
            .await
            .map_err(|e| self.assume_role_error(role_arn, external_id, e))?;
        let creds = out.credentials().ok_or_else(|| {
            CredentialsError::Other("STS answered AssumeRole without credentials".into())
        })?;
        let expires = SystemTime::try_from(*creds.expiration()).unwrap_or(now + self.session);
        let credentials = Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_owned()),
            Some(expires),
            "insights-assumed-role",
        );
        self.cache.lock().expect("cache").insert(
            key,
            Cached {
                credentials: credentials.clone(),
                expires,
            },
        );
        Ok(credentials)
    }

    /// Forgets the cached credentials of a role (after a verification, or when AWS refused them).
    pub fn forget(&self, connection: &Connection) {
        if let ConnectionAuth::Role {
            role_arn,
            external_id,
        } = &connection.auth
        {
            self.cache
                .lock()
                .expect("cache")
                .remove(&(role_arn.clone(), external_id.clone()));
        }
    }

    fn assume_role_error<E, R>(
        &self,
        role_arn: &str,
        external_id: &str,
        e: SdkError<E, R>,
    ) -> CredentialsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        match &e {
            SdkError::ServiceError(se) => {
                let err = se.err();
                let code = err.code().unwrap_or("");
                let detail = err.message().unwrap_or(code).to_owned();
                match code {
                    "AccessDenied" | "AccessDeniedException" => CredentialsError::Denied {
                        role_arn: role_arn.to_owned(),
                        external_id: external_id.to_owned(),
                        principal: self
                            .principal
                            .as_ref()
                            .map(|p| format!(" ({p})"))
                            .unwrap_or_default(),
                        detail,
                    },
                    "InvalidClientTokenId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "UnrecognizedClientException" => {
                        CredentialsError::OwnCredentials(format!("{code}: {detail}"))
                    }
                    _ => CredentialsError::Other(if code.is_empty() {
                        detail
                    } else {
                        format!("{code}: {detail}")
                    }),
                }
            }
            SdkError::ConstructionFailure(_) => CredentialsError::OwnCredentials(describe(&e)),
            _ => CredentialsError::Other(describe(&e)),
        }
    }
}

/// An SDK error with its sources, in one line.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_valid_for_sts() {
        assert_eq!(session_name("0193-abc"), "incident-insights-0193-abc");
        assert_eq!(session_name("run 1/2"), "incident-insights-run-1-2");
        let long = session_name(&"x".repeat(100));
        assert_eq!(long.len(), 64);
        assert!(long.starts_with("incident-insights-x"));
    }
}
