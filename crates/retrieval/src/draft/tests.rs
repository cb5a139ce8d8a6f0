use super::*;
use insights_types::api::SourceRefOut;
use insights_types::{IncidentId, RunbookId};
use serde_json::json;

fn answer(steps: Value) -> Value {
    json!({"title": "Replica lag", "summary": "Find and stop what holds the replica back.", "steps": steps})
}

fn step(title: &str, command: Option<(&str, &str)>, risk: &str, citations: Value) -> Value {
    json!({
        "title": title, "why": "because", "risk": risk, "expected": null, "citations": citations,
        "command": command.map(|(l, t)| json!({"language": l, "text": t})),
    })
}

#[test]
fn a_valid_answer_becomes_a_draft_with_its_citations() {
    let a = answer(json!([
        step(
            "Check lag",
            Some(("sql", "SELECT now() - pg_last_xact_replay_timestamp();")),
            "read_only",
            json!([1])
        ),
        step(
            "Restart consumers",
            Some((
                "kubectl",
                "kubectl rollout restart deploy/consumer -n orders"
            )),
            "changes_state",
            json!([2, 1])
        ),
    ]));
    let d = validate(&a, 2).unwrap();
    assert_eq!(d.title, "Replica lag");
    assert_eq!(d.steps.len(), 2);
    assert_eq!(d.steps[0].citations, vec![1]);
    assert_eq!(d.steps[1].citations, vec![2, 1]);
    assert!(d.steps.iter().all(|s| s.grounded));
    assert_eq!(d.steps[1].step.risk, StepRisk::ChangesState);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn unknown_citations_are_dropped_and_a_step_without_one_is_not_grounded() {
    let a = answer(json!([
        step("Look at the dashboard", None, "read_only", json!([7, 0])),
        step("Check lag", None, "read_only", json!([2, 2, 9])),
    ]));
    let d = validate(&a, 2).unwrap();
    assert!(d.steps[0].citations.is_empty());
    assert!(!d.steps[0].grounded);
    assert_eq!(d.steps[1].citations, vec![2]);
    assert!(d.steps[1].grounded);
    let w = d.warnings.join("\n");
    assert!(w.contains("cited source 7"), "{w}");
    assert!(w.contains("cited source 0"), "{w}");
    assert!(w.contains("cited source 9"), "{w}");
    assert!(w.contains("step 1 is not grounded"), "{w}");
}

#[test]
fn commands_that_change_state_get_their_risk_raised() {
    // The classifier itself is tested in `risk`; here: the validation raises a lower stated risk to it.
    for (cmd, want) in [
        (
            "kubectl rollout restart deployment/api",
            StepRisk::ChangesState,
        ),
        ("DROP TABLE orders;", StepRisk::Destructive),
        ("kubectl get pods -n payments", StepRisk::ReadOnly),
    ] {
        assert_eq!(command_risk(cmd), want, "{cmd}");
        let a = answer(json!([step(
            "Do it",
            Some(("shell", cmd)),
            "read_only",
            json!([1])
        )]));
        assert_eq!(validate(&a, 1).unwrap().steps[0].step.risk, want, "{cmd}");
    }
    let a = answer(json!([step(
        "Clean up",
        Some(("shell", "rm -rf /tmp/cache/*")),
        "read_only",
        json!([1])
    )]));
    let d = validate(&a, 1).unwrap();
    assert_eq!(d.steps[0].step.risk, StepRisk::Destructive);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("raised from read_only to destructive")),
        "{:?}",
        d.warnings
    );
    // A declared risk higher than the assessed one is kept.
    let a = answer(json!([step(
        "Check",
        Some(("shell", "ls /data")),
        "destructive",
        json!([1])
    )]));
    assert_eq!(
        validate(&a, 1).unwrap().steps[0].step.risk,
        StepRisk::Destructive
    );
}

#[test]
fn limits_are_enforced() {
    let many: Vec<Value> = (0..40)
        .map(|i| step(&format!("s{i}"), None, "read_only", json!([1])))
        .collect();
    let d = validate(&answer(json!(many)), 1).unwrap();
    assert_eq!(d.steps.len(), MAX_STEPS);
    assert!(d.warnings.iter().any(|w| w.contains("40 steps")));
    let long = "x".repeat(5000);
    let d = validate(
        &json!({"title": long, "summary": long, "steps": [step(&long, Some(("bash", &long)), "read_only", json!([]))]}),
        0,
    )
    .unwrap();
    assert_eq!(d.title.chars().count(), 200);
    assert_eq!(d.summary.chars().count(), 2000);
    assert_eq!(d.steps[0].step.title.chars().count(), 200);
    let c = d.steps[0].step.command.as_ref().unwrap();
    assert_eq!(c.text.chars().count(), 4000);
    assert_eq!(c.language, CommandLanguage::Shell, "bash is shell");
}

