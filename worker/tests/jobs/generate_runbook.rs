//! Runbook drafts end to end: a generation row and its `generate_runbook` job as the API records them, the
//! worker running the job against the fake OpenAI-compatible server (`insights_testing::fake_llm`, spoken to
//! by the real client on async-openai), and the retrieved sources served through the search protocol of
//! `insights_core::search` (answered here with fixed hits, so each test controls what is retrieved).
//!
//! What the fake received is asserted on: a planted secret never reaches it, nothing is sent with generation
//! `off` or without a model, and a spent budget sends nothing.

use insights_core::jobs::GenerateRunbook;
use insights_core::search::{SearchAnswer, SearchHit, SearchQuery};
use insights_testing::fake_llm::{Behaviour, FakeLlm};
use insights_testing::{TestApp, test_config};
use insights_types::api::{
    DraftMode, GenerationSourceOut, JobState, RunbookDraftOut, SearchMode, SentOut, SourceKind,
    SourceRefOut,
};
use insights_types::{IncidentId, JobRunId, OrgId, RunbookGenerationId, RunbookId};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET_PASSWORD: &str = "Tr0ub4dor-and-3-more";
const SECRET_KEY: &str = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
const CONTACT: &str = "dba-oncall@acme.example";

/// An API and worker whose model is the fake (unless `model` is `None`), with quick retries.
async fn start(fake: &FakeLlm, model: Option<&str>, llm_attempts: &str) -> TestApp {
    let mut vars = vec![
        ("OPENAI_BASE_URL", fake.base_url().to_owned()),
        ("OPENAI_API_KEY", "sk-test-fake-server-key".to_owned()),
        ("INSIGHTS_LLM_TIMEOUT_SECS", "1".to_owned()),
        ("INSIGHTS_LLM_MAX_ATTEMPTS", llm_attempts.to_owned()),
        ("INSIGHTS_LLM_BACKOFF_MS", "10".to_owned()),
        ("INSIGHTS_JOB_MAX_ATTEMPTS", "2".to_owned()),
        ("INSIGHTS_JOB_BACKOFF_MS", "50".to_owned()),
        ("INSIGHTS_SEARCH_TIMEOUT_MS", "3000".to_owned()),
    ];
    if let Some(m) = model {
        vars.push(("INSIGHTS_LLM_MODEL", m.to_owned()));
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(test_config(&vars).await)
        .await
        .with_worker()
        .await
}

/// Answers the app's search requests with `hits` for `org` (nothing for any other organization), and
/// records the queries; stops when dropped.
struct FakeSearch {
    queries: Arc<Mutex<Vec<(OrgId, SearchQuery)>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn serve_hits(app: &TestApp, org: OrgId, hits: Vec<SearchHit>) -> FakeSearch {
    use secrecy::ExposeSecret;
    let redis = redis::Client::open(app.config.jobs.redis_url.expose_secret()).unwrap();
    let queries = Arc::new(Mutex::new(Vec::new()));
    let seen = queries.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(insights_core::search::serve(
        redis,
        app.config.jobs.redis_prefix.clone(),
        2,
        move |asked: OrgId, q: SearchQuery| {
            seen.lock().unwrap().push((asked, q));
            let hits = if asked == org {
                hits.clone()
            } else {
                Vec::new()
            };
            async move {
                Ok(SearchAnswer {
                    hits,
                    mode: SearchMode::Lexical,
                })
            }
        },
        async move {
            let _ = stopped.await;
        },
    ));
    FakeSearch {
        queries,
        _stop: stop,
    }
}

async fn db(app: &TestApp, org: OrgId) -> insights_core::db::OrgTx {
    app.state.db.org_tx(org, None).await.unwrap()
}

/// A resolved-history runbook with two steps (version 1) and the search hits of its steps.
async fn runbook(app: &TestApp, org: OrgId) -> (RunbookId, Vec<SearchHit>) {
    let id = RunbookId::new();
    let steps = json!([
        {"title": "Check replication lag", "why": "See how far behind the replica is.",
         "command": {"language": "sql", "text": "SELECT now() - pg_last_xact_replay_timestamp() AS lag;"},
         "risk": "read_only", "expected": "Under 5 seconds"},
        {"title": "Restart the lagging consumers", "why": "Stuck consumers hold the replica back.",
         "command": {"language": "kubectl", "text": "kubectl rollout restart deploy/orders-consumer -n orders"},
         "risk": "read_only", "expected": null}
    ]);
    let mut tx = db(app, org).await;
    sqlx::query("INSERT INTO runbooks (id, org_id, title, steps, source) VALUES ($1, $2, 'Replica lag', $3, 'written')")
        .bind(id.0)
        .bind(org.0)
        .bind(&steps)
        .execute(tx.conn())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO runbook_versions (org_id, runbook_id, number, title, body, steps, tags)
         VALUES ($1, $2, 1, 'Replica lag', '', $3, '{}')",
    )
    .bind(org.0)
    .bind(id.0)
    .bind(&steps)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let hit = |step: i32, heading: &str, text: &str| SearchHit {
        source: SourceRefOut {
            kind: SourceKind::Runbook,
            runbook_id: Some(id),
            runbook_version: Some(1),
            step: Some(step),
            incident_id: None,
            incident_number: None,
            event_id: None,
            title: "Replica lag".into(),
            heading: Some(heading.into()),
        },
        text: text.into(),
        snippet: vec![],
        score: 1.0 / f64::from(step + 1),
    };
    let hits = vec![
        hit(
            0,
            "Check replication lag",
            "Check replication lag\n```sql\nSELECT now() - pg_last_xact_replay_timestamp() AS lag;\n```",
        ),
        hit(
            1,
            "Restart the lagging consumers",
            &format!(
                "Restart the lagging consumers\n`kubectl rollout restart deploy/orders-consumer -n orders`\nAsk {CONTACT} first; the admin password={SECRET_PASSWORD}"
            ),
        ),
    ];
    (id, hits)
}

/// A past fix hit (an incident's resolution note).
fn past_fix(text: &str) -> SearchHit {
    SearchHit {
        source: SourceRefOut {
            kind: SourceKind::PastFix,
            runbook_id: None,
            runbook_version: None,
            step: None,
            incident_id: Some(IncidentId::new()),
            incident_number: Some(17),
            event_id: None,
            title: "Replication lag on orders-db".into(),
            heading: Some("resolution note".into()),
        },
        text: text.into(),
        snippet: vec![],
        score: 0.1,
    }
}

/// An incident whose description carries secrets and a contact.
async fn incident(app: &TestApp, org: OrgId) -> IncidentId {
    let id = IncidentId::new();
    let mut tx = db(app, org).await;
    sqlx::query(
        "INSERT INTO incidents (id, org_id, source, external_id, number, title, description, status, triggered_at,
                                source_updated_at)
         VALUES ($1, $2, 'sample', $3, 42, 'Replication lag on orders-db', $4, 'triggered', now(), now())",
    )
    .bind(id.0)
    .bind(org.0)
    .bind(id.0.to_string())
    .bind(format!(
        "Lag above 30s. App connects with postgres://orders:{SECRET_PASSWORD}@orders-db:5432/orders; \
         OPENAI_API_KEY={SECRET_KEY}. Escalate to {CONTACT}."
    ))
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn settings(app: &TestApp, org: OrgId, policy: &str, contacts: bool, budget: Option<i64>) {
    let mut tx = db(app, org).await;
    sqlx::query(
        "INSERT INTO runbook_settings (org_id, generation, redact_contacts, monthly_token_budget)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(org.0)
    .bind(policy)
    .bind(contacts)
    .bind(budget)
    .execute(tx.conn())
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Records a generation and its job as the API does, pushes the job, and returns both ids.
async fn request(
    app: &TestApp,
    org: OrgId,
    incident: Option<IncidentId>,
    prompt: Option<&str>,
    refine: Option<(RunbookGenerationId, &str)>,
) -> (RunbookGenerationId, JobRunId) {
    let id = RunbookGenerationId::new();
    let mut tx = db(app, org).await;
    sqlx::query(
        "INSERT INTO runbook_generations (id, org_id, incident_id, prompt, refine_of, instructions)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.0)
    .bind(org.0)
    .bind(incident.map(|i| i.0))
    .bind(prompt)
    .bind(refine.map(|(r, _)| r.0))
    .bind(refine.map(|(_, i)| i))
    .execute(tx.conn())
    .await
    .unwrap();
    let pending = app
        .state
        .jobs
        .record::<GenerateRunbook>(&mut tx, id)
        .await
        .unwrap();
    let job = pending.job_run_id();
    tx.commit().await.unwrap();
    app.state.jobs.push(pending).await;
    (id, job)
}

/// A generation as stored.
#[derive(Debug)]
struct Stored {
    status: String,
    mode: Option<String>,
    error: Option<String>,
    draft: Option<RunbookDraftOut>,
    sources: Vec<GenerationSourceOut>,
    sent: Option<SentOut>,
    redactions: BTreeMap<String, u32>,
    prompt_tokens: i32,
    completion_tokens: i32,
}

async fn stored(app: &TestApp, org: OrgId, id: RunbookGenerationId) -> Stored {
    let mut tx = db(app, org).await;
    let row: (String, Option<String>, Option<String>, Option<Value>, Value, Option<Value>, Value, i32, i32) =
        sqlx::query_as(
            "SELECT status, mode, error, draft, sources, sent, redactions, prompt_tokens, completion_tokens
             FROM runbook_generations WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    Stored {
        status: row.0,
        mode: row.1,
        error: row.2,
        draft: row.3.map(|d| serde_json::from_value(d).unwrap()),
        sources: serde_json::from_value(row.4).unwrap(),
        sent: row.5.map(|s| serde_json::from_value(s).unwrap()),
        redactions: serde_json::from_value(row.6).unwrap(),
        prompt_tokens: row.7,
        completion_tokens: row.8,
    }
}

/// Waits until the generation has ended.
async fn finished(app: &TestApp, org: OrgId, id: RunbookGenerationId) -> Stored {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = stored(app, org, id).await;
        if s.status == "succeeded" || s.status == "failed" {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn tokens_used(app: &TestApp, org: OrgId) -> i64 {
    let mut tx = db(app, org).await;
    sqlx::query_scalar("SELECT COALESCE(sum(tokens), 0)::bigint FROM llm_usage WHERE org_id = $1")
        .bind(org.0)
        .fetch_one(tx.conn())
        .await
        .unwrap()
}

fn everything_sent(fake: &FakeLlm) -> String {
    fake.requests()
        .iter()
        .map(|r| r.body.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn structured_output_becomes_a_cited_draft_and_no_secret_reaches_the_model() {
    let fake = FakeLlm::start().await;
    let app = start(&fake, Some("fake-model"), "3").await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let (_, mut hits) = runbook(&app, org).await;
    hits.push(past_fix(
        "Killed the long report query with `SELECT pg_terminate_backend(4242);`.",
    ));
    let search = serve_hits(&app, org, hits);
    let incident = incident(&app, org).await;

    let (id, job) = request(&app, org, Some(incident), None, None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "succeeded", "{g:?}");
    assert_eq!(g.mode.as_deref(), Some("generated"));
    let job = app.wait_for_job(&owner.token, org, job).await;
    assert_eq!(job.state, JobState::Succeeded);

    // The search was for the incident, in its organization, leaving the incident itself out.
    let queries = search.queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].0, org);
    assert!(queries[0].1.text.contains("Replication lag on orders-db"));
    assert_eq!(queries[0].1.filter.exclude_incidents, vec![incident]);

    // Every source is numbered; each generated step cites the source it came from; the step the fake adds
    // without a citation is flagged as not grounded.
    assert_eq!(
        g.sources.iter().map(|s| s.n).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let draft = g.draft.unwrap();
    assert_eq!(draft.steps.len(), 4, "{draft:#?}");
    for (i, step) in draft.steps[..3].iter().enumerate() {
        assert_eq!(step.citations, vec![i as u32 + 1]);
        assert!(step.grounded);
    }
    assert!(!draft.steps[3].grounded && draft.steps[3].citations.is_empty());
    // Risks the model understated are raised from the commands.
    assert_eq!(
        draft.steps[1].step.risk,
        insights_types::api::StepRisk::ChangesState
    );
    assert_eq!(
        draft.steps[2].step.risk,
        insights_types::api::StepRisk::ChangesState
    );
    assert!(
        draft.warnings.iter().any(|w| w.contains("raised")),
        "{:?}",
        draft.warnings
    );

    // Redaction (the default policy): no secret reached the fake; what was sent is recorded exactly.
    let received = everything_sent(&fake);
    for secret in [SECRET_PASSWORD, SECRET_KEY] {
        assert!(!received.contains(secret), "{secret} reached the model");
    }
    assert!(received.contains("[REDACTED:password]"));
    assert!(
        received.contains(CONTACT),
        "contacts are kept unless the organization asks"
    );
    assert!(
        g.redactions.get("password").copied().unwrap_or(0) >= 2,
        "{:?}",
        g.redactions
    );
    assert_eq!(g.redactions.get("api_key"), Some(&1));
    let sent = g.sent.unwrap();
    assert_eq!(sent.model, "fake-model");
    let chat = &fake.chat_requests()[0];
    for (i, m) in sent.messages.iter().enumerate() {
        assert_eq!(chat["messages"][i]["content"], m.content.as_str());
    }
    assert!(g.sources.iter().all(|s| !s.text.contains(SECRET_PASSWORD)));
    assert_eq!(
        fake.requests()[0].authorization.as_deref(),
        Some("Bearer sk-test-fake-server-key")
    );

    // Tokens are recorded on the generation and the month's use.
    assert!(g.prompt_tokens > 0 && g.completion_tokens > 0);
    assert_eq!(
        tokens_used(&app, org).await,
        i64::from(g.prompt_tokens + g.completion_tokens)
    );
}

#[tokio::test]
async fn contacts_are_redacted_when_asked_and_policy_on_sends_as_stored() {
    let fake = FakeLlm::start().await;
    let app = start(&fake, Some("fake-model"), "2").await;
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    let (_, hits) = runbook(&app, org).await;
    let _search = serve_hits(&app, org, hits.clone());
    settings(&app, org, "redacted", true, None).await;
    let incident = incident(&app, org).await;
    let (id, _) = request(&app, org, Some(incident), None, None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "succeeded", "{g:?}");
    assert!(!everything_sent(&fake).contains(CONTACT));
    assert_eq!(g.redactions.get("email"), Some(&2), "{:?}", g.redactions);

    // `on`: sent as stored, nothing counted.
    let (_, other) = app.signup("other@example.com", "Other").await;
    let (_, hits) = runbook(&app, other).await;
    let _search2 = serve_hits(&app, other, hits);
    settings(&app, other, "on", false, None).await;
    let incident = self::incident(&app, other).await;
    let before = fake.requests().len();
    let (id, _) = request(&app, other, Some(incident), None, None).await;
    let g = finished(&app, other, id).await;
    assert_eq!(g.status, "succeeded", "{g:?}");
    let sent_now: String = fake.requests()[before..]
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    assert!(sent_now.contains(SECRET_PASSWORD));
    assert!(g.redactions.is_empty());
}

#[tokio::test]
async fn policy_off_and_no_model_assemble_the_draft_and_send_nothing() {
    let fake = FakeLlm::start().await;
    let app = start(&fake, Some("fake-model"), "2").await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let (runbook_id, mut hits) = runbook(&app, org).await;
    hits.push(past_fix(
        "Killed the long report query with `SELECT pg_terminate_backend(4242);`.",
    ));
    let _search = serve_hits(&app, org, hits);
    settings(&app, org, "off", false, None).await;
    let (id, job) = request(
        &app,
        org,
        None,
        Some("orders replica is lagging behind"),
        None,
    )
    .await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "succeeded", "{g:?}");
    assert_eq!(g.mode.as_deref(), Some("assembled"));
    assert!(g.sent.is_none());
    assert!(
        fake.requests().is_empty(),
        "nothing is sent with generation off"
    );
    assert_eq!(
        app.wait_for_job(&owner.token, org, job).await.state,
        JobState::Succeeded
    );
    let draft = g.draft.unwrap();
    assert!(
        draft
            .title
            .starts_with("Assembled runbook: orders replica is lagging")
    );
    // The runbook's own structured steps, in rank order, then the past fix; each cites its source.
    assert_eq!(draft.steps.len(), 3);
    assert_eq!(draft.steps[0].step.title, "Check replication lag");
    assert_eq!(
        draft.steps[0].step.expected.as_deref(),
        Some("Under 5 seconds")
    );
    assert_eq!(
        draft.steps[1].step.risk,
        insights_types::api::StepRisk::ChangesState
    );
    assert_eq!(
        draft
            .steps
            .iter()
            .map(|s| s.citations.clone())
            .collect::<Vec<_>>(),
        vec![vec![1], vec![2], vec![3]]
    );
    assert_eq!(g.sources[0].source.runbook_id, Some(runbook_id));
    assert_eq!(tokens_used(&app, org).await, 0);

    // Without a model configured at all: assembled too.
    let fake2 = FakeLlm::start().await;
    let app2 = start(&fake2, None, "2").await;
    let (_, org2) = app2.signup("owner@example.com", "Acme").await;
    let (_, hits) = runbook(&app2, org2).await;
    let _search2 = serve_hits(&app2, org2, hits);
    let (id, _) = request(&app2, org2, None, Some("replica lag"), None).await;
    let g = finished(&app2, org2, id).await;
    assert_eq!(
        (g.status.as_str(), g.mode.as_deref()),
        ("succeeded", Some("assembled"))
    );
    assert!(fake2.requests().is_empty());
}

#[tokio::test]
async fn a_malformed_answer_is_retried_then_fails_visibly() {
    let fake = FakeLlm::start().await;
    let app = start(&fake, Some("fake-model"), "3").await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let (_, hits) = runbook(&app, org).await;
    let _search = serve_hits(&app, org, hits);

    // Malformed once, then a draft: repaired by the retry.
    fake.queue(&[Behaviour::Malformed]);
    let (id, _) = request(&app, org, None, Some("replica lag"), None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "succeeded", "{g:?}");
    assert_eq!(fake.chat_requests().len(), 2);

    // JSON that is not a draft is asked for again once; then the generation fails with the reason.
    fake.set_default(Behaviour::WrongShape);
    let (id, job) = request(&app, org, None, Some("replica lag"), None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "failed");
    let error = g.error.unwrap();
    assert!(error.contains("not a runbook draft"), "{error}");
    assert!(error.contains("asked 2 times"), "{error}");
    assert!(g.draft.is_none());
    let job = app.wait_for_job(&owner.token, org, job).await;
    assert_eq!(job.state, JobState::Failed);

    // Never JSON: the client's attempts, then failed.
    fake.set_default(Behaviour::Malformed);
    let before = fake.chat_requests().len();
    let (id, _) = request(&app, org, None, Some("replica lag"), None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "failed");
    assert!(g.error.unwrap().contains("not valid"));
    assert_eq!(
        fake.chat_requests().len() - before,
        3,
        "exactly INSIGHTS_LLM_MAX_ATTEMPTS"
    );
}

#[tokio::test]
async fn timeouts_and_rate_limits_are_retried_and_end_visibly() {
    let fake = FakeLlm::start().await;
    let app = start(&fake, Some("fake-model"), "3").await;
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    let (_, hits) = runbook(&app, org).await;
    let _search = serve_hits(&app, org, hits);

    fake.queue(&[
        Behaviour::Hang,
        Behaviour::RateLimited,
        Behaviour::ServerError,
    ]);
    let (id, _) = request(&app, org, None, Some("replica lag"), None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "failed", "three failed attempts of three: {g:?}");
    assert!(g.error.as_deref().unwrap().contains("500"), "{g:?}");

    fake.queue(&[Behaviour::RateLimited]);
    let (id, _) = request(&app, org, None, Some("replica lag"), None).await;
    assert_eq!(
        finished(&app, org, id).await.status,
        "succeeded",
        "429 then success"
    );

    fake.set_default(Behaviour::RateLimited);
    let (id, _) = request(&app, org, None, Some("replica lag"), None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "failed");
    assert!(
        g.error.as_deref().unwrap().contains("rate-limited"),
        "{g:?}"
    );

    fake.set_default(Behaviour::Hang);
    let (id, _) = request(&app, org, None, Some("replica lag"), None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "failed");
    assert!(
        g.error
            .as_deref()
            .unwrap()
            .contains("did not answer within 1s"),
        "{g:?}"
    );
}

#[tokio::test]
async fn a_spent_budget_fails_the_generation_without_calling_the_model() {
    let fake = FakeLlm::start().await;
    let app = start(&fake, Some("fake-model"), "2").await;
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    let (_, hits) = runbook(&app, org).await;
    let _search = serve_hits(&app, org, hits);
    settings(&app, org, "redacted", false, Some(1000)).await;
    {
        let mut tx = db(&app, org).await;
        insights_core::runbooks::generation::add_tokens(&mut tx, 1000)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let (id, _) = request(&app, org, None, Some("replica lag"), None).await;
    let g = finished(&app, org, id).await;
    assert_eq!(g.status, "failed");
    let error = g.error.unwrap();
    assert!(error.contains("monthly token budget is spent"), "{error}");
    assert!(error.contains("1000 of 1000"), "{error}");
    assert!(fake.requests().is_empty());
    assert!(g.sent.is_none());
}

#[tokio::test]
async fn a_refinement_makes_a_new_draft_from_the_previous_one() {
    let fake = FakeLlm::start().await;
    let app = start(&fake, Some("fake-model"), "2").await;
    let (_, org) = app.signup("owner@example.com", "Acme").await;
    let (_, hits) = runbook(&app, org).await;
    let search = serve_hits(&app, org, hits);
    let incident = incident(&app, org).await;
    let (first, _) = request(&app, org, Some(incident), None, None).await;
    let a = finished(&app, org, first).await;
    assert_eq!(a.status, "succeeded");
    let a_draft = a.draft.unwrap();

    let (second, _) = request(
        &app,
        org,
        None,
        None,
        Some((first, "shorter, and use kubectl")),
    )
    .await;
    let b = finished(&app, org, second).await;
    assert_eq!(b.status, "succeeded", "{b:?}");
    let b_draft = b.draft.unwrap();
    assert_eq!(b_draft.title, format!("{} (refined)", a_draft.title));
    assert_eq!(b_draft.steps.len(), a_draft.steps.len() - 1);
    assert_eq!(b_draft.steps[0].citations, a_draft.steps[0].citations);
    // The same numbered sources (no new search), and the prompt carried the previous draft and the ask.
    assert_eq!(b.sources, a.sources);
    assert_eq!(search.queries.lock().unwrap().len(), 1);
    let user = fake.chat_requests()[1]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(user.contains("## Previous draft"));
    assert!(user.contains(&a_draft.steps[0].step.title));
    assert!(user.contains("## What to change\nshorter, and use kubectl"));
    assert!(
        user.contains("Incident #42: Replication lag on orders-db"),
        "the original's subject"
    );
    assert!(!user.contains(SECRET_PASSWORD));
    assert_eq!(b.mode.as_deref(), Some("generated"));
    let _ = DraftMode::Generated;
}
