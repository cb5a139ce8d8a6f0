//! The dashboard over the sample history: it renders, a filter changes every widget, a bar drills into the
//! incident list, a rearranged layout is kept, each widget's CSV, 375 px, live refresh, and the analytics
//! settings.

use crate::harness::{Browser, E2e};
use insights_types::OrgId;
use insights_types::api::JobState;
use std::time::Duration;

/// An app with the sample history loaded in a new organization owned by `owner@example.com`.
async fn with_sample_history() -> (E2e, OrgId, String) {
    let e2e = E2e::start(&[]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let job = e2e.app.load_sample_data(&owner.token, org).await;
    let loaded = e2e.app.wait_for_job(&owner.token, org, job.id).await;
    assert_eq!(loaded.state, JobState::Succeeded, "{loaded:?}");
    (e2e, org, owner.token)
}

/// What every widget shows, by widget id: its text and the values of its chart marks.
async fn widget_contents(b: &Browser) -> serde_json::Map<String, serde_json::Value> {
    let v = b
        .execute(
            "return Object.fromEntries([...document.querySelectorAll('.widget')].map(w => [w.dataset.widget, \
               w.querySelector('.widget-body').innerText + '|' + \
               [...w.querySelectorAll('[data-value]')].map(m => m.dataset.value).join(',')]))",
        )
        .await;
    v.as_object().cloned().unwrap_or_default()
}

/// Waits until every widget of the default layout has drawn its data (no spinner left, charts have marks).
async fn wait_drawn(b: &Browser) {
    b.wait_for(|| async {
        b.execute(
            "const ws = [...document.querySelectorAll('.widget')]; \
             return ws.length > 0 && ws.every(w => !w.querySelector('.loading') && !w.querySelector('.banner.error')) \
               && document.querySelectorAll('.widget[data-kind=volume] rect.mark').length > 0 \
               && document.querySelectorAll('.tile').length === 6",
        )
        .await
            == true
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_renders_the_sample_history_and_a_filter_changes_every_widget() {
    let (e2e, org, _) = with_sample_history().await;
    e2e.run("dashboard-filters", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/dashboard?range=1y")).await;
        wait_drawn(&b).await;
        // The tiles show numbers, the charts have bars, lines and cells, the top table has rows.
        let count = b.text(".tile[data-tile=Incidents] .tile-value").await;
        assert!(count.parse::<u64>().is_ok_and(|n| n > 0), "{count}");
        assert!(b.count(".widget[data-kind=responsetimes] rect.mark").await > 0);
        assert!(b.count(".widget[data-kind=heatmap] rect.cell").await == 168);
        assert!(b.count(".widget[data-kind=top] tbody tr").await > 0);
        assert!(b.count(".widget[data-kind=offhours] rect.mark").await > 0);
        let before = widget_contents(&b).await;
        assert_eq!(before.len(), 7, "{before:?}");

        // A filter goes to the URL and changes every widget.
        b.select("#dash-urgency", "high").await;
        b.wait_for(|| async {
            b.execute("return location.search")
                .await
                .as_str()
                .is_some_and(|s| s.contains("urgency=high"))
        })
        .await;
        b.wait_for(|| async {
            let now = widget_contents(&b).await;
            let drawn = b
                .execute("return !document.querySelector('.widget .loading')")
                .await
                == true;
            drawn
                && now.len() == before.len()
                && now.iter().all(|(id, v)| before.get(id) != Some(v))
        })
        .await;
        // The view survives a reload.
        b.reload().await;
        wait_drawn(&b).await;
        assert_eq!(b.value("#dash-urgency").await, "high");
        assert_eq!(
            b.attr("button[data-range='1y']", "aria-pressed")
                .await
                .as_deref(),
            Some("true")
        );
    })
    .await;
}

#[tokio::test]
async fn a_click_on_a_bar_opens_the_incident_list_with_its_bucket_and_group() {
    let (e2e, org, _) = with_sample_history().await;
    e2e.run("dashboard-drill", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/dashboard?range=90d")).await;
        wait_drawn(&b).await;
        // The volume chart is stacked by service: a segment of a few incidents (fewer than the list's page of 50).
        let value = b
            .execute(
                "const marks = [...document.querySelectorAll('.widget[data-kind=volume] rect.mark.linked')] \
                   .filter(m => +m.dataset.value > 0 && +m.dataset.value < 50) \
                   .sort((a, c) => c.dataset.value - a.dataset.value); \
                 marks[0].id = 'chosen-bar'; return +marks[0].dataset.value",
            )
            .await
            .as_u64()
            .expect("a bar of at most 50 incidents");
        b.click("#chosen-bar").await;
        b.wait_for(|| async { b.path().await.ends_with("/incidents") }).await;
        let search = b.execute("return decodeURIComponent(location.search)").await;
        let search = search.as_str().unwrap_or_default().to_owned();
        for part in ["since=", "until=", "service="] {
            assert!(search.contains(part), "{part} missing from {search}");
        }
        // The exact range reads in words, and the list shows the bar's incidents: as many as it counted.
        b.wait_text("#incident-range", "UTC").await;
        b.wait_for(|| async {
            b.count("table.incidents tbody tr").await as u64 == value && b.count(".loading").await == 0
        })
        .await;
        assert_eq!(b.count("section.card > button.btn").await, 0, "no further page");
        let services = b
            .execute("return [...new Set([...document.querySelectorAll('table.incidents tbody tr td:nth-child(3)')].map(td => td.textContent))]")
            .await;
        assert_eq!(services.as_array().map(Vec::len), Some(1), "one service: {services}");
    })
    .await;
}

#[tokio::test]
async fn a_rearranged_layout_survives_a_reload_and_resets_to_the_default() {
    let (e2e, org, token) = with_sample_history().await;
    let app = &e2e.app;
    let order = "return [...document.querySelectorAll('.widget')].map(w => w.dataset.widget + ':' + w.dataset.w + 'x' + getComputedStyle(w).getPropertyValue('--h').trim())";
    e2e.run("dashboard-layout", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/dashboard?range=1y")).await;
        wait_drawn(&b).await;
        let default = b.execute(order).await;
        b.click("#arrange").await;
        // Move the heatmap up, make it full width and one row high, remove the noise panel.
        b.click("[data-widget=heatmap] .move-up").await;
        b.select("#heatmap-width", "4").await;
        b.select("#heatmap-height", "1").await;
        b.click("[data-widget=noise] .remove").await;
        b.wait_text(".arrange-bar", "Saved.").await;
        let arranged = b.execute(order).await;
        let ids: Vec<String> = serde_json::from_value(arranged.clone()).unwrap();
        assert_eq!(
            ids,
            [
                "summary:4x1",
                "volume:4x2",
                "heatmap:4x1",
                "response-times:2x2",
                "top-services:2x2",
                "off-hours:4x2"
            ],
        );
        let saved = app
            .get(&format!("/api/v1/orgs/{org}/dashboard/layout"), &token)
            .await;
        assert_eq!(saved.body["customized"], true, "{}", saved.text);
        b.reload().await;
        wait_drawn(&b).await;
        assert_eq!(b.execute(order).await, arranged, "the layout is kept");

        // Reset to default.
        b.click("#arrange").await;
        b.click("#reset-layout").await;
        b.wait_for(|| async { b.execute(order).await == default })
            .await;
        let reset = app
            .get(&format!("/api/v1/orgs/{org}/dashboard/layout"), &token)
            .await;
        assert_eq!(reset.body["customized"], false, "{}", reset.text);
    })
    .await;
}

#[tokio::test]
async fn each_widget_downloads_its_data_as_csv() {
    let (e2e, org, _) = with_sample_history().await;
    e2e.run("dashboard-csv", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/dashboard?range=1y")).await;
        wait_drawn(&b).await;
        b.execute(
            "window.__saved = []; const blobs = new Map(); const create = URL.createObjectURL; \
             URL.createObjectURL = (b) => { const u = create.call(URL, b); blobs.set(u, b); return u; }; \
             const click = HTMLAnchorElement.prototype.click; \
             HTMLAnchorElement.prototype.click = function () { \
               if (this.download) { const name = this.download, type = blobs.get(this.href).type; \
                 blobs.get(this.href).text().then(text => window.__saved.push({ name, type, text })); return; } \
               return click.call(this); }; \
             return true;",
        )
        .await;
        for (n, (widget, header)) in [
            ("volume", "bucket_start,bucket_end,metric,group,label,value"),
            ("summary", "figure,period,previous_period"),
            ("heatmap", "weekday,hour,count"),
            ("top-services", "key,label,count,mtta_seconds,mttr_seconds,off_hours,noise,sparkline"),
        ]
        .into_iter()
        .enumerate()
        {
            b.click(&format!("[data-widget={widget}] button.csv")).await;
            b.wait_for(|| async { b.execute("return window.__saved.length").await == n as u64 + 1 })
                .await;
            let saved = b.execute(&format!("return window.__saved[{n}]")).await;
            assert_eq!(saved["name"], format!("{widget}.csv"));
            assert_eq!(saved["type"], "text/csv");
            let text = saved["text"].as_str().unwrap_or_default();
            let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
            assert_eq!(rows[0], header, "{text}");
            assert!(rows.len() > 1, "{text}");
        }
        // The heatmap's file has the 168 hours of the week, and its counts add up to the incidents.
        let heat = b.execute("return window.__saved[2].text").await;
        let total: i64 = heat
            .as_str()
            .unwrap_or_default()
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| l.rsplit(',').next().unwrap().parse::<i64>().unwrap())
            .sum();
        let count: i64 = b.text(".tile[data-tile=Incidents] .tile-value").await.parse().unwrap();
        assert_eq!(total, count);
    })
    .await;
}