#[test]
fn malformed_answers_are_errors() {
    for bad in [
        json!([1, 2]),
        json!({"summary": "x", "steps": []}),
        json!({"title": "x", "summary": "x"}),
        json!({"title": "x", "summary": "x", "steps": "do things"}),
        json!({"title": "x", "summary": "x", "steps": []}),
        json!({"title": "x", "summary": "x", "steps": [{"why": "no title"}]}),
        json!({"title": "x", "summary": 3, "steps": [{"title": "t"}]}),
    ] {
        assert!(validate(&bad, 3).is_err(), "{bad}");
    }
}

fn source(
    n: u32,
    kind: SourceKind,
    title: &str,
    heading: Option<&str>,
    text: &str,
) -> GenerationSourceOut {
    GenerationSourceOut {
        n,
        source: SourceRefOut {
            kind,
            runbook_id: (kind == SourceKind::Runbook).then(RunbookId::new),
            runbook_version: (kind == SourceKind::Runbook).then_some(1),
            step: None,
            incident_id: (kind == SourceKind::PastFix).then(IncidentId::new),
            incident_number: None,
            event_id: None,
            title: title.into(),
            heading: heading.map(Into::into),
        },
        text: text.into(),
    }
}

#[test]
fn assemble_keeps_rank_order_dedupes_and_cites() {
    let restart = RunbookStep {
        title: "Restart the consumers".into(),
        why: "Stuck consumers hold the lag.".into(),
        command: Some(RunbookCommand {
            language: CommandLanguage::Kubectl,
            text: "kubectl rollout restart deploy/consumer -n orders".into(),
        }),
        risk: StepRisk::ReadOnly,
        expected: Some("Lag falls within 5 minutes".into()),
    };
    let sources = vec![
        AssembleSource {
            source: source(
                1,
                SourceKind::Runbook,
                "Replica lag",
                Some("Restart the consumers"),
                "…",
            ),
            step: Some(restart.clone()),
        },
        AssembleSource {
            source: source(
                2,
                SourceKind::PastFix,
                "Replication lag on orders-db",
                None,
                "Killed the long report query with `SELECT pg_terminate_backend(4242);` and lag recovered.",
            ),
            step: None,
        },
        AssembleSource {
            source: source(
                3,
                SourceKind::Runbook,
                "Replica lag",
                Some("Overview"),
                "This runbook covers lag.",
            ),
            step: None,
        },
        AssembleSource {
            source: source(4, SourceKind::Runbook, "Consumers", Some("Restart"), "…"),
            step: Some(RunbookStep {
                title: "Restart them".into(),
                ..restart.clone()
            }),
        },
    ];
    let d = assemble(&sources, "Incident #42: Replication lag");
    assert_eq!(d.title, "Assembled runbook: Incident #42: Replication lag");
    assert_eq!(d.steps.len(), 2, "{:#?}", d.steps);
    assert_eq!(d.steps[0].step.title, "Restart the consumers");
    assert_eq!(
        d.steps[0].citations,
        vec![1, 4],
        "the duplicate cites its source too"
    );
    assert_eq!(
        d.steps[0].step.risk,
        StepRisk::ChangesState,
        "raised from its command"
    );
    assert_eq!(d.steps[1].citations, vec![2]);
    let c = d.steps[1].step.command.as_ref().unwrap();
    assert_eq!(c.text, "SELECT pg_terminate_backend(4242);");
    assert_eq!(c.language, CommandLanguage::Sql);
    assert!(
        d.steps[1]
            .step
            .title
            .starts_with("Past fix: Killed the long report query")
    );
    assert!(d.steps.iter().all(|s| s.grounded));
    assert!(d.warnings[0].contains("without a model"));

    let empty = assemble(&[], "disk full");
    assert!(empty.steps.is_empty());
    assert!(empty.warnings.iter().any(|w| w.contains("Nothing")));
}
