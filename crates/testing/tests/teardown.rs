//! How a `TestApp` ends: it drops its database (also when the test panics), and fails a test that leaves jobs
//! queued unless the test said it would.

use insights_testing::TestApp;
use sqlx::Connection;

/// Whether the test cluster still has the database `name`.
async fn exists(name: &str) -> bool {
    let admin = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut c)
        .await
        .unwrap()
}

fn database_of(app: &TestApp) -> String {
    app.state
        .db
        .pool()
        .connect_options()
        .get_database()
        .expect("a database name")
        .to_owned()
}

/// Runs `test` as a test of its own (on its own thread and runtime) with a new app that it owns: the name of
/// the app's database, and the panic message if the test failed.
fn run_test<F, Fut>(test: F) -> (String, Option<String>)
where
    F: FnOnce(TestApp) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let app = TestApp::spawn(&[]).await;
                tx.send(database_of(&app)).unwrap();
                test(app).await;
            });
    })
    .join();
    let panic = outcome.err().map(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    });
    (rx.recv().expect("the test started its app"), panic)
}

/// Signs up and asks for the sample data: a queued job that nothing runs.
async fn queue_a_job(app: &TestApp) {
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    app.load_sample_data(&owner.token, org).await;
}

#[tokio::test]
async fn an_app_drops_its_database_when_it_ends() {
    let app = TestApp::spawn(&[]).await;
    let name = database_of(&app);
    assert!(exists(&name).await);
    drop(app);
    assert!(!exists(&name).await, "{name} is left behind");
}

#[tokio::test]
async fn a_test_that_panics_still_drops_its_database_and_keeps_its_own_message() {
    let (name, panic) = run_test(|app| async move {
        queue_a_job(&app).await;
        panic!("the test's own failure");
    });
    assert_eq!(panic.as_deref(), Some("the test's own failure"));
    assert!(!exists(&name).await, "{name} is left behind");
}

#[tokio::test]
async fn a_test_that_leaves_a_queued_job_fails_naming_it() {
    let (name, panic) = run_test(|app| async move { queue_a_job(&app).await });
    let panic = panic.expect("the test fails");
    assert!(
        panic.contains("left 1 job(s) unfinished") && panic.contains("generate_sample_data"),
        "{panic}"
    );
    assert!(!exists(&name).await, "{name} is left behind");
}

#[tokio::test]
async fn a_test_may_say_that_it_leaves_jobs_queued() {
    let (_, panic) = run_test(|app| async move {
        queue_a_job(&app).await;
        app.allow_pending_jobs();
    });
    assert_eq!(panic, None);
}

#[tokio::test]
async fn a_job_run_by_the_worker_is_waited_for() {
    let app = TestApp::spawn(&[]).await.with_worker().await;
    let (owner, org) = app.signup("owner@example.com", "Acme").await;
    let job = app.load_sample_data(&owner.token, org).await;
    let done = app.wait_for_job(&owner.token, org, job.id).await;
    assert_eq!(done.state, insights_types::api::JobState::Succeeded);
}
