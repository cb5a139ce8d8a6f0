//! One test suite for both backends of the vector index: the embedded shard (always) and a Qdrant server
//! (`#[ignore]`d: run with `INSIGHTS_TEST_QDRANT_URL=http://127.0.0.1:6334 cargo test -p insights-index --test
//! suite -- --ignored`). Each case takes a fresh index.

use insights_index::{ChunkKind, EdgeIndex, Filter, Query, ServerIndex, Subject, VectorIndex};
use insights_retrieval::{Chunk, ChunkSource};
use std::path::{Path, PathBuf};
use std::time::Duration;
use uuid::Uuid;

/// Dense vectors in these tests: a bag of hashed words (enough to tell texts apart, not a model).
const DIMS: usize = 64;

fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; DIMS];
    for t in insights_retrieval::analyze::terms(text) {
        v[insights_retrieval::sparse::term_id(&t) as usize % DIMS] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("insights-index-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Fixture {
    index: VectorIndex,
    _dir: Option<TempDir>,
}

async fn edge() -> Fixture {
    let dir = TempDir::new();
    let index = EdgeIndex::open(&dir.0, Some(DIMS)).await.unwrap();
    Fixture {
        index: VectorIndex::Edge(index),
        _dir: Some(dir),
    }
}

async fn server() -> Fixture {
    let url = std::env::var("INSIGHTS_TEST_QDRANT_URL")
        .expect("INSIGHTS_TEST_QDRANT_URL: the gRPC URL of a Qdrant server to test against");
    let collection = format!("insights-test-{}", Uuid::new_v4());
    let index = ServerIndex::open(&url, None, &collection, Some(DIMS))
        .await
        .unwrap();
    Fixture {
        index: VectorIndex::Server(index),
        _dir: None,
    }
}

fn runbook_chunks(runbook: Uuid, texts: &[&str]) -> Vec<Chunk> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Chunk {
            source: ChunkSource::Runbook {
                runbook_id: runbook,
                version: 1,
                section: None,
                step: Some(i as u32),
            },
            title: "Runbook".into(),
            heading: Some(format!("Step {i}")),
            text: (*t).into(),
            tags: vec!["db".into()],
            service_ids: vec![],
            pattern_ids: vec![],
        })
        .collect()
}

fn fix_chunk(incident: Uuid, text: &str, service: Uuid) -> Chunk {
    Chunk {
        source: ChunkSource::PastFix {
            incident_id: incident,
            event_id: Some(Uuid::new_v4()),
        },
        title: "Incident".into(),
        heading: None,
        text: text.into(),
        tags: vec![],
        service_ids: vec![service],
        pattern_ids: vec![],
    }
}

async fn put(index: &VectorIndex, org: Uuid, chunks: &[Chunk]) {
    let subject = Subject::of(&chunks[0]);
    let dense: Vec<Vec<f32>> = chunks.iter().map(|c| embed(&c.text)).collect();
    index
        .upsert(org, subject, chunks, Some(&dense))
        .await
        .unwrap();
}

async fn search(index: &VectorIndex, org: Uuid, text: &str, filter: &Filter) -> Vec<Chunk> {
    index
        .search(org, &Query::hybrid(text, embed(text)), filter, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.chunk)
        .collect()
}

fn subjects(chunks: &[Chunk]) -> Vec<Subject> {
    chunks.iter().map(Subject::of).collect()
}

async fn isolation(f: Fixture) {
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let text = "Restart the payments-api pods when the database connection pool is exhausted";
    let (ra, rb) = (Uuid::new_v4(), Uuid::new_v4());
    put(
        &f.index,
        a,
        &runbook_chunks(ra, &[text, "Secret plan of org A: rotate the vault token"]),
    )
    .await;
    put(&f.index, b, &runbook_chunks(rb, &[text])).await;
    for q in [text, "vault token rotate", "org A secret plan", "payments"] {
        let hits = search(&f.index, b, q, &Filter::default()).await;
        assert!(
            subjects(&hits).iter().all(|s| *s == Subject::Runbook(rb)),
            "{q}: {hits:?}"
        );
        // Dense only, too (a dense query has no lexical terms to filter by).
        let dense = f
            .index
            .search(
                b,
                &Query {
                    sparse: None,
                    dense: Some(embed(q)),
                },
                &Filter::default(),
                10,
            )
            .await
            .unwrap();
        assert!(
            dense
                .iter()
                .all(|h| Subject::of(&h.chunk) == Subject::Runbook(rb)),
            "{q}"
        );
    }
    assert_eq!(
        search(&f.index, a, "vault token", &Filter::default()).await[0].text,
        "Secret plan of org A: rotate the vault token"
    );
    assert_eq!(f.index.count(a).await.unwrap(), 2);
    assert_eq!(f.index.count(b).await.unwrap(), 1);
    assert_eq!(f.index.count(Uuid::new_v4()).await.unwrap(), 0);
}

