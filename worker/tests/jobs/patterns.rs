//! Recurring patterns in the product (issue 11, points 3–4) against randomized histories stored through the
//! real store pipeline: after refinement the grouping does not depend on the order incidents were stored in
//! and is deterministic; ids are stable when nothing changed; every correction (rename, mute, merge, move)
//! survives refinement and applies to new incidents; figures kept by deltas agree with a recount; and
//! co-occurring pattern pairs agree with a brute-force count over every pair of incidents.

use chrono::{DateTime, Duration, TimeZone, Utc};
use insights_core::db::incidents;
use insights_core::patterns::{self, MoveTarget};
use insights_ingest::{NormalizedIncident, SourceRef};
use insights_testing::TestApp;
use insights_types::api::{IncidentSource, IncidentStatus, JobState};
use insights_types::{IncidentId, OrgId, PatternId, UserId};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap()
}

const SERVICES: [&str; 5] = [
    "checkout-api",
    "postgres-primary",
    "kafka",
    "payments",
    "web",
];

/// A realistic alert title of one of several families, its values drawn at random; and its service.
fn title(rng: &mut StdRng) -> (String, Option<&'static str>) {
    let svc = SERVICES[rng.random_range(0..SERVICES.len())];
    let hex = |rng: &mut StdRng, n: usize| -> String {
        (0..n)
            .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap())
            .collect()
    };
    match rng.random_range(0..9) {
        0 => (
            format!("High latency on {svc} (p99 > {}s)", rng.random_range(1..5)),
            Some(svc),
        ),
        1 => (
            format!(
                "Disk usage above {}% on ip-10-0-{}-{}",
                rng.random_range(80..99),
                rng.random_range(0..255),
                rng.random_range(0..255)
            ),
            Some(svc),
        ),
        2 => (
            format!(
                "Pod checkout-api-{}-{} is crash looping",
                hex(rng, 9),
                hex(rng, 5)
            ),
            Some("checkout-api"),
        ),
        3 => (
            format!(
                "Replication lag {}s on postgres-primary",
                rng.random_range(5..300)
            ),
            Some("postgres-primary"),
        ),
        4 => (
            format!(
                "Certificate for api-{}.example.com expires in {} days",
                rng.random_range(1..9),
                rng.random_range(1..30)
            ),
            None,
        ),
        5 => (
            format!(
                "Queue {} backlog above {} messages",
                ["orders", "emails", "refunds"][rng.random_range(0..3)],
                rng.random_range(1..50) * 1000
            ),
            Some("kafka"),
        ),
        6 => (
            format!(
                "HTTP check failed: https://{svc}.example.com/health returned {}",
                [500, 502, 503, 504][rng.random_range(0..4)]
            ),
            Some(svc),
        ),
        7 => (
            format!(
                "Kafka consumer group {} lag is {}",
                ["billing", "search", "audit"][rng.random_range(0..3)],
                rng.random_range(100..100_000)
            ),
            Some("kafka"),
        ),
        _ => (
            format!(
                "Payment provider timeouts ({} in 5m)",
                rng.random_range(3..90)
            ),
            Some("payments"),
        ),
    }
}

fn incident(
    n: usize,
    title: String,
    service: Option<&str>,
    t: DateTime<Utc>,
) -> NormalizedIncident {
    NormalizedIncident {
        source: IncidentSource::Pagerduty,
        external_id: format!("inc-{n}"),
        number: Some(n as i64),
        title,
        description: None,
        service: service.map(|s| SourceRef {
            external_id: s.to_owned(),
            name: s.to_owned(),
        }),
        team: None,
        urgency: None,
        priority: None,
        status: IncidentStatus::Resolved,
        triggered_at: t,
        acknowledged_at: None,
        resolved_at: Some(t + Duration::minutes(20)),
        assignees: Vec::new(),
        tags: Vec::new(),
        source_url: None,
        source_updated_at: start(),
        raw: serde_json::json!({}),
        timeline: Vec::new(),
    }
}

