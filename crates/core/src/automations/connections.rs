//! AWS connections, API side: create one with a generated external id, seal and open an access key pair
//! (mode `keys`), change one (it must then be verified again), delete one (refused while an automation uses
//! it), list them, and ask for a verification (recorded, then the `verify_aws_connection` job).

use super::{AutomationError, AutomationResult, not_found};
use crate::crypto::SecretBox;
use crate::crypto::columns::AWS_CONNECTION_CREDENTIALS;
use crate::db::{OrgTx, ReadFrom};
use crate::jobs::{JobQueue, Pending, VerifyAwsConnection};
use chrono::{DateTime, Utc};
use insights_types::api::{
    AwsCheckOut, AwsConnectionIn, AwsConnectionMode, AwsConnectionOut, AwsConnectionPatch,
    AwsConnectionStatus, AwsKeysIn, AwsTemplatesOut,
};
use insights_types::domain::{FieldErrors, Name};
use insights_types::{AwsConnectionId, FieldError, UserId};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The most functions a connection allow-lists.
pub const MAX_FUNCTIONS: usize = 100;

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

/// A stored connection.
#[derive(Debug, Clone)]
pub struct ConnectionRow {
    pub id: Uuid,
    pub name: String,
    pub mode: String,
    pub region: String,
    pub role_arn: Option<String>,
    pub external_id: String,
    pub credentials: Option<Vec<u8>>,
    pub functions: Vec<String>,
    pub status: String,
    pub checks: serde_json::Value,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The verification asked for last ended without an answer (its job failed after every retry: an error
    /// of ours, such as the database): the connection is shown `failed`, not `verifying` for ever.
    pub verification_failed: bool,
}

impl ConnectionRow {
    #[must_use]
    pub fn id(&self) -> AwsConnectionId {
        AwsConnectionId(self.id)
    }

    #[must_use]
    pub fn mode(&self) -> AwsConnectionMode {
        if self.mode == "keys" {
            AwsConnectionMode::Keys
        } else {
            AwsConnectionMode::Role
        }
    }

    /// Whether `function` (a name, a name with a qualifier, or an ARN) is on the allow-list.
    #[must_use]
    pub fn allows(&self, function: &str) -> bool {
        self.functions.iter().any(|f| f == function)
    }

    /// The connection as the API shows it (never its keys: only the access key id's last four characters).
    pub fn out(&self, secrets: &SecretBox) -> AwsConnectionOut {
        let access_key_hint = self.credentials.as_ref().and_then(|sealed| {
            open_keys(secrets, self.id(), sealed).ok().map(|k| {
                let id = k.access_key_id;
                id.chars()
                    .skip(id.chars().count().saturating_sub(4))
                    .collect()
            })
        });
        let mut status = status_of(&self.status);
        let mut checks: Vec<AwsCheckOut> =
            serde_json::from_value(self.checks.clone()).unwrap_or_default();
        if status == AwsConnectionStatus::Verifying && self.verification_failed {
            status = AwsConnectionStatus::Failed;
            checks = vec![AwsCheckOut {
                check: "verification".into(),
                ok: false,
                message: "The verification could not finish on our side (it was tried several times). \
                          Verify again; if it keeps failing, the product's operators will find the error in \
                          the jobs list."
                    .into(),
            }];
        }
        AwsConnectionOut {
            id: self.id(),
            name: self.name.clone(),
            mode: self.mode(),
            region: self.region.clone(),
            role_arn: self.role_arn.clone(),
            external_id: self.external_id.clone(),
            access_key_hint,
            functions: self.functions.clone(),
            status,
            checks,
            verified_at: self.verified_at,
            created_at: self.created_at,
        }
    }
}

fn status_of(s: &str) -> AwsConnectionStatus {
    match s {
        "verifying" => AwsConnectionStatus::Verifying,
        "verified" => AwsConnectionStatus::Verified,
        "failed" => AwsConnectionStatus::Failed,
        _ => AwsConnectionStatus::Unverified,
    }
}

/// An AWS region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`.
pub fn check_region(field: &str, region: &str) -> Result<String, FieldError> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && region.len() <= 30
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(region.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "invalid_region",
            "must be an AWS region name like eu-west-1",
        ))
    }
}

