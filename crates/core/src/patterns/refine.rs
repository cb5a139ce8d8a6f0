//! Refinement: re-mines an organization's whole history in one transaction, under the exclusive pattern lock.
//!
//! 1. Pinned incidents stay; incidents that a rule template (a merge, a move) fits go to its pattern; the
//!    engine clusters the rest.
//! 2. Stable ids: each new cluster takes the existing pattern holding most of its incidents (greedy by
//!    overlap, ties by the engine's canonical cluster order then by id), each pattern taken once; the others
//!    get new patterns. An unpinned pattern left with no incident is deleted and becomes an alias of the
//!    pattern that took most of its incidents. Pinned patterns are never deleted.
//! 3. Mined templates become this run's; only changed assignments and figures are written; co-occurring
//!    pattern pairs are counted again; `pending` goes back to 0 and both versions are bumped.

use super::related::{self, Occurrence};
use super::{EXAMPLES, PatternResult, RefineStats, corrections, state};
use crate::db::{DbError, OrgTx};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use insights_patterns::{Item, Matcher};
use insights_types::PatternId;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

/// Incidents per statement when assignments are written.
const WRITE_CHUNK: usize = 20_000;

/// A pattern as stored.
struct StoredPattern {
    id: PatternId,
    pinned: bool,
    template: String,
    count: i64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    examples: serde_json::Value,
}

/// An incident as refinement needs it; titles and services are interned.
struct Incident {
    id: Uuid,
    title: u32,
    service: Option<u32>,
    at: DateTime<Utc>,
    /// Index into the stored patterns.
    pattern: Option<u32>,
    score: Option<f32>,
    pinned: bool,
}

/// Everything refinement reads.
struct Input {
    patterns: Vec<StoredPattern>,
    /// Mined templates: text → pattern index.
    mined: HashMap<String, u32>,
    /// Rule templates: pattern index → their texts (first created first).
    rule_texts: HashMap<u32, Vec<String>>,
    rules: Matcher<u32>,
    titles: Vec<Arc<str>>,
    services: Vec<String>,
    incidents: Vec<Incident>,
}

/// What refinement writes.
#[derive(Default)]
struct Plan {
    /// New patterns (appended after the stored ones, in order).
    created: Vec<PatternId>,
    /// Per incident: (pattern index, score) when it changed.
    assignments: Vec<(Uuid, u32, f32)>,
    /// Mined templates: (text, pattern index).
    mined: Vec<(String, u32)>,
    /// Patterns deleted, each with the pattern it becomes an alias of.
    deleted: Vec<(u32, Option<u32>)>,
    /// Per pattern whose main template or figures changed: (index, template, count, first, last, examples).
    figures: Vec<Figures>,
    /// Co-occurring pairs (a < b by id) seen repeatedly.
    pairs: Vec<(u32, u32, i64, DateTime<Utc>)>,
    stats: RefineStats,
}

struct Figures {
    pattern: u32,
    template: String,
    count: i64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    examples: serde_json::Value,
}

pub(super) async fn refine(db: &mut OrgTx) -> PatternResult<RefineStats> {
    state::lock_exclusive(db).await?;
    let input = load(db).await?;
    let (input, plan) = tokio::task::spawn_blocking(move || {
        let plan = plan(&input);
        (input, plan)
    })
    .await
    .map_err(|e| DbError::Other(sqlx::Error::Protocol(format!("refinement panicked: {e}"))))?;
    write(db, &input, plan).await
}

