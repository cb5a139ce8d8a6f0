//! People's corrections: rename, mute, merge, move an incident. Each runs in the caller's transaction under
//! the organization's exclusive pattern lock (so it serializes with refinement and the store pipeline),
//! pins what it touches so refinement keeps it, and bumps both versions. Merges and moves leave rule
//! templates (`merge`, `move`), which refinement and the store pipeline match before any mined one: the
//! correction applies to future incidents alike.

use super::{MoveTarget, PatternError, PatternResult, state};
use crate::db::{DbError, OrgTx};
use insights_patterns::Template;
use insights_types::domain::PatternName;
use insights_types::{IncidentId, PatternId, UserId};
use uuid::Uuid;

pub(super) async fn rename(
    db: &mut OrgTx,
    _actor: UserId,
    id: PatternId,
    name: Option<String>,
) -> PatternResult<()> {
    let name = name
        .map(|n| PatternName::parse_field("name", &n).map(PatternName::into_inner))
        .transpose()
        .map_err(|e| PatternError::Invalid("name", e.message))?;
    state::lock_exclusive(db).await?;
    let id = existing(db, id).await?;
    org_execute!(
        db,
        "UPDATE patterns SET name = $3, pinned = true, updated_at = now() WHERE org_id = $1 AND id = $2",
        id as PatternId,
        name,
    )?;
    state::changed(db).await?;
    Ok(())
}

/// Muting pins the pattern too: refinement never deletes it, so it stays muted.
pub(super) async fn set_muted(
    db: &mut OrgTx,
    _actor: UserId,
    id: PatternId,
    muted: bool,
) -> PatternResult<()> {
    state::lock_exclusive(db).await?;
    let id = existing(db, id).await?;
    org_execute!(
        db,
        "UPDATE patterns SET muted = $3, pinned = true, updated_at = now() WHERE org_id = $1 AND id = $2",
        id as PatternId,
        muted,
    )?;
    state::changed(db).await?;
    Ok(())
}

pub(super) async fn merge(
    db: &mut OrgTx,
    actor: UserId,
    from: PatternId,
    into: PatternId,
) -> PatternResult<PatternId> {
    state::lock_exclusive(db).await?;
    let from = existing(db, from).await?;
    let into = existing(db, into).await?;
    if from == into {
        return Err(PatternError::Invalid(
            "into",
            "a pattern cannot be merged into itself".into(),
        ));
    }
    org_execute!(
        db,
        "UPDATE pattern_templates
            SET pattern_id = $3, origin = CASE WHEN origin = 'mined' THEN 'merge' ELSE origin END,
                created_by = CASE WHEN origin = 'mined' THEN $4 ELSE created_by END, updated_at = now()
          WHERE org_id = $1 AND pattern_id = $2",
        from as PatternId,
        into as PatternId,
        actor as UserId,
    )?;
    org_execute!(
        db,
        "UPDATE incidents SET pattern_id = $3 WHERE org_id = $1 AND pattern_id = $2",
        from as PatternId,
        into as PatternId,
    )?;
    alias(db, &[from], &[into]).await?;
    org_execute!(
        db,
        "DELETE FROM patterns WHERE org_id = $1 AND id = $2",
        from as PatternId
    )?;
    org_execute!(
        db,
        "UPDATE patterns SET pinned = true, updated_at = now() WHERE org_id = $1 AND id = $2",
        into as PatternId
    )?;
    recount(db, &[into]).await?;
    state::changed(db).await?;
    state::templates_changed(db).await?;
    Ok(into)
}

