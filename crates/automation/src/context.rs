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
