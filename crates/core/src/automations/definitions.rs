//! Automations, API side: create, replace (with `base_version`: 409 on a newer version), delete, read and list,
//! with every field validated — the template compiles, the function is on the connection's allow-list, URLs
//! pass the outbound guard, recipients are addresses, limits are in range. Secrets (a Slack or webhook URL, a
//! signing secret) are sealed in the row and never returned; a webhook's signing secret is generated when
//! none is given, and shown once.

use super::context;
use super::secrets::{self, ActionSecrets};
use super::{AutomationError, AutomationResult, not_found};
use crate::crypto::SecretBox;
use crate::db::{OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_automation::admission::{Breaker, Limits};
use insights_automation::context::{RunCtx, TemplateContext};
use insights_automation::template::{Template, TemplateKind};
use insights_automation::{outbound, payload, signature};
use insights_types::api::{
    AutomationAction, AutomationIn, AutomationLimits, AutomationOut, BreakerState, Invocation,
    NamedRef, PreviewOut, RunSubjectIn, RunSummaryOut, RunTrigger, TemplateErrorOut,
};
use insights_types::domain::{Email, FieldErrors, Name};
use insights_types::{AutomationId, AwsConnectionId, FieldError, Role, UserId};
use ipnet::IpNet;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest template, in characters.
pub const TEMPLATE_MAX: usize = 20_000;
/// The longest description, in characters.
pub const DESCRIPTION_MAX: usize = 2_000;
/// The most email recipients.
pub const RECIPIENTS_MAX: usize = 20;

/// A stored automation (its secrets still sealed).
#[derive(Debug, Clone)]
pub struct AutomationRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub action: String,
    pub connection_id: Option<Uuid>,
    pub connection_name: Option<String>,
    pub function_name: Option<String>,
    pub invocation: String,
    pub template: String,
    pub settings: serde_json::Value,
    pub secrets: Option<Vec<u8>>,
    pub remote_command: bool,
    pub timeout_secs: i32,
    pub max_attempts: i32,
    pub backoff_ms: i32,
    pub idempotent: bool,
    pub needs_approval: bool,
    pub run_role: String,
    pub approve_role: String,
    pub max_runs_per_hour: Option<i32>,
    pub cooldown_secs: Option<i32>,
    pub max_concurrent: Option<i32>,
    pub breaker_threshold: i32,
    pub breaker_cooldown_secs: i32,
    pub breaker_failures: i32,
    pub breaker_opened_at: Option<DateTime<Utc>>,
    pub post_result: bool,
    pub enabled: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The non-secret settings stored in `automations.settings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredSettings {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_host: Option<String>,
}

pub fn action_str(a: AutomationAction) -> &'static str {
    match a {
        AutomationAction::Lambda => "lambda",
        AutomationAction::Note => "note",
        AutomationAction::Email => "email",
        AutomationAction::Slack => "slack",
        AutomationAction::Webhook => "webhook",
    }
}

pub fn action_of(s: &str) -> AutomationAction {
    match s {
        "note" => AutomationAction::Note,
        "email" => AutomationAction::Email,
        "slack" => AutomationAction::Slack,
        "webhook" => AutomationAction::Webhook,
        _ => AutomationAction::Lambda,
    }
}

/// The template language's kind of an action's template: a payload (`lambda`, `webhook`) renders to JSON.
#[must_use]
pub fn template_kind(a: AutomationAction) -> TemplateKind {
    match a {
        AutomationAction::Lambda | AutomationAction::Webhook => TemplateKind::Json,
        AutomationAction::Note | AutomationAction::Email | AutomationAction::Slack => {
            TemplateKind::Text
        }
    }
}

/// A stored role (`owner`, `admin`, `member`).
#[must_use]
pub fn role_of(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::Owner)
}

impl AutomationRow {
    #[must_use]
    pub fn id(&self) -> AutomationId {
        AutomationId(self.id)
    }

    #[must_use]
    pub fn action(&self) -> AutomationAction {
        action_of(&self.action)
    }

    #[must_use]
    pub fn settings(&self) -> StoredSettings {
        serde_json::from_value(self.settings.clone()).unwrap_or_default()
    }

    /// Whether `role` may run it by hand.
    #[must_use]
    pub fn may_run(&self, role: Role) -> bool {
        role <= role_of(&self.run_role)
    }

    /// Whether `role` may approve or reject its runs.
    #[must_use]
    pub fn may_approve(&self, role: Role) -> bool {
        role <= role_of(&self.approve_role)
    }

    /// The breaker's state at `now`, and when an open breaker lets a trial run through.
    #[must_use]
    pub fn breaker(&self, now: DateTime<Utc>) -> (BreakerState, Option<DateTime<Utc>>) {
        Breaker {
            failures: self.breaker_failures,
            opened_at: self.breaker_opened_at,
        }
        .state(&self.limits(None), now)
    }

    /// The automation as `role` sees it (never its secrets: whether each is set).
    pub fn out(
        &self,
        secret_box: &SecretBox,
        role: Role,
        last_run: Option<RunSummaryOut>,
    ) -> AutomationOut {
        let stored = self
            .secrets
            .as_ref()
            .and_then(|s| secrets::open(secret_box, self.id(), s).ok())
            .unwrap_or_default();
        let settings = self.settings();
        let (breaker, breaker_retry_at) = self.breaker(Utc::now());
        AutomationOut {
            id: self.id(),
            name: self.name.clone(),
            description: self.description.clone(),
            action: self.action(),
            connection: self.connection_id.map(|id| NamedRef {
                id,
                name: self.connection_name.clone().unwrap_or_default(),
            }),
            function_name: self.function_name.clone(),
            invocation: if self.invocation == "async" {
                Invocation::Async
            } else {
                Invocation::Sync
            },
            recipients: settings.recipients,
            subject: settings.subject,
            has_slack_url: stored.slack_url.is_some(),
            has_webhook_url: stored.webhook_url.is_some(),
            has_signing_secret: stored.signing_secret.is_some(),
            webhook_host: settings.webhook_host,
            new_signing_secret: None,
            template: self.template.clone(),
            remote_command: self.remote_command,
            timeout_secs: self.timeout_secs,
            max_attempts: self.max_attempts,
            backoff_ms: self.backoff_ms,
            idempotent: self.idempotent,
            needs_approval: self.needs_approval,
            run_role: role_of(&self.run_role),
            approve_role: role_of(&self.approve_role),
            limits: AutomationLimits {
                max_runs_per_hour: self.max_runs_per_hour,
                cooldown_secs: self.cooldown_secs,
                max_concurrent: self.max_concurrent,
                breaker_threshold: self.breaker_threshold,
                breaker_cooldown_secs: self.breaker_cooldown_secs,
            },
            breaker,
            breaker_retry_at,
            post_result: self.post_result,
            enabled: self.enabled,
            version: self.version,
            may_run: self.may_run(role),
            may_approve: self.may_approve(role),
            last_run,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The template an automation is saved with: its own, or — for a remote-command Lambda automation saved
/// without one — the reference runner's payload contract (`{command, language, targets, timeout_secs,
/// run_id}`, see docs/AUTOMATIONS.md).
fn stored_template(body: &AutomationIn) -> &str {
    if body.template.trim().is_empty()
        && body.remote_command
        && body.action == AutomationAction::Lambda
    {
        insights_automation::template::REMOTE_COMMAND_TEMPLATE
    } else {
        &body.template
    }
}

/// A template of `kind` that compiles, or a field error on `field` naming the line.
pub fn check_template(field: &str, src: &str, kind: TemplateKind) -> Result<(), FieldError> {
    if src.chars().count() > TEMPLATE_MAX {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {TEMPLATE_MAX} characters"),
        ));
    }
    Template::compile(src, kind).map(drop).map_err(|e| {
        let message = match e.line {
            Some(line) => format!("line {line}: {}", e.message),
            None => e.message.clone(),
        };
        FieldError::new(field, "invalid_template", message)
    })
}

