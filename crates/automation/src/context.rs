//! What templates see: `incident`, `pattern`, `step`, `params`, `run` and `targets`.
//!
//! These structs are the contract between the database (which fills them, see
//! `insights_core::automations::context::load`) and the templates users write: a field renamed here breaks
//! saved templates, so fields are only ever added. Every value is plain data (strings, numbers, lists, RFC
//! 3339 times); nothing in a context can reach the outside world.

use chrono::{DateTime, Utc};
use insights_types::api::RunTrigger;
use insights_types::ids::{
    AutomationId, AutomationRuleId, AutomationRunId, AutomationScheduleId, IncidentId, PatternId,
    RunbookId, ServiceId, TeamId,
};
use serde::{Deserialize, Serialize};

/// Everything a template can read. An absent subject (no incident for a scheduled run, …) is `none` in the
/// template: `{% if incident %}…{% endif %}` or `{{ incident.title | default("—") }}` handle it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateContext {
    pub incident: Option<IncidentCtx>,
    pub pattern: Option<PatternCtx>,
    /// A runbook step (manual runs from a runbook, remote commands).
    pub step: Option<StepCtx>,
    /// The user parameters of the rule, schedule or manual run (a JSON object; `{}` when none).
    pub params: serde_json::Value,
    pub run: RunCtx,
    /// Remote commands: the targets as given (e.g. `{"tag:role": ["db"]}`); none otherwise.
    pub targets: Option<serde_json::Value>,
}

/// A named thing (a service, a team).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCtx<Id> {
    pub id: Id,
    pub name: String,
}

/// The incident a run is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentCtx {
    pub id: IncidentId,
    /// `pagerduty`, `opsgenie` or `sample`.
    pub source: String,
    /// The id at the source (a PagerDuty incident id, an Opsgenie alert or incident id).
    pub external_id: String,
    /// The number the source shows, when it has one.
    pub number: Option<i64>,
    pub title: String,
    pub description: Option<String>,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    /// `high` or `low`.
    pub urgency: Option<String>,
    /// As the source names it (`P1`, …).
    pub priority: Option<String>,
    pub service: Option<NamedCtx<ServiceId>>,
    pub team: Option<NamedCtx<TeamId>>,
    pub tags: Vec<String>,
    /// The people assigned, as the source names them.
    pub assignees: Vec<String>,
    pub triggered_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The incident's page at the source.
    pub url: Option<String>,
}

/// The pattern (recurring kind of incident) the incident belongs to, or the run is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatternCtx {
    pub id: PatternId,
    /// The name a person gave it, or else its template.
    pub name: String,
    /// The title template incidents of this pattern share (`Disk usage above <num>% on <host>`).
    pub template: String,
    pub incident_count: i64,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
}

/// A runbook step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCtx {
    pub runbook_id: RunbookId,
    pub runbook_title: String,
    pub runbook_version: i32,
    /// The step's position, from 0.
    pub index: i32,
    pub title: String,
    pub why: String,
    /// The step's command text, when it has one.
    pub command: Option<String>,
    /// The command's language (`shell`, `kubectl`, `aws`, `sql`), when it has one.
    pub language: Option<String>,
    /// `read_only`, `changes_state` or `destructive`.
    pub risk: String,
    pub expected: Option<String>,
}

/// The run itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCtx {
    pub id: AutomationRunId,
    pub automation_id: AutomationId,
    pub automation_name: String,
    pub trigger: RunTrigger,
    pub rule_id: Option<AutomationRuleId>,
    pub schedule_id: Option<AutomationScheduleId>,
    /// Who asked (manual and test runs): their name.
    pub requested_by: Option<String>,
    pub requested_at: DateTime<Utc>,
    /// The automation's time limit (what a remote command's runner should stay within).
    pub timeout_secs: i32,
}