async fn idf_is_per_organization(f: Fixture) {
    // What org A holds must not change org B's scores (nor let B learn about A's texts through them).
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    put(
        &f.index,
        b,
        &runbook_chunks(
            Uuid::new_v4(),
            &["restart pod now", "rotate certificate now"],
        ),
    )
    .await;
    let scores = |hits: Vec<insights_index::Hit>| -> Vec<(String, f32)> {
        let mut v: Vec<(String, f32)> = hits
            .into_iter()
            .map(|h| (h.chunk.text, h.lexical_score.unwrap()))
            .collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    let q = Query::lexical("restart certificate");
    let before = scores(f.index.search(b, &q, &Filter::default(), 10).await.unwrap());
    assert_eq!(before.len(), 2);
    for n in 0..20 {
        put(
            &f.index,
            a,
            &runbook_chunks(Uuid::new_v4(), &[&format!("restart service {n}")]),
        )
        .await;
    }
    let after = scores(f.index.search(b, &q, &Filter::default(), 10).await.unwrap());
    assert_eq!(before, after);
}

async fn upsert_replaces(f: Fixture) {
    let org = Uuid::new_v4();
    let rb = Uuid::new_v4();
    put(
        &f.index,
        org,
        &runbook_chunks(
            rb,
            &["drain the node", "cordon the node", "uncordon the node"],
        ),
    )
    .await;
    assert_eq!(f.index.count(org).await.unwrap(), 3);
    // The same chunks again: nothing changes.
    put(
        &f.index,
        org,
        &runbook_chunks(
            rb,
            &["drain the node", "cordon the node", "uncordon the node"],
        ),
    )
    .await;
    assert_eq!(f.index.count(org).await.unwrap(), 3);
    // A new version with one step: the subject is that step only.
    put(
        &f.index,
        org,
        &runbook_chunks(rb, &["failover to the standby replica"]),
    )
    .await;
    assert_eq!(f.index.count(org).await.unwrap(), 1);
    assert!(
        search(&f.index, org, "cordon node", &Filter::default())
            .await
            .iter()
            .all(|c| !c.text.contains("cordon"))
    );
    assert_eq!(
        search(&f.index, org, "failover standby", &Filter::default())
            .await
            .len(),
        1
    );
    // No chunks at all: the subject is gone.
    f.index
        .upsert(org, Subject::Runbook(rb), &[], None)
        .await
        .unwrap();
    assert_eq!(f.index.count(org).await.unwrap(), 0);
}

async fn remove_and_remove_org(f: Fixture) {
    let (org, other) = (Uuid::new_v4(), Uuid::new_v4());
    let (r1, r2, i1) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    put(
        &f.index,
        org,
        &runbook_chunks(r1, &["flush the redis cache", "restart redis"]),
    )
    .await;
    put(&f.index, org, &runbook_chunks(r2, &["scale the consumers"])).await;
    put(
        &f.index,
        org,
        &[fix_chunk(
            i1,
            "scaled out the consumers to six replicas",
            Uuid::new_v4(),
        )],
    )
    .await;
    put(
        &f.index,
        other,
        &runbook_chunks(r1, &["flush the redis cache"]),
    )
    .await;
    f.index.remove(org, Subject::Runbook(r1)).await.unwrap();
    assert_eq!(f.index.count(org).await.unwrap(), 2);
    assert!(
        search(&f.index, org, "redis cache", &Filter::default())
            .await
            .iter()
            .all(|c| Subject::of(c) != Subject::Runbook(r1))
    );
    // The same subject id in another organization is untouched.
    assert_eq!(f.index.count(other).await.unwrap(), 1);
    f.index.remove(org, Subject::Incident(i1)).await.unwrap();
    assert_eq!(f.index.count(org).await.unwrap(), 1);
    f.index.remove_org(org).await.unwrap();
    assert_eq!(f.index.count(org).await.unwrap(), 0);
    assert_eq!(f.index.count(other).await.unwrap(), 1);
}

async fn filters(f: Fixture) {
    let org = Uuid::new_v4();
    let (svc, other_svc) = (Uuid::new_v4(), Uuid::new_v4());
    let (i1, i2) = (Uuid::new_v4(), Uuid::new_v4());
    let rb = Uuid::new_v4();
    put(
        &f.index,
        org,
        &runbook_chunks(rb, &["consumer lag: scale out the consumers"]),
    )
    .await;
    put(
        &f.index,
        org,
        &[fix_chunk(
            i1,
            "consumer lag fixed by scaling out the consumers",
            svc,
        )],
    )
    .await;
    put(
        &f.index,
        org,
        &[fix_chunk(
            i2,
            "consumer lag fixed by restarting the broker",
            other_svc,
        )],
    )
    .await;
    let q = "consumer lag";
    assert_eq!(search(&f.index, org, q, &Filter::default()).await.len(), 3);
    let only = |kinds: Vec<ChunkKind>| Filter {
        kinds,
        ..Filter::default()
    };
    assert_eq!(
        subjects(&search(&f.index, org, q, &only(vec![ChunkKind::Runbook])).await),
        vec![Subject::Runbook(rb)]
    );
    assert_eq!(
        search(&f.index, org, q, &only(vec![ChunkKind::PastFix]))
            .await
            .len(),
        2
    );
    let by_service = Filter {
        service_ids: vec![svc],
        ..Filter::default()
    };
    assert_eq!(
        subjects(&search(&f.index, org, q, &by_service).await),
        vec![Subject::Incident(i1)]
    );
    let by_tag = Filter {
        tags: vec!["DB".into()],
        ..Filter::default()
    };
    assert_eq!(
        subjects(&search(&f.index, org, q, &by_tag).await),
        vec![Subject::Runbook(rb)]
    );
    let excluding = Filter {
        exclude_incidents: vec![i1],
        ..Filter::default()
    };
    let hits = subjects(&search(&f.index, org, q, &excluding).await);
    assert_eq!(hits.len(), 2);
    assert!(!hits.contains(&Subject::Incident(i1)));
}

async fn ranking_and_modes(f: Fixture) {
    let org = Uuid::new_v4();
    let rb = Uuid::new_v4();
    put(
        &f.index,
        org,
        &runbook_chunks(
            rb,
            &[
                "Check the replication lag on the database replica",
                "Renew the TLS certificate of the ingress",
                "Restart the payments-api deployment",
            ],
        ),
    )
    .await;
    // The lexical list ranks the chunk with the query's words first; equivalents count ("db" → "database").
    let lexical = f
        .index
        .search(
            org,
            &Query::lexical("db replica lag"),
            &Filter::default(),
            3,
        )
        .await
        .unwrap();
    assert!(
        lexical[0]
            .chunk
            .text
            .starts_with("Check the replication lag")
    );
    assert!(
        lexical
            .iter()
            .all(|h| h.dense_rank.is_none() && h.lexical_rank.is_some())
    );
    let cert = f
        .index
        .search(org, &Query::lexical("expired cert"), &Filter::default(), 3)
        .await
        .unwrap();
    assert!(
        cert[0].chunk.text.starts_with("Renew the TLS certificate"),
        "{cert:?}"
    );
    // A hybrid search fuses both lists; scores decrease.
    let q = "restart payments-api";
    let hybrid = f
        .index
        .search(org, &Query::hybrid(q, embed(q)), &Filter::default(), 3)
        .await
        .unwrap();
    assert!(hybrid[0].chunk.text.starts_with("Restart the payments-api"));
    assert!(hybrid[0].lexical_rank == Some(1) && hybrid[0].dense_rank == Some(1));
    assert!(hybrid.windows(2).all(|w| w[0].score >= w[1].score));
    // A query with no terms finds nothing rather than everything.
    assert!(
        f.index
            .search(org, &Query::lexical("the of and"), &Filter::default(), 3)
            .await
            .unwrap()
            .is_empty()
    );
    // A dense vector of the wrong size is refused.
    assert!(
        f.index
            .search(
                org,
                &Query::hybrid(q, vec![0.5; DIMS + 1]),
                &Filter::default(),
                3
            )
            .await
            .is_err()
    );
}

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod edge_backend {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::edge().await).await;
                }
            )*
        }
        mod server_backend {
            $(
                #[tokio::test]
                #[ignore = "needs a Qdrant server: set INSIGHTS_TEST_QDRANT_URL (gRPC, e.g. http://127.0.0.1:6334) and pass --ignored"]
                async fn $case() {
                    super::$case(super::server().await).await;
                }
            )*
        }
    };
}