async fn load(db: &mut OrgTx) -> PatternResult<Input> {
    let patterns: Vec<StoredPattern> = org_query!(
        db,
        r#"SELECT id AS "id: PatternId", pinned, template, incident_count, first_seen, last_seen, examples
             FROM patterns WHERE org_id = $1 ORDER BY id"#
    )
    .fetch_all(db.conn())
    .await
    .map_err(DbError::from)?
    .into_iter()
    .map(|r| StoredPattern {
        id: r.id,
        pinned: r.pinned,
        template: r.template,
        count: r.incident_count,
        first: r.first_seen,
        last: r.last_seen,
        examples: r.examples,
    })
    .collect();
    let index: HashMap<PatternId, u32> = patterns
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i as u32))
        .collect();

    let mut mined = HashMap::new();
    let mut rule_texts: HashMap<u32, Vec<String>> = HashMap::new();
    let mut rules = Matcher::new();
    let templates = org_query!(
        db,
        r#"SELECT pattern_id AS "pattern_id: PatternId", template, origin FROM pattern_templates
            WHERE org_id = $1 ORDER BY created_at, template"#
    )
    .fetch_all(db.conn())
    .await
    .map_err(DbError::from)?;
    for t in templates {
        let Some(&p) = index.get(&t.pattern_id) else {
            continue;
        };
        if t.origin == "mined" {
            mined.insert(t.template, p);
            continue;
        }
        match insights_patterns::Template::parse(&t.template) {
            Ok(parsed) => rules.insert(p, parsed, insights_patterns::Origin::Rule),
            Err(e) => tracing::warn!(org_id = %db.org_id(), error = %e, "stored template skipped"),
        }
        rule_texts.entry(p).or_default().push(t.template);
    }

    let mut services: Vec<String> = Vec::new();
    let mut service_index: HashMap<Uuid, u32> = HashMap::new();
    let rows = org_query!(db, "SELECT id, name FROM services WHERE org_id = $1")
        .fetch_all(db.conn())
        .await
        .map_err(DbError::from)?;
    for r in rows {
        service_index.insert(r.id, services.len() as u32);
        services.push(r.name);
    }

    let mut titles: Vec<Arc<str>> = Vec::new();
    let mut title_index: HashMap<Arc<str>, u32> = HashMap::new();
    let mut incidents = Vec::new();
    let mut rows = org_query!(
        db,
        r#"SELECT id, title, service_id, triggered_at, pattern_id AS "pattern_id: PatternId", pattern_score,
                  pattern_pinned
             FROM incidents WHERE org_id = $1"#
    )
    .fetch(db.conn());
    while let Some(r) = rows.try_next().await.map_err(DbError::from)? {
        let title = match title_index.get(r.title.as_str()) {
            Some(&t) => t,
            None => {
                let t = titles.len() as u32;
                let text: Arc<str> = r.title.into();
                titles.push(Arc::clone(&text));
                title_index.insert(text, t);
                t
            }
        };
        incidents.push(Incident {
            id: r.id,
            title,
            service: r.service_id.and_then(|s| service_index.get(&s).copied()),
            at: r.triggered_at,
            pattern: r.pattern_id.and_then(|p| index.get(&p).copied()),
            score: r.pattern_score,
            pinned: r.pattern_pinned,
        });
    }
    drop(rows);
    drop(title_index);
    Ok(Input {
        patterns,
        mined,
        rule_texts,
        rules,
        titles,
        services,
        incidents,
    })
}