/// The README's screenshots of the dashboard (the whole page: a tall window), at desktop and phone widths.
#[tokio::test]
async fn the_dashboard_screenshots_at_desktop_and_phone_widths() {
    let (e2e, org, _) = with_sample_history().await;
    for (label, width, height) in [("desktop", 1440, 1900), ("mobile", 375, 3400)] {
        e2e.run_sized(
            &format!("dashboard-screens-{label}"),
            width,
            height,
            |b| async move {
                b.login("owner@example.com").await;
                b.goto(&format!("/orgs/{org}/dashboard?range=90d")).await;
                wait_drawn(&b).await;
                b.save_screenshot(&format!("dashboard-{label}")).await;
            },
        )
        .await;
    }
}

#[tokio::test]
async fn the_dashboard_and_the_incident_list_fit_a_375_px_screen() {
    let (e2e, org, _) = with_sample_history().await;
    e2e.run_sized("dashboard-375", 375, 812, |b| async move {
        b.login("owner@example.com").await;
        for path in [
            format!("/orgs/{org}/dashboard?range=1y"),
            format!("/orgs/{org}/incidents"),
            format!("/orgs/{org}/settings/analytics"),
        ] {
            b.goto(&path).await;
            if path.contains("dashboard") {
                wait_drawn(&b).await;
                // One column: every widget as wide as the grid.
                let widths = b
                    .execute("return [...document.querySelectorAll('.widget')].map(w => w.getBoundingClientRect().width)")
                    .await;
                let widths: Vec<f64> = serde_json::from_value(widths).unwrap();
                assert!(widths.windows(2).all(|w| (w[0] - w[1]).abs() < 1.0), "{widths:?}");
            } else if path.contains("incidents") {
                b.wait_text("table.incidents", "resolved").await;
            } else {
                b.wait_text("#analytics-settings", "Business hours").await;
            }
            let width = b.execute("return document.documentElement.scrollWidth").await;
            assert!(width.as_u64().is_some_and(|w| w <= 375), "{path} is {width} px wide");
        }
    })
    .await;
}