/// `n` incidents over two weeks; some come in cascades (replication lag on `postgres-primary`, then latency on
/// `checkout-api` one to three minutes later), so patterns co-occur.
fn history(rng: &mut StdRng, n: usize) -> Vec<NormalizedIncident> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let t = start() + Duration::seconds(rng.random_range(0..14 * 86_400));
        if rng.random_bool(0.15) {
            let lag = format!(
                "Replication lag {}s on postgres-primary",
                rng.random_range(5..300)
            );
            out.push(incident(out.len(), lag, Some("postgres-primary"), t));
            let later = t + Duration::seconds(rng.random_range(60..180));
            let latency = format!(
                "High latency on checkout-api (p99 > {}s)",
                rng.random_range(1..5)
            );
            out.push(incident(out.len(), latency, Some("checkout-api"), later));
        } else {
            let (title, service) = title(rng);
            out.push(incident(out.len(), title, service, t));
        }
    }
    out
}

/// Stores `batch` through the store pipeline in batches of `size`.
async fn store(app: &TestApp, org: OrgId, batch: &[NormalizedIncident], size: usize) {
    for chunk in batch.chunks(size) {
        let mut db = app.state.db.org_tx(org, None).await.unwrap();
        incidents::upsert_batch(&mut db, None, chunk).await.unwrap();
        db.commit().await.unwrap();
    }
}

async fn refine(app: &TestApp, org: OrgId) -> patterns::RefineStats {
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    let stats = patterns::refine(&mut db).await.unwrap();
    db.commit().await.unwrap();
    stats
}

/// A connection as the owner of the tables, for reading what is stored.
async fn owner_conn(app: &TestApp) -> sqlx::PgConnection {
    use sqlx::Connection;
    let url = secrecy::ExposeSecret::expose_secret(&app.config.database.url).to_owned();
    sqlx::PgConnection::connect(&url).await.unwrap()
}

/// Each incident's pattern, by external id.
async fn assignments(app: &TestApp, org: OrgId) -> BTreeMap<String, Option<Uuid>> {
    let mut c = owner_conn(app).await;
    sqlx::query_as::<_, (String, Option<Uuid>)>(
        "SELECT external_id, pattern_id FROM incidents WHERE org_id = $1",
    )
    .bind(org.0)
    .fetch_all(&mut c)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// The grouping of incidents (by external id), whatever the patterns' ids.
fn partition(a: &BTreeMap<String, Option<Uuid>>) -> BTreeSet<BTreeSet<String>> {
    let mut groups: HashMap<Option<Uuid>, BTreeSet<String>> = HashMap::new();
    for (ext, p) in a {
        groups.entry(*p).or_default().insert(ext.clone());
    }
    groups.into_values().collect()
}

/// The incidents of pattern `p`, by external id.
fn members(a: &BTreeMap<String, Option<Uuid>>, p: Uuid) -> BTreeSet<String> {
    a.iter()
        .filter(|(_, q)| **q == Some(p))
        .map(|(e, _)| e.clone())
        .collect()
}

/// Each pattern: (count, first seen, last seen) as stored, and as counted from the incidents.
async fn figures(
    app: &TestApp,
    org: OrgId,
) -> Vec<(
    Uuid,
    (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>),
)> {
    let mut c = owner_conn(app).await;
    sqlx::query_as::<
        _,
        (
            Uuid,
            i64,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            i64,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        ),
    >(
        "SELECT p.id, p.incident_count, p.first_seen, p.last_seen,
                count(i.id), min(i.triggered_at), max(i.triggered_at)
           FROM patterns p LEFT JOIN incidents i ON i.org_id = p.org_id AND i.pattern_id = p.id
          WHERE p.org_id = $1 GROUP BY p.id",
    )
    .bind(org.0)
    .fetch_all(&mut c)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.0, (r.1, r.2, r.3), (r.4, r.5, r.6)))
    .collect()
}

