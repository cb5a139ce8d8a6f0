//! Runbooks in the browser: a runbook written in the editor is found in search, edited into a second version,
//! diffed and restored; Markdown files imported two at once; unsafe Markdown rendered inert; a viewer without
//! edit controls; a draft asked for from an incident (assembled without a model), its citations followed,
//! refined, saved and found in search; suggested runbooks on the incident and pattern pages; and the
//! README's screenshots (library, runbook, draft with citations).

use crate::harness::{Browser, E2e};
use insights_testing::Personas;
use insights_types::api::{IncidentOut, JobState, Page, RunbookOut};
use insights_types::{OrgId, RunbookId};
use std::time::Duration;

/// How long search may take to reflect a change (the worker indexes it from the outbox).
const INDEXED: Duration = Duration::from_secs(60);

/// How long search may take to reflect a runbook written right after the sample history was loaded (the
/// worker indexes its resolved incidents first).
const SAMPLE_INDEXED: Duration = Duration::from_secs(180);

/// How long a draft may take (the worker retrieves and assembles it).
const DRAFTED: Duration = Duration::from_secs(60);

/// An app with the sample history (incidents and sample runbooks) loaded into the personas' organization.
async fn with_sample_history() -> (E2e, Personas) {
    let e2e = E2e::start(&[]).await;
    let p = e2e.app.personas().await;
    let job = e2e.app.load_sample_data(&p.owner.token, p.org_id).await;
    let loaded = e2e.app.wait_for_job(&p.owner.token, p.org_id, job.id).await;
    assert_eq!(loaded.state, JobState::Succeeded, "{loaded:?}");
    (e2e, p)
}

/// Creates a runbook through the API.
async fn create(e2e: &E2e, p: &Personas, body: serde_json::Value) -> RunbookOut {
    let r = e2e
        .app
        .post(
            &format!("/api/v1/orgs/{}/runbooks", p.org_id),
            &p.owner.token,
            body,
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.text);
    r.json()
}

/// Searches the library in the page until a hit's source mentions `title`.
async fn find_in_search(b: &Browser, org: OrgId, q: &str, title: &str) {
    b.goto(&format!("/orgs/{org}/runbooks?q={}", q.replace(' ', "%20")))
        .await;
    let deadline = std::time::Instant::now() + INDEXED;
    loop {
        b.wait_for(|| async { b.count(".search-results").await > 0 })
            .await;
        if b.text(".search-results").await.contains(title) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{title:?} not found in search for {q:?} within {INDEXED:?}: {}",
            b.text(".search-results").await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.reload().await;
    }
}

/// Clicks an element after scrolling it to the middle of the window (a long form scrolls buttons under the
/// sticky top bar otherwise).
async fn click_centered(b: &Browser, css: &str) {
    b.wait_for(|| async { b.count(css).await > 0 }).await;
    b.execute(&format!(
        "document.querySelector(\"{css}\").scrollIntoView({{ block: 'center' }}); return null"
    ))
    .await;
    b.click(css).await;
}

