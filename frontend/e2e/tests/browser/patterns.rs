//! Recurring patterns over the sample history (assigned as the incidents are stored): the list and its sorting,
//! rename, merge, move (to a new pattern and to another one), a viewer without correction controls, the
//! dashboard's pattern dimension, 375 px, and the README's screenshots.

use crate::harness::{Browser, E2e};
use insights_testing::Personas;
use insights_types::api::{IncidentOut, JobState, Page, PatternOut, PatternPageOut};
use insights_types::{OrgId, PatternId};

/// An app with the sample history loaded into the personas' organization.
async fn with_sample_history() -> (E2e, Personas) {
    let e2e = E2e::start(&[]).await;
    let p = e2e.app.personas().await;
    let job = e2e.app.load_sample_data(&p.owner.token, p.org_id).await;
    let loaded = e2e.app.wait_for_job(&p.owner.token, p.org_id, job.id).await;
    assert_eq!(loaded.state, JobState::Succeeded, "{loaded:?}");
    (e2e, p)
}

/// The API's pattern list (all time, unmuted) with `params`.
async fn patterns(e2e: &E2e, p: &Personas, params: &str) -> Vec<PatternOut> {
    let r = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{}/patterns?limit=100&{params}", p.org_id),
            &p.owner.token,
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
    r.json::<PatternPageOut>().items
}

/// The API's incidents of a pattern, newest first.
async fn incidents_of(e2e: &E2e, p: &Personas, id: PatternId) -> Vec<IncidentOut> {
    let r = e2e
        .app
        .get(
            &format!("/api/v1/orgs/{}/incidents?pattern={id}&limit=100", p.org_id),
            &p.owner.token,
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.text);
    r.json::<Page<IncidentOut>>().items
}

/// The ids of the list's rows, in order, once it has drawn them.
async fn row_ids(b: &Browser) -> Vec<String> {
    b.wait_for(|| async {
        b.count(".patterns-table tbody tr").await > 0 && b.count(".loading").await == 0
    })
    .await;
    let ids = b
        .execute("return [...document.querySelectorAll('.patterns-table tbody tr')].map(r => r.dataset.id)")
        .await;
    serde_json::from_value(ids).unwrap()
}

/// Waits until the URL's query contains `needle`.
async fn wait_search(b: &Browser, needle: &str) {
    b.wait_for(|| async {
        b.execute("return decodeURIComponent(location.search)")
            .await
            .as_str()
            .is_some_and(|s| s.contains(needle))
    })
    .await;
}

/// Opens a pattern's page and waits for its name.
async fn open_pattern(b: &Browser, org: OrgId, id: PatternId) {
    b.goto(&format!("/orgs/{org}/patterns/{id}?range=all"))
        .await;
    b.wait_for(|| async { b.count("#pattern-name").await == 1 })
        .await;
}