/// Decides everything (pure, on the blocking pool).
fn plan(input: &Input) -> Plan {
    let mut plan = Plan::default();
    let stored = input.patterns.len() as u32;
    let service = |i: &Incident| i.service.map(|s| input.services[s as usize].as_str());
    // (pattern, score) per incident; clustered ones are filled in below.
    let mut target: Vec<Option<(u32, f32)>> = Vec::with_capacity(input.incidents.len());
    let mut clustered: Vec<u32> = Vec::new();
    for (n, i) in input.incidents.iter().enumerate() {
        let title = &input.titles[i.title as usize];
        if i.pinned {
            target.push(i.pattern.map(|p| (p, i.score.unwrap_or(1.0))));
        } else if let Some(m) = input.rules.best(title, service(i)) {
            target.push(Some((m.key, m.score)));
        } else {
            target.push(None);
            clustered.push(n as u32);
        }
    }
    let items: Vec<Item<'_>> = clustered
        .iter()
        .map(|&n| {
            let i = &input.incidents[n as usize];
            Item {
                title: &input.titles[i.title as usize],
                service: service(i),
            }
        })
        .collect();
    let clustering = insights_patterns::cluster(&items);
    drop(items);

    // Clusters of equal text are one (a template belongs to one pattern).
    let texts: Vec<String> = clustering
        .templates
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut first_of: HashMap<&str, u32> = HashMap::new();
    let canonical: Vec<u32> = texts
        .iter()
        .enumerate()
        .map(|(c, t)| *first_of.entry(t.as_str()).or_insert(c as u32))
        .collect();

    // Stable ids: overlap of each cluster with the stored patterns.
    let mut overlap: HashMap<(u32, u32), u64> = HashMap::new();
    for (k, &n) in clustered.iter().enumerate() {
        if let Some(p) = input.incidents[n as usize].pattern {
            *overlap
                .entry((canonical[clustering.assignments[k] as usize], p))
                .or_default() += 1;
        }
    }
    let mut candidates: Vec<((u32, u32), u64)> = overlap.into_iter().collect();
    candidates.sort_by(|((c1, p1), n1), ((c2, p2), n2)| {
        n2.cmp(n1).then(c1.cmp(c2)).then(
            input.patterns[*p1 as usize]
                .id
                .cmp(&input.patterns[*p2 as usize].id),
        )
    });
    let mut cluster_pattern: HashMap<u32, u32> = HashMap::new();
    let mut claimed: HashSet<u32> = HashSet::new();
    for ((c, p), _) in candidates {
        if !cluster_pattern.contains_key(&c) && !claimed.contains(&p) {
            cluster_pattern.insert(c, p);
            claimed.insert(p);
        }
    }
    let mut next = stored;
    for c in 0..texts.len() as u32 {
        if canonical[c as usize] == c && !cluster_pattern.contains_key(&c) {
            cluster_pattern.insert(c, next);
            plan.created.push(PatternId::new());
            next += 1;
        }
    }
    for (k, &n) in clustered.iter().enumerate() {
        let c = canonical[clustering.assignments[k] as usize];
        target[n as usize] = Some((cluster_pattern[&c], clustering.scores[k]));
    }

    // Assignments that changed, and where each stored pattern's incidents went.
    let total = next as usize;
    let mut went: HashMap<(u32, u32), u64> = HashMap::new();
    let mut counts = vec![0i64; total];
    for (i, t) in input.incidents.iter().zip(&target) {
        let Some((p, score)) = *t else { continue };
        counts[p as usize] += 1;
        if i.pattern != Some(p) {
            plan.stats.reassigned += 1;
            if let Some(old) = i.pattern {
                *went.entry((old, p)).or_default() += 1;
            }
        }
        if i.pattern != Some(p) || i.score != Some(score) {
            plan.assignments.push((i.id, p, score));
        }
    }

    // Unpinned stored patterns left empty are deleted, as aliases of where most of their incidents went.
    let mut alias_of: BTreeMap<u32, (u64, PatternId, u32)> = BTreeMap::new();
    for ((old, new), n) in went {
        let id = pattern_id(input, &plan.created, new);
        let better = alias_of
            .get(&old)
            .is_none_or(|&(m, mid, _)| n > m || (n == m && id < mid));
        if better {
            alias_of.insert(old, (n, id, new));
        }
    }
    let deleted: HashSet<u32> = (0..stored)
        .filter(|&p| {
            !input.patterns[p as usize].pinned && counts[p as usize] == 0 && !claimed.contains(&p)
        })
        .collect();
    plan.deleted = {
        let mut d: Vec<_> = deleted
            .iter()
            .map(|&p| (p, alias_of.get(&p).map(|a| a.2)))
            .collect();
        d.sort_unstable();
        d
    };

    // Mined templates and each pattern's main template.
    let rule_text_set: HashSet<&str> = input
        .rule_texts
        .values()
        .flatten()
        .map(String::as_str)
        .collect();
    let mut main: HashMap<u32, String> = HashMap::new();
    for (c, &p) in &cluster_pattern {
        let text = &texts[*c as usize];
        main.insert(p, text.clone());
        if !rule_text_set.contains(text.as_str()) {
            plan.mined.push((text.clone(), p));
        }
    }
    plan.mined.sort_unstable();

    // Figures of every pattern that is kept.
    let mut span: Vec<Option<(DateTime<Utc>, DateTime<Utc>)>> = vec![None; total];
    let mut title_counts: HashMap<(u32, u32), u64> = HashMap::new();
    for (i, t) in input.incidents.iter().zip(&target) {
        let Some((p, _)) = *t else { continue };
        let s = &mut span[p as usize];
        *s = Some(s.map_or((i.at, i.at), |(f, l)| (f.min(i.at), l.max(i.at))));
        *title_counts.entry((p, i.title)).or_default() += 1;
    }
    let mut by_pattern: Vec<Vec<(u64, u32)>> = vec![Vec::new(); total];
    for ((p, t), n) in title_counts {
        by_pattern[p as usize].push((n, t));
    }
    for p in 0..total as u32 {
        if deleted.contains(&p) {
            continue;
        }
        let titles = &mut by_pattern[p as usize];
        titles.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| input.titles[a.1 as usize].cmp(&input.titles[b.1 as usize]))
        });
        let examples = serde_json::Value::Array(
            titles
                .iter()
                .take(EXAMPLES)
                .map(|(_, t)| serde_json::Value::String(input.titles[*t as usize].to_string()))
                .collect(),
        );
        let stored_p = input.patterns.get(p as usize);
        let template = main
            .get(&p)
            .cloned()
            .or_else(|| input.rule_texts.get(&p).and_then(|t| t.first().cloned()))
            .or_else(|| stored_p.map(|s| s.template.clone()))
            .unwrap_or_default();
        let (first, last) = span[p as usize].map_or((None, None), |(f, l)| (Some(f), Some(l)));
        let count = counts[p as usize];
        let same = stored_p.is_some_and(|s| {
            s.template == template
                && s.count == count
                && s.first == first
                && s.last == last
                && s.examples == examples
        });
        if !same {
            plan.figures.push(Figures {
                pattern: p,
                template,
                count,
                first,
                last,
                examples,
            });
        }
    }

    // Co-occurrence.
    let mut occurrences: Vec<Occurrence> = input
        .incidents
        .iter()
        .zip(&target)
        .filter_map(|(i, t)| {
            Some(Occurrence {
                at: i.at.timestamp_micros(),
                service: i.service?,
                pattern: t.as_ref()?.0,
            })
        })
        .collect();
    occurrences.sort_by_key(|o| o.at);
    let window = related::CO_OCCURRENCE_WINDOW.as_micros() as i64;
    for ((a, b), t) in related::co_occurrences(&occurrences, window) {
        if t.count < related::REPEATEDLY {
            continue;
        }
        let (ia, ib) = (
            pattern_id(input, &plan.created, a),
            pattern_id(input, &plan.created, b),
        );
        let (a, b) = if ia < ib { (a, b) } else { (b, a) };
        let last = DateTime::from_timestamp_micros(t.last_at).unwrap_or_default();
        plan.pairs.push((a, b, t.count as i64, last));
    }

    plan.stats.incidents = input.incidents.len() as u64;
    plan.stats.patterns = (total - deleted.len()) as u64;
    plan.stats.created = plan.created.len() as u64;
    plan.stats.merged = deleted.len() as u64;
    plan
}