/// The current path's last segment (the id of the page).
async fn last_segment(b: &Browser) -> String {
    b.path().await.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_runbook_written_in_the_editor_is_found_versioned_diffed_and_restored_and_a_viewer_cannot_edit()
 {
    let e2e = E2e::start(&[]).await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    let owner = p.owner.email.clone();
    let id = e2e
        .run("runbook-editor", |b| async move {
            b.login(&owner).await;
            b.goto(&format!("/orgs/{org}/runbooks")).await;
            b.click("#new-runbook").await;
            b.wait_text("main h1", "New runbook").await;
            b.fill("#runbook-title-input", "Zookeeper quorum lost")
                .await;
            b.fill(
                "#runbook-body",
                "When **zookeeper** loses quorum, brokers stall.\n\n- check the ensemble\n- restart the laggard",
            )
            .await;
            // Two steps, the second moved above the first, a third added then removed.
            for _ in 0..3 {
                click_centered(&b, "#add-step").await;
            }
            let titles = ".step-form .step-title-input";
            b.wait_for(|| async { b.count(titles).await == 3 }).await;
            b.fill(".step-form:nth-child(1) .step-title-input", "Restart the laggard")
                .await;
            b.fill(
                ".step-form:nth-child(1) .step-command-input",
                "kubectl rollout restart statefulset/zookeeper",
            )
            .await;
            b.select(".step-form:nth-child(1) .step-lang-input", "kubectl")
                .await;
            b.select(".step-form:nth-child(1) .step-risk-input", "changes_state")
                .await;
            b.fill(".step-form:nth-child(2) .step-title-input", "Check the ensemble")
                .await;
            b.fill(
                ".step-form:nth-child(2) .step-command-input",
                "echo mntr | nc zk-0 2181",
            )
            .await;
            b.fill(".step-form:nth-child(2) .step-expected-input", "zk_server_state leader or follower")
                .await;
            click_centered(&b, ".step-form:nth-child(3) .remove-step").await;
            b.wait_for(|| async { b.count(titles).await == 2 }).await;
            click_centered(&b, ".step-form:nth-child(2) .move-up").await;
            b.wait_for(|| async {
                b.value(".step-form:nth-child(1) .step-title-input").await == "Check the ensemble"
            })
            .await;
            b.fill("#runbook-tags", "zookeeper, Kafka").await;
            click_centered(&b, ".runbook-editor button[type=submit]").await;
            b.wait_text("#runbook-title", "Zookeeper quorum lost").await;
            // The page: Markdown rendered, steps in order with their risk and command, tags, source.
            b.wait_text(".markdown strong", "zookeeper").await;
            assert_eq!(b.count(".markdown ul li").await, 2);
            b.wait_text("#step-1 .step-title", "Check the ensemble").await;
            b.wait_text("#step-1 .pill.risk", "Read-only").await;
            b.wait_text("#step-1 .step-expected", "leader or follower").await;
            b.wait_text("#step-2 .pill.risk", "Changes state").await;
            b.wait_text("#step-2 .command[data-lang=kubectl] pre", "rollout restart")
                .await;
            assert_eq!(b.count(".step .command button.copy").await, 2);
            b.wait_text(".runbook-facts .tag-list", "kafka").await;
            b.wait_text(".runbook-source", "written").await;
            last_segment(&b).await
        })
        .await;
    let id: RunbookId = id.parse().unwrap();

    let owner = p.owner.email.clone();
    e2e.run("runbook-versions", |b| async move {
        b.login(&owner).await;
        // Found in search once the worker has indexed it.
        find_in_search(&b, org, "zookeeper quorum", "Zookeeper quorum lost").await;
        b.wait_text(".search-results mark", "").await;
        // Edit: a second version; the diff shows the change; restoring version 1 makes version 3.
        b.goto(&format!("/orgs/{org}/runbooks/{id}")).await;
        click_centered(&b, "#edit-runbook").await;
        b.fill(
            "#runbook-title-input",
            "ZooKeeper quorum lost (ensemble of 3)",
        )
        .await;
        click_centered(&b, ".runbook-editor button[type=submit]").await;
        b.wait_text("#runbook-title", "ensemble of 3").await;
        b.wait_for(|| async { b.count(".versions-table tbody tr").await == 2 })
            .await;
        b.select("#diff-from", "1").await;
        b.select("#diff-to", "2").await;
        click_centered(&b, "#show-diff").await;
        b.wait_text(".diff-line.added", "ensemble of 3").await;
        b.wait_text(".diff-line.removed", "Zookeeper quorum lost")
            .await;
        b.click(".versions-table tr[data-version='1'] .restore")
            .await;
        b.wait_text("#runbook-title", "Zookeeper quorum lost").await;
        b.wait_for(|| async { b.count(".versions-table tbody tr").await == 3 })
            .await;
        b.wait_text(".versions-table", "restored from version 1")
            .await;
        // An older version is readable, says so, and cannot be edited from there.
        b.goto(&format!("/orgs/{org}/runbooks/{id}?version=2"))
            .await;
        b.wait_text(".old-version", "version 2 of 3").await;
        assert_eq!(b.count("#edit-runbook").await, 0);
    })
    .await;

    // A viewer reads, but has no edit, delete, new or import controls; the editor's address says why.
    let viewer = p.viewer.email.clone();
    e2e.run("runbook-viewer", |b| async move {
        b.login(&viewer).await;
        b.goto(&format!("/orgs/{org}/runbooks/{id}")).await;
        b.wait_text("#runbook-title", "Zookeeper quorum lost").await;
        b.wait_text("#step-1 .step-title", "Check the ensemble")
            .await;
        assert_eq!(b.count("#edit-runbook").await, 0);
        assert_eq!(b.count("#delete-runbook").await, 0);
        assert_eq!(b.count(".versions-table .restore").await, 0);
        b.goto(&format!("/orgs/{org}/runbooks")).await;
        b.wait_text("main h1", "Runbooks").await;
        b.wait_text(".runbooks-table", "Zookeeper quorum lost")
            .await;
        assert_eq!(b.count("#new-runbook").await, 0);
        assert_eq!(b.count("#import-files").await, 0);
        assert_eq!(b.count("#generate-prompt").await, 0);
        assert_eq!(b.count(".generation-settings").await, 0);
        b.goto(&format!("/orgs/{org}/runbooks/{id}/edit")).await;
        b.wait_text("main", "Your role cannot edit runbooks").await;
    })
    .await;
    // And the server refuses it anyway.
    let forced = e2e
        .app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/orgs/{org}/runbooks/{id}"),
            Some(&p.viewer.token),
            Some(serde_json::json!({ "title": "Viewer edit" })),
        )
        .await;
    assert_eq!(forced.status, reqwest::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn saving_on_top_of_a_newer_version_shows_the_conflict_and_keeps_the_edits() {
    let e2e = E2e::start(&[]).await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    let r = create(
        &e2e,
        &p,
        serde_json::json!({ "title": "Certificate expiry", "body": "Renew it." }),
    )
    .await;
    let id = r.id;
    let app = &e2e.app;
    let member = p.member.token.clone();
    let owner = p.owner.email.clone();
    e2e.run("runbook-conflict", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/runbooks/{id}/edit")).await;
        b.wait_for(|| async { b.value("#runbook-title-input").await == "Certificate expiry" })
            .await;
        // Someone else saves version 2 while this editor still holds version 1.
        let other = app
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/orgs/{org}/runbooks/{id}"),
                Some(&member),
                Some(serde_json::json!({ "title": "Certificate expiry (theirs)", "base_version": 1 })),
            )
            .await;
        assert_eq!(other.status, reqwest::StatusCode::OK, "{}", other.text);
        b.fill("#runbook-title-input", "Certificate expiry (mine)")
            .await;
        click_centered(&b, ".runbook-editor button[type=submit]").await;
        b.wait_text(".conflict", "Someone saved a newer version").await;
        assert_eq!(
            b.value("#runbook-title-input").await,
            "Certificate expiry (mine)",
            "the edits are kept"
        );
        // Choosing to save on top of theirs, then saving, makes version 3 with these edits.
        click_centered(&b, "#save-anyway").await;
        b.wait_gone(".conflict").await;
        click_centered(&b, ".runbook-editor button[type=submit]").await;
        b.wait_text("#runbook-title", "Certificate expiry (mine)").await;
        b.wait_text(".runbook-version", "3").await;
    })
    .await;
}