pub(super) async fn move_incident(
    db: &mut OrgTx,
    actor: UserId,
    incident: IncidentId,
    target: MoveTarget,
) -> PatternResult<PatternId> {
    state::lock_exclusive(db).await?;
    let row = org_query!(
        db,
        r#"SELECT i.title, s.name AS "service?", i.pattern_id AS "pattern_id: PatternId"
             FROM incidents i LEFT JOIN services s ON s.org_id = $1 AND s.id = i.service_id
            WHERE i.org_id = $1 AND i.id = $2"#,
        incident as IncidentId
    )
    .fetch_optional(db.conn())
    .await
    .map_err(DbError::from)?
    .ok_or(PatternError::NotFound)?;
    let template = Template::of_title(&row.title, row.service.as_deref()).to_string();
    let target = match target {
        MoveTarget::Existing(id) => existing(db, id).await?,
        MoveTarget::New => {
            let id = PatternId::new();
            org_execute!(
                db,
                "INSERT INTO patterns (id, org_id, template, pinned) VALUES ($2, $1, $3, true)",
                id as PatternId,
                &template,
            )?;
            id
        }
    };
    // The title's own template becomes the target's (taken from another pattern if it was theirs).
    org_execute!(
        db,
        "INSERT INTO pattern_templates (id, org_id, pattern_id, template, origin, created_by)
         VALUES ($2, $1, $3, $4, 'move', $5)
         ON CONFLICT (org_id, template) DO UPDATE
            SET pattern_id = EXCLUDED.pattern_id, origin = 'move', created_by = EXCLUDED.created_by,
                updated_at = now()",
        Uuid::now_v7(),
        target as PatternId,
        &template,
        actor as UserId,
    )?;
    org_execute!(
        db,
        "UPDATE incidents SET pattern_id = $3, pattern_score = 1, pattern_pinned = true
          WHERE org_id = $1 AND id = $2",
        incident as IncidentId,
        target as PatternId,
    )?;
    org_execute!(
        db,
        "UPDATE patterns SET pinned = true, updated_at = now() WHERE org_id = $1 AND id = $2",
        target as PatternId
    )?;
    let mut affected = vec![target];
    affected.extend(row.pattern_id.filter(|p| *p != target));
    recount(db, &affected).await?;
    state::changed(db).await?;
    state::templates_changed(db).await?;
    Ok(target)
}

pub(super) async fn resolve(db: &mut OrgTx, id: PatternId) -> PatternResult<Option<PatternId>> {
    Ok(org_query_scalar!(
        db,
        r#"SELECT id AS "id!: PatternId" FROM patterns WHERE org_id = $1 AND id = $2
           UNION ALL
           SELECT pattern_id FROM pattern_aliases WHERE org_id = $1 AND alias_id = $2
           LIMIT 1"#,
        id as PatternId
    )
    .fetch_optional(db.conn())
    .await
    .map_err(DbError::from)?)
}

/// The pattern `id` stands for, or [`PatternError::NotFound`].
async fn existing(db: &mut OrgTx, id: PatternId) -> PatternResult<PatternId> {
    resolve(db, id).await?.ok_or(PatternError::NotFound)
}

/// Makes each of `from` an alias of the matching `into`, and re-points the aliases that stood for it (before
/// it is deleted: deleting a pattern deletes its aliases).
pub(super) async fn alias(
    db: &mut OrgTx,
    from: &[PatternId],
    into: &[PatternId],
) -> PatternResult<()> {
    let from: Vec<Uuid> = from.iter().map(|p| p.0).collect();
    let into: Vec<Uuid> = into.iter().map(|p| p.0).collect();
    org_execute!(
        db,
        "UPDATE pattern_aliases a SET pattern_id = u.into_id, updated_at = now()
           FROM UNNEST($2::uuid[], $3::uuid[]) AS u(from_id, into_id)
          WHERE a.org_id = $1 AND a.pattern_id = u.from_id",
        &from,
        &into,
    )?;
    org_execute!(
        db,
        "INSERT INTO pattern_aliases (alias_id, org_id, pattern_id)
         SELECT from_id, $1, into_id FROM UNNEST($2::uuid[], $3::uuid[]) AS u(from_id, into_id)
         ON CONFLICT (alias_id) DO UPDATE SET pattern_id = EXCLUDED.pattern_id, updated_at = now()",
        &from,
        &into,
    )?;
    Ok(())
}

/// Recounts the figures of `ids` from their incidents: count, first and last seen, and the (up to five)
/// most frequent distinct titles.
pub(super) async fn recount(db: &mut OrgTx, ids: &[PatternId]) -> PatternResult<()> {
    let ids: Vec<Uuid> = ids.iter().map(|p| p.0).collect();
    org_execute!(
        db,
        "WITH t AS (
             SELECT pattern_id, title, count(*) AS n, min(triggered_at) AS f, max(triggered_at) AS l
               FROM incidents WHERE org_id = $1 AND pattern_id = ANY($2) GROUP BY pattern_id, title
         ), r AS (
             SELECT t.*, row_number() OVER (PARTITION BY pattern_id ORDER BY n DESC, title) AS rn FROM t
         ), c AS (
             SELECT u.id, coalesce(sum(r.n), 0)::int8 AS n, min(r.f) AS f, max(r.l) AS l,
                    coalesce(jsonb_agg(r.title ORDER BY r.rn) FILTER (WHERE r.rn <= 5), '[]') AS examples
               FROM UNNEST($2::uuid[]) AS u(id) LEFT JOIN r ON r.pattern_id = u.id
              GROUP BY u.id
         )
         UPDATE patterns p
            SET incident_count = c.n, first_seen = c.f, last_seen = c.l, examples = c.examples, updated_at = now()
           FROM c WHERE p.org_id = $1 AND p.id = c.id",
        &ids
    )?;
    Ok(())
}