async fn incident_id(app: &TestApp, org: OrgId, ext: &str) -> IncidentId {
    let mut c = owner_conn(app).await;
    let id: Uuid =
        sqlx::query_scalar("SELECT id FROM incidents WHERE org_id = $1 AND external_id = $2")
            .bind(org.0)
            .bind(ext)
            .fetch_one(&mut c)
            .await
            .unwrap();
    IncidentId(id)
}

#[tokio::test]
async fn refinement_groups_the_same_whatever_order_incidents_were_stored_in_and_is_deterministic() {
    let app = TestApp::spawn(&[]).await;
    let (_, a) = app.signup("a@example.com", "A").await;
    let (_, b) = app.signup("b@example.com", "B").await;
    let mut rng = StdRng::seed_from_u64(0x9a77e2);
    let h = history(&mut rng, 1200);
    let mut shuffled = h.clone();
    shuffled.shuffle(&mut rng);
    store(&app, a, &h, 100).await;
    store(&app, b, &shuffled, 37).await;
    // Stored one by one, the two orders already assign; refinement must make them agree.
    refine(&app, a).await;
    refine(&app, b).await;
    let (pa, pb) = (assignments(&app, a).await, assignments(&app, b).await);
    assert_eq!(pa.len(), h.len());
    assert!(
        pa.values().all(Option::is_some),
        "every incident has a pattern"
    );
    let groups = partition(&pa);
    assert_eq!(
        groups,
        partition(&pb),
        "the grouping depends on the store order"
    );
    // The same titles in two organizations never share a pattern (the matchers are kept per organization).
    let ids =
        |m: &BTreeMap<String, Option<Uuid>>| m.values().flatten().copied().collect::<BTreeSet<_>>();
    assert!(
        ids(&pa).is_disjoint(&ids(&pb)),
        "an incident of one organization is in a pattern of the other"
    );
    // Realistic titles with varying values group into far fewer patterns than titles, and more than one.
    let titles: BTreeSet<&str> = h.iter().map(|i| i.title.as_str()).collect();
    assert!(
        groups.len() > 3 && groups.len() * 10 < titles.len(),
        "{} patterns for {} distinct titles",
        groups.len(),
        titles.len()
    );
    // Deterministic: the same again, and the stored figures are the recount's.
    refine(&app, b).await;
    assert_eq!(partition(&assignments(&app, b).await), groups);
    for (id, stored, counted) in figures(&app, a).await {
        assert_eq!(stored, counted, "figures of pattern {id}");
    }
}

#[tokio::test]
async fn pattern_ids_are_stable_across_refinements_and_new_incidents_join_their_pattern() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("a@example.com", "A").await;
    let mut rng = StdRng::seed_from_u64(0x5_7ab1e);
    let h = history(&mut rng, 800);
    store(&app, org, &h[..600], 50).await;
    let first = refine(&app, org).await;
    assert_eq!(first.incidents, 600);
    let before = assignments(&app, org).await;
    let stats = refine(&app, org).await;
    assert_eq!(
        (stats.created, stats.merged, stats.reassigned),
        (0, 0, 0),
        "nothing changed, so nothing moves"
    );
    assert_eq!(
        assignments(&app, org).await,
        before,
        "ids moved with no new data"
    );

    // New incidents of known families join the pattern their likes are in, as they are stored, and the
    // figures kept by deltas stay exact.
    store(&app, org, &h[600..], 25).await;
    let after = assignments(&app, org).await;
    let known: BTreeSet<Uuid> = before.values().flatten().copied().collect();
    let joined = h[600..]
        .iter()
        .filter(|i| after[&i.external_id].is_some_and(|p| known.contains(&p)))
        .count();
    assert!(
        joined * 10 >= 200 * 9,
        "only {joined} of 200 new incidents joined a known pattern"
    );
    for (id, stored, counted) in figures(&app, org).await {
        assert_eq!(stored.0, counted.0, "count of pattern {id}");
    }
    // Refinement keeps the ids of the patterns that held the incidents.
    refine(&app, org).await;
    let refined = assignments(&app, org).await;
    let kept = before.iter().filter(|(e, p)| refined[*e] == **p).count();
    assert_eq!(
        kept,
        before.len(),
        "refinement moved incidents that were already grouped"
    );
}

