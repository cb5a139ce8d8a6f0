//! The incident list's filters (kept in the URL) and its export.

use crate::harness::E2e;

#[tokio::test]
async fn the_incident_filters_live_in_the_url_and_export_sends_them_with_the_token() {
    let e2e = E2e::start(&[]).await;
    let (owner, org) = e2e.app.signup("owner@example.com", "Acme SRE").await;
    let job = e2e.app.load_sample_data(&owner.token, org).await;
    let loaded = e2e.app.wait_for_job(&owner.token, org, job.id).await;
    assert_eq!(
        loaded.state,
        insights_types::api::JobState::Succeeded,
        "{loaded:?}"
    );
    let today = chrono::Utc::now().date_naive();
    let since = (today - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let until = (today - chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    e2e.run("filters-export", |b| {
        let (since, until) = (since.clone(), until.clone());
        async move {
            b.login("owner@example.com").await;
            // A filtered view is a link: the form shows it and the list follows it.
            b.goto(&format!(
                "/orgs/{org}/incidents?source=sample&urgency=high&status=resolved&since={since}&until={until}"
            ))
            .await;
            b.wait_text("table.incidents tbody", "resolved").await;
            assert_eq!(b.value("#incident-source").await, "sample");
            assert_eq!(b.value("#incident-urgency").await, "high");
            assert_eq!(b.value("#incident-since").await, since);
            assert_eq!(b.value("#incident-until").await, until);
            let dates = b
                .execute("return [...document.querySelectorAll('table.incidents tbody tr td:nth-child(5)')].map(td => td.textContent.slice(0, 10))")
                .await;
            let dates: Vec<String> = serde_json::from_value(dates).unwrap();
            assert!(!dates.is_empty());
            for d in &dates {
                assert!(d.as_str() >= since.as_str() && d.as_str() <= until.as_str(), "{d} outside {since}..{until}");
            }
            // A choice changes the URL (so back and reload keep it).
            b.select("#incident-urgency", "low").await;
            b.wait_for(|| async {
                b.execute("return location.search").await.as_str().is_some_and(|s| s.contains("urgency=low"))
            })
            .await;
            // An end before the start is refused beside the field.
            b.execute(&format!(
                "const i = document.querySelector('#incident-until'); i.value = '{}'; \
                 i.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;",
                (today - chrono::Duration::days(40)).format("%Y-%m-%d")
            ))
            .await;
            b.wait_text("#incident-until-error", "must not be before the start date").await;
            // Back to a valid range before exporting.
            b.execute(&format!(
                "const i = document.querySelector('#incident-until'); i.value = '{until}'; \
                 i.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;"
            ))
            .await;
            b.wait_for(|| async {
                b.execute("return document.querySelector('#incident-until-error').textContent").await == ""
            })
            .await;

            // Export: the current filters and the access token go with the request to the real endpoint, and its
            // answer is saved under the server's file name. (The page's fetch, its object URLs and the download
            // link are observed; the saved file is read back from its Blob.)
            b.execute(
                "window.__exports = []; window.__saved = []; const f = window.fetch; \
                 window.fetch = (r, ...rest) => { \
                   if (String(r.url).includes('/incidents/export')) { \
                     window.__exports.push({ url: r.url, auth: r.headers.get('authorization') }); } \
                   return f(r, ...rest); }; \
                 const blobs = new Map(); const create = URL.createObjectURL; \
                 URL.createObjectURL = (b) => { const u = create.call(URL, b); blobs.set(u, b); return u; }; \
                 const click = HTMLAnchorElement.prototype.click; \
                 HTMLAnchorElement.prototype.click = function () { \
                   if (this.download) { const name = this.download, href = this.href; \
                     blobs.get(href).text().then(text => window.__saved.push({ name, href, text })); return; } \
                   return click.call(this); }; \
                 return true;",
            )
            .await;
            b.click("#export-csv").await;
            b.wait_for(|| async { b.execute("return window.__saved.length").await == 1 }).await;
            let sent = b.execute("return window.__exports[0]").await;
            let url = sent["url"].as_str().unwrap_or_default().to_owned();
            for part in ["format=csv", "source=sample", "urgency=low", "status=resolved", "since=", "until="] {
                assert!(url.contains(part), "{part} missing from {url}");
            }
            assert!(sent["auth"].as_str().is_some_and(|a| a.starts_with("Bearer ")), "{sent}");
            let saved = b.execute("return window.__saved[0]").await;
            assert!(
                saved["name"].as_str().is_some_and(|n| n.starts_with("incidents-") && n.ends_with(".csv")),
                "{saved}"
            );
            assert!(saved["href"].as_str().is_some_and(|h| h.starts_with("blob:")), "{saved}");
            let csv = saved["text"].as_str().unwrap_or_default().to_owned();
            let rows: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
            assert!(rows[0].starts_with("id,source,external_id"), "{csv}");
            assert!(rows.len() > 1, "the filtered incidents are in the file: {csv}");
            assert!(
                rows[1..].iter().all(|r| r.contains(",sample,") && r.contains(",low,")),
                "only what the filters select: {csv}"
            );
            b.click("#export-jsonl").await;
            b.wait_for(|| async { b.execute("return window.__saved.length").await == 2 }).await;
            let sent = b.execute("return window.__exports[1].url").await;
            assert!(sent.as_str().is_some_and(|u| u.contains("format=jsonl")), "{sent}");
            let jsonl = b.execute("return window.__saved[1].text").await;
            let lines: Vec<serde_json::Value> = jsonl
                .as_str()
                .unwrap_or_default()
                .lines()
                .map(|l| serde_json::from_str(l).expect("each line is JSON"))
                .collect();
            assert_eq!(lines.len(), rows.len() - 1, "the same incidents in both formats");

            // The service filter lists the services by name; choosing one shows only its incidents.
            b.goto(&format!("/orgs/{org}/incidents")).await;
            b.wait_for(|| async {
                b.execute("return [...document.querySelectorAll('#incident-service option')].some(o => o.textContent === 'search')")
                    .await
                    == true
            })
            .await;
            let search = b
                .execute("return [...document.querySelectorAll('#incident-service option')].find(o => o.textContent === 'search').value")
                .await;
            b.select("#incident-service", search.as_str().unwrap_or_default()).await;
            b.wait_for(|| async {
                b.execute("return location.search").await.as_str().is_some_and(|s| s.contains("service="))
            })
            .await;
            b.wait_for(|| async {
                let services = b
                    .execute("return [...document.querySelectorAll('table.incidents tbody tr td:nth-child(3)')].map(td => td.textContent)")
                    .await;
                let services: Vec<String> = serde_json::from_value(services).unwrap_or_default();
                !services.is_empty() && services.iter().all(|s| s == "search")
            })
            .await;
        }
    })
    .await;
}