/// An outbound URL (Slack, webhook) that passes the guard: `https` (or `http`), no credentials in it, and a
/// host that is not a forbidden address (private, loopback, link-local …) unless `allowed` says so. Names are
/// resolved (and every address checked again) when the request is sent.
pub fn check_outbound_url(
    field: &str,
    url: &str,
    allowed: &[IpNet],
) -> Result<url::Url, FieldError> {
    outbound::check_url(url, allowed)
        .map_err(|e| FieldError::new(field, "forbidden_url", e.to_string()))
}

fn check_signing_secret(field: &str, s: &str) -> Result<(), FieldError> {
    signature::validate_secret(s)
        .map_err(|e| FieldError::new(field, "invalid_signing_secret", e.to_string()))
}

/// An automation to store, checked.
pub struct Valid {
    pub name: String,
    pub description: String,
    pub action: AutomationAction,
    pub connection_id: Option<AwsConnectionId>,
    pub function_name: Option<String>,
    pub invocation: Invocation,
    pub settings: StoredSettings,
    /// What the body gives; `None`: keep the stored value (or none).
    pub slack_url: Option<String>,
    pub webhook_url: Option<String>,
    pub signing_secret: Option<String>,
}

/// Checks a body: every invalid field in one error. `has_stored` tells which secrets the automation already
/// has (a replacement may omit them to keep them). The function's allow-list is checked against the database
/// by [`create`] and [`replace`].
pub fn validate(
    body: &AutomationIn,
    allowed: &[IpNet],
    has_stored: &ActionSecrets,
) -> AutomationResult<Valid> {
    let mut errors = FieldErrors::default();
    let name = errors.check(Name::parse_field("name", &body.name));
    if body.description.chars().count() > DESCRIPTION_MAX
        || body
            .description
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        errors.push(FieldError::new(
            "description",
            "invalid",
            format!("at most {DESCRIPTION_MAX} characters, without control characters"),
        ));
    }
    let action = body.action;
    let s = &body.settings;
    let not_for = |field: &str, errors: &mut FieldErrors| {
        errors.push(FieldError::new(
            format!("settings.{field}"),
            "not_applicable",
            format!("a {} automation has no {field}", action_str(action)),
        ));
    };
    // What belongs to another action is refused, not silently dropped.
    let lambda = action == AutomationAction::Lambda;
    if !lambda {
        if s.connection_id.is_some() {
            not_for("connection_id", &mut errors);
        }
        if s.function_name.is_some() {
            not_for("function_name", &mut errors);
        }
        if s.invocation.is_some() {
            not_for("invocation", &mut errors);
        }
        if body.remote_command {
            errors.push(FieldError::new(
                "remote_command",
                "not_applicable",
                "only a lambda automation runs remote commands (through the reference runner)",
            ));
        }
    }
    if action != AutomationAction::Email {
        if !s.recipients.is_empty() {
            not_for("recipients", &mut errors);
        }
        if s.subject.is_some() {
            not_for("subject", &mut errors);
        }
    }
    if action != AutomationAction::Slack && s.slack_url.is_some() {
        not_for("slack_url", &mut errors);
    }
    if action != AutomationAction::Webhook {
        if s.webhook_url.is_some() {
            not_for("webhook_url", &mut errors);
        }
        if s.signing_secret.is_some() {
            not_for("signing_secret", &mut errors);
        }
    }
    let mut settings = StoredSettings::default();
    let function_name = if lambda {
        if s.connection_id.is_none() {
            errors.push(FieldError::new(
                "settings.connection_id",
                "required",
                "a lambda automation needs an AWS connection",
            ));
        }
        match s.function_name.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new(
                    "settings.function_name",
                    "required",
                    "a lambda automation needs one of the connection's functions",
                ));
                None
            }
            Some(f) => Some(f.to_owned()),
        }
    } else {
        None
    };
    if action == AutomationAction::Email {
        if s.recipients.is_empty() || s.recipients.len() > RECIPIENTS_MAX {
            errors.push(FieldError::new(
                "settings.recipients",
                "invalid",
                format!("an email automation needs 1–{RECIPIENTS_MAX} recipients"),
            ));
        }
        for (i, r) in s.recipients.iter().enumerate() {
            if let Some(e) =
                errors.check(Email::parse_field(&format!("settings.recipients[{i}]"), r))
            {
                let e = e.as_str().to_owned();
                if settings.recipients.contains(&e) {
                    errors.push(FieldError::new(
                        format!("settings.recipients[{i}]"),
                        "duplicate",
                        format!("{e} is listed twice"),
                    ));
                } else {
                    settings.recipients.push(e);
                }
            }
        }
        if let Some(subject) = &s.subject {
            if subject.chars().count() > 500 {
                errors.push(FieldError::new(
                    "settings.subject",
                    "too_long",
                    "at most 500 characters",
                ));
            } else {
                errors.check(check_template(
                    "settings.subject",
                    subject,
                    TemplateKind::Text,
                ));
            }
            settings.subject = Some(subject.clone());
        }
    }
    if action == AutomationAction::Slack {
        match &s.slack_url {
            Some(u) => {
                if let Some(url) =
                    errors.check(check_outbound_url("settings.slack_url", u, allowed))
                    && url.scheme() != "https"
                {
                    errors.push(FieldError::new(
                        "settings.slack_url",
                        "https_required",
                        "a Slack incoming-webhook URL starts with https://",
                    ));
                }
            }
            None if has_stored.slack_url.is_none() => errors.push(FieldError::new(
                "settings.slack_url",
                "required",
                "a slack automation needs the incoming webhook's URL",
            )),
            None => {}
        }
    }
    if action == AutomationAction::Webhook {
        match &s.webhook_url {
            Some(u) => {
                if let Some(url) =
                    errors.check(check_outbound_url("settings.webhook_url", u, allowed))
                {
                    settings.webhook_host = url.host_str().map(str::to_owned);
                }
            }
            None if has_stored.webhook_url.is_none() => errors.push(FieldError::new(
                "settings.webhook_url",
                "required",
                "a webhook automation needs the URL to POST to",
            )),
            None => {}
        }
        if let Some(secret) = &s.signing_secret {
            errors.check(check_signing_secret("settings.signing_secret", secret));
        }
    }
    if body.template.trim().is_empty()
        && !(body.remote_command && action == AutomationAction::Lambda)
    {
        errors.push(FieldError::new(
            "template",
            "required",
            match template_kind(action) {
                TemplateKind::Json => "the payload template: it must render to JSON",
                TemplateKind::Text => "the message template",
            },
        ));
    } else {
        errors.check(check_template(
            "template",
            stored_template(body),
            template_kind(action),
        ));
    }
    let ranges: [(&str, i32, i32, i32); 3] = [
        ("timeout_secs", body.timeout_secs, 1, 900),
        ("max_attempts", body.max_attempts, 1, 10),
        ("backoff_ms", body.backoff_ms, 0, 600_000),
    ];
    let limits = &body.limits;
    let optional: [(&str, Option<i32>, i32, i32); 3] = [
        (
            "limits.max_runs_per_hour",
            limits.max_runs_per_hour,
            1,
            100_000,
        ),
        ("limits.cooldown_secs", limits.cooldown_secs, 1, 7 * 86_400),
        ("limits.max_concurrent", limits.max_concurrent, 1, 1_000),
    ];
    let required: [(&str, i32, i32, i32); 2] = [
        ("limits.breaker_threshold", limits.breaker_threshold, 1, 100),
        (
            "limits.breaker_cooldown_secs",
            limits.breaker_cooldown_secs,
            1,
            86_400,
        ),
    ];
    for (field, v, lo, hi) in ranges
        .into_iter()
        .chain(required)
        .map(|(f, v, lo, hi)| (f, Some(v), lo, hi))
        .chain(optional)
    {
        if let Some(v) = v
            && !(lo..=hi).contains(&v)
        {
            errors.push(FieldError::new(
                field,
                "out_of_range",
                format!("must be between {lo} and {hi}"),
            ));
        }
    }
    for (field, role) in [
        ("run_role", body.run_role),
        ("approve_role", body.approve_role),
    ] {
        if role == Role::Viewer {
            errors.push(FieldError::new(
                field,
                "invalid",
                "must be owner, admin or member (viewers only read)",
            ));
        }
    }
    errors.finish()?;
    Ok(Valid {
        name: name.expect("checked").into_inner(),
        description: body.description.trim().to_owned(),
        action,
        connection_id: s.connection_id.filter(|_| lambda),
        function_name,
        invocation: s.invocation.unwrap_or_default(),
        settings,
        slack_url: s.slack_url.clone().map(|u| u.trim().to_owned()),
        webhook_url: s.webhook_url.clone().map(|u| u.trim().to_owned()),
        signing_secret: s.signing_secret.clone(),
    })
}