#[tokio::test]
async fn the_patterns_page_lists_the_sample_history_sorts_and_drills_into_the_incidents() {
    let (e2e, p) = with_sample_history().await;
    let by_count = patterns(&e2e, &p, "").await;
    let by_cost = patterns(&e2e, &p, "sort=cost").await;
    assert!(
        by_count.len() > 3,
        "the sample history forms several patterns: {by_count:?}"
    );
    let org = p.org_id;
    let owner = p.owner.email.clone();
    e2e.run("patterns-list", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/patterns?range=all")).await;
        let ids = row_ids(&b).await;
        let want: Vec<String> = by_count.iter().take(50).map(|p| p.id.to_string()).collect();
        assert_eq!(ids, want, "by count, as the API has them");
        // The first row: its name, its template's slots highlighted, its count and sparkline.
        let first = &by_count[0];
        let row = format!(".patterns-table tr[data-id='{}']", first.id);
        // Not renamed: its name is its template, shown once with the slots highlighted.
        assert!(!first.renamed);
        let shown = b
            .execute(&format!(
                "const a = document.querySelector(\"{row} .pattern-name\").cloneNode(true); \
                 a.querySelectorAll('.sr-only').forEach(e => e.remove()); return a.textContent"
            ))
            .await;
        assert_eq!(shown.as_str(), Some(first.name.as_str()));
        assert_eq!(
            b.text(&format!("{row} .count-link")).await,
            first.count.to_string()
        );
        let slots = first
            .parts
            .iter()
            .filter(|x| matches!(x, insights_types::api::TemplatePartOut::Slot { .. }))
            .count();
        assert_eq!(
            b.count(&format!("{row} .pattern-cell mark.slot")).await,
            slots
        );
        assert_eq!(b.count(&format!("{row} svg.sparkline")).await, 1);

        // Sorting by cost goes to the URL and follows the API's order; a second click reverses it.
        b.click("button.sort[data-sort=cost]").await;
        wait_search(&b, "sort=cost").await;
        let want: Vec<String> = by_cost.iter().take(50).map(|p| p.id.to_string()).collect();
        b.wait_for(|| async { row_ids(&b).await == want }).await;
        b.click("button.sort[data-sort=cost]").await;
        wait_search(&b, "order=asc").await;
        b.wait_for(|| async { row_ids(&b).await.first() != want.first() })
            .await;
        b.reload().await;
        assert_eq!(
            b.attr("th[aria-sort] button.sort", "data-sort")
                .await
                .as_deref(),
            Some("cost"),
            "the sort survives a reload"
        );

        // The quick views: "Costliest" sorts by cost, "New this week" looks at the last 7 days.
        b.click("button.quick[data-view=costliest]").await;
        wait_search(&b, "view=costliest").await;
        assert!(
            b.execute("return location.search")
                .await
                .as_str()
                .unwrap()
                .contains("sort=cost")
        );
        b.click("button.quick[data-view=new]").await;
        wait_search(&b, "range=7d").await;
        b.wait_for(|| async { b.count(".loading").await == 0 })
            .await;

        // A count opens the incident list of that pattern in the period: as many incidents as it counted.
        b.goto(&format!("/orgs/{org}/patterns?range=all")).await;
        row_ids(&b).await;
        let small = by_count
            .iter()
            .find(|x| x.count > 0 && x.count < 50)
            .expect("a pattern of fewer than 50 incidents");
        b.click(&format!(
            ".patterns-table tr[data-id='{}'] .count-link",
            small.id
        ))
        .await;
        b.wait_for(|| async { b.path().await.ends_with("/incidents") })
            .await;
        wait_search(&b, &format!("pattern={}", small.id)).await;
        b.wait_text(".pattern-chip", &small.name).await;
        b.wait_for(|| async {
            b.count("table.incidents tbody tr").await as i64 == small.count
                && b.count(".loading").await == 0
        })
        .await;
        // The chip removes the filter.
        b.click(".pattern-chip button").await;
        b.wait_gone(".pattern-chip").await;
        assert!(
            !b.execute("return location.search")
                .await
                .as_str()
                .unwrap()
                .contains("pattern=")
        );
    })
    .await;
}

#[tokio::test]
async fn a_renamed_pattern_shows_its_name_on_the_list_after_a_reload_resets_to_its_template_and_mutes()
 {
    let (e2e, p) = with_sample_history().await;
    let subject = patterns(&e2e, &p, "").await.remove(0);
    let org = p.org_id;
    let member = p.member.email.clone();
    e2e.run("patterns-rename", |b| async move {
        b.login(&member).await;
        open_pattern(&b, org, subject.id).await;
        assert_eq!(b.text("#pattern-name").await, subject.name);
        b.click("#rename").await;
        // An empty name is refused beside the field, before anything is sent.
        b.fill("#pattern-rename", "   ").await;
        b.click("form.rename button[type=submit]").await;
        b.wait_text("#pattern-rename-error", "must not be empty")
            .await;
        b.fill("#pattern-rename", "Checkout is slow").await;
        b.click("form.rename button[type=submit]").await;
        b.wait_text("#pattern-name", "Checkout is slow").await;
        b.reload().await;
        b.wait_text("#pattern-name", "Checkout is slow").await;
        b.goto(&format!("/orgs/{org}/patterns?range=all")).await;
        row_ids(&b).await;
        b.wait_text(
            &format!("tr[data-id='{}'] .pattern-name", subject.id),
            "Checkout is slow",
        )
        .await;
        // Back to the template's name.
        open_pattern(&b, org, subject.id).await;
        b.click("#reset-name").await;
        b.wait_for(|| async { b.text("#pattern-name").await == subject.template })
            .await;
        assert_eq!(b.count("#reset-name").await, 0);

        // Muted, it leaves the list unless muted patterns are shown.
        b.click("#mute").await;
        b.wait_text("#mute", "Unmute").await;
        b.goto(&format!("/orgs/{org}/patterns?range=all")).await;
        let ids = row_ids(&b).await;
        assert!(!ids.contains(&subject.id.to_string()), "{ids:?}");
        b.click("#show-muted").await;
        wait_search(&b, "muted=all").await;
        b.wait_text(&format!("tr[data-id='{}'] .pill", subject.id), "muted")
            .await;
    })
    .await;
}