/// Whether `s` is one of AWS's partitions as an ARN spells it.
fn partition(s: &str) -> bool {
    matches!(s, "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b")
}

fn account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM role ARN: `arn:aws:iam::<12 digits>:role/<path/>name`.
pub fn check_role_arn(field: &str, arn: &str) -> Result<String, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "invalid_role_arn",
            "must be an IAM role ARN like arn:aws:iam::123456789012:role/incident-insights",
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_, part, service, region, acct, resource] = parts[..] else {
        return Err(bad());
    };
    let name = resource.strip_prefix("role/").unwrap_or("");
    let name_ok = !name.is_empty()
        && name.len() <= 512
        && !name.ends_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
    if arn_ == "arn"
        && partition(part)
        && service == "iam"
        && region.is_empty()
        && account(acct)
        && name_ok
    {
        Ok(arn.to_owned())
    } else {
        Err(bad())
    }
}

/// A function's name as Lambda takes it: 1–64 letters, digits, `-` or `_`.
fn function_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A version or alias: `$LATEST`, digits, or an alias name (1–128 letters, digits, `-` or `_`).
fn qualifier(s: &str) -> bool {
    s == "$LATEST"
        || ((1..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// A function as Lambda's `FunctionName` takes it: a name (`my-function`, `my-function:prod`), a partial ARN
/// (`123456789012:function:my-function`) or a full ARN (`arn:aws:lambda:eu-west-1:123456789012:function:
/// my-function[:qualifier]`).
#[must_use]
pub fn valid_function(f: &str) -> bool {
    let parts: Vec<&str> = f.split(':').collect();
    match parts[..] {
        [name] => function_name(name),
        [name, q] => function_name(name) && qualifier(q),
        [acct, "function", name] => account(acct) && function_name(name),
        [acct, "function", name, q] => account(acct) && function_name(name) && qualifier(q),
        [
            "arn",
            part,
            "lambda",
            region,
            acct,
            "function",
            name,
            ref rest @ ..,
        ] => {
            partition(part)
                && check_region("", region).is_ok()
                && account(acct)
                && function_name(name)
                && match rest {
                    [] => true,
                    [q] => qualifier(q),
                    _ => false,
                }
        }
        _ => false,
    }
}

/// The allow-list: 0–100 distinct functions.
pub fn check_functions(field: &str, functions: &[String]) -> Result<Vec<String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    if functions.len() > MAX_FUNCTIONS {
        errors.push(FieldError::new(
            field,
            "too_many",
            format!("at most {MAX_FUNCTIONS} functions"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(functions.len());
    for (i, f) in functions.iter().enumerate() {
        let f = f.trim();
        if !valid_function(f) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "invalid_function",
                "must be a Lambda function name (letters, digits, - and _, up to 64), optionally with :version or :alias, or its ARN",
            ));
        } else if !seen.insert(f.to_owned()) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "duplicate",
                format!("{f} is listed twice"),
            ));
        } else {
            out.push(f.to_owned());
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// An access key pair: an access key id (16–128 upper-case letters and digits) and a secret access key
/// (16–128 characters without spaces).
pub fn check_keys(field: &str, keys: &AwsKeysIn, errors: &mut FieldErrors) {
    let id = keys.access_key_id.trim();
    if !(16..=128).contains(&id.len())
        || !id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        errors.push(FieldError::new(
            format!("{field}.access_key_id"),
            "invalid",
            "must be an AWS access key id like AKIAIOSFODNN7EXAMPLE",
        ));
    }
    let secret = &keys.secret_access_key;
    if !(16..=128).contains(&secret.len())
        || secret.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        errors.push(FieldError::new(
            format!("{field}.secret_access_key"),
            "invalid",
            "must be an AWS secret access key (16–128 characters, no spaces)",
        ));
    }
}

/// A new connection, checked: every invalid field in one error.
pub fn validate_new(body: &AwsConnectionIn) -> AutomationResult<()> {
    let mut errors = FieldErrors::default();
    errors.check(Name::parse_field("name", &body.name));
    errors.check(check_region("region", body.region.trim()));
    match body.mode {
        AwsConnectionMode::Role => {
            if let Some(arn) = &body.role_arn {
                errors.check(check_role_arn("role_arn", arn.trim()));
            }
            if body.keys.is_some() {
                errors.push(FieldError::new(
                    "keys",
                    "not_applicable",
                    "a connection of mode role assumes its role: it takes no access keys",
                ));
            }
        }
        AwsConnectionMode::Keys => {
            match &body.keys {
                Some(k) => check_keys("keys", k, &mut errors),
                None => errors.push(FieldError::new(
                    "keys",
                    "required",
                    "a connection of mode keys needs its access key pair",
                )),
            }
            if body.role_arn.is_some() {
                errors.push(FieldError::new(
                    "role_arn",
                    "not_applicable",
                    "a connection of mode keys uses its access keys: it takes no role",
                ));
            }
        }
    }
    if let Err(e) = check_functions("functions", &body.functions) {
        e.into_iter().for_each(|e| errors.push(e));
    }
    errors.finish().map_err(AutomationError::Invalid)
}

/// An external id for a new connection: random, never chosen by users (the confused-deputy defence).
#[must_use]
pub fn new_external_id() -> String {
    format!("insights-{}", Uuid::new_v4().simple())
}

/// Creates a connection (unverified).
pub async fn create(
    db: &mut OrgTx,
    secrets: &SecretBox,
    actor: Option<UserId>,
    body: &AwsConnectionIn,
) -> AutomationResult<AwsConnectionId> {
    validate_new(body)?;
    let id = AwsConnectionId(Uuid::now_v7());
    let functions = check_functions("functions", &body.functions)?;
    let credentials = body
        .keys
        .clone()
        .map(|k| seal_keys(secrets, id, &AwsKeys::from(trimmed(k))));
    let mode = match body.mode {
        AwsConnectionMode::Role => "role",
        AwsConnectionMode::Keys => "keys",
    };
    org_query!(
        db,
        "INSERT INTO aws_connections (id, org_id, name, mode, region, role_arn, external_id, credentials,
                                      functions, created_by)
         VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $9, $10)",
        id.0,
        body.name.trim(),
        mode,
        body.region.trim(),
        body.role_arn.as_deref().map(str::trim),
        new_external_id(),
        credentials,
        &functions,
        actor.map(|u| u.0),
    )
    .execute(db.conn())
    .await?;
    Ok(id)
}