/// The function must be on the connection's allow-list (the connection is locked `FOR SHARE`, so it cannot
/// be deleted or lose the function while this transaction lasts).
async fn check_function(db: &mut OrgTx, v: &Valid) -> AutomationResult<()> {
    let (Some(connection), Some(function)) = (v.connection_id, &v.function_name) else {
        return Ok(());
    };
    let functions = org_query_scalar!(
        db,
        "SELECT functions FROM aws_connections WHERE org_id = $1 AND id = $2 FOR SHARE",
        connection.0,
    )
    .fetch_optional(db.conn())
    .await?;
    match functions {
        None => Err(FieldError::new(
            "settings.connection_id",
            "not_found",
            "no such AWS connection in this organization",
        )
        .into()),
        Some(list) if !list.iter().any(|f| f == function) => Err(FieldError::new(
            "settings.function_name",
            "not_allowed",
            format!(
                "{function} is not on the connection's allow-list ({}): add it to the connection first",
                if list.is_empty() {
                    "empty".to_owned()
                } else {
                    list.join(", ")
                }
            ),
        )
        .into()),
        Some(_) => Ok(()),
    }
}

/// The secrets to store for `v`: what the body gives, else what was stored (for this action only); a webhook
/// without a signing secret gets a new one, answered in the second value (shown once).
fn secrets_for(v: &Valid, stored: ActionSecrets) -> (ActionSecrets, Option<String>) {
    let keep = |given: &Option<String>, stored: Option<SecretString>| {
        given.clone().map(SecretString::from).or(stored)
    };
    let mut out = ActionSecrets::default();
    let mut generated = None;
    match v.action {
        AutomationAction::Slack => out.slack_url = keep(&v.slack_url, stored.slack_url),
        AutomationAction::Webhook => {
            out.webhook_url = keep(&v.webhook_url, stored.webhook_url);
            out.signing_secret = keep(&v.signing_secret, stored.signing_secret);
            if out.signing_secret.is_none() {
                let s = signature::generate_secret();
                generated = Some(s.clone());
                out.signing_secret = Some(s.into());
            }
        }
        _ => {}
    }
    (out, generated)
}

