//! Loading what a template sees ([`TemplateContext`]) for a run's subject: the incident (with its service and
//! team names), its pattern (or the one asked for), a runbook version's step, the user parameters and targets.

use insights_automation::context::{
    IncidentCtx, NamedCtx, PatternCtx, RunCtx, StepCtx, TemplateContext,
};
use insights_automation::rules::IncidentFacts;
use insights_types::api::{IncidentSource, RunSubjectIn, RunbookStep, Urgency};
use insights_types::ids::{IncidentId, PatternId, RunbookId, ServiceId, TeamId};
use sqlx::types::Json;

use crate::db::{DbError, DbResult, OrgTx};

/// The context of a run about `subject`. A subject that names an incident, pattern, runbook (version) or step
/// that does not exist in the organization is [`DbError::NotFound`]. Without `pattern_id`, the incident's
/// pattern (if it has one) is loaded.
pub async fn load(
    db: &mut OrgTx,
    subject: &RunSubjectIn,
    run: RunCtx,
) -> DbResult<TemplateContext> {
    let (incident, incident_pattern) = match subject.incident_id {
        Some(id) => {
            let (ctx, pattern) = incident(db, id).await?;
            (Some(ctx), pattern)
        }
        None => (None, None),
    };
    let pattern = match subject.pattern_id.or(incident_pattern) {
        Some(id) => Some(pattern(db, id).await?),
        None => None,
    };
    let step = match (subject.runbook_id, subject.step_index) {
        (Some(runbook), Some(index)) => {
            Some(step(db, runbook, subject.runbook_version, index).await?)
        }
        (None, None) => None,
        // Half a step reference: nothing to load.
        _ => return Err(DbError::NotFound),
    };
    let params = match &subject.params {
        Some(p @ serde_json::Value::Object(_)) => p.clone(),
        _ => serde_json::Value::Object(serde_json::Map::new()),
    };
    Ok(TemplateContext {
        incident,
        pattern,
        step,
        params,
        run,
        targets: subject.targets.clone(),
    })
}

/// An incident as templates see it, and its pattern.
pub async fn incident(
    db: &mut OrgTx,
    id: IncidentId,
) -> DbResult<(IncidentCtx, Option<PatternId>)> {
    let r = org_query!(
        db,
        r#"SELECT i.source, i.external_id, i.number, i.title, i.description, i.status, i.urgency, i.priority,
                  i.service_id AS "service_id: ServiceId", s.name AS "service_name?",
                  i.team_id AS "team_id: TeamId", t.name AS "team_name?",
                  i.tags, i.assignees AS "assignees: Json<Vec<String>>", i.triggered_at, i.acknowledged_at,
                  i.resolved_at, i.source_url, i.pattern_id AS "pattern_id: PatternId"
             FROM incidents i
             LEFT JOIN services s ON s.id = i.service_id
             LEFT JOIN teams t ON t.id = i.team_id
            WHERE i.org_id = $1 AND i.id = $2"#,
        id as IncidentId,
    )
    .fetch_optional(db.conn())
    .await?
    .ok_or(DbError::NotFound)?;
    let service = match (r.service_id, r.service_name) {
        (Some(id), Some(name)) => Some(NamedCtx { id, name }),
        _ => None,
    };
    let team = match (r.team_id, r.team_name) {
        (Some(id), Some(name)) => Some(NamedCtx { id, name }),
        _ => None,
    };
    Ok((
        IncidentCtx {
            id,
            source: r.source,
            external_id: r.external_id,
            number: r.number,
            title: r.title,
            description: r.description,
            status: r.status,
            urgency: r.urgency,
            priority: r.priority,
            service,
            team,
            tags: r.tags,
            assignees: r.assignees.0,
            triggered_at: r.triggered_at,
            acknowledged_at: r.acknowledged_at,
            resolved_at: r.resolved_at,
            url: r.source_url,
        },
        r.pattern_id,
    ))
}

