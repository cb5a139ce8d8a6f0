//! Automation rules, API side: create, replace, delete, read and list, validated — the conditions compile
//! (the engine's `CompiledRule`), the services, teams and patterns they name are the organization's, the
//! parameters are a JSON object of at most 16 KiB. The worker reloads an organization's rules when they
//! change (`updated_at`), so a change takes effect without a restart.

use super::context;
use super::{AutomationError, AutomationResult, not_found};
use crate::db::{OrgTx, ReadFrom};
use chrono::{DateTime, Utc};
use insights_automation::admission::{Decision, Usage, decide};
use insights_automation::rules::{CompiledRule, IncidentFacts};
use insights_automation::template::Template;
use insights_types::api::{
    AutomationRuleIn, AutomationRuleOut, DryRunIn, DryRunMatchOut, DryRunOut, IncidentSource,
    NamedRef, RuleConditions, RunSubjectIn, RunTrigger, Transition, Urgency,
};
use insights_types::domain::{FieldErrors, Name};
use insights_types::{
    AutomationId, AutomationRuleId, FieldError, IncidentId, PatternId, ServiceId, TeamId, UserId,
};
use uuid::Uuid;

/// The largest `params` object, serialized.
pub const PARAMS_MAX: usize = 16 * 1024;

/// User parameters: a JSON object of at most 16 KiB (`None`: `{}`).
pub fn check_params(
    field: &str,
    params: Option<&serde_json::Value>,
) -> Result<serde_json::Value, FieldError> {
    match params {
        None | Some(serde_json::Value::Null) => Ok(serde_json::json!({})),
        Some(v @ serde_json::Value::Object(_)) => {
            if serde_json::to_vec(v).map_or(usize::MAX, |b| b.len()) > PARAMS_MAX {
                Err(FieldError::new(
                    field,
                    "too_large",
                    "at most 16 KiB of JSON",
                ))
            } else {
                Ok(v.clone())
            }
        }
        Some(_) => Err(FieldError::new(field, "invalid", "must be a JSON object")),
    }
}

/// A rule body, checked (the ids it names are checked against the database by [`check_refs`]).
pub fn validate(body: &AutomationRuleIn) -> AutomationResult<(CompiledRule, serde_json::Value)> {
    let mut errors = FieldErrors::default();
    errors.check(Name::parse_field("name", &body.name));
    let compiled = match CompiledRule::compile(Uuid::nil(), &body.conditions) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(FieldError::new(
                format!("conditions.{}", e.field()),
                "invalid",
                e.to_string(),
            ));
            None
        }
    };
    if let Some(p) = body.conditions.priorities.iter().position(|p| {
        p.trim().is_empty() || p.chars().count() > 50 || p.chars().any(char::is_control)
    }) {
        errors.push(FieldError::new(
            format!("conditions.priorities[{p}]"),
            "invalid",
            "1–50 characters, without control characters",
        ));
    }
    if let Some(t) = body.conditions.tags_any.iter().position(|t| {
        t.trim().is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control)
    }) {
        errors.push(FieldError::new(
            format!("conditions.tags_any[{t}]"),
            "invalid",
            "1–100 characters, without control characters",
        ));
    }
    let params = errors.check(check_params("params", body.params.as_ref()));
    if !(1..=10_000).contains(&body.max_runs_per_hour) {
        errors.push(FieldError::new(
            "max_runs_per_hour",
            "out_of_range",
            "must be between 1 and 10000",
        ));
    }
    errors.finish()?;
    Ok((compiled.expect("checked"), params.expect("checked")))
}