/// What changed (for the audit log: names only, never secret values).
fn settings_json(v: &Valid) -> serde_json::Value {
    serde_json::to_value(&v.settings).expect("settings serialize")
}

fn invocation_str(i: Invocation) -> &'static str {
    match i {
        Invocation::Sync => "sync",
        Invocation::Async => "async",
    }
}

/// Creates an automation (version 1). Answers its id and, for a webhook given no signing secret, the one
/// generated (to show once).
pub async fn create(
    db: &mut OrgTx,
    secret_box: &SecretBox,
    allowed: &[IpNet],
    actor: UserId,
    body: &AutomationIn,
) -> AutomationResult<(AutomationId, Option<String>)> {
    if body.base_version.is_some() {
        return Err(FieldError::new(
            "base_version",
            "not_allowed",
            "only a replacement of an existing automation (PUT) has a base version",
        )
        .into());
    }
    let v = validate(body, allowed, &ActionSecrets::default())?;
    check_function(db, &v).await?;
    let id = AutomationId(Uuid::now_v7());
    let (stored, generated) = secrets_for(&v, ActionSecrets::default());
    let sealed = (!stored.is_empty()).then(|| secrets::seal(secret_box, id, &stored));
    let l = &body.limits;
    let done = org_query!(
        db,
        "INSERT INTO automations (id, org_id, name, description, action, connection_id, function_name,
             invocation, template, settings, secrets, remote_command, timeout_secs, max_attempts, backoff_ms,
             idempotent, needs_approval, run_role, approve_role, max_runs_per_hour, cooldown_secs,
             max_concurrent, breaker_threshold, breaker_cooldown_secs, post_result, enabled, created_by,
             updated_by)
         VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                 $21, $22, $23, $24, $25, $26, $27, $27)",
        id.0,
        &v.name,
        &v.description,
        action_str(v.action),
        v.connection_id.map(|c| c.0),
        v.function_name.as_deref(),
        invocation_str(v.invocation),
        stored_template(body),
        settings_json(&v),
        sealed,
        body.remote_command,
        body.timeout_secs,
        body.max_attempts,
        body.backoff_ms,
        body.idempotent,
        body.needs_approval,
        body.run_role.as_str(),
        body.approve_role.as_str(),
        l.max_runs_per_hour,
        l.cooldown_secs,
        l.max_concurrent,
        l.breaker_threshold,
        l.breaker_cooldown_secs,
        body.post_result,
        body.enabled,
        actor.0,
    )
    .execute(db.conn())
    .await;
    name_taken(done)?;
    Ok((id, generated))
}