#[tokio::test]
async fn a_merged_pattern_disappears_its_incidents_count_for_the_target_and_its_address_shows_the_target()
 {
    let (e2e, p) = with_sample_history().await;
    let list = patterns(&e2e, &p, "").await;
    let (into, from) = (list[0].clone(), list[1].clone());
    let org = p.org_id;
    let owner = p.owner.email.clone();
    e2e.run("patterns-merge", |b| async move {
        b.login(&owner).await;
        open_pattern(&b, org, from.id).await;
        b.click("#merge").await;
        // The dialog has the focus in its search; Escape closes it and gives the focus back.
        b.wait_for(|| async {
            b.execute("return document.activeElement.id").await == "pattern-search"
        })
        .await;
        b.press("\u{E00C}").await;
        b.wait_gone(".dialog.picker").await;
        assert_eq!(b.execute("return document.activeElement.id").await, "merge");
        // Open again: it finds the target by its name, and asks before merging.
        b.click("#merge").await;
        b.wait_for(|| async {
            b.execute("return document.activeElement.id").await == "pattern-search"
        })
        .await;
        b.fill("#pattern-search", &into.name).await;
        b.click(&format!(".picker-list .pick[data-id='{}']", into.id))
            .await;
        b.wait_text(".dialog .confirm", &into.name).await;
        b.click(".confirm-pick").await;
        b.wait_for(|| async { b.path().await.ends_with(&format!("/patterns/{}", into.id)) })
            .await;
        b.wait_text("#pattern-name", &into.name).await;
        let total = (into.total_count + from.total_count).to_string();
        b.wait_text("[data-tile=total] .tile-value", &total).await;
        // The merged pattern is gone from the list.
        b.goto(&format!("/orgs/{org}/patterns?range=all")).await;
        let ids = row_ids(&b).await;
        assert!(!ids.contains(&from.id.to_string()), "{ids:?}");
        assert!(ids.contains(&into.id.to_string()));
        // Its old address shows the target.
        b.goto(&format!("/orgs/{org}/patterns/{}?range=all", from.id))
            .await;
        b.wait_for(|| async { b.path().await.ends_with(&format!("/patterns/{}", into.id)) })
            .await;
        b.wait_text("#pattern-name", &into.name).await;
    })
    .await;
}

