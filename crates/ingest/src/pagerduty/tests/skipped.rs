//! Items (incidents, log entries) that cannot be read are skipped with a sentence; the rest of the page is kept.

use super::*;

#[tokio::test]
async fn items_that_cannot_be_read_are_skipped_with_a_sentence_and_the_rest_of_the_page_is_kept() {
    let server = MockServer::start().await;
    let at = t("2024-02-01T00:00:00Z");
    let mut bad_status = incident_json("PBAD1", at, "PSVC1", "PTEAM1", "resolved");
    bad_status["status"] = json!("exploded");
    let mut no_time = incident_json("PBAD2", at, "PSVC1", "PTEAM1", "resolved");
    no_time.as_object_mut().unwrap().remove("created_at");
    let mut no_id = incident_json("x", at, "PSVC1", "PTEAM1", "resolved");
    no_id.as_object_mut().unwrap().remove("id");
    let mut wrong_type = incident_json("PBAD3", at, "PSVC1", "PTEAM1", "resolved");
    wrong_type["acknowledgements"] = json!("yesterday");
    let page = json!({"incidents": [
        incident_json("PGOOD1", at, "PSVC1", "PTEAM1", "resolved"), no_id, bad_status, no_time, wrong_type,
        incident_json("PGOOD2", at, "PSVC1", "PTEAM1", "resolved"),
    ], "more": true, "total": 300});
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    let pd = connector(
        &server,
        PagerDutyOptions {
            since: Some(t("2024-01-01T00:00:00Z")),
            ..PagerDutyOptions::default()
        },
    );
    let step = pd
        .step(&pd.backfill(t("2024-03-01T00:00:00Z")))
        .await
        .unwrap();

    let ids: Vec<&str> = step
        .incidents
        .iter()
        .map(|i| i.external_id.as_str())
        .collect();
    assert_eq!(ids, ["PGOOD1", "PGOOD2"]);
    assert_eq!(step.skipped.len(), 4, "{:?}", step.skipped);
    assert!(
        step.skipped[0].starts_with("an incident without an id was skipped ({"),
        "{}",
        step.skipped[0]
    );
    assert_eq!(
        step.skipped[1],
        r#"incident PBAD1 was skipped: its status "exploded" is unknown"#
    );
    assert_eq!(
        step.skipped[2],
        "incident PBAD2 was skipped: it has no creation time"
    );
    assert!(
        step.skipped[3].starts_with("incident PBAD3 was skipped: it cannot be read ("),
        "{}",
        step.skipped[3]
    );
    assert_eq!(
        step.next.unwrap().walk.offset,
        6,
        "the skipped items still count in the offset"
    );
}

#[tokio::test]
async fn log_entries_that_cannot_be_read_are_skipped_and_the_rest_of_the_page_is_kept() {
    let server = MockServer::start().await;
    let at = t("2024-02-01T00:00:00Z");
    let incident = incident_json("PINC", at, "PSVC1", "PTEAM1", "resolved");
    let good = log_entry_json("RGOOD", "resolve", at, &incident);
    let mut no_time = log_entry_json("RBAD1", "resolve", at, &incident);
    no_time.as_object_mut().unwrap().remove("created_at");
    let mut no_incident = log_entry_json("RBAD2", "resolve", at, &incident);
    no_incident.as_object_mut().unwrap().remove("incident");
    Mock::given(method("GET"))
        .and(path("/log_entries"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"log_entries": [no_time, good, no_incident], "more": false})),
        )
        .mount(&server)
        .await;
    let pd = connector(&server, PagerDutyOptions::default());
    let cursor = Cursor {
        phase: Phase::Timeline,
        walk: Windowed::new(
            t("2024-01-01T00:00:00Z"),
            t("2024-03-01T00:00:00Z"),
            Duration::days(180),
        ),
    };
    let step = pd.step(&cursor).await.unwrap();
    assert_eq!(step.events.len(), 1);
    assert_eq!(step.events[0].0, "PINC");
    assert_eq!(step.events[0].1.kind, event_kind::RESOLVE);
    assert_eq!(
        step.skipped,
        [
            "log entry RBAD1 was skipped: it has no time",
            "log entry RBAD2 was skipped: it names no incident"
        ]
    );
    assert!(
        step.next.is_none(),
        "the last window of the timeline ends the walk"
    );
}