/// A name already used in the organization is a 422 on `name`.
fn name_taken<T>(r: Result<T, sqlx::Error>) -> AutomationResult<T> {
    match r {
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("automations_org_name_key") => {
            Err(FieldError::new(
                "name",
                "taken",
                "another automation of this organization has this name",
            )
            .into())
        }
        r => Ok(r?),
    }
}

/// Replaces an automation (a new version). With `base_version`, a replacement on top of a newer version is
/// 409 `version_conflict`. Secrets omitted are kept; the breaker is left as it is. Answers the new version
/// and, for a webhook that had no signing secret, the one generated.
pub async fn replace(
    db: &mut OrgTx,
    secret_box: &SecretBox,
    allowed: &[IpNet],
    actor: UserId,
    id: AutomationId,
    body: &AutomationIn,
) -> AutomationResult<(i32, Option<String>)> {
    let row = get(db, id, true).await?;
    if let Some(base) = body.base_version
        && base != row.version
    {
        return Err(AutomationError::Conflict {
            code: "version_conflict",
            message: format!(
                "The automation is at version {}; this edit started from version {base}: reload it, apply your change again and save on top of the current version.",
                row.version
            ),
        });
    }
    let stored = match &row.secrets {
        Some(s) => secrets::open(secret_box, id, s).map_err(|e| {
            AutomationError::Db(crate::db::DbError::Unreadable {
                table: "automations",
                column: "secrets".into(),
                error: e.into(),
            })
        })?,
        None => ActionSecrets::default(),
    };
    // Secrets of another action do not count as stored for this one.
    let same_action = row.action() == body.action;
    let has = if same_action {
        stored.clone()
    } else {
        ActionSecrets::default()
    };
    let mut v = validate(body, allowed, &has)?;
    check_function(db, &v).await?;
    if v.action == AutomationAction::Webhook && v.webhook_url.is_none() {
        v.settings.webhook_host = row.settings().webhook_host;
    }
    let (stored, generated) = secrets_for(&v, has);
    let sealed = (!stored.is_empty()).then(|| secrets::seal(secret_box, id, &stored));
    let l = &body.limits;
    let done = org_query_scalar!(
        db,
        "UPDATE automations SET name = $3, description = $4, action = $5, connection_id = $6,
                function_name = $7, invocation = $8, template = $9, settings = $10, secrets = $11,
                remote_command = $12, timeout_secs = $13, max_attempts = $14, backoff_ms = $15, idempotent = $16,
                needs_approval = $17, run_role = $18, approve_role = $19, max_runs_per_hour = $20,
                cooldown_secs = $21, max_concurrent = $22, breaker_threshold = $23, breaker_cooldown_secs = $24,
                post_result = $25, enabled = $26, updated_by = $27, version = version + 1, updated_at = now()
          WHERE org_id = $1 AND id = $2 RETURNING version",
        id.0,
        &v.name,
        &v.description,
        action_str(v.action),
        v.connection_id.map(|c| c.0),
        v.function_name.as_deref(),
        invocation_str(v.invocation),
        stored_template(body),
        settings_json(&v),
        sealed,
        body.remote_command,
        body.timeout_secs,
        body.max_attempts,
        body.backoff_ms,
        body.idempotent,
        body.needs_approval,
        body.run_role.as_str(),
        body.approve_role.as_str(),
        l.max_runs_per_hour,
        l.cooldown_secs,
        l.max_concurrent,
        l.breaker_threshold,
        l.breaker_cooldown_secs,
        body.post_result,
        body.enabled,
        actor.0,
    )
    .fetch_one(db.conn())
    .await;
    Ok((name_taken(done)?, generated))
}