cases!(
    isolation,
    idf_is_per_organization,
    upsert_replaces,
    remove_and_remove_org,
    filters,
    ranking_and_modes
);

// ---- The embedded index only: one owner, and a killed owner leaves a usable index. ----

#[tokio::test]
async fn a_second_owner_of_the_embedded_index_is_refused() {
    let dir = TempDir::new();
    let first = EdgeIndex::open(&dir.0, None).await.unwrap();
    let err = EdgeIndex::open(&dir.0, None)
        .await
        .err()
        .expect("a second owner");
    let message = err.to_string();
    assert!(
        message.contains("owned by another worker") && message.contains("QDRANT_URL"),
        "{message}"
    );
    drop(first);
    // Once the owner is gone, it opens (and keeps what was written).
    EdgeIndex::open(&dir.0, None).await.unwrap();
}

const CHILD_DIR: &str = "INSIGHTS_INDEX_TEST_CHILD_DIR";
const CHUNKS_PER_SUBJECT: usize = 40;
const CHILD_ORG: Uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);

fn child_subject(n: u128) -> Uuid {
    Uuid::from_u128(0xfeed_0000_0000_0000_0000_0000_0000_0000 + n)
}

fn child_chunks(n: u128) -> Vec<Chunk> {
    let texts: Vec<String> = (0..CHUNKS_PER_SUBJECT)
        .map(|i| {
            format!("step {i} of runbook {n}: restart the worker pods and check the queue backlog")
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    runbook_chunks(child_subject(n), &refs)
}

fn marker(dir: &Path) -> PathBuf {
    dir.join("written")
}

/// Run by `reindex_after_a_killed_owner` in a child process: writes subject after subject until killed.
#[tokio::test]
#[ignore = "a helper run in a child process by reindex_after_a_killed_owner"]
async fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir).join("index");
    let index = VectorIndex::Edge(EdgeIndex::open(&dir, None).await.unwrap());
    let mut n: u128 = 0;
    loop {
        index
            .upsert(
                CHILD_ORG,
                Subject::Runbook(child_subject(n)),
                &child_chunks(n),
                None,
            )
            .await
            .unwrap();
        std::fs::write(marker(dir.parent().unwrap()), n.to_string()).unwrap();
        n += 1;
    }
}

