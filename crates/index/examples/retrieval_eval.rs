//! Prints the retrieval evaluation's table (recall@5, hit@k and MRR for the naive baseline, lexical, dense and
//! hybrid search through the real embedded index) and the queries that miss:
//!
//! ```sh
//! cargo run -p insights-index --example retrieval_eval            # the table
//! cargo run -p insights-index --example retrieval_eval -- --misses # and every miss of hybrid search
//! ```
//!
//! "Dense" uses `insights_testing::embedding::trigram_embedding`, a stand-in for an embeddings model (hashed
//! character trigrams; no model weights can be downloaded here): its figures are a lower bound of what a real
//! model gives.

#[path = "../tests/eval/harness.rs"]
mod harness;

use harness::{BruteForce, Corpus, DIMENSIONS, EvalSet, LIMIT, Level, Mode, Run};

fn embed(text: &str) -> Vec<f32> {
    insights_testing::embedding::trigram_embedding(text, DIMENSIONS)
}

#[allow(clippy::print_stdout)] // the report is the point
fn main() {
    let set = EvalSet::load();
    let corpus = Corpus::build(&set);
    let baseline = harness::Baseline::new(&corpus.chunks);
    let brute = BruteForce::new(&corpus.chunks, embed);
    let run = Run::new(&set, &corpus, &Mode::ALL, |mode, text| match mode {
        Mode::Baseline => baseline.search(text, LIMIT),
        _ => brute.search(mode, text, LIMIT),
    });
    println!(
        "{} runbooks, {} past fixes → {} chunks; dense = trigram_embedding stand-in ({DIMENSIONS} dims), not a real model\n",
        set.runbooks.len(),
        set.past_fixes.len(),
        corpus.chunks.len()
    );
    println!("{}", run.table(&set));
    if std::env::args().any(|a| a == "--misses") {
        for (name, _) in &set.query_sets {
            for mode in [Mode::Hybrid, Mode::Lexical] {
                println!("\n## Misses of {name}, {} (fix level, not in the top 5)\n", mode.name());
                println!("{}", run.misses(&set, &corpus, name, mode, Level::Fix));
            }
        }
    }
}