fn trimmed(k: AwsKeysIn) -> AwsKeysIn {
    AwsKeysIn {
        access_key_id: k.access_key_id.trim().to_owned(),
        secret_access_key: k.secret_access_key,
    }
}

/// A connection; `lock` takes it `FOR UPDATE` (a change, a delete, a verification request).
pub async fn get(
    db: &mut OrgTx,
    id: AwsConnectionId,
    lock: bool,
) -> AutomationResult<ConnectionRow> {
    let row = if lock {
        org_query_as!(
            db,
            ConnectionRow,
            r#"SELECT c.id, c.name, c.mode, c.region, c.role_arn, c.external_id, c.credentials, c.functions,
                    c.status, c.checks, c.verified_at, c.created_at, EXISTS (SELECT 1 FROM job_runs j WHERE j.org_id = c.org_id AND j.subject_id = c.id
                        AND j.kind = 'verify_aws_connection' AND j.state = 'failed'
                        AND j.updated_at >= c.updated_at) AS "verification_failed!"
               FROM aws_connections c WHERE c.org_id = $1 AND c.id = $2 FOR UPDATE OF c"#,
            id.0,
        )
        .fetch_one(db.conn())
        .await
    } else {
        org_query_as!(
            db,
            ConnectionRow,
            r#"SELECT c.id, c.name, c.mode, c.region, c.role_arn, c.external_id, c.credentials, c.functions,
                    c.status, c.checks, c.verified_at, c.created_at, EXISTS (SELECT 1 FROM job_runs j WHERE j.org_id = c.org_id AND j.subject_id = c.id
                        AND j.kind = 'verify_aws_connection' AND j.state = 'failed'
                        AND j.updated_at >= c.updated_at) AS "verification_failed!"
               FROM aws_connections c WHERE c.org_id = $1 AND c.id = $2"#,
            id.0,
        )
        .fetch_one(db.conn())
        .await
    };
    row.read_from("aws_connections").map_err(not_found)
}

