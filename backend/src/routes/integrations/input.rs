//! The bodies of the integration endpoints, read and checked: every invalid field is named in one 422.

use crate::error::ApiError;
use crate::http::parse_json_value;
use chrono::Utc;
use insights_types::FieldError;
use insights_types::api::{
    IntegrationIn, IntegrationKind, IntegrationOptions, IntegrationPatch, OpsgenieIn,
    OpsgenieOptions, OpsgenieRegion, PagerDutyIn, PagerDutyOptions,
};
use insights_types::domain::{
    ApiSecret, FieldErrors, Name, check_opsgenie_options, check_pagerduty_options, sync_interval,
};

/// The name of a kind's credential field (under `credentials`).
pub fn secret_field(kind: IntegrationKind) -> &'static str {
    match kind {
        IntegrationKind::Pagerduty => "api_token",
        IntegrationKind::Opsgenie => "api_key",
    }
}

/// A validated connection request.
pub struct Connect {
    pub kind: IntegrationKind,
    pub name: Name,
    pub secret: ApiSecret,
    pub region: Option<OpsgenieRegion>,
    pub options: IntegrationOptions,
    pub interval: u32,
}

/// Reads the body by its `kind` (so that field errors name their full path, which serde cannot do through
/// an internally tagged enum), then checks every field.
pub fn parse_connect(body: serde_json::Value, default_interval: u32) -> Result<Connect, ApiError> {
    let mut fields = match body {
        serde_json::Value::Object(map) => map,
        _ => return Err(ApiError::field("", "invalid", "must be a JSON object")),
    };
    let body = match fields.remove("kind").as_ref().and_then(|k| k.as_str()) {
        Some("pagerduty") => IntegrationIn::Pagerduty(parse_json_value("", fields.into())?),
        Some("opsgenie") => IntegrationIn::Opsgenie(parse_json_value("", fields.into())?),
        _ => {
            return Err(ApiError::field(
                "kind",
                "invalid",
                "must be pagerduty or opsgenie",
            ));
        }
    };
    let now = Utc::now();
    let mut errors = FieldErrors::default();
    let (kind, name, secret, region, options, interval) = match body {
        IntegrationIn::Pagerduty(PagerDutyIn {
            name,
            credentials,
            options,
            sync_interval_minutes,
        }) => {
            check_pagerduty_options("options", &options, now, &mut errors);
            (
                IntegrationKind::Pagerduty,
                name,
                ApiSecret::parse_field("credentials.api_token", &credentials.api_token),
                None,
                IntegrationOptions::Pagerduty(options),
                sync_interval_minutes,
            )
        }
        IntegrationIn::Opsgenie(OpsgenieIn {
            name,
            credentials,
            region,
            options,
            sync_interval_minutes,
        }) => {
            check_opsgenie_options("options", &options, now, &mut errors);
            (
                IntegrationKind::Opsgenie,
                name,
                ApiSecret::parse_field("credentials.api_key", &credentials.api_key),
                Some(region),
                IntegrationOptions::Opsgenie(options),
                sync_interval_minutes,
            )
        }
    };
    let name = errors.check(Name::parse_field("name", &name));
    let secret = errors.check(secret);
    let interval = errors.check(sync_interval(
        "sync_interval_minutes",
        interval.unwrap_or(default_interval),
    ));
    errors.finish()?;
    Ok(Connect {
        kind,
        name: name.expect("checked"),
        secret: secret.expect("checked"),
        region,
        options,
        interval: interval.expect("checked"),
    })
}

/// A validated change; `None` leaves a setting alone.
pub struct Update {
    pub name: Option<Name>,
    pub options: Option<IntegrationOptions>,
    pub secret: Option<ApiSecret>,
    pub interval: Option<u32>,
    pub webhook_secret: Option<ApiSecret>,
}

/// Reads options of `kind` found at `options`.
fn options_of(
    kind: IntegrationKind,
    v: &serde_json::Value,
    errors: &mut FieldErrors,
) -> Option<IntegrationOptions> {
    let now = Utc::now();
    let parsed = match kind {
        IntegrationKind::Pagerduty => parse_json_value::<PagerDutyOptions>("options", v.clone())
            .map(|o| {
                check_pagerduty_options("options", &o, now, errors);
                IntegrationOptions::Pagerduty(o)
            }),
        IntegrationKind::Opsgenie => {
            parse_json_value::<OpsgenieOptions>("options", v.clone()).map(|o| {
                check_opsgenie_options("options", &o, now, errors);
                IntegrationOptions::Opsgenie(o)
            })
        }
    };
    errors.check(parsed)
}

/// Checks a change to an integration of `kind`.
pub fn parse_update(kind: IntegrationKind, patch: &IntegrationPatch) -> Result<Update, ApiError> {
    let mut errors = FieldErrors::default();
    let name = patch
        .name
        .as_deref()
        .and_then(|n| errors.check(Name::parse_field("name", n)));
    let options = patch
        .options
        .as_ref()
        .and_then(|v| options_of(kind, v, &mut errors));
    let secret_field = secret_field(kind);
    let secret = match &patch.credentials {
        None => None,
        Some(v) => match v.get(secret_field).and_then(|s| s.as_str()) {
            Some(s) if v.as_object().is_some_and(|o| o.len() == 1) => errors.check(
                ApiSecret::parse_field(&format!("credentials.{secret_field}"), s),
            ),
            _ => {
                errors.push(FieldError::new(
                    "credentials",
                    "invalid",
                    format!("must be {{\"{secret_field}\": \"…\"}} for {}", kind.label()),
                ));
                None
            }
        },
    };
    if patch.region.is_some() && kind == IntegrationKind::Pagerduty {
        errors.push(FieldError::new(
            "region",
            "not_applicable",
            "PagerDuty integrations have no region",
        ));
    }
    let interval = patch
        .sync_interval_minutes
        .and_then(|m| errors.check(sync_interval("sync_interval_minutes", m)));
    let webhook_secret = match (&patch.webhook_secret, kind) {
        (None, _) => None,
        (Some(s), IntegrationKind::Pagerduty) => {
            errors.check(ApiSecret::parse_field("webhook_secret", s))
        }
        (Some(_), IntegrationKind::Opsgenie) => {
            errors.push(FieldError::new(
                "webhook_secret",
                "not_applicable",
                "Opsgenie's webhook secret is made here: rotate it with POST …/webhook-secret",
            ));
            None
        }
    };
    errors.finish()?;
    Ok(Update {
        name,
        options,
        secret,
        interval,
        webhook_secret,
    })
}
