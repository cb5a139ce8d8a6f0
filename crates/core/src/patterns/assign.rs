//! The store pipeline's step: each incident just written (inserted, or its title changed) gets a pattern.
//!
//! A [`Matcher`] of the organization's templates (people's corrections first) is built once per version of
//! its templates (`pattern_state.templates_version`) and kept in the process; each batch reads that version
//! with the statement that bumps the pattern version. A title
//! no template fits gets its own template (`Template::of_title`) and a new pattern, which the next refinement
//! merges with its likes. Figures of the patterns (count, first and last seen, examples) move by deltas.

use super::{PatternResult, state};
use crate::db::{DbError, OrgTx};
use chrono::{DateTime, Utc};
use insights_patterns::{Matcher, Origin, Template};
use insights_types::{IncidentId, OrgId, PatternId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};
use uuid::Uuid;

/// Organizations whose matcher is kept; beyond, the cache starts over (a matcher is rebuilt in one query).
const CACHED_ORGS: usize = 256;

/// Each organization's matcher, with the version of the templates it was built from.
static MATCHERS: LazyLock<Mutex<HashMap<OrgId, (i64, Arc<Matcher<PatternId>>)>>> =
    LazyLock::new(Mutex::default);

/// Where an incident goes: a known pattern (with the similarity), or the `n`th new template of the batch.
enum Target {
    Known(PatternId, f32),
    New(usize),
}