#[tokio::test]
async fn every_correction_survives_refinement_and_applies_to_new_incidents() {
    let app = TestApp::spawn(&[]).await;
    let (owner, org) = app.signup("a@example.com", "A").await;
    let actor: UserId = owner.user_id;
    let mut rng = StdRng::seed_from_u64(0xc0_77ec7);
    let h = history(&mut rng, 700);
    store(&app, org, &h, 100).await;
    refine(&app, org).await;
    let a = assignments(&app, org).await;
    // The four biggest patterns.
    let mut sizes: BTreeMap<Uuid, usize> = BTreeMap::new();
    for p in a.values().flatten() {
        *sizes.entry(*p).or_default() += 1;
    }
    let mut by_size: Vec<(usize, Uuid)> = sizes.iter().map(|(p, n)| (*n, *p)).collect();
    by_size.sort_unstable_by(|x, y| y.cmp(x));
    let [renamed, from, into, target] = [0, 1, 2, 3].map(|k| by_size[k].1);
    let (from_members, into_members) = (members(&a, from), members(&a, into));
    // An incident of `renamed` goes to `target`, one of another pattern to a new pattern.
    let moved = members(&a, renamed).into_iter().next().unwrap();
    let alone = members(&a, by_size[4].1).into_iter().next().unwrap();

    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    let p = |u| PatternId(u);
    patterns::rename(&mut db, actor, p(renamed), Some("Checkout is slow".into()))
        .await
        .unwrap();
    patterns::set_muted(&mut db, actor, p(target), true)
        .await
        .unwrap();
    assert_eq!(
        patterns::merge(&mut db, actor, p(from), p(into))
            .await
            .unwrap(),
        p(into)
    );
    assert!(matches!(
        patterns::merge(&mut db, actor, p(into), p(into)).await,
        Err(patterns::PatternError::Invalid("into", _))
    ));
    assert!(matches!(
        patterns::rename(&mut db, actor, p(renamed), Some("  ".into())).await,
        Err(patterns::PatternError::Invalid("name", _))
    ));
    assert!(matches!(
        patterns::set_muted(&mut db, actor, PatternId::new(), true).await,
        Err(patterns::PatternError::NotFound)
    ));
    assert!(matches!(
        patterns::move_incident(&mut db, actor, IncidentId(Uuid::now_v7()), MoveTarget::New).await,
        Err(patterns::PatternError::NotFound)
    ));
    let moved_id = incident_id(&app, org, &moved).await;
    assert_eq!(
        patterns::move_incident(&mut db, actor, moved_id, MoveTarget::Existing(p(target)))
            .await
            .unwrap(),
        p(target)
    );
    let alone_id = incident_id(&app, org, &alone).await;
    let new = patterns::move_incident(&mut db, actor, alone_id, MoveTarget::New)
        .await
        .unwrap();
    db.commit().await.unwrap();

    let check = |a: &BTreeMap<String, Option<Uuid>>, when: &str| {
        assert_eq!(a[&moved], Some(target), "{when}: the moved incident stays");
        assert_eq!(
            a[&alone],
            Some(new.0),
            "{when}: the incident moved to a new pattern stays"
        );
        let union: BTreeSet<String> = from_members.union(&into_members).cloned().collect();
        assert_eq!(
            members(a, into),
            union,
            "{when}: the merged pattern holds both"
        );
        assert!(
            members(a, from).is_empty(),
            "{when}: nothing is left in the merged-away pattern"
        );
    };
    check(&assignments(&app, org).await, "before refinement");
    refine(&app, org).await;
    let after = assignments(&app, org).await;
    check(&after, "after refinement");

    let mut c = owner_conn(&app).await;
    let (name, muted): (Option<String>, bool) =
        sqlx::query_as("SELECT name, muted FROM patterns WHERE org_id = $1 AND id = $2")
            .bind(org.0)
            .bind(renamed)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(
        (name.as_deref(), muted),
        (Some("Checkout is slow"), false),
        "the rename keeps name and id"
    );
    let muted: bool =
        sqlx::query_scalar("SELECT muted FROM patterns WHERE org_id = $1 AND id = $2")
            .bind(org.0)
            .bind(target)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert!(muted, "the muted pattern stays muted");
    let mut db = app.state.db.org_tx(org, None).await.unwrap();
    assert_eq!(
        patterns::resolve(&mut db, p(from)).await.unwrap(),
        Some(p(into)),
        "the merge leaves an alias"
    );
    db.commit().await.unwrap();

    // A new incident with the moved incident's title follows the move, and one like the merged-away
    // pattern's incidents goes to the pattern it was merged into — before and after refinement.
    let like = |ext: &str| h.iter().find(|i| i.external_id == ext).unwrap().clone();
    let mut again = like(&moved);
    again.external_id = "again-moved".into();
    let mut merged_like = like(from_members.iter().next().unwrap());
    merged_like.external_id = "again-merged".into();
    store(&app, org, &[again, merged_like], 10).await;
    for when in ["as stored", "after refinement"] {
        if when == "after refinement" {
            refine(&app, org).await;
        }
        let a = assignments(&app, org).await;
        assert_eq!(
            a["again-moved"],
            Some(target),
            "{when}: a new incident follows the move"
        );
        assert_eq!(
            a["again-merged"],
            Some(into),
            "{when}: a new incident follows the merge"
        );
    }
}