/// Deletes an automation with its rules and schedules. Its runs stay in the log; those still waiting
/// (pending approval or queued) are cancelled, each with its event. Answers the deleted row.
pub async fn delete(
    db: &mut OrgTx,
    actor: UserId,
    id: AutomationId,
) -> AutomationResult<AutomationRow> {
    let row = get(db, id, true).await?;
    let waiting = org_query_scalar!(
        db,
        "UPDATE automation_runs SET status = 'cancelled', reason = 'The automation was deleted.',
                finished_at = now(), updated_at = now()
          WHERE org_id = $1 AND automation_id = $2 AND status IN ('pending_approval', 'queued')
          RETURNING id",
        id.0,
    )
    .fetch_all(db.conn())
    .await?;
    if !waiting.is_empty() {
        org_query!(
            db,
            "INSERT INTO automation_run_events (id, org_id, run_id, kind, actor_id, message)
             SELECT gen_random_uuid(), $1, r, 'cancelled', $3, 'The automation was deleted.'
               FROM unnest($2::uuid[]) AS r",
            &waiting,
            actor.0,
        )
        .execute(db.conn())
        .await?;
    }
    org_query!(
        db,
        "DELETE FROM automations WHERE org_id = $1 AND id = $2",
        id.0
    )
    .execute(db.conn())
    .await?;
    Ok(row)
}