/// The id of pattern index `p`: a stored pattern's, or a new one's.
fn pattern_id(input: &Input, created: &[PatternId], p: u32) -> PatternId {
    let stored = input.patterns.len();
    match input.patterns.get(p as usize) {
        Some(s) => s.id,
        None => created[p as usize - stored],
    }
}

async fn write(db: &mut OrgTx, input: &Input, plan: Plan) -> PatternResult<RefineStats> {
    let id = |p: u32| pattern_id(input, &plan.created, p).0;
    let created: Vec<Uuid> = plan.created.iter().map(|p| p.0).collect();
    if !created.is_empty() {
        let templates: Vec<String> = (0..created.len())
            .map(|k| {
                let p = (input.patterns.len() + k) as u32;
                plan.figures
                    .iter()
                    .find(|f| f.pattern == p)
                    .map(|f| f.template.clone())
                    .unwrap_or_default()
            })
            .collect();
        org_execute!(
            db,
            "INSERT INTO patterns (id, org_id, template) SELECT id, $1, t FROM UNNEST($2::uuid[], $3::text[]) AS u(id, t)",
            &created,
            &templates,
        )?;
    }
    for chunk in plan.assignments.chunks(WRITE_CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|a| a.0).collect();
        let patterns: Vec<Uuid> = chunk.iter().map(|a| id(a.1)).collect();
        let scores: Vec<f32> = chunk.iter().map(|a| a.2).collect();
        org_execute!(
            db,
            "UPDATE incidents i SET pattern_id = u.pattern_id, pattern_score = u.score
               FROM UNNEST($2::uuid[], $3::uuid[], $4::real[]) AS u(id, pattern_id, score)
              WHERE i.org_id = $1 AND i.id = u.id",
            &ids,
            &patterns,
            &scores,
        )?;
    }
    // Mined templates: this run's replace the last run's.
    let texts: Vec<String> = plan.mined.iter().map(|m| m.0.clone()).collect();
    let owners: Vec<Uuid> = plan.mined.iter().map(|m| id(m.1)).collect();
    let stale: Vec<String> = input
        .mined
        .iter()
        .filter(|(t, p)| plan.mined.binary_search(&((*t).clone(), **p)).is_err())
        .map(|(t, _)| t.clone())
        .collect();
    org_execute!(
        db,
        "DELETE FROM pattern_templates WHERE org_id = $1 AND origin = 'mined' AND template = ANY($2)",
        &stale
    )?;
    let new_ids: Vec<Uuid> = texts.iter().map(|_| Uuid::now_v7()).collect();
    org_execute!(
        db,
        "INSERT INTO pattern_templates (id, org_id, pattern_id, template, origin)
         SELECT id, $1, pattern_id, template, 'mined' FROM UNNEST($2::uuid[], $3::uuid[], $4::text[])
             AS u(id, pattern_id, template)
         ON CONFLICT (org_id, template) DO UPDATE SET pattern_id = EXCLUDED.pattern_id, updated_at = now()
          WHERE pattern_templates.origin = 'mined' AND pattern_templates.pattern_id <> EXCLUDED.pattern_id",
        &new_ids,
        &owners,
        &texts,
    )?;
    // Deleted patterns: aliases first (deleting a pattern deletes the aliases pointing at it).
    let (aliased, into): (Vec<PatternId>, Vec<PatternId>) = plan
        .deleted
        .iter()
        .filter_map(|&(p, a)| Some((PatternId(id(p)), PatternId(id(a?)))))
        .unzip();
    corrections::alias(db, &aliased, &into).await?;
    let gone: Vec<Uuid> = plan.deleted.iter().map(|&(p, _)| id(p)).collect();
    org_execute!(
        db,
        "DELETE FROM patterns WHERE org_id = $1 AND id = ANY($2)",
        &gone
    )?;
    // Figures and main templates.
    let f = &plan.figures;
    org_execute!(
        db,
        "UPDATE patterns p
            SET template = u.template, incident_count = u.n, first_seen = u.first_seen, last_seen = u.last_seen,
                examples = u.examples, updated_at = now()
           FROM UNNEST($2::uuid[], $3::text[], $4::int8[], $5::timestamptz[], $6::timestamptz[], $7::jsonb[])
                AS u(id, template, n, first_seen, last_seen, examples)
          WHERE p.org_id = $1 AND p.id = u.id",
        &f.iter().map(|f| id(f.pattern)).collect::<Vec<_>>(),
        &f.iter().map(|f| f.template.clone()).collect::<Vec<_>>(),
        &f.iter().map(|f| f.count).collect::<Vec<_>>(),
        &f.iter().map(|f| f.first).collect::<Vec<_>>() as &[Option<DateTime<Utc>>],
        &f.iter().map(|f| f.last).collect::<Vec<_>>() as &[Option<DateTime<Utc>>],
        &f.iter().map(|f| f.examples.clone()).collect::<Vec<_>>(),
    )?;
    // Co-occurring pairs.
    org_execute!(db, "DELETE FROM pattern_pairs WHERE org_id = $1")?;
    let p = &plan.pairs;
    org_execute!(
        db,
        "INSERT INTO pattern_pairs (org_id, pattern_a, pattern_b, together, last_at)
         SELECT $1, a, b, n, last_at FROM UNNEST($2::uuid[], $3::uuid[], $4::int8[], $5::timestamptz[])
             AS u(a, b, n, last_at)",
        &p.iter().map(|x| id(x.0)).collect::<Vec<_>>(),
        &p.iter().map(|x| id(x.1)).collect::<Vec<_>>(),
        &p.iter().map(|x| x.2).collect::<Vec<_>>(),
        &p.iter().map(|x| x.3).collect::<Vec<_>>(),
    )?;
    org_execute!(
        db,
        "UPDATE pattern_state SET pending = 0, refined_at = now(), last_error = NULL, updated_at = now()
          WHERE org_id = $1"
    )?;
    state::changed(db).await?;
    state::templates_changed(db).await?;
    Ok(plan.stats)
}