#[tokio::test]
async fn a_moved_incident_shows_in_its_new_pattern_and_says_it_was_moved_by_a_person() {
    let (e2e, p) = with_sample_history().await;
    let list = patterns(&e2e, &p, "").await;
    let (source, target) = (list[0].clone(), list[1].clone());
    let incidents = incidents_of(&e2e, &p, source.id).await;
    let (first, second) = (incidents[0].clone(), incidents[1].clone());
    let org = p.org_id;
    let member = p.member.email.clone();
    e2e.run("patterns-move", |b| async move {
        b.login(&member).await;
        // From the incident page, to a new pattern.
        b.goto(&format!("/orgs/{org}/incidents/{}", first.id)).await;
        b.wait_text("#incident-pattern-name", &source.name).await;
        b.wait_text(".why-how .assigned", "assigned by").await;
        b.click("#move-incident-new").await;
        b.wait_text(".why-how .assigned", "moved by a person").await;
        let href = b
            .attr("#incident-pattern-name", "href")
            .await
            .unwrap_or_default();
        assert!(
            !href.ends_with(&source.id.to_string()),
            "a new pattern: {href}"
        );
        b.click("#incident-pattern-name").await;
        b.wait_for(|| async {
            b.count(&format!(".pattern-incidents tr[data-id='{}']", first.id))
                .await
                == 1
        })
        .await;

        // From the pattern page, with "Move…", to another pattern picked by name.
        open_pattern(&b, org, source.id).await;
        b.click(&format!(
            ".pattern-incidents tr[data-id='{}'] button.move",
            second.id
        ))
        .await;
        b.fill("#pattern-search", &target.name).await;
        b.click(&format!(".picker-list .pick[data-id='{}']", target.id))
            .await;
        b.click(".confirm-pick").await;
        b.wait_gone(&format!(".pattern-incidents tr[data-id='{}']", second.id))
            .await;
        b.goto(&format!("/orgs/{org}/incidents/{}", second.id))
            .await;
        b.wait_text("#incident-pattern-name", &target.name).await;
        b.wait_text(".why-how .assigned", "moved by a person").await;
    })
    .await;
}