/// What rules test about these incidents (as stored now), in the order of `ids`; unknown ids are left out.
pub async fn facts(db: &mut OrgTx, ids: &[IncidentId]) -> DbResult<Vec<(IncidentId, IncidentFacts)>> {
    let raw: Vec<uuid::Uuid> = ids.iter().map(|i| i.0).collect();
    let rows = org_query!(
        db,
        r#"SELECT i.id AS "id: IncidentId", i.source AS "source: IncidentSource",
                  i.service_id AS "service_id: ServiceId", i.team_id AS "team_id: TeamId",
                  i.urgency AS "urgency: Urgency", i.priority, i.pattern_id AS "pattern_id: PatternId", i.tags,
                  i.title
             FROM incidents i
            WHERE i.org_id = $1 AND i.id = ANY($2)"#,
        &raw,
    )
    .fetch_all(db.conn())
    .await?;
    let mut by_id: std::collections::HashMap<IncidentId, IncidentFacts> = rows
        .into_iter()
        .map(|r| {
            (
                r.id,
                IncidentFacts {
                    source: r.source,
                    service_id: r.service_id,
                    team_id: r.team_id,
                    urgency: r.urgency,
                    priority: r.priority,
                    pattern_id: r.pattern_id,
                    tags: r.tags,
                    title: r.title,
                },
            )
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id).map(|f| (*id, f))).collect())
}

/// A pattern as templates see it.
pub async fn pattern(db: &mut OrgTx, id: PatternId) -> DbResult<PatternCtx> {
    let r = org_query!(
        db,
        "SELECT name, template, incident_count, first_seen, last_seen FROM patterns WHERE org_id = $1 AND id = $2",
        id as PatternId,
    )
    .fetch_optional(db.conn())
    .await?
    .ok_or(DbError::NotFound)?;
    Ok(PatternCtx {
        id,
        name: r.name.unwrap_or_else(|| r.template.clone()),
        template: r.template,
        incident_count: r.incident_count,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
    })
}

/// Step `index` (from 0) of a runbook's version `version` (its current one when none).
pub async fn step(
    db: &mut OrgTx,
    runbook_id: RunbookId,
    version: Option<i32>,
    index: i32,
) -> DbResult<StepCtx> {
    let r = org_query!(
        db,
        r#"SELECT v.number, v.title, v.steps AS "steps: Json<Vec<RunbookStep>>"
             FROM runbooks r
             JOIN runbook_versions v
               ON v.org_id = r.org_id AND v.runbook_id = r.id AND v.number = COALESCE($3, r.current_version)
            WHERE r.org_id = $1 AND r.id = $2"#,
        runbook_id as RunbookId,
        version,
    )
    .fetch_optional(db.conn())
    .await?
    .ok_or(DbError::NotFound)?;
    let step = usize::try_from(index)
        .ok()
        .and_then(|i| r.steps.0.into_iter().nth(i))
        .ok_or(DbError::NotFound)?;
    let (command, language) = match step.command {
        Some(c) => (Some(c.text), Some(snake(c.language))),
        None => (None, None),
    };
    Ok(StepCtx {
        runbook_id,
        runbook_title: r.title,
        runbook_version: r.number,
        index,
        title: step.title,
        why: step.why,
        command,
        language,
        risk: snake(step.risk),
        expected: step.expected,
    })
}