#[tokio::test]
async fn co_occurring_patterns_agree_with_a_brute_force_count() {
    let app = TestApp::spawn(&[]).await;
    let (_, org) = app.signup("a@example.com", "A").await;
    let mut rng = StdRng::seed_from_u64(0xc0_0cc);
    let h = history(&mut rng, 1500);
    store(&app, org, &h, 200).await;
    refine(&app, org).await;

    let mut c = owner_conn(&app).await;
    let rows: Vec<(Option<Uuid>, Option<Uuid>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT pattern_id, service_id, triggered_at FROM incidents WHERE org_id = $1",
    )
    .bind(org.0)
    .fetch_all(&mut c)
    .await
    .unwrap();
    let window = Duration::from_std(patterns::CO_OCCURRENCE_WINDOW).unwrap();
    let mut brute: BTreeMap<(Uuid, Uuid), (i64, DateTime<Utc>)> = BTreeMap::new();
    for (i, x) in rows.iter().enumerate() {
        for y in &rows[i + 1..] {
            let (Some(px), Some(sx), Some(py), Some(sy)) = (x.0, x.1, y.0, y.1) else {
                continue;
            };
            if px == py || sx == sy || (x.2 - y.2).abs() > window {
                continue;
            }
            let e = brute
                .entry((px.min(py), px.max(py)))
                .or_insert((0, DateTime::<Utc>::MIN_UTC));
            e.0 += 1;
            e.1 = e.1.max(x.2.max(y.2));
        }
    }
    brute.retain(|_, (n, _)| *n as u64 >= patterns::REPEATEDLY);
    let stored: BTreeMap<(Uuid, Uuid), (i64, DateTime<Utc>)> =
        sqlx::query_as::<_, (Uuid, Uuid, i64, DateTime<Utc>)>(
            "SELECT pattern_a, pattern_b, together, last_at FROM pattern_pairs WHERE org_id = $1",
        )
        .bind(org.0)
        .fetch_all(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|(a, b, n, at)| ((a, b), (n, at)))
        .collect();
    assert!(!stored.is_empty(), "the cascades make related patterns");
    assert_eq!(stored, brute);
    // The cascade is among them: replication lag and checkout latency.
    let (top, _) = stored.iter().max_by_key(|(_, (n, _))| *n).unwrap();
    let mut names: Vec<String> =
        sqlx::query_scalar("SELECT template FROM patterns WHERE org_id = $1 AND id = ANY($2)")
            .bind(org.0)
            .bind(vec![top.0, top.1])
            .fetch_all(&mut c)
            .await
            .unwrap();
    names.sort();
    assert!(
        names[0].contains("latency") && names[1].contains("Replication lag"),
        "the most frequent pair is {names:?}"
    );
}