#[tokio::test]
async fn new_incidents_show_up_without_a_reload() {
    let e2e = E2e::start(&[]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let app = &e2e.app;
    e2e.run("dashboard-live", |b| async move {
        b.login("owner@example.com").await;
        b.goto(&format!("/orgs/{org}/dashboard")).await;
        // No incident yet: the way to get some.
        b.wait_text(".dash-empty", "No incidents yet").await;
        b.wait_text(".dash-empty a[href$='/integrations']", "Connect a tool")
            .await;
        b.wait_text("main", "Load sample history").await;
        // Incidents arrive (here the sample history, loaded elsewhere): the page notices on its own.
        let job = app.load_sample_data(&owner.token, org).await;
        app.wait_for_job(&owner.token, org, job.id).await;
        b.wait_text_within(
            ".tile[data-tile=Incidents]",
            "vs previous period",
            Duration::from_secs(60),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn an_admin_sets_the_analytics_definitions_and_a_viewer_reads_them() {
    let e2e = E2e::start(&[]).await;
    let p = e2e.app.personas().await;
    let org = p.org_id;
    let owner = p.owner.email.clone();
    let viewer = p.viewer.email.clone();
    let app = &e2e.app;
    let token = p.owner.token.clone();
    e2e.run("analytics-settings", |b| async move {
        b.login(&owner).await;
        b.goto(&format!("/orgs/{org}/settings/analytics")).await;
        b.wait_text("#analytics-settings", "Business hours").await;
        assert_eq!(b.value("#analytics-zone").await, "UTC");
        b.select("#analytics-zone", "Europe/Berlin").await;
        b.click("#hours-saturday-open").await;
        b.fill("#noise-minutes", "10").await;
        b.execute(
            "const i = document.querySelector('#holiday-new'); i.value = '2026-12-25'; \
             i.dispatchEvent(new Event('change', { bubbles: true })); return true;",
        )
        .await;
        b.click("#holiday-add").await;
        b.wait_text(".holidays", "2026-12-25").await;
        b.click("#analytics-settings button[type=submit]").await;
        b.wait_text("#analytics-settings .ok", "Saved.").await;
        // The change recomputes the analytics: its job's progress shows until it is done.
        b.wait_text(".job.recompute", "recomputed with these settings")
            .await;
        let s = app.get(&format!("/api/v1/orgs/{org}/analytics/settings"), &token).await;
        assert_eq!(s.body["time_zone"], "Europe/Berlin", "{}", s.text);
        assert_eq!(s.body["noise_auto_resolve_minutes"], 10);
        assert_eq!(s.body["holidays"], serde_json::json!(["2026-12-25"]));
        assert_eq!(s.body["business_hours"]["saturday"]["start"], "09:00");
        // A field the browser cannot check comes back from the server beside its field.
        b.execute(
            "const s = document.querySelector('#analytics-zone'); const o = new Option('Mars/Olympus', 'Mars/Olympus'); \
             s.add(o); s.value = 'Mars/Olympus'; s.dispatchEvent(new Event('change', { bubbles: true })); return true;",
        )
        .await;
        b.click("#analytics-settings button[type=submit]").await;
        b.wait_for(|| async {
            b.execute("return document.querySelector('#analytics-zone-error').textContent.length > 0").await == true
        })
        .await;
        // A threshold out of range is refused before anything is sent.
        b.fill("#noise-minutes", "0").await;
        b.click("#analytics-settings button[type=submit]").await;
        b.wait_text("#noise-minutes-error", "1 to 1440").await;
    })
    .await;
    e2e.run("analytics-settings-viewer", |b| async move {
        b.login(&viewer).await;
        b.goto(&format!("/orgs/{org}/settings/analytics")).await;
        b.wait_text("#analytics-settings", "Admins and owners can change these")
            .await;
        assert_eq!(b.value("#analytics-zone").await, "Europe/Berlin");
        assert_eq!(b.count("#analytics-settings button[type=submit]").await, 0);
    })
    .await;
}