/// The name a unit enum serializes to (`read_only`, `shell`).
fn snake(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, migrate};
    use insights_types::OrgId;
    use insights_types::api::RunTrigger;
    use serde_json::json;
    use sqlx::{Connection, Executor, PgConnection};
    use uuid::Uuid;

    /// A new, migrated database on the test cluster (`DATABASE_URL`): its URL, and the admin URL to drop it.
    async fn fresh_database() -> (String, String) {
        let admin = std::env::var("DATABASE_URL")
            .expect("DATABASE_URL must point at the test PostgreSQL (run scripts/test)");
        let name = format!("insights_core_test_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin).await.expect("connect");
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create database");
        let mut url = url::Url::parse(&admin).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        migrate(&url.to_string().into()).await.expect("migrate");
        (url.to_string(), admin)
    }

    async fn drop_database(url: &str, admin: &str) {
        let name = url.rsplit('/').next().expect("database name");
        let mut conn = PgConnection::connect(admin).await.expect("connect");
        conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .await
            .expect("drop database");
    }

    struct Seeded {
        incident: IncidentId,
        pattern: PatternId,
        runbook: RunbookId,
    }

    /// An organization with a service, a team, a pattern, an incident of that pattern, and a runbook with two
    /// versions (as the owner of the tables, past row-level security).
    async fn seed(owner: &mut PgConnection, org: OrgId, slug: &str) -> Seeded {
        let (service, team, pattern, incident, runbook) =
            (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let steps_v1 = json!([{"title": "Look", "why": "", "command": null, "risk": "read_only"}]);
        let steps_v2 = json!([
            {"title": "Look", "why": "see the disk", "command": {"language": "shell", "text": "df -h"},
             "risk": "read_only"},
            {"title": "Clean", "why": "free space", "command": {"language": "shell", "text": "journalctl --vacuum-size=500M"},
             "risk": "changes_state", "expected": "space freed"}
        ]);
        sqlx::query("INSERT INTO organizations (id, name, slug) VALUES ($1, 'Acme', $2)")
            .bind(org.0)
            .bind(slug)
            .execute(&mut *owner)
            .await
            .expect("organization");
        sqlx::query(
            "INSERT INTO services (id, org_id, source, external_id, name) VALUES ($1, $2, 'pagerduty', 'PSVC', 'checkout')",
        )
        .bind(service)
        .bind(org.0)
        .execute(&mut *owner)
        .await
        .expect("service");
        sqlx::query(
            "INSERT INTO teams (id, org_id, source, external_id, name) VALUES ($1, $2, 'pagerduty', 'PTEAM', 'Payments')",
        )
        .bind(team)
        .bind(org.0)
        .execute(&mut *owner)
        .await
        .expect("team");
        sqlx::query(
            "INSERT INTO patterns (id, org_id, name, template, incident_count)
             VALUES ($1, $2, NULL, 'Disk usage above <num>% on <host>', 12)",
        )
        .bind(pattern)
        .bind(org.0)
        .execute(&mut *owner)
        .await
        .expect("pattern");
        sqlx::query(
            "INSERT INTO incidents (id, org_id, source, external_id, number, title, description, service_id, team_id,
                                    urgency, priority, status, triggered_at, assignees, tags, source_url,
                                    source_updated_at, pattern_id)
             VALUES ($1, $2, 'pagerduty', 'Q1ABC', 42, 'Disk usage above 97% on db-7', 'it is full', $3, $4,
                     'high', 'P1', 'triggered', '2026-07-01T12:30:00Z', '[\"Ada\"]', '{db,prod}',
                     'https://acme.pagerduty.com/incidents/Q1ABC', now(), $5)",
        )
        .bind(incident)
        .bind(org.0)
        .bind(service)
        .bind(team)
        .bind(pattern)
        .execute(&mut *owner)
        .await
        .expect("incident");
        sqlx::query(
            "INSERT INTO runbooks (id, org_id, title, steps, source, current_version)
             VALUES ($1, $2, 'Disk full', $3, 'written', 2)",
        )
        .bind(runbook)
        .bind(org.0)
        .bind(&steps_v2)
        .execute(&mut *owner)
        .await
        .expect("runbook");
        sqlx::query(
            "INSERT INTO runbook_versions (org_id, runbook_id, number, title, body, steps, tags)
             VALUES ($1, $2, 1, 'Disk full (old)', '', $3, '{}'), ($1, $2, 2, 'Disk full', '', $4, '{}')",
        )
        .bind(org.0)
        .bind(runbook)
        .bind(&steps_v1)
        .bind(&steps_v2)
        .execute(&mut *owner)
        .await
        .expect("runbook versions");
        Seeded {
            incident: IncidentId(incident),
            pattern: PatternId(pattern),
            runbook: RunbookId(runbook),
        }
    }

    #[tokio::test]
    async fn a_context_carries_the_incident_its_pattern_and_a_runbook_step() {
        let (url, admin) = fresh_database().await;
        let mut owner = PgConnection::connect(&url).await.expect("connect");
        let (org, other) = (OrgId::new(), OrgId::new());
        let s = seed(&mut owner, org, "acme").await;
        let o = seed(&mut owner, other, "other").await;
        let db = Db::connect_lazy(&url.clone().into(), "insights_app", 1).expect("pool");

        let run = RunCtx {
            trigger: RunTrigger::Manual,
            timeout_secs: 45,
            ..RunCtx::default()
        };
        let subject = RunSubjectIn {
            incident_id: Some(s.incident),
            runbook_id: Some(s.runbook),
            step_index: Some(1),
            targets: Some(json!({"tag:role": ["db"]})),
            params: Some(json!({"size": "500M"})),
            ..Default::default()
        };
        let mut tx = db.org_tx(org, None).await.expect("org tx");
        let ctx = load(&mut tx, &subject, run.clone()).await.expect("load");
        let incident = ctx.incident.as_ref().expect("incident");
        assert_eq!(incident.title, "Disk usage above 97% on db-7");
        assert_eq!(incident.number, Some(42));
        assert_eq!(incident.service.as_ref().map(|s| s.name.as_str()), Some("checkout"));
        assert_eq!(incident.team.as_ref().map(|t| t.name.as_str()), Some("Payments"));
        assert_eq!(incident.tags, ["db", "prod"]);
        assert_eq!(incident.assignees, ["Ada"]);
        assert_eq!(incident.urgency.as_deref(), Some("high"));
        // The incident's pattern, named by its template when nobody named it.
        let pattern = ctx.pattern.as_ref().expect("pattern");
        assert_eq!(pattern.id, s.pattern);
        assert_eq!(pattern.name, "Disk usage above <num>% on <host>");
        assert_eq!(pattern.incident_count, 12);
        // The current version's step.
        let step = ctx.step.as_ref().expect("step");
        assert_eq!(step.runbook_version, 2);
        assert_eq!(step.title, "Clean");
        assert_eq!(step.command.as_deref(), Some("journalctl --vacuum-size=500M"));
        assert_eq!(step.language.as_deref(), Some("shell"));
        assert_eq!(step.risk, "changes_state");
        assert_eq!(ctx.params, json!({"size": "500M"}));
        assert_eq!(ctx.targets, Some(json!({"tag:role": ["db"]})));
        assert_eq!(ctx.run, run);

        // An older version's step, by number.
        let old = RunSubjectIn {
            runbook_id: Some(s.runbook),
            runbook_version: Some(1),
            step_index: Some(0),
            ..Default::default()
        };
        let ctx = load(&mut tx, &old, run.clone()).await.expect("load v1");
        assert_eq!(ctx.step.as_ref().map(|s| s.runbook_title.as_str()), Some("Disk full (old)"));
        assert_eq!(ctx.step.as_ref().and_then(|s| s.command.clone()), None);
        assert!(ctx.incident.is_none() && ctx.pattern.is_none());
        assert_eq!(ctx.params, json!({}));

        // What does not exist, or belongs to another organization, is not found.
        for bad in [
            RunSubjectIn { incident_id: Some(o.incident), ..Default::default() },
            RunSubjectIn { pattern_id: Some(o.pattern), ..Default::default() },
            RunSubjectIn { runbook_id: Some(o.runbook), step_index: Some(0), ..Default::default() },
            RunSubjectIn { runbook_id: Some(s.runbook), step_index: Some(2), ..Default::default() },
            RunSubjectIn { runbook_id: Some(s.runbook), step_index: Some(-1), ..Default::default() },
            RunSubjectIn { runbook_id: Some(s.runbook), runbook_version: Some(3), step_index: Some(0), ..Default::default() },
            RunSubjectIn { runbook_id: Some(s.runbook), ..Default::default() },
        ] {
            let err = load(&mut tx, &bad, run.clone()).await.expect_err("not found");
            assert!(matches!(err, DbError::NotFound), "{bad:?}: {err}");
        }
        // Rule facts, in the order asked, without another organization's incident.
        let facts = facts(&mut tx, &[o.incident, s.incident]).await.expect("facts");
        assert_eq!(facts.len(), 1);
        assert_eq!(facts[0].0, s.incident);
        assert_eq!(facts[0].1.priority.as_deref(), Some("P1"));
        assert_eq!(facts[0].1.pattern_id, Some(s.pattern));
        assert_eq!(facts[0].1.source, IncidentSource::Pagerduty);
        assert_eq!(facts[0].1.urgency, Some(Urgency::High));
        drop(tx);
        drop_database(&url, &admin).await;
    }
}