/// The automation, services, teams and patterns a rule names must be this organization's (422 naming each
/// one that is not).
pub async fn check_refs(
    db: &mut OrgTx,
    automation: AutomationId,
    c: &RuleConditions,
) -> AutomationResult<()> {
    let mut errors = FieldErrors::default();
    let exists = org_query_scalar!(
        db,
        "SELECT id FROM automations WHERE org_id = $1 AND id = $2 FOR SHARE",
        automation.0
    )
    .fetch_optional(db.conn())
    .await?;
    if exists.is_none() {
        errors.push(FieldError::new(
            "automation_id",
            "not_found",
            "no such automation in this organization",
        ));
    }
    let services: Vec<Uuid> = c.service_ids.iter().map(|s| s.0).collect();
    let found = org_query_scalar!(
        db,
        "SELECT id FROM services WHERE org_id = $1 AND id = ANY($2)",
        &services
    )
    .fetch_all(db.conn())
    .await?;
    missing(&mut errors, "service_ids", &services, &found, "service");
    let teams: Vec<Uuid> = c.team_ids.iter().map(|s| s.0).collect();
    let found = org_query_scalar!(
        db,
        "SELECT id FROM teams WHERE org_id = $1 AND id = ANY($2)",
        &teams
    )
    .fetch_all(db.conn())
    .await?;
    missing(&mut errors, "team_ids", &teams, &found, "team");
    let patterns: Vec<Uuid> = c.pattern_ids.iter().map(|s| s.0).collect();
    let found = org_query_scalar!(
        db,
        "SELECT id FROM patterns WHERE org_id = $1 AND id = ANY($2)",
        &patterns
    )
    .fetch_all(db.conn())
    .await?;
    missing(&mut errors, "pattern_ids", &patterns, &found, "pattern");
    errors.finish().map_err(AutomationError::Invalid)
}