#[tokio::test]
async fn the_scheduler_refines_an_organization_that_got_incidents_once_per_interval() {
    let app = TestApp::spawn(&[
        ("INSIGHTS_WORKER_TICK_MS", "100"),
        ("INSIGHTS_PATTERNS_REFINE_INTERVAL_S", "1"),
    ])
    .await
    .with_worker()
    .await;
    let (owner, org) = app.signup("a@example.com", "A").await;
    let mut rng = StdRng::seed_from_u64(7);
    store(&app, org, &history(&mut rng, 300), 100).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut c = owner_conn(&app).await;
    loop {
        let (pending, refined, error): (i64, Option<DateTime<Utc>>, Option<String>) =
            sqlx::query_as(
                "SELECT pending, refined_at, last_error FROM pattern_state WHERE org_id = $1",
            )
            .bind(org.0)
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(error, None);
        if pending == 0 && refined.is_some() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never refined");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let jobs = app.wait_for_jobs(&owner.token, org).await;
    let runs: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == "refine_patterns")
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "one refinement for one batch of incidents: {runs:?}"
    );
    assert_eq!(runs[0].state, JobState::Succeeded);
    assert_eq!(runs[0].progress["total"], 300);
}

#[tokio::test]
async fn the_sample_history_is_grouped_into_its_alert_families_when_its_load_ends() {
    let app = TestApp::spawn(&[]).await.with_worker().await;
    let (owner, org) = app.signup("a@example.com", "A").await;
    let job = app.load_sample_data(&owner.token, org).await;
    let job = app.wait_for_job(&owner.token, org, job.id).await;
    assert_eq!(job.state, JobState::Succeeded, "{job:#?}");

    let mut c = owner_conn(&app).await;
    let (pending, refined): (i64, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT pending, refined_at FROM pattern_state WHERE org_id = $1")
            .bind(org.0)
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert!(
        pending == 0 && refined.is_some(),
        "refined as the load ended"
    );
    let (titles, unassigned): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT title), count(*) FILTER (WHERE pattern_id IS NULL) FROM incidents WHERE org_id = $1",
    )
    .bind(org.0)
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(unassigned, 0);
    // 24 alert families over 12 services, whose values vary: hundreds of titles, a few dozen patterns.
    let templates: Vec<String> = sqlx::query_scalar(
        "SELECT template FROM patterns WHERE org_id = $1 AND incident_count > 0",
    )
    .bind(org.0)
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(
        (12..=40).contains(&templates.len()) && titles > 5 * templates.len() as i64,
        "{} patterns for {titles} titles: {templates:#?}",
        templates.len()
    );
    // The cascade shows as related patterns.
    let related: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT a.template, b.template, r.together FROM pattern_pairs r
           JOIN patterns a ON a.id = r.pattern_a JOIN patterns b ON b.id = r.pattern_b
          WHERE r.org_id = $1 ORDER BY r.together DESC",
    )
    .bind(org.0)
    .fetch_all(&mut c)
    .await
    .unwrap();
    let (a, b, n) = &related[0];
    let mut pair = [a.as_str(), b.as_str()];
    pair.sort_unstable();
    assert!(
        pair[0].starts_with("High latency on") && pair[1].starts_with("Replication lag"),
        "the most frequent pair ({n} times) is {pair:?}"
    );
}