pub(super) async fn assign_stored(db: &mut OrgTx, incidents: &[IncidentId]) -> PatternResult<()> {
    if incidents.is_empty() {
        return Ok(());
    }
    let ids: Vec<_> = incidents.iter().map(|i| i.0).collect();
    let rows = org_query!(
        db,
        r#"SELECT i.id, i.title, s.name AS "service?", i.triggered_at,
                  i.pattern_id AS "pattern_id: PatternId", i.pattern_score
             FROM incidents i LEFT JOIN services s ON s.org_id = $1 AND s.id = i.service_id
            WHERE i.org_id = $1 AND i.id = ANY($2) AND NOT i.pattern_pinned"#,
        &ids
    )
    .fetch_all(db.conn())
    .await
    .map_err(DbError::from)?;
    if rows.is_empty() {
        return Ok(());
    }
    let templates = state::bump(db, rows.len() as i64).await?;
    let matcher = matcher(db, templates).await?;

    let mut new_texts: Vec<String> = Vec::new();
    let mut new_index: HashMap<String, usize> = HashMap::new();
    let targets: Vec<Target> = rows
        .iter()
        .map(|r| match matcher.best(&r.title, r.service.as_deref()) {
            Some(m) => Target::Known(m.key, m.score),
            None => {
                let text = Template::of_title(&r.title, r.service.as_deref()).to_string();
                let next = new_texts.len();
                let n = *new_index.entry(text.clone()).or_insert(next);
                if n == next {
                    new_texts.push(text);
                }
                Target::New(n)
            }
        })
        .collect();
    let created = create_mined(db, &new_texts).await?;
    if !new_texts.is_empty() {
        state::templates_changed(db).await?;
    }

    // What changes: incidents whose pattern or score moved, and per pattern the delta of its figures.
    let (mut ids, mut patterns, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    let mut deltas: BTreeMap<PatternId, Delta> = BTreeMap::new();
    for (r, target) in rows.iter().zip(&targets) {
        let (pattern, score) = match *target {
            Target::Known(p, s) => (p, s),
            Target::New(n) => (created[n], 1.0),
        };
        if r.pattern_id == Some(pattern) && r.pattern_score == Some(score) {
            continue;
        }
        ids.push(r.id);
        patterns.push(pattern.0);
        scores.push(score);
        if r.pattern_id == Some(pattern) {
            continue;
        }
        deltas
            .entry(pattern)
            .or_default()
            .add(&r.title, r.triggered_at);
        if let Some(old) = r.pattern_id {
            deltas.entry(old).or_default().count -= 1;
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    org_execute!(
        db,
        "UPDATE incidents i SET pattern_id = u.pattern_id, pattern_score = u.score
           FROM UNNEST($2::uuid[], $3::uuid[], $4::real[]) AS u(id, pattern_id, score)
          WHERE i.org_id = $1 AND i.id = u.id",
        &ids,
        &patterns,
        &scores,
    )?;
    apply_deltas(db, deltas).await?;
    Ok(())
}

/// How a batch changes one pattern's figures.
#[derive(Default)]
struct Delta {
    count: i64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    examples: Vec<String>,
}

impl Delta {
    fn add(&mut self, title: &str, at: DateTime<Utc>) {
        self.count += 1;
        self.first = Some(self.first.map_or(at, |f| f.min(at)));
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
        if self.examples.len() < super::EXAMPLES && !self.examples.iter().any(|e| e == title) {
            self.examples.push(title.to_owned());
        }
    }
}

/// Adds the deltas to the patterns' figures: count, first and last seen, and new example titles while a
/// pattern has fewer than five (refinement recounts everything exactly).
async fn apply_deltas(db: &mut OrgTx, deltas: BTreeMap<PatternId, Delta>) -> PatternResult<()> {
    let mut ids = Vec::with_capacity(deltas.len());
    let mut counts = Vec::with_capacity(deltas.len());
    let mut firsts = Vec::with_capacity(deltas.len());
    let mut lasts = Vec::with_capacity(deltas.len());
    let mut examples = Vec::with_capacity(deltas.len());
    for (id, d) in deltas {
        ids.push(id.0);
        counts.push(d.count);
        firsts.push(d.first);
        lasts.push(d.last);
        examples.push(serde_json::json!(d.examples));
    }
    org_execute!(
        db,
        "UPDATE patterns p
            SET incident_count = greatest(p.incident_count + d.n, 0),
                first_seen = least(p.first_seen, d.first_seen),
                last_seen = greatest(p.last_seen, d.last_seen),
                examples = CASE WHEN jsonb_array_length(p.examples) >= 5 THEN p.examples ELSE
                    (SELECT coalesce(jsonb_agg(e.title ORDER BY e.o), '[]')
                       FROM (SELECT title, min(o) AS o
                               FROM jsonb_array_elements_text(p.examples || d.examples) WITH ORDINALITY AS x(title, o)
                              GROUP BY title ORDER BY min(o) LIMIT 5) e) END,
                updated_at = now()
           FROM UNNEST($2::uuid[], $3::int8[], $4::timestamptz[], $5::timestamptz[], $6::jsonb[])
                AS d(id, n, first_seen, last_seen, examples)
          WHERE p.org_id = $1 AND p.id = d.id",
        &ids,
        &counts,
        &firsts as &[Option<DateTime<Utc>>],
        &lasts as &[Option<DateTime<Utc>>],
        &examples,
    )?;
    Ok(())
}

/// The patterns of new mined templates `texts` (in order): created with one template each, or — when a
/// writer of the same organization created the same template meanwhile — that writer's.
async fn create_mined(db: &mut OrgTx, texts: &[String]) -> PatternResult<Vec<PatternId>> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = texts.iter().map(|_| Uuid::now_v7()).collect();
    let template_ids: Vec<Uuid> = texts.iter().map(|_| Uuid::now_v7()).collect();
    let inserted = org_query_scalar!(
        db,
        "WITH p AS (
             INSERT INTO patterns (id, org_id, template)
             SELECT id, $1, template FROM UNNEST($2::uuid[], $4::text[]) AS u(id, template)
         )
         INSERT INTO pattern_templates (id, org_id, pattern_id, template, origin)
         SELECT tid, $1, id, template, 'mined' FROM UNNEST($2::uuid[], $3::uuid[], $4::text[]) AS u(id, tid, template)
         ON CONFLICT (org_id, template) DO NOTHING
         RETURNING pattern_id",
        &ids,
        &template_ids,
        texts,
    )
    .fetch_all(db.conn())
    .await
    .map_err(DbError::from)?;
    if inserted.len() == texts.len() {
        return Ok(ids.into_iter().map(PatternId).collect());
    }
    // Lost races: drop the patterns made for nothing and take the winners'.
    let lost: Vec<Uuid> = {
        let won: std::collections::HashSet<_> = inserted.into_iter().collect();
        ids.iter().copied().filter(|id| !won.contains(id)).collect()
    };
    org_execute!(
        db,
        "DELETE FROM patterns WHERE org_id = $1 AND id = ANY($2)",
        &lost
    )?;
    let winners: HashMap<String, PatternId> = org_query!(
        db,
        r#"SELECT template, pattern_id AS "pattern_id: PatternId" FROM pattern_templates
            WHERE org_id = $1 AND template = ANY($2)"#,
        texts
    )
    .fetch_all(db.conn())
    .await
    .map_err(DbError::from)?
    .into_iter()
    .map(|r| (r.template, r.pattern_id))
    .collect();
    texts
        .iter()
        .map(|t| winners.get(t).copied().ok_or(DbError::NotFound.into()))
        .collect()
}

/// The organization's matcher at templates `version` (read under the state row's lock, so the stored
/// templates are that version's): from the cache, or built from them.
async fn matcher(db: &mut OrgTx, version: i64) -> PatternResult<Arc<Matcher<PatternId>>> {
    let org = db.org_id();
    if let Some((v, m)) = cache().get(&org)
        && *v == version
    {
        return Ok(Arc::clone(m));
    }
    let matcher = Arc::new(super::load_matcher(db, false).await?);
    let mut cache = cache();
    if cache.len() >= CACHED_ORGS {
        cache.clear();
    }
    cache.insert(org, (version, Arc::clone(&matcher)));
    Ok(matcher)
}

fn cache() -> std::sync::MutexGuard<'static, HashMap<OrgId, (i64, Arc<Matcher<PatternId>>)>> {
    // A panic while holding it leaves nothing half-written: the map is still a valid cache.
    MATCHERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The matcher's origin of a stored template origin.
pub(super) fn origin(stored: &str) -> Origin {
    if stored == "mined" {
        Origin::Mined
    } else {
        Origin::Rule
    }
}