/// Every connection of the organization, oldest first (a small bounded list).
pub async fn list(db: &mut OrgTx) -> AutomationResult<Vec<ConnectionRow>> {
    Ok(org_query_as!(
        db,
        ConnectionRow,
        r#"SELECT c.id, c.name, c.mode, c.region, c.role_arn, c.external_id, c.credentials, c.functions,
                c.status, c.checks, c.verified_at, c.created_at,
                EXISTS (SELECT 1 FROM job_runs j WHERE j.org_id = c.org_id AND j.subject_id = c.id
                    AND j.kind = 'verify_aws_connection' AND j.state = 'failed'
                    AND j.updated_at >= c.updated_at) AS "verification_failed!"
           FROM aws_connections c WHERE c.org_id = $1 ORDER BY c.created_at, c.id"#,
    )
    .fetch_all(db.conn())
    .await
    .read_from("aws_connections")?)
}

/// Changes what the patch gives; the connection must then be verified again (`unverified`, its checks
/// cleared). Answers the names of the fields that changed (for the audit log: never their values when
/// secret).
pub async fn update(
    db: &mut OrgTx,
    secrets: &SecretBox,
    id: AwsConnectionId,
    patch: &AwsConnectionPatch,
) -> AutomationResult<Vec<&'static str>> {
    let row = get(db, id, true).await?;
    let mut errors = FieldErrors::default();
    if let Some(n) = &patch.name {
        errors.check(Name::parse_field("name", n));
    }
    if let Some(r) = &patch.region {
        errors.check(check_region("region", r.trim()));
    }
    let mode = row.mode();
    if let Some(arn) = &patch.role_arn {
        if mode == AwsConnectionMode::Keys {
            errors.push(FieldError::new(
                "role_arn",
                "not_applicable",
                "a connection of mode keys uses its access keys: it takes no role",
            ));
        } else {
            errors.check(check_role_arn("role_arn", arn.trim()));
        }
    }
    if let Some(k) = &patch.keys {
        if mode == AwsConnectionMode::Role {
            errors.push(FieldError::new(
                "keys",
                "not_applicable",
                "a connection of mode role assumes its role: it takes no access keys",
            ));
        } else {
            check_keys("keys", k, &mut errors);
        }
    }
    let functions = match &patch.functions {
        Some(f) => match check_functions("functions", f) {
            Ok(f) => Some(f),
            Err(e) => {
                e.into_iter().for_each(|e| errors.push(e));
                None
            }
        },
        None => None,
    };
    errors.finish()?;
    // An automation must keep naming an allow-listed function.
    if let Some(functions) = &functions {
        let orphaned = org_query!(
            db,
            "SELECT name, function_name AS \"function_name!\" FROM automations
              WHERE org_id = $1 AND connection_id = $2 AND function_name IS NOT NULL
                AND NOT (function_name = ANY($3))
              ORDER BY name",
            id.0,
            functions,
        )
        .fetch_all(db.conn())
        .await?;
        if !orphaned.is_empty() {
            return Err(AutomationError::Invalid(
                orphaned
                    .iter()
                    .map(|o| {
                        FieldError::new(
                            "functions",
                            "in_use",
                            format!(
                                "automation \"{}\" invokes {}: change it first, or keep the function",
                                o.name, o.function_name
                            ),
                        )
                    })
                    .collect(),
            ));
        }
    }
    let credentials = patch
        .keys
        .clone()
        .map(|k| seal_keys(secrets, id, &AwsKeys::from(trimmed(k))));
    org_query!(
        db,
        "UPDATE aws_connections
            SET name = coalesce($3, name), region = coalesce($4, region), role_arn = coalesce($5, role_arn),
                credentials = coalesce($6, credentials), functions = coalesce($7, functions),
                status = 'unverified', checks = '[]', verified_at = NULL, updated_at = now()
          WHERE org_id = $1 AND id = $2",
        id.0,
        patch.name.as_deref().map(str::trim),
        patch.region.as_deref().map(str::trim),
        patch.role_arn.as_deref().map(str::trim),
        credentials,
        functions.as_deref(),
    )
    .execute(db.conn())
    .await?;
    Ok([
        ("name", patch.name.is_some()),
        ("region", patch.region.is_some()),
        ("role_arn", patch.role_arn.is_some()),
        ("keys", patch.keys.is_some()),
        ("functions", patch.functions.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect())
}

/// Deletes a connection; refused (409 `connection_in_use`) while an automation uses it.
pub async fn delete(db: &mut OrgTx, id: AwsConnectionId) -> AutomationResult<ConnectionRow> {
    let row = get(db, id, true).await?;
    let users = org_query_scalar!(
        db,
        "SELECT name FROM automations WHERE org_id = $1 AND connection_id = $2 ORDER BY name LIMIT 5",
        id.0,
    )
    .fetch_all(db.conn())
    .await?;
    if !users.is_empty() {
        return Err(AutomationError::Conflict {
            code: "connection_in_use",
            message: format!(
                "The connection is used by {}: delete those automations or move them to another connection first.",
                users
                    .iter()
                    .map(|n| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    org_query!(
        db,
        "DELETE FROM aws_connections WHERE org_id = $1 AND id = $2",
        id.0
    )
    .execute(db.conn())
    .await?;
    Ok(row)
}

/// Asks for a verification: the connection is `verifying` and a `verify_aws_connection` job is recorded
/// (push it after the commit) — unless one is running already (`None`: that one will answer). A role
/// connection needs its role ARN first (422 on `role_arn`).
pub async fn request_verification(
    db: &mut OrgTx,
    queue: &JobQueue,
    id: AwsConnectionId,
) -> AutomationResult<Option<Pending<VerifyAwsConnection>>> {
    let row = get(db, id, true).await?;
    if row.mode() == AwsConnectionMode::Role && row.role_arn.is_none() {
        return Err(FieldError::new(
            "role_arn",
            "required",
            "set the role ARN first: create the role with the template, then save its ARN here",
        )
        .into());
    }
    let job = queue
        .record_exclusive::<VerifyAwsConnection>(db, id)
        .await?;
    org_query!(
        db,
        "UPDATE aws_connections SET status = 'verifying', updated_at = now() WHERE org_id = $1 AND id = $2",
        id.0,
    )
    .execute(db.conn())
    .await?;
    Ok(job)
}

/// The principal shown when this installation has no `INSIGHTS_AWS_PRINCIPAL_ARN`: the reader fills it in.
pub const PRINCIPAL_PLACEHOLDER: &str = "arn:aws:iam::<ACCOUNT-ID-OF-THE-PRODUCT>:role/<ITS-ROLE>";

/// What creates the connection's role, ready to copy (see `insights_automation::iam`).
#[must_use]
pub fn templates(row: &ConnectionRow, principal: Option<&str>) -> AwsTemplatesOut {
    let principal = principal.unwrap_or(PRINCIPAL_PLACEHOLDER).to_owned();
    let template = insights_automation::iam::RoleTemplate {
        principal: &principal,
        external_id: &row.external_id,
        region: &row.region,
        functions: &row.functions,
    };
    AwsTemplatesOut {
        cloudformation: insights_automation::iam::cloudformation(&template),
        terraform: insights_automation::iam::terraform(&template),
        external_id: row.external_id.clone(),
        principal,
    }
}

/// The checks of a finished verification as stored.
#[must_use]
pub fn checks_json(checks: &[AwsCheckOut]) -> serde_json::Value {
    serde_json::to_value(checks).unwrap_or_else(|_| serde_json::json!([]))
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
