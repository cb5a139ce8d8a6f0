//! The template sandbox: no way out (files, environment, network, other templates), bounded work, memory and
//! output, strict variables, and JSON payloads no incident text can break.

use chrono::{TimeZone, Utc};
use insights_automation::context::{IncidentCtx, NamedCtx, RunCtx, StepCtx, TemplateContext};
use insights_automation::template::{
    MAX_OUTPUT_BYTES, MAX_SOURCE_CHARS, REMOTE_COMMAND_TEMPLATE, Template, TemplateKind,
};
use insights_types::api::RunTrigger;
use insights_types::ids::{AutomationId, AutomationRunId, IncidentId, RunbookId, ServiceId};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

fn incident(title: &str) -> IncidentCtx {
    IncidentCtx {
        id: IncidentId(Uuid::from_u128(1)),
        source: "pagerduty".into(),
        external_id: "Q1ABC".into(),
        number: Some(42),
        title: title.into(),
        description: Some("disk /var at 97%".into()),
        status: "triggered".into(),
        urgency: Some("high".into()),
        priority: Some("P1".into()),
        service: Some(NamedCtx {
            id: ServiceId(Uuid::from_u128(2)),
            name: "checkout".into(),
        }),
        team: None,
        tags: vec!["db".into(), "prod".into()],
        assignees: vec!["Ada".into()],
        triggered_at: Utc.with_ymd_and_hms(2026, 7, 1, 12, 30, 0).unwrap(),
        acknowledged_at: None,
        resolved_at: None,
        url: Some("https://example.pagerduty.com/incidents/Q1ABC".into()),
    }
}

fn ctx(title: &str) -> TemplateContext {
    TemplateContext {
        incident: Some(incident(title)),
        pattern: None,
        step: None,
        params: json!({"region": "eu-west-1", "hosts": ["a", "b"]}),
        run: RunCtx {
            id: AutomationRunId(Uuid::from_u128(9)),
            automation_id: AutomationId(Uuid::from_u128(8)),
            automation_name: "restart".into(),
            trigger: RunTrigger::Rule,
            rule_id: None,
            schedule_id: None,
            requested_by: None,
            requested_at: Utc.with_ymd_and_hms(2026, 7, 1, 12, 31, 0).unwrap(),
            timeout_secs: 60,
        },
        targets: None,
    }
}

fn json_render(src: &str, c: &TemplateContext) -> Result<Value, String> {
    let t = Template::compile(src, TemplateKind::Json).map_err(|e| e.message)?;
    let out = t.render(c).map_err(|e| e.message)?;
    Ok(serde_json::from_str(&out).expect("json kind output parses"))
}

const PAYLOAD: &str = r#"{"title": {{ incident.title }}, "service": {{ incident.service.name }}, "tags": {{ incident.tags }}, "region": {{ params.region }}, "number": {{ incident.number }}, "team": {{ incident.team }}}"#;

#[test]
fn values_render_as_json_with_their_types() {
    let v = json_render(PAYLOAD, &ctx("Disk full")).unwrap();
    assert_eq!(
        v,
        json!({"title": "Disk full", "service": "checkout", "tags": ["db", "prod"], "region": "eu-west-1",
               "number": 42, "team": null})
    );
}

#[test]
fn injection_attempts_in_titles_stay_inside_their_string() {
    let attempts = [
        r#"x", "admin": true, "y": "z"#,
        r#""}"#,
        r#"\"}, {"#,
        "{{ params }}",
        "{% for x in range(10) %}boom{% endfor %}",
        "line one\nline two\r\n\t\u{0}",
        "</script><script>alert(1)</script>",
        "emoji 🔥 and ünïcödé and \u{2028}\u{2029}",
        "back\\slash\\",
        "{#",
    ];
    for title in attempts {
        let v = json_render(PAYLOAD, &ctx(title)).unwrap();
        assert_eq!(v["title"], json!(title), "title {title:?}");
        assert_eq!(
            v.as_object().unwrap().len(),
            6,
            "no key injected by {title:?}"
        );
    }
}

#[test]
fn text_kind_writes_values_as_they_are() {
    let t = Template::compile(
        "Restarted {{ incident.service.name }} for {{ incident.title }} ({{ incident.tags | join(', ') }})",
        TemplateKind::Text,
    )
    .unwrap();
    assert_eq!(
        t.render(&ctx("Disk \"full\"")).unwrap(),
        "Restarted checkout for Disk \"full\" (db, prod)"
    );
}

