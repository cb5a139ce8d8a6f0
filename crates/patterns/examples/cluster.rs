//! `insights-worker cluster`'s contract on the command line, without the worker: JSON lines in on stdin, one
//! `{"id", "cluster", "template"}` line per valid input on stdout, bad lines on stderr
//! (`cargo run --release -p insights-patterns --example cluster < titles.jsonl`).

fn main() -> std::io::Result<()> {
    let bad = insights_patterns::run(
        std::io::stdin().lock(),
        std::io::stdout().lock(),
        std::io::stderr().lock(),
    )?;
    if bad > 0 {
        std::process::exit(1);
    }
    Ok(())
}
