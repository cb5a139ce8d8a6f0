//! The runbook generation pipeline's own overhead (`cargo bench -p insights-worker --bench generation`):
//! drafts for an incident made by the job's pipeline (`generate_runbook::generate`: load the subject and
//! settings, retrieve through the search protocol, redact, build the prompt, record what is sent, call the
//! model, validate, record the draft and the tokens) against the fake model answering at once, with eight
//! retrieved sources. Prints the pipeline's p50/p95, the model call's alone (the same request to the same
//! fake), and their difference — the overhead the pipeline adds to whatever the model takes; then the pure
//! in-memory part (redaction + prompt + validation). `GENERATION_BENCH_RUNS` (default 200). Needs DATABASE_URL
//! and REDIS_URL, like the tests.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use insights_core::runbooks::generation::{Settings, Subject};
use insights_core::search::{SearchAnswer, SearchHit, SearchQuery};
use insights_retrieval::{draft, prompt};
use insights_testing::fake_llm::FakeLlm;
use insights_testing::{TestApp, test_config};
use insights_types::api::{GenerationSourceOut, SearchMode, SourceKind, SourceRefOut};
use insights_types::{IncidentId, OrgId, RunbookGenerationId, RunbookId};
use insights_worker::jobs::generate_runbook;
use std::time::{Duration, Instant};

fn hits() -> Vec<SearchHit> {
    (0..8)
        .map(|i| SearchHit {
            source: SourceRefOut {
                kind: if i % 2 == 0 { SourceKind::Runbook } else { SourceKind::PastFix },
                runbook_id: (i % 2 == 0).then(RunbookId::new),
                runbook_version: (i % 2 == 0).then_some(1),
                step: (i % 2 == 0).then_some(i),
                incident_id: (i % 2 == 1).then(IncidentId::new),
                incident_number: (i % 2 == 1).then_some(100 + i64::from(i)),
                event_id: None,
                title: format!("Replica lag {i}"),
                heading: Some(format!("Step {i}")),
            },
            text: format!(
                "Check the replica and restart the consumers of shard {i}.\n`kubectl rollout restart deploy/consumer-{i} -n orders`\n\
                 The lag was caused by a long report query holding a snapshot; the admin password=hunter{i}{i}{i}x was used.\n{}",
                "Context line about the service, its dashboards and owners. ".repeat(8)
            ),
            snippet: vec![],
            score: 1.0 / f64::from(i + 1),
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let (p50, p95) = (percentile(&v, 0.5), percentile(&v, 0.95));
    println!(
        "  {name:<44} p50 {:>7.2} ms   p95 {:>7.2} ms",
        p50.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3
    );
    p50
}

async fn new_generation(app: &TestApp, org: OrgId, incident: IncidentId) -> RunbookGenerationId {
    let id = RunbookGenerationId::new();
    let mut tx = app.state.db.org_tx(org, None).await.unwrap();
    sqlx::query("INSERT INTO runbook_generations (id, org_id, incident_id) VALUES ($1, $2, $3)")
        .bind(id.0)
        .bind(org.0)
        .bind(incident.0)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::main]
async fn main() {
    if !insights_testing::benchmarking() {
        return;
    }
    let runs: usize = std::env::var("GENERATION_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let fake = FakeLlm::start().await;
    let config = test_config(&[
        ("OPENAI_BASE_URL", fake.base_url()),
        ("OPENAI_API_KEY", "sk-bench"),
        ("INSIGHTS_LLM_MODEL", "fake-model"),
    ])
    .await;
    let app = TestApp::spawn_with(config.clone()).await;
    let (_, org) = app.signup("bench@example.com", "Bench").await;
    let incident = IncidentId::new();
    {
        let mut tx = app.state.db.org_tx(org, None).await.unwrap();
        sqlx::query(
            "INSERT INTO incidents (id, org_id, source, external_id, number, title, description, status,
                                    triggered_at, source_updated_at)
             VALUES ($1, $2, 'sample', 'bench', 42, 'Replication lag on orders-db',
                     'Lag above 30s; app connects with postgres://orders:s3cretpass@orders-db/orders',
                     'triggered', now(), now())",
        )
        .bind(incident.0)
        .bind(org.0)
        .execute(tx.conn())
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let worker = insights_worker::Worker::build(config.clone())
        .await
        .expect("worker state");
    let state = worker.state().clone();
    let redis = {
        use secrecy::ExposeSecret;
        redis::Client::open(config.jobs.redis_url.expose_secret()).unwrap()
    };
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let canned = hits();
    tokio::spawn(insights_core::search::serve(
        redis,
        config.jobs.redis_prefix.clone(),
        2,
        move |_: OrgId, _: SearchQuery| {
            let hits = canned.clone();
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

    println!(
        "Runbook generation pipeline, {runs} drafts, 8 sources, fake model answering at once:"
    );
    let mut pipeline = Vec::with_capacity(runs);
    for _ in 0..runs {
        let id = new_generation(&app, org, incident).await;
        let started = Instant::now();
        generate_runbook::generate(&state, org, id, None)
            .await
            .expect("generated");
        pipeline.push(started.elapsed());
    }
    let total = report("whole pipeline (job work, model included)", pipeline);

    // The model call alone: the same messages to the same fake.
    let model = generate_runbook::chat_model(&state).expect("a model");
    let sources: Vec<GenerationSourceOut> = hits()
        .into_iter()
        .enumerate()
        .map(|(i, h)| GenerationSourceOut {
            n: i as u32 + 1,
            source: h.source,
            text: h.text,
        })
        .collect();
    let subject = Subject {
        name: "Incident #42: Replication lag on orders-db".into(),
        lines: vec![
            "Incident #42: Replication lag on orders-db".into(),
            "Description: Lag above 30s; app connects with postgres://orders:s3cretpass@orders-db/orders".into(),
        ],
        ..Subject::default()
    };
    let settings = Settings::default();
    let (messages, _, _) = generate_runbook::prepare(&subject, &sources, None, None, &settings);
    let chat: Vec<insights_llm::Message> = messages
        .iter()
        .map(|m| match m.role.as_str() {
            "system" => insights_llm::Message::system(m.content.clone()),
            _ => insights_llm::Message::user(m.content.clone()),
        })
        .collect();
    let schema = prompt::schema();
    let mut calls = Vec::with_capacity(runs);
    let mut answer = serde_json::Value::Null;
    for _ in 0..runs {
        let started = Instant::now();
        answer = model
            .complete_json(&chat, prompt::SCHEMA_NAME, &schema)
            .await
            .expect("answer")
            .0;
        calls.push(started.elapsed());
    }
    let model_time = report("the model call alone (loopback fake)", calls);
    println!(
        "  {:<44} p50 {:>7.2} ms",
        "pipeline overhead (difference of the p50s)",
        (total.saturating_sub(model_time)).as_secs_f64() * 1e3
    );

    let mut pure = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let (m, _, _) = generate_runbook::prepare(&subject, &sources, None, None, &settings);
        let d = draft::validate(&answer, sources.len() as u32).expect("valid");
        std::hint::black_box((m, d));
        pure.push(started.elapsed());
    }
    report("redaction + prompt + validation (in memory)", pure);
}