#[test]
fn safe_escape_and_autoescape_cannot_unescape_a_json_payload() {
    for src in [
        r#"{"t": "{{ incident.title | safe }}"}"#,
        r#"{"t": "{{ incident.title | escape }}"}"#,
        r#"{"t": "{{ incident.title | e }}"}"#,
    ] {
        let result = Template::compile(src, TemplateKind::Json)
            .and_then(|t| t.render(&ctx(r#"x", "a": "b"#)));
        let err = result.expect_err(src);
        assert!(err.message.contains("not available"), "{}", err.message);
    }
    let err = Template::compile(
        r#"{% autoescape false %}{"t": "{{ incident.title }}"}{% endautoescape %}"#,
        TemplateKind::Json,
    )
    .unwrap_err();
    assert!(err.message.contains("autoescape"), "{}", err.message);
    // Also with whitespace control.
    assert!(
        Template::compile(
            "{%- autoescape false -%}{}{%- endautoescape -%}",
            TemplateKind::Json
        )
        .is_err()
    );
}

#[test]
fn set_blocks_and_filters_keep_values_escaped() {
    let src = r#"{% set t %}{{ incident.title }}{% endset %}{"t": {{ t }}, "u": {{ incident.title | upper }}, "r": {{ incident.title | replace("a", "b") }}}"#;
    let title = r#"a", "admin": "yes"#;
    let v = json_render(src, &ctx(title)).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 3);
    assert_eq!(v["t"], json!(title));
    assert_eq!(v["u"], json!(title.to_uppercase()));
}

#[test]
fn other_templates_cannot_be_included_imported_or_extended() {
    for src in [
        r#"{% include "/etc/passwd" %}"#,
        r#"{% import "x" as y %}"#,
        r#"{% from "x" import y %}"#,
        r#"{% extends "base" %}"#,
    ] {
        let err = Template::compile(src, TemplateKind::Text).unwrap_err();
        assert!(
            err.message.contains("syntax error"),
            "{src}: {}",
            err.message
        );
    }
}

#[test]
fn nothing_reaches_the_environment_files_or_network() {
    let c = ctx("x");
    for src in [
        "{{ env }}",
        "{{ environ }}",
        "{{ os.environ }}",
        "{{ config }}",
        "{{ self }}",
        "{{ request }}",
        "{{ lipsum.__globals__ }}",
        "{{ ''.__class__ }}",
        "{{ open('/etc/passwd') }}",
        "{{ read_file('/etc/passwd') }}",
        "{{ fetch('http://169.254.169.254/') }}",
        "{{ getenv('HOME') }}",
        "{{ incident.__dict__ }}",
    ] {
        let result = Template::compile(src, TemplateKind::Text).and_then(|t| t.render(&c));
        assert!(result.is_err(), "{src} rendered {result:?}");
    }
    // The environment holds what a process would leak, and no template output ever contains it.
    let home = std::env::var("PATH").unwrap_or_default();
    let t = Template::compile(
        "{{ params | tojson }}{{ incident | tojson }}",
        TemplateKind::Text,
    )
    .unwrap();
    let out = t.render(&c).unwrap();
    assert!(home.is_empty() || !out.contains(&home));
}

#[test]
fn undefined_variables_are_errors_with_their_line() {
    let err = Template::compile("{\n\"t\": {{ incident.titel }}\n}", TemplateKind::Json)
        .unwrap()
        .render(&ctx("x"))
        .unwrap_err();
    assert!(err.message.contains("undefined"), "{}", err.message);
    assert_eq!(err.line, Some(2));
    // `default` and `is defined` handle what may be missing.
    let v = json_render(
        r#"{"a": {{ params.missing | default("none") }}, "b": {{ params.missing is defined }}}"#,
        &ctx("x"),
    )
    .unwrap();
    assert_eq!(v, json!({"a": "none", "b": false}));
}

#[test]
fn a_missing_subject_is_none() {
    let mut c = ctx("x");
    c.incident = None;
    let v = json_render(
        r#"{"t": {% if incident %}{{ incident.title }}{% else %}null{% endif %}, "i": {{ incident }}}"#,
        &c,
    )
    .unwrap();
    assert_eq!(v, json!({"t": null, "i": null}));
}

#[test]
fn syntax_errors_name_their_line() {
    let err =
        Template::compile("{\n\n\"a\": {{ incident.title \n}", TemplateKind::Json).unwrap_err();
    assert!(err.message.contains("syntax error"), "{}", err.message);
    assert!(
        err.line.is_some_and(|l| (3..=4).contains(&l)),
        "{:?}",
        err.line
    );
}

#[test]
fn output_that_is_not_json_is_refused_with_a_hint() {
    let err = Template::compile(r#"{"t": "{{ incident.title }}"}"#, TemplateKind::Json)
        .unwrap()
        .render(&ctx("x"))
        .unwrap_err();
    assert!(err.message.contains("not valid JSON"), "{}", err.message);
    assert!(
        err.message.contains("not \"{{ incident.title }}\""),
        "{}",
        err.message
    );
}

#[test]
fn loops_that_never_end_run_out_of_fuel() {
    let started = std::time::Instant::now();
    let err = Template::compile(
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
        TemplateKind::Text,
    )
    .unwrap()
    .render(&ctx("x"))
    .unwrap_err();
    assert!(err.message.contains("fuel"), "{}", err.message);
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn strings_doubled_until_memory_runs_out_are_stopped() {
    let started = std::time::Instant::now();
    let src = "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}";
    let err = Template::compile(src, TemplateKind::Text)
        .unwrap()
        .render(&ctx("x"))
        .unwrap_err();
    assert!(err.message.contains("fuel"), "{}", err.message);
    // Repetition and sequential doubling too.
    let src2 = "{% set a = 'x' * 1000 %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}{% set e = d ~ d %}{% set f = e ~ e %}{% set g = f ~ f %}{% set h = g ~ g %}{% set i = h ~ h %}{% set j = i ~ i %}{% set k = j ~ j %}{% set l = k ~ k %}{% set m = l ~ l %}{% set n = m ~ m %}{% set o = n ~ n %}{% set p = o ~ o %}{% set q = p ~ p %}{% set r = q ~ q %}{% set s = r ~ r %}{% set t = s ~ s %}{% set u = t ~ t %}{% set v = u ~ u %}{% set w = v ~ v %}{% set x = w ~ w %}{% set y = x ~ x %}{{ y | length }}";
    assert!(
        Template::compile(src2, TemplateKind::Text)
            .unwrap()
            .render(&ctx("x"))
            .is_err()
    );
    let src3 = "{{ ('x' * 99999999) | length }}";
    assert!(
        Template::compile(src3, TemplateKind::Text)
            .unwrap()
            .render(&ctx("x"))
            .is_err()
    );
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn output_is_capped() {
    let err = Template::compile(
        "{% for i in range(3) %}{{ 'x' * 100000 }}{% endfor %}",
        TemplateKind::Text,
    )
    .unwrap()
    .render(&ctx("x"))
    .unwrap_err();
    assert!(err.message.contains("larger than"), "{}", err.message);
    // Just under the cap renders.
    let ok = Template::compile(
        &format!("{{{{ 'x' * {} }}}}", MAX_OUTPUT_BYTES - 10),
        TemplateKind::Text,
    )
    .unwrap()
    .render(&ctx("x"))
    .unwrap();
    assert_eq!(ok.len(), MAX_OUTPUT_BYTES - 10);
}

#[test]
fn deep_recursion_is_refused() {
    let mut nested = json!({"children": []});
    for _ in 0..200 {
        nested = json!({"children": [nested]});
    }
    let mut c = ctx("x");
    c.params = json!({"tree": nested});
    let result = Template::compile(
        "{% for n in [params.tree] recursive %}.{{ loop(n.children) }}{% endfor %}",
        TemplateKind::Text,
    )
    .unwrap()
    .render(&c);
    assert!(result.is_err());
}

#[test]
fn long_sources_are_refused() {
    let src = "x".repeat(MAX_SOURCE_CHARS + 1);
    let err = Template::compile(&src, TemplateKind::Text).unwrap_err();
    assert!(err.message.contains("longer than"));
    assert!(Template::compile(&"x".repeat(MAX_SOURCE_CHARS), TemplateKind::Text).is_ok());
}

#[test]
fn filters_users_need() {
    let c = ctx("A rather long incident title");
    let t = |src: &str| {
        Template::compile(src, TemplateKind::Text)
            .unwrap()
            .render(&c)
            .unwrap()
    };
    assert_eq!(t("{{ incident.title | truncate(10) }}"), "A rather …");
    assert_eq!(
        t("{{ incident.title | truncate(10, '...') }}"),
        "A rathe..."
    );
    assert_eq!(
        t("{{ incident.title | truncate(100) }}"),
        "A rather long incident title"
    );
    assert_eq!(t("{{ incident.service.name | upper }}"), "CHECKOUT");
    assert_eq!(t("{{ incident.priority | lower }}"), "p1");
    assert_eq!(t("{{ params.hosts | join(',') }}"), "a,b");
    assert_eq!(t("{{ params.nope | default('-') }}"), "-");
    assert_eq!(
        t("{{ params | tojson }}"),
        r#"{"hosts": ["a", "b"], "region": "eu-west-1"}"#
    );
    assert_eq!(
        t("{{ incident.triggered_at | datetimeformat('%Y-%m-%d %H:%M', 'Europe/Paris') }}"),
        "2026-07-01 14:30"
    );
    assert_eq!(
        t("{{ incident.triggered_at | date('%H:%M %Z') }}"),
        "12:30 UTC"
    );
    assert_eq!(t("{{ 0 | datetimeformat('%Y') }}"), "1970");
    let bad = Template::compile(
        "{{ incident.triggered_at | date('%Q') }}",
        TemplateKind::Text,
    )
    .unwrap()
    .render(&c);
    assert!(bad.is_err());
    let bad_tz = Template::compile(
        "{{ incident.triggered_at | date('%H', 'Mars/Olympus') }}",
        TemplateKind::Text,
    )
    .unwrap()
    .render(&c)
    .unwrap_err();
    assert!(bad_tz.message.contains("IANA"), "{}", bad_tz.message);
}

#[test]
fn the_remote_command_template_renders_the_runner_contract() {
    let mut c = ctx("x");
    c.step = Some(StepCtx {
        runbook_id: RunbookId(Uuid::from_u128(5)),
        runbook_title: "Disk full".into(),
        runbook_version: 3,
        index: 1,
        title: "Clean the journal".into(),
        why: String::new(),
        command: Some("journalctl --vacuum-size=500M && echo \"done\"".into()),
        language: Some("shell".into()),
        risk: "changes_state".into(),
        expected: None,
    });
    c.targets = Some(json!({"tag:role": ["db"]}));
    let v = json_render(REMOTE_COMMAND_TEMPLATE, &c).unwrap();
    assert_eq!(
        v,
        json!({
            "command": "journalctl --vacuum-size=500M && echo \"done\"",
            "language": "shell",
            "targets": {"tag:role": ["db"]},
            "timeout_secs": 60,
            "run_id": Uuid::from_u128(9).to_string(),
        })
    );
}

#[test]
fn a_template_renders_the_same_bytes_every_time() {
    let t = Template::compile(PAYLOAD, TemplateKind::Json).unwrap();
    let c = ctx("same");
    let a = t.render(&c).unwrap();
    for _ in 0..10 {
        assert_eq!(t.render(&c).unwrap(), a);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the incident's title, tags and parameters, a JSON payload parses and carries them exactly.
    #[test]
    fn json_payloads_always_parse_and_carry_values_exactly(
        title in any::<String>(),
        tags in proptest::collection::vec(any::<String>(), 0..5),
        param in any::<String>(),
    ) {
        let mut c = ctx(&title);
        if let Some(i) = c.incident.as_mut() {
            i.tags = tags.clone();
        }
        c.params = json!({"p": param});
        let src = r#"{"title": {{ incident.title }}, "tags": {{ incident.tags }}, "p": {{ params.p }}, "u": {{ incident.title | upper }}}"#;
        let t = Template::compile(src, TemplateKind::Json).unwrap();
        let out = t.render(&c).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        prop_assert_eq!(v.as_object().unwrap().len(), 4);
        prop_assert_eq!(&v["title"], &json!(title));
        prop_assert_eq!(&v["tags"], &json!(tags));
        prop_assert_eq!(&v["p"], &json!(param));
    }
}