/// A stored rule.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: Uuid,
    pub automation_id: Uuid,
    pub automation_name: String,
    pub name: String,
    pub conditions: serde_json::Value,
    pub params: serde_json::Value,
    pub max_runs_per_hour: i32,
    pub enabled: bool,
    pub runs_last_hour: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RuleRow {
    #[must_use]
    pub fn conditions(&self) -> RuleConditions {
        serde_json::from_value(self.conditions.clone()).unwrap_or_default()
    }

    #[must_use]
    pub fn out(&self) -> AutomationRuleOut {
        AutomationRuleOut {
            id: AutomationRuleId(self.id),
            name: self.name.clone(),
            automation: NamedRef {
                id: self.automation_id,
                name: self.automation_name.clone(),
            },
            conditions: self.conditions(),
            params: self.params.clone(),
            max_runs_per_hour: self.max_runs_per_hour,
            enabled: self.enabled,
            runs_last_hour: self.runs_last_hour,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Creates a rule.
pub async fn create(
    db: &mut OrgTx,
    actor: UserId,
    body: &AutomationRuleIn,
) -> AutomationResult<AutomationRuleId> {
    let (_, params) = validate(body)?;
    check_refs(db, body.automation_id, &body.conditions).await?;
    let id = AutomationRuleId(Uuid::now_v7());
    org_query!(
        db,
        "INSERT INTO automation_rules (id, org_id, automation_id, name, conditions, params, max_runs_per_hour,
                                       enabled, created_by)
         VALUES ($2, $1, $3, $4, $5, $6, $7, $8, $9)",
        id.0,
        body.automation_id.0,
        body.name.trim(),
        serde_json::to_value(&body.conditions).expect("conditions serialize"),
        params,
        body.max_runs_per_hour,
        body.enabled,
        actor.0,
    )
    .execute(db.conn())
    .await?;
    Ok(id)
}

/// Replaces a rule.
pub async fn replace(
    db: &mut OrgTx,
    id: AutomationRuleId,
    body: &AutomationRuleIn,
) -> AutomationResult<()> {
    get(db, id).await?;
    let (_, params) = validate(body)?;
    check_refs(db, body.automation_id, &body.conditions).await?;
    org_query!(
        db,
        "UPDATE automation_rules SET automation_id = $3, name = $4, conditions = $5, params = $6,
                max_runs_per_hour = $7, enabled = $8, updated_at = now()
          WHERE org_id = $1 AND id = $2",
        id.0,
        body.automation_id.0,
        body.name.trim(),
        serde_json::to_value(&body.conditions).expect("conditions serialize"),
        params,
        body.max_runs_per_hour,
        body.enabled,
    )
    .execute(db.conn())
    .await?;
    Ok(())
}

/// Deletes a rule (its runs stay in the log).
pub async fn delete(db: &mut OrgTx, id: AutomationRuleId) -> AutomationResult<RuleRow> {
    let row = get(db, id).await?;
    org_query!(
        db,
        "DELETE FROM automation_rules WHERE org_id = $1 AND id = $2",
        id.0
    )
    .execute(db.conn())
    .await?;
    Ok(row)
}

/// A rule.
pub async fn get(db: &mut OrgTx, id: AutomationRuleId) -> AutomationResult<RuleRow> {
    fetch(db, Some(id), None)
        .await?
        .into_iter()
        .next()
        .ok_or(AutomationError::NotFound)
}

/// The organization's rules (of one automation when given), by name.
pub async fn list(
    db: &mut OrgTx,
    automation: Option<AutomationId>,
) -> AutomationResult<Vec<RuleRow>> {
    fetch(db, None, automation).await
}

async fn fetch(
    db: &mut OrgTx,
    id: Option<AutomationRuleId>,
    automation: Option<AutomationId>,
) -> AutomationResult<Vec<RuleRow>> {
    org_query_as!(
        db,
        RuleRow,
        r#"SELECT r.id, r.automation_id, a.name AS automation_name, r.name, r.conditions, r.params,
                  r.max_runs_per_hour, r.enabled, r.created_at, r.updated_at,
                  (SELECT count(*) FROM automation_runs x
                    WHERE x.org_id = r.org_id AND x.rule_id = r.id AND x.status <> 'refused'
                      AND x.created_at > now() - interval '1 hour') AS "runs_last_hour!"
             FROM automation_rules r
             JOIN automations a ON a.org_id = r.org_id AND a.id = r.automation_id
            WHERE r.org_id = $1 AND ($2::uuid IS NULL OR r.id = $2) AND ($3::uuid IS NULL OR r.automation_id = $3)
            ORDER BY r.name, r.id"#,
        id.map(|i| i.0),
        automation.map(|a| a.0),
    )
    .fetch_all(db.conn())
    .await
    .read_from("automation_rules")
    .map_err(not_found)
}

/// The facts rules see of one examined incident.
struct Examined {
    id: Uuid,
    title: String,
    source: IncidentSource,
    service_id: Option<Uuid>,
    team_id: Option<Uuid>,
    urgency: Option<Urgency>,
    priority: Option<String>,
    pattern_id: Option<Uuid>,
    tags: Vec<String>,
    triggered_at: DateTime<Utc>,
}

impl Examined {
    fn facts(&self) -> IncidentFacts {
        IncidentFacts {
            source: self.source,
            service_id: self.service_id.map(ServiceId),
            team_id: self.team_id.map(TeamId),
            urgency: self.urgency,
            priority: self.priority.clone(),
            pattern_id: self.pattern_id.map(PatternId),
            tags: self.tags.clone(),
            title: self.title.clone(),
        }
    }
}

/// What a rule (saved or not) would have done on the last `last` incidents, each taken as just triggered:
/// whether it matches and why, the payload, and the outcome once the rule's cap and the automation's limits
/// (its rate per hour, enabled) applied — simulated over the incidents in time order, counting the runs this
/// rule would have started. Answered newest first; nothing runs.
pub async fn dry_run(db: &mut OrgTx, body: &DryRunIn) -> AutomationResult<DryRunOut> {
    let rule = &body.rule;
    if !(1..=1000).contains(&body.last) {
        return Err(FieldError::new("last", "out_of_range", "must be between 1 and 1000").into());
    }
    let (compiled, params) = validate(rule).map_err(|e| match e {
        AutomationError::Invalid(fields) => AutomationError::Invalid(
            fields
                .into_iter()
                .map(|f| FieldError {
                    field: format!("rule.{}", f.field),
                    ..f
                })
                .collect(),
        ),
        e => e,
    })?;
    check_refs(db, rule.automation_id, &rule.conditions)
        .await
        .map_err(|e| match e {
            AutomationError::Invalid(fields) => AutomationError::Invalid(
                fields
                    .into_iter()
                    .map(|f| FieldError {
                        field: format!("rule.{}", f.field),
                        ..f
                    })
                    .collect(),
            ),
            e => e,
        })?;
    let automation = super::definitions::get(db, rule.automation_id, false).await?;
    let kind = super::definitions::template_kind(automation.action());
    let template = Template::compile(&automation.template, kind);
    let mut incidents = org_query_as!(
        db,
        Examined,
        r#"SELECT id, title, source AS "source: IncidentSource", service_id, team_id,
                  urgency AS "urgency: Urgency", priority, pattern_id, tags, triggered_at
             FROM incidents WHERE org_id = $1
            ORDER BY triggered_at DESC, id DESC LIMIT $2"#,
        i64::from(body.last),
    )
    .fetch_all(db.conn())
    .await
    .read_from("incidents")?;
    incidents.reverse();
    let limits = automation.limits(Some(rule.max_runs_per_hour));
    let mut started: Vec<DateTime<Utc>> = Vec::new();
    let mut out = Vec::with_capacity(incidents.len());
    for i in &incidents {
        let (matched, why) = compiled.explain(&i.facts(), Transition::Triggered);
        let (outcome, rendered, error) = if matched {
            let hour_ago = i.triggered_at - chrono::Duration::hours(1);
            let in_hour = started.iter().filter(|t| **t > hour_ago).count() as i64;
            let usage = Usage {
                runs_last_hour: in_hour,
                rule_runs_last_hour: in_hour,
                ..Usage::default()
            };
            let outcome = match decide(&limits, &usage, i.triggered_at) {
                Decision::Admit { .. } => {
                    started.push(i.triggered_at);
                    if automation.needs_approval {
                        "needs_approval".to_owned()
                    } else {
                        "run".to_owned()
                    }
                }
                Decision::Refuse(r) => r.message,
            };
            let subject = RunSubjectIn {
                incident_id: Some(IncidentId(i.id)),
                params: Some(params.clone()),
                ..RunSubjectIn::default()
            };
            let ctx = context::load(
                db,
                &subject,
                automation.run_ctx(RunTrigger::Rule, i.triggered_at),
            )
            .await?;
            let rendered = match &template {
                Ok(t) => t.render(&ctx),
                Err(e) => Err(e.clone()),
            };
            match rendered {
                Ok(r) => (outcome, Some(r), None),
                Err(e) => (
                    outcome,
                    None,
                    Some(match e.line {
                        Some(l) => format!("line {l}: {}", e.message),
                        None => e.message,
                    }),
                ),
            }
        } else {
            ("no_match".to_owned(), None, None)
        };
        out.push(DryRunMatchOut {
            incident: NamedRef {
                id: i.id,
                name: i.title.clone(),
            },
            triggered_at: i.triggered_at,
            matched,
            why,
            outcome,
            rendered,
            error,
        });
    }
    out.reverse();
    Ok(DryRunOut {
        examined: out.len(),
        matched: out.iter().filter(|m| m.matched).count(),
        would_run: started.len(),
        incidents: out,
    })
}

/// A field error for each of `ids` (the rule's `conditions.<field>`) that is not among `found` in this
/// organization.
fn missing(errors: &mut FieldErrors, field: &str, ids: &[Uuid], found: &[Uuid], what: &str) {
    for (i, id) in ids.iter().enumerate() {
        if !found.contains(id) {
            errors.push(FieldError::new(
                format!("conditions.{field}[{i}]"),
                "not_found",
                format!("no such {what} in this organization"),
            ));
        }
    }
}