/// An automation; `lock` takes it `FOR UPDATE`.
pub async fn get(db: &mut OrgTx, id: AutomationId, lock: bool) -> AutomationResult<AutomationRow> {
    let rows = fetch(db, Some(id), lock).await?;
    rows.into_iter().next().ok_or(AutomationError::NotFound)
}

/// Every automation of the organization, by name.
pub async fn list(db: &mut OrgTx) -> AutomationResult<Vec<AutomationRow>> {
    fetch(db, None, false).await
}

async fn fetch(
    db: &mut OrgTx,
    id: Option<AutomationId>,
    lock: bool,
) -> AutomationResult<Vec<AutomationRow>> {
    if let (Some(id), true) = (id, lock) {
        org_query_scalar!(
            db,
            "SELECT id FROM automations WHERE org_id = $1 AND id = $2 FOR UPDATE",
            id.0
        )
        .fetch_one(db.conn())
        .await
        .map_err(|e| not_found(e.into()))?;
    }
    org_query_as!(
        db,
        AutomationRow,
        "SELECT a.id, a.name, a.description, a.action, a.connection_id, c.name AS \"connection_name?\",
                a.function_name, a.invocation, a.template, a.settings, a.secrets, a.remote_command,
                a.timeout_secs, a.max_attempts, a.backoff_ms, a.idempotent, a.needs_approval, a.run_role,
                a.approve_role, a.max_runs_per_hour, a.cooldown_secs, a.max_concurrent,
                a.breaker_threshold, a.breaker_cooldown_secs, a.breaker_failures, a.breaker_opened_at,
                a.post_result, a.enabled, a.version, a.created_at, a.updated_at
           FROM automations a
           LEFT JOIN aws_connections c ON c.org_id = a.org_id AND c.id = a.connection_id
          WHERE a.org_id = $1 AND ($2::uuid IS NULL OR a.id = $2)
          ORDER BY a.name, a.id",
        id.map(|i| i.0),
    )
    .fetch_all(db.conn())
    .await
    .read_from("automations")
    .map_err(not_found)
}

