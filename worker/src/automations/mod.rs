//! Automations in the worker (issue 13): the dispatcher that turns stored incident changes into runs (rules),
//! the schedule loop, and the actions ([`actions`]) the `run_automation` job performs.
//!
//! The dispatcher drains `automation_changes` — woken at once by the store's notification (PostgreSQL
//! `NOTIFY` on commit), and every [`DRAIN_INTERVAL`] in case one was missed —: per organization it evaluates
//! the changes against the organization's compiled rules (cached, and compiled again when a rule changed, so
//! rules take effect without a restart), admits a run per matching rule, and deletes the change rows in the
//! same transaction; the runs' jobs are pushed after the commit. A worker dying midway leaves the changes in
//! place (nothing committed), so none is lost; several dispatchers skip each other's locked rows.

pub mod actions;

use crate::WorkerState;
use chrono::{DateTime, Utc};
use insights_automation::rules::{CompiledRule, IncidentFacts, RuleSet};
use insights_automation::schedule::Schedule;
use insights_core::automations::admission::{self, AdmitError, RunRequest};
use insights_core::automations::{changes, schedule_fires as schedules};
use insights_types::api::{RuleConditions, RunSubjectIn, RunTrigger, Transition};
use insights_types::{AutomationId, AutomationRuleId, OrgId, PatternId, ServiceId, TeamId};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// How often the dispatcher looks for changes without a notification.
pub const DRAIN_INTERVAL: Duration = Duration::from_millis(100);
/// How often due schedules are looked for.
pub const SCHEDULE_INTERVAL: Duration = Duration::from_secs(1);
/// Changes evaluated per organization and transaction.
const BATCH: i64 = 500;

/// An organization's compiled rules, with the stamp of the rules they were compiled from.
pub struct OrgRules {
    stamp: (i64, Option<DateTime<Utc>>),
    set: RuleSet,
    /// The automation each rule starts.
    automations: HashMap<Uuid, AutomationId>,
}

/// Runs the dispatcher until `stop` turns true.
pub async fn dispatch(state: WorkerState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut listener = match sqlx::postgres::PgListener::connect_with(state.db.pool()).await {
        Ok(mut l) => match l.listen(changes::CHANNEL).await {
            Ok(()) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for incident changes; polling only");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for incident changes; polling only");
            None
        }
    };
    let mut cache: HashMap<OrgId, OrgRules> = HashMap::new();
    loop {
        match drain(&state, &mut cache).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(changes = n, "incident changes evaluated"),
            Err(e) => tracing::error!(error = ?e, "automation dispatcher failed"),
        }
        let wake = async {
            match listener.as_mut() {
                Some(l) => {
                    let _ = tokio::time::timeout(DRAIN_INTERVAL, l.recv()).await;
                }
                None => tokio::time::sleep(DRAIN_INTERVAL).await,
            }
        };
        tokio::select! {
            _ = stop.changed() => return,
            () = wake => {}
        }
    }
}

/// One pass over the organizations with changes; returns how many changes were evaluated.
pub async fn drain(
    state: &WorkerState,
    cache: &mut HashMap<OrgId, OrgRules>,
) -> anyhow::Result<usize> {
    let mut done = 0;
    for org in changes::due(&state.db, 50).await? {
        loop {
            let n = drain_org(state, org, cache).await?;
            done += n;
            if n < BATCH as usize {
                break;
            }
        }
    }
    Ok(done)
}

