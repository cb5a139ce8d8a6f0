//! The automations section: the product's own AWS identity (the principal customers' roles trust; its
//! credentials come from the AWS SDK's standard chain — `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
//! profiles, IRSA …), and where outbound requests of automations (Slack, webhooks) may go.

use super::ConfigError;
use super::env::Env;
use super::proxies::parse_network;
use super::vars;
use ipnet::IpNet;
use std::time::Duration;

/// Read by both binaries: the API shows the trust templates and checks URLs when they are saved; the worker
/// assumes roles and sends requests.
#[derive(Debug, Clone)]
pub struct AutomationsConfig {
    /// The principal customers' roles trust (`INSIGHTS_AWS_PRINCIPAL_ARN`, e.g.
    /// `arn:aws:iam::123456789012:role/incident-insights`); `None`: the templates ask the reader to fill it in.
    pub aws_principal: Option<String>,
    /// How long assumed-role sessions last (`INSIGHTS_AWS_SESSION_SECS`, 900–3600, default 900).
    pub aws_session: Duration,
    /// Networks outbound requests may reach although they are private, loopback or link-local
    /// (`INSIGHTS_OUTBOUND_ALLOWED_NETWORKS`, comma-separated; default none).
    pub outbound_allowed: Vec<IpNet>,
    /// Incident changes that happened longer ago than this do not start rules (a backfill of old history
    /// never fires automations; `INSIGHTS_AUTOMATION_MAX_EVENT_AGE_SECS`, default 3600).
    pub max_event_age: Duration,
}

impl AutomationsConfig {
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let aws_principal = env
            .value(vars::AWS_PRINCIPAL_ARN)?
            .filter(|p| !p.trim().is_empty());
        if let Some(p) = &aws_principal
            && !p.starts_with("arn:aws")
        {
            return Err(vars::AWS_PRINCIPAL_ARN
                .err("must be an IAM ARN, e.g. arn:aws:iam::123456789012:role/incident-insights"));
        }
        let aws_session = env.secs(vars::AWS_SESSION_SECS, 900)?;
        if !(900..=3600).contains(&aws_session.as_secs()) {
            return Err(vars::AWS_SESSION_SECS.err("must be between 900 and 3600"));
        }
        let outbound_allowed = match env.value(vars::OUTBOUND_ALLOWED_NETWORKS)? {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(parse_network)
                .collect::<Result<_, _>>()
                .map_err(|bad| {
                    vars::OUTBOUND_ALLOWED_NETWORKS.err(format!(
                        "{bad:?} is not a network: use a comma-separated list like 10.0.0.0/8,127.0.0.1"
                    ))
                })?,
        };
        Ok(AutomationsConfig {
            aws_principal,
            aws_session,
            outbound_allowed,
            max_event_age: env.secs(vars::AUTOMATION_MAX_EVENT_AGE_SECS, 3600)?,
        })
    }
}