#[tokio::test]
async fn reindex_after_a_killed_owner() {
    let dir = TempDir::new();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &dir.0)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Let it write a few subjects, then kill it (SIGKILL) in the middle of whatever it is doing.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let written: u128 = std::fs::read_to_string(marker(&dir.0))
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if written >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child wrote nothing"
        );
        assert!(child.try_wait().unwrap().is_none(), "the child ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(37)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let last: u128 = std::fs::read_to_string(marker(&dir.0))
        .unwrap()
        .parse()
        .unwrap();

    // The lock died with its owner; the shard recovers what was written.
    let index = VectorIndex::Edge(EdgeIndex::open(&dir.0.join("index"), None).await.unwrap());
    let recovered = index.count(CHILD_ORG).await.unwrap();
    assert!(
        recovered >= (last as usize + 1) * CHUNKS_PER_SUBJECT,
        "{recovered} after {last}"
    );
    // Re-indexing what the child may have written (up to the subject it was on) converges, and twice is once.
    for _ in 0..2 {
        for n in 0..=last + 1 {
            index
                .upsert(
                    CHILD_ORG,
                    Subject::Runbook(child_subject(n)),
                    &child_chunks(n),
                    None,
                )
                .await
                .unwrap();
        }
        assert_eq!(
            index.count(CHILD_ORG).await.unwrap(),
            (last as usize + 2) * CHUNKS_PER_SUBJECT
        );
    }
    let hits = index
        .search(
            CHILD_ORG,
            &Query::lexical("runbook 0 step 3"),
            &Filter::default(),
            5,
        )
        .await
        .unwrap();
    assert!(!hits.is_empty());
}
