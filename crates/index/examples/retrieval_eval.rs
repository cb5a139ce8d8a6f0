//! Prints the retrieval evaluation's table — recall@5, hit@k and MRR of the naive baseline and of lexical,
//! dense and hybrid search through the real embedded index, on the labelled set in `crates/retrieval/eval/` —
//! and, with `--misses`, the queries that miss:
//!
//! ```sh
//! cargo run -p insights-index --example retrieval_eval
//! cargo run -p insights-index --example retrieval_eval -- --misses   # + every miss (hybrid and lexical)
//! cargo run -p insights-index --example retrieval_eval -- --brute    # + the brute-force cross-check
//! cargo run -p insights-index --example retrieval_eval -- --without-service  # + queries without the service
//! cargo run -p insights-index --example retrieval_eval -- --collapse # + at most 1 or 2 hits per source
//! ```
//!
//! "Dense" uses `insights_testing::embedding::trigram_embedding`, a stand-in for an embeddings model (hashed
//! character trigrams; no model weights can be downloaded here): its figures are a lower bound of what a real
//! model gives, and the hybrid figures are those of lexical + this stand-in.

#[path = "../tests/eval/harness.rs"]
mod harness;
// The stand-in embeddings of the contract, from its one source file (a dependency on `insights-testing` would
// build the API and the worker for this crate's tests).
#[path = "../../testing/src/embedding.rs"]
mod embedding;

use harness::{
    Baseline, BruteForce, Corpus, DIMENSIONS, EvalSet, IndexEngine, LIMIT, Level, Mode, Run,
};

fn embed(text: &str) -> Vec<f32> {
    embedding::trigram_embedding(text, DIMENSIONS)
}

#[allow(clippy::print_stdout)] // the report is the point
#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let set = EvalSet::load();
    let corpus = Corpus::build(&set);
    let baseline = Baseline::new(&corpus.chunks);
    let engine = IndexEngine::build(&corpus, embed).await;
    let mut searches = Vec::new();
    for (_, queries) in &set.query_sets {
        for q in queries {
            for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
                searches.push((
                    (mode, q.text()),
                    engine.search(mode, &q.text(), LIMIT).await,
                ));
            }
        }
    }
    let found: std::collections::HashMap<_, _> = searches.into_iter().collect();
    let run = Run::new(&set, &corpus, &Mode::ALL, |mode, text| match mode {
        Mode::Baseline => baseline.search(text, LIMIT),
        _ => found[&(mode, text.to_owned())].clone(),
    });
    println!(
        "{} runbooks and {} past fixes → {} chunks in the embedded index; dense = the trigram_embedding stand-in \
         ({DIMENSIONS} dims), not a real embeddings model\n",
        set.runbooks.len(),
        set.past_fixes.len(),
        corpus.chunks.len()
    );
    println!("{}", run.table(&set));
    if args.iter().any(|a| a == "--without-service") {
        let mut found = std::collections::HashMap::new();
        for (_, queries) in &set.query_sets {
            for q in queries {
                let text = q.text_without_service();
                for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
                    let hits = engine.search(mode, &text, LIMIT).await;
                    found.insert((mode, text.clone()), hits);
                }
            }
        }
        let without = Run::with_text(
            &set,
            &corpus,
            &Mode::ALL,
            harness::Query::text_without_service,
            |mode, text| match mode {
                Mode::Baseline => baseline.search(text, LIMIT),
                _ => found[&(mode, text.to_owned())].clone(),
            },
        );
        println!(
            "\nThe same queries without the service's name in the search text (title and description only):\n"
        );
        println!("{}", without.table(&set));
    }
    if args.iter().any(|a| a == "--collapse") {
        for per_source in [1, 2] {
            let mut found = std::collections::HashMap::new();
            for (_, queries) in &set.query_sets {
                for q in queries {
                    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
                        let deep = engine.search(mode, &q.text(), 4 * LIMIT).await;
                        found.insert(
                            (mode, q.text()),
                            harness::collapse(&deep, per_source, LIMIT),
                        );
                    }
                }
            }
            let collapsed = Run::new(
                &set,
                &corpus,
                &[Mode::Lexical, Mode::Dense, Mode::Hybrid],
                |mode, text| found[&(mode, text.to_owned())].clone(),
            );
            println!(
                "\nAt most {per_source} hit(s) per runbook or incident (from the first {}):\n",
                4 * LIMIT
            );
            println!("{}", collapsed.table(&set));
        }
    }
    if args.iter().any(|a| a == "--brute") {
        let brute = BruteForce::new(&corpus.chunks, embed);
        let check = Run::new(
            &set,
            &corpus,
            &[Mode::Lexical, Mode::Dense, Mode::Hybrid],
            |mode, text| brute.search(mode, text, LIMIT),
        );
        println!(
            "\nThe same scoring computed by brute force in memory (a cross-check of the index):\n"
        );
        println!("{}", check.table(&set));
    }
    if args.iter().any(|a| a == "--misses") {
        println!("\nFirst hit from a labelled runbook but not a labelled step (fix level):\n");
        for (name, _) in &set.query_sets {
            for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
                let (n, sections, steps) = run.right_source_wrong_part(name, mode);
                println!(
                    "- {name}, {}: {sections} body sections and {steps} other steps first, of {n} queries",
                    mode.name()
                );
            }
        }
        for (name, _) in &set.query_sets {
            for mode in [Mode::Hybrid, Mode::Lexical] {
                println!(
                    "\n## Misses of `{name}`, {} (fix level: no labelled step or past fix in the top 5)\n",
                    mode.name()
                );
                println!("{}", run.misses(&set, &corpus, name, mode, Level::Fix));
            }
        }
    }
}
