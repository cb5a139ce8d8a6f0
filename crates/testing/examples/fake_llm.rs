//! Runs the fake OpenAI-compatible server standalone (for `scripts/dev` and manual tries):
//! `cargo run -p insights-testing --example fake_llm -- [host:port]` (default `127.0.0.1:8011`), then point
//! `OPENAI_BASE_URL` at the URL it prints and set `INSIGHTS_LLM_MODEL` to any name.

use insights_testing::fake_llm::FakeLlm;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8011".to_owned());
    let fake = FakeLlm::start_on(&addr).await;
    // The URL is the output.
    #[allow(clippy::print_stdout)]
    {
        println!("OPENAI_BASE_URL={}", fake.base_url());
    }
    let _ = tokio::signal::ctrl_c().await;
}