#[tokio::test]
async fn a_viewer_reads_patterns_without_correction_controls() {
    let (e2e, p) = with_sample_history().await;
    let subject = patterns(&e2e, &p, "").await.remove(0);
    let incident = incidents_of(&e2e, &p, subject.id).await.remove(0);
    let org = p.org_id;
    let viewer = p.viewer.email.clone();
    e2e.run("patterns-viewer", |b| async move {
        b.login(&viewer).await;
        open_pattern(&b, org, subject.id).await;
        b.wait_for(|| async { b.count(".pattern-incidents tbody tr").await > 0 })
            .await;
        for control in [
            "#rename",
            "#mute",
            "#merge",
            ".pattern-incidents button.move",
        ] {
            assert_eq!(b.count(control).await, 0, "{control}");
        }
        // The trend's bars add up to the period's count.
        let count = b.text("[data-tile=count] .tile-value").await;
        assert_eq!(count, subject.count.to_string());
        b.wait_for(|| async { b.count(".card rect.mark").await > 0 }).await;
        let bars = b
            .execute("return [...document.querySelectorAll('.card rect.mark')].reduce((s, m) => s + +m.dataset.value, 0)")
            .await;
        assert_eq!(bars.as_i64(), Some(subject.count));
        b.goto(&format!("/orgs/{org}/incidents/{}", incident.id))
            .await;
        b.wait_text("#incident-pattern-name", &subject.name).await;
        assert_eq!(
            b.count("#move-incident").await + b.count("#move-incident-new").await,
            0
        );
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_splits_the_volume_by_pattern_and_lists_the_top_patterns() {
    let (e2e, p) = with_sample_history().await;
    let top = patterns(&e2e, &p, "").await.remove(0);
    let org = p.org_id;
    let owner = p.owner.email.clone();
    e2e.run("patterns-dashboard", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/dashboard?range=all")).await;
        b.wait_for(|| async { b.count(".widget[data-kind=volume] rect.mark").await > 0 })
            .await;
        b.select("#volume-group-by", "pattern").await;
        b.wait_text(".widget[data-kind=volume] .legend", &top.name)
            .await;
        b.select("#top-services-dimension", "pattern").await;
        b.wait_text(".widget[data-kind=top] h2", "Top patterns")
            .await;
        b.wait_text(".widget[data-kind=top] tbody", &top.name).await;
        // A row opens the incident list of that pattern.
        b.click(&format!(
            ".widget[data-kind=top] tr[data-key='{}'] th a",
            top.id
        ))
        .await;
        b.wait_for(|| async { b.path().await.ends_with("/incidents") })
            .await;
        b.wait_text(".pattern-chip", &top.name).await;
        // And the dashboard takes the pattern as a filter, with its chip.
        b.goto(&format!(
            "/orgs/{org}/dashboard?range=all&pattern={}",
            top.id
        ))
        .await;
        b.wait_text(".pattern-chip", &top.name).await;
        b.wait_text(
            ".tile[data-tile=Incidents] .tile-value",
            &top.count.to_string(),
        )
        .await;
        assert_eq!(
            b.text(".tile[data-tile=Incidents] .tile-value").await,
            top.count.to_string(),
            "every figure is the pattern's"
        );
    })
    .await;
}

/// What the screenshots show: a pattern that usually happens together with another (the sample history has
/// such cascades) and one of its incidents with a related incident, or else the most frequent pattern and its
/// latest incident.
async fn showcase(e2e: &E2e, p: &Personas) -> (PatternOut, IncidentOut) {
    let list = patterns(e2e, p, "").await;
    let get = |path: String| {
        let token = p.owner.token.clone();
        async move { e2e.app.get(&path, &token).await.body }
    };
    for candidate in list.iter().take(10) {
        let d = get(format!(
            "/api/v1/orgs/{}/patterns/{}",
            p.org_id, candidate.id
        ))
        .await;
        if d["related"].as_array().is_none_or(Vec::is_empty) {
            continue;
        }
        for i in incidents_of(e2e, p, candidate.id)
            .await
            .into_iter()
            .take(30)
        {
            let detail = get(format!("/api/v1/orgs/{}/incidents/{}", p.org_id, i.id)).await;
            if detail["pattern"]["related"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
            {
                return (candidate.clone(), i);
            }
        }
    }
    let first = list[0].clone();
    let incident = incidents_of(e2e, p, first.id).await.remove(0);
    (first, incident)
}

/// The README's screenshots (the list, a pattern, the incident page's pattern block) at desktop and phone
/// widths; at 375 px nothing is wider than the screen.
#[tokio::test]
async fn the_pattern_pages_fit_375_px_and_are_screenshotted_at_both_widths() {
    let (e2e, p) = with_sample_history().await;
    let (subject, incident) = showcase(&e2e, &p).await;
    let org = p.org_id;
    for (label, width, height) in [("desktop", 1440, 1400), ("mobile", 375, 2400)] {
        let owner = p.owner.email.clone();
        let name = subject.name.clone();
        e2e.run_sized(
            &format!("patterns-screens-{label}"),
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
                b.goto(&format!("/orgs/{org}/patterns?range=90d")).await;
                row_ids(&b).await;
                fits().await;
                b.save_screenshot(&format!("patterns-{label}")).await;
                b.goto(&format!("/orgs/{org}/patterns/{}?range=90d", subject.id))
                    .await;
                b.wait_for(|| async { b.count(".card svg.chart-svg").await > 0 })
                    .await;
                fits().await;
                b.save_screenshot(&format!("pattern-{label}")).await;
                b.goto(&format!("/orgs/{org}/incidents/{}", incident.id))
                    .await;
                b.wait_text("#incident-pattern-name", &name).await;
                fits().await;
                b.execute(
                    "document.querySelector('.incident-pattern').scrollIntoView(); return true",
                )
                .await;
                b.save_screenshot(&format!("incident-pattern-{label}"))
                    .await;
            },
        )
        .await;
    }
}

#[tokio::test]
async fn the_patterns_page_says_why_it_is_empty() {
    let e2e = E2e::start(&[]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let app = &e2e.app;
    e2e.run("patterns-empty", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/patterns")).await;
        b.wait_text(".patterns-card .empty", "No incidents yet")
            .await;
        b.wait_text(
            ".patterns-card a[href$='/integrations']",
            "Go to Integrations",
        )
        .await;
        // With a history, a view that selects nothing says so instead.
        let job = app.load_sample_data(&owner.token, org).await;
        app.wait_for_job(&owner.token, org, job.id).await;
        b.goto(&format!(
            "/orgs/{org}/patterns?range=all&q=no-such-title-anywhere"
        ))
        .await;
        b.wait_text(".patterns-card .empty", "No patterns in this view")
            .await;
        b.goto(&format!("/orgs/{org}/patterns?range=all")).await;
        row_ids(&b).await;
    })
    .await;
}