/// Evaluates up to [`BATCH`] changes of one organization in one transaction.
async fn drain_org(
    state: &WorkerState,
    org: OrgId,
    cache: &mut HashMap<OrgId, OrgRules>,
) -> anyhow::Result<usize> {
    let mut db = state.db.org_tx(org, None).await?;
    let rows = changes::take(&mut db, BATCH).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let stamp = changes::rules_stamp(&mut db).await?;
    if cache.get(&org).is_none_or(|r| r.stamp != stamp) {
        let rules = changes::enabled_rules(&mut db).await?;
        let mut compiled = Vec::with_capacity(rules.len());
        let mut automations = HashMap::new();
        for r in rules {
            let conditions: RuleConditions = match serde_json::from_value(r.conditions) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(rule = %r.id, error = %e, "rule conditions do not parse; rule skipped");
                    continue;
                }
            };
            match CompiledRule::compile(r.id, &conditions) {
                Ok(c) => {
                    compiled.push(c);
                    automations.insert(r.id, AutomationId(r.automation_id));
                }
                Err(e) => {
                    tracing::warn!(rule = %r.id, error = %e, "rule does not compile; rule skipped")
                }
            }
        }
        cache.insert(
            org,
            OrgRules {
                stamp,
                set: RuleSet::new(compiled),
                automations,
            },
        );
    }
    let rules = cache.get(&org).expect("compiled just now");
    let ids: Vec<_> = rows.iter().map(|r| r.incident_id).collect();
    let facts: HashMap<_, _> = changes::incidents(&mut db, &ids)
        .await?
        .into_iter()
        .map(|i| (i.id, facts_of(&i)))
        .collect();
    let mut pending: Vec<admission::Admitted> = Vec::new();
    for change in &rows {
        let (Some(facts), Some(transition)) = (
            facts.get(&change.incident_id),
            Transition::parse(&change.transition),
        ) else {
            continue;
        };
        for rule in rules.set.matching(facts, transition) {
            let Some(&automation_id) = rules.automations.get(&rule) else {
                continue;
            };
            let req = RunRequest {
                queue: &state.queue,
                automation_id,
                trigger: RunTrigger::Rule,
                actor_id: None,
                rule_id: Some(AutomationRuleId(rule)),
                schedule_id: None,
                subject: RunSubjectIn {
                    incident_id: Some(change.incident_id),
                    ..RunSubjectIn::default()
                },
            };
            match admission::admit(&mut db, req).await {
                Ok(admitted) => pending.push(admitted),
                // The rule or its automation went away since the rules were compiled: nothing to run.
                Err(AdmitError::NotFound | AdmitError::Invalid(_)) => {}
                Err(AdmitError::Db(e)) => return Err(e.into()),
            }
        }
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    changes::delete(&mut db, &ids).await?;
    db.commit().await?;
    for admitted in pending {
        admitted.push_jobs(&state.queue).await;
    }
    Ok(rows.len())
}

/// What rules look at of an incident.
fn facts_of(i: &changes::IncidentRow) -> IncidentFacts {
    IncidentFacts {
        source: i.source,
        service_id: i.service_id.map(ServiceId),
        team_id: i.team_id.map(TeamId),
        urgency: i.urgency,
        priority: i.priority.clone(),
        pattern_id: i.pattern_id.map(PatternId),
        tags: i.tags.clone(),
        title: i.title.clone(),
    }
}

/// Runs the schedule loop until `stop` turns true.
pub async fn schedule(state: WorkerState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match fire_due(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(runs = n, "scheduled automation runs admitted"),
            Err(e) => tracing::error!(error = ?e, "automation schedules failed"),
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(SCHEDULE_INTERVAL) => {}
        }
    }
}

/// Admits one run per due schedule, advancing each to its next fire in the same transaction (exactly one run
/// per fire however many workers look); returns how many fired.
pub async fn fire_due(state: &WorkerState) -> anyhow::Result<usize> {
    let mut fired = 0;
    for (org, id) in schedules::due(&state.db, 200).await? {
        let mut db = state.db.org_tx(org, None).await?;
        let Some(claimed) = schedules::claim(&mut db, id).await? else {
            continue;
        };
        let next = Schedule::parse(&claimed.cron, &claimed.time_zone)
            .ok()
            .and_then(|s| s.next_after(claimed.now));
        let req = RunRequest {
            queue: &state.queue,
            automation_id: claimed.automation_id,
            trigger: RunTrigger::Schedule,
            actor_id: None,
            rule_id: None,
            schedule_id: Some(id),
            subject: RunSubjectIn::default(),
        };
        let admitted = match admission::admit(&mut db, req).await {
            Ok(a) => Some(a),
            Err(AdmitError::Db(e)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(schedule = %id, error = %e, "scheduled run not admitted");
                None
            }
        };
        schedules::advance(&mut db, id, claimed.now, next).await?;
        db.commit().await?;
        fired += 1;
        if let Some(admitted) = admitted {
            admitted.push_jobs(&state.queue).await;
        }
    }
    Ok(fired)
}
