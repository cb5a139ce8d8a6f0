//! The incremental sync: changed incidents and their events from the log entries, with the filters.

use super::*;

#[tokio::test]
async fn changes_read_incidents_and_events_from_log_entries_and_honour_the_filters() {
    let old = t("2023-06-01T00:00:00Z");
    let since = t("2025-01-10T00:00:00Z");
    let incidents = [
        incident_json("PA", old, "PSVC1", "PTEAM1", "resolved"), // old, resolved now: wanted
        incident_json("PB", since, "PSVC1", "PTEAM1", "acknowledged"), // new: wanted
        incident_json("PC", since, "PSVC2", "PTEAM1", "resolved"), // other service
        incident_json("PD", since, "PSVC1", "PTEAM1", "triggered"), // other status
        incident_json("PE", since, "PSVC1", "PTEAM2", "resolved"), // other team
    ];
    let mut entries = Vec::new();
    for (n, i) in incidents.iter().enumerate() {
        let at = since + Duration::minutes(n as i64 * 10);
        entries.push(log_entry_json(&format!("R{n}1"), "acknowledge", at, i));
        entries.push(log_entry_json(
            &format!("R{n}2"),
            "resolve",
            at + Duration::minutes(1),
            i,
        ));
    }
    let server = MockServer::start().await;
    Fake::new(Listing::LogEntries, entries).mount(&server).await;
    let pd = connector(
        &server,
        PagerDutyOptions {
            since: None,
            service_ids: vec!["PSVC1".into()],
            team_ids: vec!["PTEAM1".into()],
            statuses: vec![IncidentStatus::Resolved, IncidentStatus::Acknowledged],
            note_author_email: None,
        },
    );
    let out = walk(&pd, pd.changes(since, since + Duration::hours(2))).await;

    let ids: Vec<&str> = out
        .incidents
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    assert_eq!(ids, ["PA", "PB"], "one version of each wanted incident");
    assert_eq!(
        out.incidents[0].triggered_at, old,
        "an old incident changed now is caught"
    );
    assert_eq!(out.incidents[0].status, IncidentStatus::Resolved);
    assert_eq!(
        out.events.len(),
        8,
        "every entry of the team's incidents is an event"
    );
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    assert_eq!(out.progress[0].phase, "changes");
    let requests = requests_to(&server, "/log_entries").await;
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(all(r, "include[]"), ["incidents"]);
    assert_eq!(param(r, "since").as_deref(), Some("2025-01-10T00:00:00Z"));
    assert_eq!(param(r, "until").as_deref(), Some("2025-01-10T02:00:00Z"));
    assert_eq!(param(r, "time_zone").as_deref(), Some("UTC"));
    assert!(
        all(r, "statuses[]").is_empty(),
        "log entries have no status filter"
    );

    let recent_only = connector(
        &server,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let out = walk(
        &recent_only,
        recent_only.changes(since, since + Duration::hours(2)),
    )
    .await;
    let ids: Vec<&str> = out
        .incidents
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["PB", "PC", "PD", "PE"],
        "incidents created before the import's start stay out"
    );
}

#[tokio::test]
async fn changes_keep_the_newest_version_of_an_incident_and_report_incidents_sent_only_as_references()
 {
    let at = t("2025-01-10T00:00:00Z");
    let older = incident_json("PA", at, "PSVC1", "PTEAM1", "acknowledged");
    let mut newer = incident_json("PA", at, "PSVC1", "PTEAM1", "resolved");
    newer["updated_at"] = json!("2025-01-10T05:00:00Z");
    let page = json!({"log_entries": [
        log_entry_json("R1", "acknowledge", at, &older),
        log_entry_json("R2", "resolve", at, &newer),
        log_entry_json("R3", "acknowledge", at, &older),
        {"id": "R4", "type": "notify_log_entry", "created_at": "2025-01-10T00:01:00Z", "summary": "Notified",
         "incident": reference("incident", "PREF")},
    ], "more": false});
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/log_entries"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let step = pd
        .step(&pd.changes(at, at + Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(step.incidents.len(), 1);
    assert_eq!(step.incidents[0].status, IncidentStatus::Resolved);
    assert_eq!(step.events.len(), 4);
    assert_eq!(step.skipped.len(), 1);
    assert!(
        step.skipped[0].starts_with("incident PREF came without its details"),
        "{}",
        step.skipped[0]
    );
}