impl Default for RunCtx {
    fn default() -> Self {
        RunCtx {
            id: AutomationRunId(uuid::Uuid::nil()),
            automation_id: AutomationId(uuid::Uuid::nil()),
            automation_name: String::new(),
            trigger: RunTrigger::Manual,
            rule_id: None,
            schedule_id: None,
            requested_by: None,
            requested_at: DateTime::<Utc>::UNIX_EPOCH,
            timeout_secs: 30,
        }
    }
}

impl TemplateContext {
    /// A realistic context with every subject present (an incident of a pattern, a runbook step with a
    /// command, parameters and targets): what an editor previews a template with before a real subject is
    /// picked, and what the documentation's examples show.
    #[must_use]
    pub fn example() -> TemplateContext {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        };
        let pattern_id = PatternId(uuid::uuid!("0193f1d2-6c11-7a20-b3c4-5d6e7f809102"));
        TemplateContext {
            incident: Some(IncidentCtx {
                id: IncidentId(uuid::uuid!("0193f1d2-7a4e-7c1b-9a55-2f0c3b1e8d21")),
                source: "pagerduty".into(),
                external_id: "Q1X2Y3Z4".into(),
                number: Some(4217),
                title: "Disk usage above 95% on db-7".into(),
                description: Some("/var/lib/postgresql is 96% full on db-7.prod".into()),
                status: "triggered".into(),
                urgency: Some("high".into()),
                priority: Some("P1".into()),
                service: Some(NamedCtx {
                    id: ServiceId(uuid::uuid!("0193e0aa-1b2c-7d3e-8f40-5a6b7c8d9e0f")),
                    name: "checkout-db".into(),
                }),
                team: Some(NamedCtx {
                    id: TeamId(uuid::uuid!("0193e0aa-2c3d-7e4f-9051-6b7c8d9e0f10")),
                    name: "Payments".into(),
                }),
                tags: vec!["db".into(), "prod".into()],
                assignees: vec!["Ada Lovelace".into()],
                triggered_at: at("2026-07-01T12:30:00Z"),
                acknowledged_at: None,
                resolved_at: None,
                url: Some("https://acme.pagerduty.com/incidents/Q1X2Y3Z4".into()),
            }),
            pattern: Some(PatternCtx {
                id: pattern_id,
                name: "Disk usage above <num>% on <host>".into(),
                template: "Disk usage above <num>% on <host>".into(),
                incident_count: 37,
                first_seen: Some(at("2026-03-02T08:11:00Z")),
                last_seen: Some(at("2026-07-01T12:30:00Z")),
            }),
            step: Some(StepCtx {
                runbook_id: RunbookId(uuid::uuid!("0193e5b1-0a1b-7c2d-8e3f-405162738495")),
                runbook_title: "Disk full on a database host".into(),
                runbook_version: 3,
                index: 1,
                title: "Vacuum the journal".into(),
                why: "Old journal files are the usual culprit.".into(),
                command: Some("journalctl --vacuum-size=500M".into()),
                language: Some("shell".into()),
                risk: "changes_state".into(),
                expected: Some("Vacuuming done, freed 1.2G".into()),
            }),
            params: serde_json::json!({"region": "eu-west-1"}),
            run: RunCtx {
                id: AutomationRunId(uuid::uuid!("0193f1d2-8b10-7d44-a1f3-6c2e9e0a4b77")),
                automation_id: AutomationId(uuid::uuid!("0193f000-1111-7222-8333-444455556666")),
                automation_name: "Free disk space".into(),
                trigger: RunTrigger::Manual,
                rule_id: None,
                schedule_id: None,
                requested_by: Some("Grace Hopper".into()),
                requested_at: at("2026-07-01T12:31:00Z"),
                timeout_secs: 60,
            },
            targets: Some(serde_json::json!({"tag:role": ["db"]})),
        }
    }

    /// The context as the JSON value templates see (`params` is `{}` when it was left null).
    #[must_use]
    pub fn to_value(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(params) = value.get_mut("params")
            && params.is_null()
        {
            *params = serde_json::Value::Object(serde_json::Map::new());
        }
        value
    }
}