/// Secrets of an automation, opened (for the worker's actions).
pub fn open_secrets(secret_box: &SecretBox, row: &AutomationRow) -> anyhow::Result<ActionSecrets> {
    match &row.secrets {
        Some(s) => secrets::open(secret_box, row.id(), s),
        None => Ok(ActionSecrets::default()),
    }
}

impl AutomationRow {
    /// The automation's limits for the admission decision (`rule_cap`: the rule's, for rule runs).
    #[must_use]
    pub fn limits(&self, rule_cap: Option<i32>) -> Limits {
        Limits {
            enabled: self.enabled,
            max_runs_per_hour: self.max_runs_per_hour,
            cooldown_secs: self.cooldown_secs,
            breaker_threshold: self.breaker_threshold,
            breaker_cooldown_secs: self.breaker_cooldown_secs,
            rule_cap,
        }
    }

    /// What a run of this automation sees as `run` (a preview's or dry run's: no run id yet).
    #[must_use]
    pub fn run_ctx(&self, trigger: RunTrigger, at: DateTime<Utc>) -> RunCtx {
        RunCtx {
            automation_id: self.id(),
            automation_name: self.name.clone(),
            trigger,
            requested_at: at,
            timeout_secs: self.timeout_secs,
            ..RunCtx::default()
        }
    }
}

/// The context a template sees for `subject`; a subject naming something this organization does not have is
/// a 422.
pub async fn context_for(
    db: &mut OrgTx,
    subject: &RunSubjectIn,
    run: RunCtx,
) -> AutomationResult<TemplateContext> {
    let mut errors = FieldErrors::default();
    errors.check(super::rules::check_params(
        "params",
        subject.params.as_ref(),
    ));
    if subject.step_index.is_some() != subject.runbook_id.is_some() {
        errors.push(FieldError::new(
            "step_index",
            "invalid",
            "a runbook step is named by both runbook_id and step_index",
        ));
    }
    errors.finish()?;
    context::load(db, subject, run).await.map_err(|e| match e {
        crate::db::DbError::NotFound => FieldError::new(
            "",
            "invalid_subject",
            "the incident, pattern or runbook step does not exist in this organization",
        )
        .into(),
        e => AutomationError::Db(e),
    })
}

/// Renders `template` (of the automation's kind) for a context: the exact text, or the template's error.
pub fn render(
    template: &str,
    kind: TemplateKind,
    ctx: &TemplateContext,
) -> Result<String, TemplateErrorOut> {
    let err = |e: insights_automation::template::TemplateError| TemplateErrorOut {
        message: e.message,
        line: e.line,
    };
    Template::compile(template, kind)
        .map_err(err)?
        .render(ctx)
        .map_err(err)
}

/// The exact payload (or message) a run of `row` would send for `subject` — `template` instead of the
/// stored one when given — with its hash, or the template's error; and the context (secrets redacted).
pub async fn preview(
    db: &mut OrgTx,
    row: &AutomationRow,
    template: Option<&str>,
    subject: &RunSubjectIn,
) -> AutomationResult<PreviewOut> {
    let template = template.unwrap_or(&row.template);
    if template.chars().count() > TEMPLATE_MAX {
        return Err(FieldError::new(
            "template",
            "too_long",
            format!("at most {TEMPLATE_MAX} characters"),
        )
        .into());
    }
    let ctx = context_for(db, subject, row.run_ctx(RunTrigger::Manual, Utc::now())).await?;
    let context = payload::redact(&ctx.to_value());
    Ok(match render(template, template_kind(row.action()), &ctx) {
        Ok(rendered) => PreviewOut {
            payload_hash: Some(payload::hash(rendered.as_bytes())),
            rendered: Some(rendered),
            error: None,
            context,
        },
        Err(e) => PreviewOut {
            rendered: None,
            payload_hash: None,
            error: Some(e),
            context,
        },
    })
}