#[tokio::test]
async fn two_markdown_files_are_imported_at_once() {
    let e2e = E2e::start(&[]).await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    let dir =
        std::env::temp_dir().join(format!("insights-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let first = dir.join("disk-full.md");
    let second = dir.join("dns-failures.md");
    std::fs::write(
        &first,
        "# Disk full on a database host\n\nFree space before the database stops.\n\n## Steps\n\n### Find what grew\n\n```shell\ndu -xh / | sort -h | tail\n```\n",
    )
    .unwrap();
    std::fs::write(
        &second,
        "# DNS resolution failures\n\n1. Check the resolver pods\n2. Flush the cache\n",
    )
    .unwrap();
    let owner = p.owner.email.clone();
    let files = vec![first, second];
    e2e.run("runbook-import", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/runbooks")).await;
        b.wait_text("main h1", "Runbooks").await;
        b.upload("#import-files", &files).await;
        b.wait_text(".import-done", "Imported 2 runbooks").await;
        b.wait_text(".runbooks-table", "Disk full on a database host")
            .await;
        b.wait_text(".runbooks-table", "DNS resolution failures")
            .await;
        assert_eq!(b.count(".runbooks-table tbody tr").await, 2);
        b.wait_text(".runbooks-table", "imported").await;
        // Filtered by source, both show; by another, none.
        b.select("#runbook-source", "written").await;
        b.wait_text(".empty", "No runbooks here").await;
        b.select("#runbook-source", "imported").await;
        b.wait_for(|| async { b.count(".runbooks-table tbody tr").await == 2 })
            .await;
        b.click(".runbooks-table a.runbook-title").await;
        b.wait_text("main", "Steps").await;
        assert!(b.count(".step").await >= 1, "the import found steps");
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn unsafe_markdown_renders_inert() {
    let e2e = E2e::start(&[]).await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    let r = create(
        &e2e,
        &p,
        serde_json::json!({
            "title": "Hostile <b>markup</b>",
            "body": "<script>window.__pwned = 1</script>\n\n<img src=x onerror=\"window.__pwned = 2\">\n\n\
                     [click me](javascript:window.__pwned=3) and [also](JaVaScRiPt:window.__pwned=4) \
                     and [data](data:text/html,<script>window.__pwned=5</script>)\n\n\
                     <a href=\"javascript:window.__pwned=6\">raw link</a>\n\n[the wiki](https://example.com/wiki)",
            "steps": [{
                "title": "<img src=x onerror=window.__pwned=7>",
                "why": "<script>window.__pwned = 8</script>",
                "command": { "language": "shell", "text": "echo '<script>window.__pwned=9</script>'" },
                "expected": "<iframe src=javascript:window.__pwned=10>"
            }]
        }),
    )
    .await;
    let owner = p.owner.email.clone();
    e2e.run("runbook-unsafe", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/runbooks/{}", r.id)).await;
        b.wait_text("#runbook-title", "Hostile <b>markup</b>").await;
        // The tags show as text, and none of them exists as an element.
        b.wait_text(".markdown", "<script>window.__pwned = 1</script>")
            .await;
        b.wait_text(".markdown", "<img src=x onerror=").await;
        b.wait_text("#step-1 .step-title", "<img src=x onerror=").await;
        b.wait_text("#step-1 .step-why", "<script>").await;
        b.wait_text("#step-1 .step-expected", "<iframe").await;
        let elements = b
            .execute(
                "return document.querySelectorAll('main script, main img, main iframe, main b, #runbook-title b').length",
            )
            .await;
        assert_eq!(elements, serde_json::json!(0));
        // No link goes anywhere but http(s), mailto or this site; the unsafe ones are text.
        let hrefs = b
            .execute("return [...document.querySelectorAll('main a')].map(a => a.getAttribute('href'))")
            .await;
        for h in hrefs.as_array().unwrap() {
            let h = h.as_str().unwrap_or_default().to_ascii_lowercase();
            assert!(
                h.starts_with('/') || h.starts_with("http") || h.starts_with('#'),
                "unsafe link {h}"
            );
        }
        b.wait_text(".markdown a[href='https://example.com/wiki']", "the wiki")
            .await;
        b.wait_text(".markdown", "[click me](javascript:").await;
        // Clicking everything in the body runs nothing.
        b.execute("document.querySelectorAll('.markdown a, .markdown span').forEach(e => { if (!e.href || !e.href.startsWith('http')) e.click() }); return null")
            .await;
        let pwned = b.execute("return window.__pwned === undefined").await;
        assert_eq!(pwned, serde_json::json!(true), "nothing ran");
    })
    .await;
}

/// A resolved incident of the sample history that search already has suggestions for (the worker indexes
/// the history's past fixes in the background, a few per second).
async fn incident_with_suggestions(e2e: &E2e, p: &Personas) -> IncidentOut {
    let list = e2e
        .app
        .get(
            &format!(
                "/api/v1/orgs/{}/incidents?status=resolved&source=sample&limit=50",
                p.org_id
            ),
            &p.owner.token,
        )
        .await;
    assert_eq!(list.status, reqwest::StatusCode::OK, "{}", list.text);
    let incidents = list.json::<Page<IncidentOut>>().items;
    let deadline = std::time::Instant::now() + SAMPLE_INDEXED;
    loop {
        for i in &incidents {
            let r = e2e
                .app
                .get(
                    &format!(
                        "/api/v1/orgs/{}/runbooks/search?incident_id={}&limit=5",
                        p.org_id, i.id
                    ),
                    &p.owner.token,
                )
                .await;
            if r.status == reqwest::StatusCode::OK
                && r.body["items"].as_array().is_some_and(|h| h.len() >= 2)
            {
                return i.clone();
            }
        }
        if std::time::Instant::now() >= deadline {
            let status = e2e
                .app
                .get(
                    &format!("/api/v1/orgs/{}/runbooks/index-status", p.org_id),
                    &p.owner.token,
                )
                .await;
            panic!(
                "no sample incident has suggestions yet; index status: {}",
                status.text
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// An organization with two runbooks written through the API, once search finds them.
async fn with_two_runbooks() -> (E2e, Personas) {
    with_runbooks_in(E2e::start(&[]).await).await
}

/// Writes two runbooks in the personas' organization of `e2e` and waits until search finds them.
async fn with_runbooks_in(e2e: E2e) -> (E2e, Personas) {
    let p = e2e.app.personas().await;
    create(
        &e2e,
        &p,
        serde_json::json!({
            "title": "Disk full on a database host",
            "body": "The primary stops accepting writes when its data volume is full.",
            "tags": ["postgres", "disk"],
            "steps": [
                {
                    "title": "Find what filled the disk",
                    "why": "WAL, logs or a runaway temp file: the fix depends on which.",
                    "command": { "language": "shell", "text": "du -xh /var/lib/postgresql | sort -h | tail -20" },
                    "risk": "read_only",
                    "expected": "The largest directories, pg_wal or log among them."
                },
                {
                    "title": "Drop the replication slot that holds WAL back",
                    "why": "An abandoned slot keeps every WAL segment since it stopped.",
                    "command": { "language": "sql", "text": "SELECT pg_drop_replication_slot('stale_slot');" },
                    "risk": "destructive"
                },
                {
                    "title": "Grow the volume",
                    "command": { "language": "aws", "text": "aws ec2 modify-volume --volume-id vol-123 --size 500" },
                    "risk": "changes_state"
                }
            ]
        }),
    )
    .await;
    create(
        &e2e,
        &p,
        serde_json::json!({
            "title": "Replication lag on the read replicas",
            "body": "Reads go stale when replicas fall behind the primary.",
            "tags": ["postgres", "replication"],
            "steps": [
                {
                    "title": "Measure the lag on each replica",
                    "command": { "language": "sql", "text": "SELECT now() - pg_last_xact_replay_timestamp();" },
                    "risk": "read_only"
                },
                {
                    "title": "Cancel the long query blocking replay",
                    "command": { "language": "sql", "text": "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE state = 'active' AND now() - query_start > interval '10 minutes';" },
                    "risk": "changes_state"
                }
            ]
        }),
    )
    .await;
    let deadline = std::time::Instant::now() + INDEXED;
    loop {
        let r = e2e
            .app
            .get(
                &format!(
                    "/api/v1/orgs/{}/runbooks/search?q=replication%20lag%20disk%20full&limit=10",
                    p.org_id
                ),
                &p.owner.token,
            )
            .await;
        let titles: std::collections::BTreeSet<String> = r.body["items"]
            .as_array()
            .map(|h| {
                h.iter()
                    .filter_map(|h| h["source"]["title"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if titles.iter().any(|t| t.contains("Disk full"))
            && titles.iter().any(|t| t.contains("Replication lag"))
        {
            return (e2e, p);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "search did not find the runbooks: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_draft_for_a_problem_cites_runbook_steps_is_refined_saved_and_found_in_search() {
    let (e2e, p) = with_two_runbooks().await;
    let org = p.org_id;
    let member = p.member.email.clone();
    let first = e2e
        .run("runbook-draft-prompt", |b| async move {
            b.login(&member).await;
            b.goto(&format!("/orgs/{org}/runbooks")).await;
            b.fill("#generate-prompt", "the database disk is almost full and replicas lag")
                .await;
            click_centered(&b, ".generate-card button[type=submit]").await;
            b.wait_for(|| async { b.path().await.contains("/runbooks/drafts/") })
                .await;
            let first = last_segment(&b).await;
            b.wait_text_within(".pill.mode", "Assembled", DRAFTED).await;
            assert_eq!(b.attr(".pill.mode", "data-mode").await.as_deref(), Some("assembled"));
            b.wait_text(".draft-subject", "the database disk is almost full").await;
            b.wait_for(|| async { b.count(".draft-steps .step").await > 0 })
                .await;
            // Steps that change state are flagged; every step cites a source listed below, linked to its
            // runbook version and step.
            b.wait_text(".draft-steps .warning.changes-state", "changes state").await;
            let cited = b
                .execute("return [...document.querySelectorAll('.draft-steps a.citation')].map(a => a.getAttribute('href'))")
                .await;
            let cited: Vec<String> = serde_json::from_value(cited).unwrap();
            assert!(!cited.is_empty(), "the draft cites its sources");
            for href in &cited {
                assert!(
                    href.starts_with(&format!("/orgs/{org}/runbooks/")) && href.contains("?version=1#step-"),
                    "{href}"
                );
            }
            b.wait_text(".sent .nothing-sent", "Nothing was sent").await;
            b.wait_text(".source-list", "Disk full on a database host").await;
            // A citation opens that version of the runbook at that step.
            click_centered(&b, &format!(".draft-steps a.citation[href='{}']", cited[0])).await;
            b.wait_for(|| async { b.count(".step.cited").await == 1 }).await;
            b.goto(&format!("/orgs/{org}/runbooks/drafts/{first}")).await;
            b.wait_text_within(".pill.mode", "Assembled", DRAFTED).await;
            // Refine: a new draft from this one.
            b.fill("#refine-instructions", "read-only steps first").await;
            click_centered(&b, ".refine button[type=submit]").await;
            b.wait_for(|| async { last_segment(&b).await != first }).await;
            b.wait_text_within(".pill.mode", "Assembled", DRAFTED).await;
            b.wait_text(".draft-subject", "refined").await;
            b.wait_text(".draft-subject a", "the previous draft").await;
            // Save it as a runbook under a title of one's own; it is found in search.
            b.fill("#save-title", "Database host out of space").await;
            click_centered(&b, ".save-draft button[type=submit]").await;
            b.wait_text("#runbook-title", "Database host out of space").await;
            b.wait_text(".runbook-source", "generated").await;
            b.wait_text(".runbook-source a", "the draft it came from").await;
            find_in_search(&b, org, "database host out of space", "Database host out of space").await;
            first
        })
        .await;
    // A draft is private: another member does not see it.
    let viewer = p.viewer.email.clone();
    e2e.run("runbook-draft-private", |b| async move {
        b.login(&viewer).await;
        b.goto(&format!("/orgs/{org}/runbooks/drafts/{first}"))
            .await;
        b.wait_text(".banner.error", "Draft not found").await;
    })
    .await;
}

#[tokio::test]
async fn a_draft_from_an_incident_is_asked_from_its_page_cites_past_fixes_and_is_saved() {
    let (e2e, p) = with_sample_history().await;
    let incident = incident_with_suggestions(&e2e, &p).await;
    let org = p.org_id;
    let member = p.member.email.clone();
    let detail = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/incidents/{}", incident.id),
            &p.owner.token,
        )
        .await;
    let pattern = detail
        .json::<insights_types::api::IncidentDetailOut>()
        .pattern
        .map(|x| x.id);
    let saved = e2e
        .run("runbook-draft", |b| async move {
            b.login(&member).await;
            // The incident page suggests runbooks from the index, without a model.
            b.goto(&format!("/orgs/{org}/incidents/{}", incident.id)).await;
            b.wait_text(".suggested-runbooks h2", "Suggested runbooks").await;
            b.wait_for(|| async { b.count(".suggested-runbooks .hit").await > 0 })
                .await;
            click_centered(&b, ".suggested-runbooks button.generate").await;
            // The draft page follows its progress, then shows the assembled draft.
            b.wait_for(|| async { b.path().await.contains("/runbooks/drafts/") })
                .await;
            let first = last_segment(&b).await;
            b.wait_text_within(".pill.mode", "Assembled", DRAFTED).await;
            assert_eq!(b.attr(".pill.mode", "data-mode").await.as_deref(), Some("assembled"));
            b.wait_text(".draft-subject", &incident.title).await;
            b.wait_for(|| async { b.count(".draft-steps .step").await > 0 })
                .await;
            b.wait_for(|| async { b.count(".draft-steps .citation").await > 0 })
                .await;
            b.wait_text(".sent .nothing-sent", "Nothing was sent").await;
            b.wait_for(|| async { b.count(".source-list li").await > 0 })
                .await;
            // Every citation names a source listed below, and links to it.
            let cited = b
                .execute("return [...document.querySelectorAll('.draft-steps a.citation')].map(a => a.getAttribute('href'))")
                .await;
            let cited: Vec<String> = serde_json::from_value(cited).unwrap();
            assert!(!cited.is_empty());
            for href in &cited {
                assert!(
                    href.starts_with(&format!("/orgs/{org}/runbooks/"))
                        || href.starts_with(&format!("/orgs/{org}/incidents/")),
                    "{href}"
                );
            }
            // A citation of a runbook step opens that version at that step.
            if let Some(href) = cited.iter().find(|h| h.contains("/runbooks/") && h.contains("#step-")) {
                b.click(&format!(".draft-steps a.citation[href='{href}']")).await;
                b.wait_for(|| async { b.count(".step.cited").await == 1 }).await;
                b.goto(&format!("/orgs/{org}/runbooks/drafts/{first}")).await;
                b.wait_text_within(".pill.mode", "Assembled", DRAFTED).await;
            }
            // Refine: a new draft from this one.
            b.fill("#refine-instructions", "shorter, read-only steps first").await;
            click_centered(&b, ".refine button[type=submit]").await;
            b.wait_for(|| async { last_segment(&b).await != first }).await;
            b.wait_text_within(".pill.mode", "Assembled", DRAFTED).await;
            b.wait_text(".draft-subject", "refined").await;
            b.wait_text(".draft-subject a", "the previous draft").await;
            // Save it as a runbook under a title of one's own.
            b.fill("#save-title", "Quorum recovery from the drafts").await;
            click_centered(&b, ".save-draft button[type=submit]").await;
            b.wait_text("#runbook-title", "Quorum recovery from the drafts")
                .await;
            b.wait_text(".runbook-source", "generated").await;
            b.wait_text(".runbook-source a", "the draft it came from").await;
            // And it is in the library.
            b.goto(&format!("/orgs/{org}/runbooks?source=generated")).await;
            b.wait_text(".runbooks-table", "Quorum recovery from the drafts").await;
            // The pattern page suggests runbooks too.
            if let Some(pattern) = pattern {
                b.goto(&format!("/orgs/{org}/patterns/{pattern}")).await;
                b.wait_text(".suggested-runbooks h2", "Suggested runbooks").await;
                b.wait_for(|| async { b.count(".suggested-runbooks .hit").await > 0 })
                    .await;
                assert_eq!(b.count(".suggested-runbooks button.generate").await, 1);
            }
            first
        })
        .await;

    assert!(!saved.is_empty());
}

#[tokio::test]
async fn the_runbook_pages_are_screenshotted_at_both_widths() {
    let (e2e, p) = with_sample_history().await;
    let incident = incident_with_suggestions(&e2e, &p).await;
    let org = p.org_id;
    // The README shows search over the whole history: wait until the index has caught up with it.
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    loop {
        let status = e2e
            .app
            .get(
                &format!("/api/v1/orgs/{org}/runbooks/index-status"),
                &p.owner.token,
            )
            .await;
        if status.body["pending"] == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the index did not catch up with the sample history: {}",
            status.text
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // A draft to show, asked for through the API.
    let asked = e2e
        .app
        .post(
            &format!("/api/v1/orgs/{org}/runbook-generations"),
            &p.owner.token,
            serde_json::json!({ "incident_id": incident.id }),
        )
        .await;
    assert_eq!(
        asked.status,
        reqwest::StatusCode::ACCEPTED,
        "{}",
        asked.text
    );
    let draft = asked.body["id"].as_str().unwrap().to_owned();
    let library = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/runbooks?limit=50"),
            &p.owner.token,
        )
        .await;
    let runbooks = library
        .json::<Page<insights_types::api::RunbookSummaryOut>>()
        .items;
    let shown = runbooks
        .iter()
        .max_by_key(|r| r.step_count)
        .expect("a runbook in the library")
        .id;
    for (label, width, height) in [("desktop", 1440, 1400), ("mobile", 375, 2400)] {
        let owner = p.owner.email.clone();
        let draft = draft.clone();
        e2e.run_sized(
            &format!("runbooks-screens-{label}"),
            width,
            height,
            |b| async move {
                b.login(&owner).await;
                let fits = || async {
                    let w = b
                        .execute("return document.documentElement.scrollWidth")
                        .await;
                    assert!(
                        w.as_u64().is_some_and(|w| w <= u64::from(width)),
                        "{w} px wide at {width}"
                    );
                };
                b.goto(&format!("/orgs/{org}/runbooks?q=replication%20lag"))
                    .await;
                b.wait_for(|| async { b.count(".runbooks-table tbody tr").await > 0 })
                    .await;
                b.wait_for(|| async { b.count(".search-results").await > 0 })
                    .await;
                fits().await;
                b.save_screenshot(&format!("runbooks-{label}")).await;
                b.goto(&format!("/orgs/{org}/runbooks/{shown}")).await;
                b.wait_for(|| async { b.count(".step").await > 0 }).await;
                fits().await;
                b.save_screenshot(&format!("runbook-{label}")).await;
                b.goto(&format!("/orgs/{org}/runbooks/drafts/{draft}"))
                    .await;
                b.wait_text_within(".pill.mode", "", DRAFTED).await;
                b.wait_for(|| async { b.count(".draft-steps .step").await > 0 })
                    .await;
                fits().await;
                b.save_screenshot(&format!("runbook-draft-{label}")).await;
            },
        )
        .await;
    }
}

#[tokio::test]
async fn a_draft_written_by_the_model_shows_its_citations_what_was_sent_and_refines() {
    let fake = insights_testing::fake_llm::FakeLlm::start().await;
    let e2e = E2e::start(&[
        ("OPENAI_BASE_URL", fake.base_url()),
        ("OPENAI_API_KEY", "sk-test-browser-key"),
        ("INSIGHTS_LLM_MODEL", "fake-model"),
    ])
    .await;
    let (e2e, p) = with_runbooks_in(e2e).await;
    let org = p.org_id;
    let owner = p.owner.email.clone();
    e2e.run("runbook-generated", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/runbooks")).await;
        b.fill("#generate-prompt", "replication lag on the read replicas")
            .await;
        click_centered(&b, ".generate-card button[type=submit]").await;
        b.wait_for(|| async { b.path().await.contains("/runbooks/drafts/") })
            .await;
        let first = last_segment(&b).await;
        b.wait_text_within(".pill.mode", "Generated by fake-model", DRAFTED)
            .await;
        assert_eq!(
            b.attr(".pill.mode", "data-mode").await.as_deref(),
            Some("generated")
        );
        // Cited steps link to their sources; the step the model could not ground is flagged.
        b.wait_for(|| async { b.count(".draft-steps a.citation").await > 0 })
            .await;
        b.wait_text(".draft-steps .not-grounded", "Not grounded")
            .await;
        // What was sent: the model, the token counts, and the messages (collapsed until opened).
        b.wait_text(".sent", "To fake-model").await;
        b.click(".sent-messages summary").await;
        b.wait_text(".sent-message[data-role=system] .sent-role", "System")
            .await;
        b.wait_text(".sent-messages", "replication lag on the read replicas")
            .await;
        let steps = b.count(".draft-steps .step").await;
        // "shorter": the refined draft drops a step.
        b.fill("#refine-instructions", "shorter").await;
        click_centered(&b, ".refine button[type=submit]").await;
        b.wait_for(|| async { last_segment(&b).await != first })
            .await;
        b.wait_text_within(".pill.mode", "Generated", DRAFTED).await;
        b.wait_for(|| async { b.count(".draft-steps .step").await > 0 })
            .await;
        assert!(b.count(".draft-steps .step").await < steps, "shorter");
        b.fill("#save-title", "Model-written fix for the incident")
            .await;
        click_centered(&b, ".save-draft button[type=submit]").await;
        b.wait_text("#runbook-title", "Model-written fix for the incident")
            .await;
        find_in_search(
            &b,
            org,
            "model-written fix",
            "Model-written fix for the incident",
        )
        .await;
    })
    .await;
    // What the model received went through the app's own client, with the configured key.
    let chats = fake.requests();
    assert!(chats.iter().any(|r| r.endpoint == "chat"));
    assert!(
        chats
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer sk-test-browser-key"))
    );
}

#[tokio::test]
async fn an_admin_sets_the_generation_policy_and_budget_and_a_spent_budget_is_said_plainly() {
    // A model is configured (never called: the request that would call it is refused), because the budget only
    // stops drafts that would call a model; one assembled without a model costs nothing.
    let e2e = E2e::start(&[
        ("INSIGHTS_LLM_MODEL", "test-model"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
    ])
    .await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    let admin = p.admin.email.clone();
    e2e.run("runbook-settings", |b| async move {
        b.login(&admin).await;
        b.goto(&format!("/orgs/{org}/runbooks")).await;
        b.wait_text(".generation-settings", "Model: test-model").await;
        b.wait_text(".generation-settings .tokens-used", "no limit").await;
        click_centered(&b, "input[name=generation-policy][value=off]").await;
        click_centered(&b, "#redact-contacts").await;
        b.fill("#token-budget", "not a number").await;
        click_centered(&b, ".generation-settings button[type=submit]").await;
        b.wait_text(".generation-settings .field-error", "whole number").await;
        b.fill("#token-budget", "0").await;
        click_centered(&b, ".generation-settings button[type=submit]").await;
        b.wait_text(".generation-settings .banner.success", "Saved").await;
        b.wait_text(".generation-settings .tokens-used", "0 of 0").await;
        // Kept: read again after a reload.
        b.reload().await;
        b.wait_text(".generation-settings .tokens-used", "0 of 0").await;
        let checked = b
            .execute("return [document.querySelector('input[name=generation-policy][value=off]').checked, document.querySelector('#redact-contacts').checked]")
            .await;
        assert_eq!(checked, serde_json::json!([true, true]));
        // Drafts written by the model again (with redaction): the budget is spent, so asking for a draft says so,
        // and nothing is queued.
        click_centered(&b, "input[name=generation-policy][value=redacted]").await;
        click_centered(&b, ".generation-settings button[type=submit]").await;
        b.wait_text(".generation-settings .banner.success", "Saved").await;
        b.reload().await;
        b.wait_text(".generation-settings .tokens-used", "0 of 0").await;
        b.wait_for(|| async {
            b.execute("return document.querySelector('input[name=generation-policy][value=redacted]').checked")
                .await
                == serde_json::json!(true)
        })
        .await;
        b.fill("#generate-prompt", "disk full on the primary").await;
        click_centered(&b, ".generate-card button[type=submit]").await;
        b.wait_text(".generate-card .banner.error", "monthly token budget")
            .await;
        assert!(b.path().await.ends_with("/runbooks"));
    })
    .await;
    let settings = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{org}/runbook-settings"),
            &p.owner.token,
        )
        .await;
    assert_eq!(settings.body["generation"], "redacted", "{}", settings.text);
    assert_eq!(settings.body["redact_contacts"], true);
    assert_eq!(settings.body["monthly_token_budget"], 0);
    // A member may ask for drafts but not manage generation: no settings panel.
    let member = p.member.email.clone();
    e2e.run("runbook-settings-member", |b| async move {
        b.login(&member).await;
        b.goto(&format!("/orgs/{org}/runbooks")).await;
        b.wait_text("main h1", "Runbooks").await;
        b.wait_for(|| async { b.count("#generate-prompt").await == 1 })
            .await;
        assert_eq!(b.count(".generation-settings").await, 0);
        assert_eq!(b.count("#all-drafts").await, 0);
    })
    .await;
}
