//! The rule engine: examples of each condition, clear compile errors, and properties over random rules and
//! incidents (an empty rule matches its transition, a condition only narrows, the indexed set agrees with
//! evaluating each rule alone).

use insights_automation::rules::{
    CompiledRule, IncidentFacts, MAX_REGEX_CHARS, RuleError, RuleSet,
};
use insights_types::api::{IncidentSource, RuleConditions, Transition, Urgency};
use insights_types::ids::{PatternId, ServiceId, TeamId};
use proptest::prelude::*;
use uuid::Uuid;

fn facts() -> IncidentFacts {
    IncidentFacts {
        source: IncidentSource::Pagerduty,
        service_id: Some(ServiceId(Uuid::from_u128(1))),
        team_id: Some(TeamId(Uuid::from_u128(2))),
        urgency: Some(Urgency::High),
        priority: Some("P1".into()),
        pattern_id: Some(PatternId(Uuid::from_u128(3))),
        tags: vec!["Database".into(), "prod".into()],
        title: "Disk usage above 95% on db-7".into(),
    }
}

fn rule(c: RuleConditions) -> CompiledRule {
    CompiledRule::compile(Uuid::from_u128(100), &c).unwrap()
}

#[test]
fn no_transition_given_means_triggered_only() {
    let r = rule(RuleConditions::default());
    assert!(r.matches(&facts(), Transition::Triggered));
    for t in [
        Transition::Acknowledged,
        Transition::Resolved,
        Transition::Reopened,
        Transition::Updated,
    ] {
        assert!(!r.matches(&facts(), t), "{t:?}");
    }
}

#[test]
fn each_condition_narrows_as_documented() {
    let f = facts();
    let t = Transition::Triggered;
    let yes = |c: RuleConditions| assert!(rule(c.clone()).matches(&f, t), "{c:?}");
    let no = |c: RuleConditions| assert!(!rule(c.clone()).matches(&f, t), "{c:?}");
    yes(RuleConditions {
        sources: vec![IncidentSource::Opsgenie, IncidentSource::Pagerduty],
        ..Default::default()
    });
    no(RuleConditions {
        sources: vec![IncidentSource::Opsgenie],
        ..Default::default()
    });
    yes(RuleConditions {
        service_ids: vec![ServiceId(Uuid::from_u128(1))],
        ..Default::default()
    });
    no(RuleConditions {
        service_ids: vec![ServiceId(Uuid::from_u128(9))],
        ..Default::default()
    });
    yes(RuleConditions {
        team_ids: vec![TeamId(Uuid::from_u128(2))],
        ..Default::default()
    });
    no(RuleConditions {
        team_ids: vec![TeamId(Uuid::from_u128(9))],
        ..Default::default()
    });
    yes(RuleConditions {
        urgencies: vec![Urgency::High],
        ..Default::default()
    });
    no(RuleConditions {
        urgencies: vec![Urgency::Low],
        ..Default::default()
    });
    // Priorities and tags: case-insensitive.
    yes(RuleConditions {
        priorities: vec!["p1".into()],
        ..Default::default()
    });
    no(RuleConditions {
        priorities: vec!["P2".into()],
        ..Default::default()
    });
    yes(RuleConditions {
        pattern_ids: vec![PatternId(Uuid::from_u128(3))],
        ..Default::default()
    });
    no(RuleConditions {
        pattern_ids: vec![PatternId(Uuid::from_u128(4))],
        ..Default::default()
    });
    yes(RuleConditions {
        tags_any: vec!["DATABASE".into(), "x".into()],
        ..Default::default()
    });
    no(RuleConditions {
        tags_any: vec!["staging".into()],
        ..Default::default()
    });
    // The title regex: case-insensitive, anywhere in the title unless anchored.
    yes(RuleConditions {
        title_regex: Some(r"disk usage above 9\d%".into()),
        ..Default::default()
    });
    no(RuleConditions {
        title_regex: Some(r"^db-7".into()),
        ..Default::default()
    });
    // Every condition must hold.
    no(RuleConditions {
        urgencies: vec![Urgency::High],
        priorities: vec!["P3".into()],
        ..Default::default()
    });
    // An incident missing a field fails a condition on it.
    let mut bare = facts();
    bare.service_id = None;
    bare.priority = None;
    assert!(
        !rule(RuleConditions {
            service_ids: vec![ServiceId(Uuid::from_u128(1))],
            ..Default::default()
        })
        .matches(&bare, t)
    );
    assert!(
        !rule(RuleConditions {
            priorities: vec!["P1".into()],
            ..Default::default()
        })
        .matches(&bare, t)
    );
}

#[test]
fn explain_gives_each_conditions_verdict() {
    let r = rule(RuleConditions {
        transitions: vec![Transition::Triggered, Transition::Reopened],
        urgencies: vec![Urgency::High],
        priorities: vec!["P2".into()],
        title_regex: Some("disk".into()),
        ..Default::default()
    });
    let (matched, why) = r.explain(&facts(), Transition::Reopened);
    assert!(!matched);
    assert_eq!(why.len(), 4, "{why:?}");
    assert!(
        why[0].starts_with("transition reopened") && why[0].ends_with("yes"),
        "{why:?}"
    );
    assert!(
        why[1].contains("urgency high") && why[1].ends_with("yes"),
        "{why:?}"
    );
    assert!(
        why[2].contains("priority P1") && why[2].ends_with("no"),
        "{why:?}"
    );
    assert!(
        why[3].contains("/disk/") && why[3].ends_with("yes"),
        "{why:?}"
    );
    let (matched, _) = r.explain(&facts(), Transition::Resolved);
    assert!(!matched);
}

#[test]
fn title_regex_errors_are_clear() {
    let bad = CompiledRule::compile(
        Uuid::nil(),
        &RuleConditions {
            title_regex: Some("disk (".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(bad, RuleError::Regex(_)));
    assert!(
        bad.to_string()
            .starts_with("the title pattern is not a valid regular expression"),
        "{bad}"
    );
    assert_eq!(bad.field(), "title_regex");

    // Look-around and back-references are not supported: linear-time matching only.
    for p in [r"(?=disk)", r"(a)\1"] {
        let e = CompiledRule::compile(
            Uuid::nil(),
            &RuleConditions {
                title_regex: Some(p.into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(matches!(e, RuleError::Regex(_)), "{p}: {e}");
    }

    let long = CompiledRule::compile(
        Uuid::nil(),
        &RuleConditions {
            title_regex: Some("a".repeat(MAX_REGEX_CHARS + 1)),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(long, RuleError::RegexTooLong);

    // Short but huge once compiled.
    let huge = CompiledRule::compile(
        Uuid::nil(),
        &RuleConditions {
            title_regex: Some(r"\w{1000}\w{1000}\w{1000}".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(huge, RuleError::RegexTooComplex, "{huge}");

    let many = CompiledRule::compile(
        Uuid::nil(),
        &RuleConditions {
            tags_any: (0..101).map(|i| format!("t{i}")).collect(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(many.field(), "tags_any");
}

#[test]
fn a_rule_set_answers_in_the_order_rules_were_given() {
    let ids: Vec<Uuid> = (0..4).map(|i| Uuid::from_u128(1000 + i)).collect();
    let rules = vec![
        CompiledRule::compile(
            ids[0],
            &RuleConditions {
                urgencies: vec![Urgency::High],
                ..Default::default()
            },
        )
        .unwrap(),
        CompiledRule::compile(
            ids[1],
            &RuleConditions {
                service_ids: vec![ServiceId(Uuid::from_u128(1))],
                ..Default::default()
            },
        )
        .unwrap(),
        CompiledRule::compile(
            ids[2],
            &RuleConditions {
                sources: vec![IncidentSource::Opsgenie],
                ..Default::default()
            },
        )
        .unwrap(),
        CompiledRule::compile(
            ids[3],
            &RuleConditions {
                pattern_ids: vec![PatternId(Uuid::from_u128(3))],
                ..Default::default()
            },
        )
        .unwrap(),
    ];
    let set = RuleSet::new(rules);
    assert_eq!(
        set.matching(&facts(), Transition::Triggered),
        vec![ids[0], ids[1], ids[3]]
    );
    assert!(set.matching(&facts(), Transition::Resolved).is_empty());
}

// ---------------------------------------------------------------------------------------------------------
// Properties

const SERVICES: u128 = 4;
const TEAMS: u128 = 3;
const PATTERNS: u128 = 4;
const TAGS: [&str; 4] = ["db", "Prod", "network", "k8s"];
const PRIORITIES: [&str; 3] = ["P1", "p2", "P3"];
const WORDS: [&str; 4] = ["disk", "CPU", "latency", "db"];

fn source() -> impl Strategy<Value = IncidentSource> {
    prop_oneof![
        Just(IncidentSource::Pagerduty),
        Just(IncidentSource::Opsgenie),
        Just(IncidentSource::Sample)
    ]
}
fn urgency() -> impl Strategy<Value = Urgency> {
    prop_oneof![Just(Urgency::High), Just(Urgency::Low)]
}
fn transition() -> impl Strategy<Value = Transition> {
    proptest::sample::select(Transition::ALL.to_vec())
}

fn facts_strategy() -> impl Strategy<Value = IncidentFacts> {
    (
        source(),
        proptest::option::of(0..SERVICES),
        proptest::option::of(0..TEAMS),
        proptest::option::of(urgency()),
        proptest::option::of(proptest::sample::select(PRIORITIES.to_vec())),
        proptest::option::of(0..PATTERNS),
        proptest::sample::subsequence(TAGS.to_vec(), 0..=TAGS.len()),
        proptest::sample::subsequence(WORDS.to_vec(), 0..=WORDS.len()),
    )
        .prop_map(
            |(source, service, team, urgency, priority, pattern, tags, words)| IncidentFacts {
                source,
                service_id: service.map(|s| ServiceId(Uuid::from_u128(s + 1))),
                team_id: team.map(|t| TeamId(Uuid::from_u128(t + 100))),
                urgency,
                priority: priority.map(str::to_owned),
                pattern_id: pattern.map(|p| PatternId(Uuid::from_u128(p + 200))),
                tags: tags.into_iter().map(str::to_owned).collect(),
                title: words.join(" "),
            },
        )
}

fn conditions_strategy() -> impl Strategy<Value = RuleConditions> {
    (
        proptest::sample::subsequence(Transition::ALL.to_vec(), 0..=2),
        proptest::collection::vec(source(), 0..2),
        proptest::collection::vec(0..SERVICES, 0..2),
        proptest::collection::vec(0..TEAMS, 0..2),
        proptest::collection::vec(urgency(), 0..2),
        proptest::collection::vec(proptest::sample::select(vec!["p1", "P2", "p3"]), 0..2),
        proptest::collection::vec(0..PATTERNS, 0..2),
        proptest::collection::vec(
            proptest::sample::select(vec!["DB", "prod", "Network", "k8s"]),
            0..2,
        ),
        proptest::option::weighted(
            0.3,
            proptest::sample::select(vec!["disk", "^cpu", "latency$", "d[a-z]+"]),
        ),
    )
        .prop_map(
            |(
                transitions,
                sources,
                services,
                teams,
                urgencies,
                priorities,
                patterns,
                tags,
                title,
            )| {
                RuleConditions {
                    transitions,
                    sources,
                    service_ids: services
                        .into_iter()
                        .map(|s| ServiceId(Uuid::from_u128(s + 1)))
                        .collect(),
                    team_ids: teams
                        .into_iter()
                        .map(|t| TeamId(Uuid::from_u128(t + 100)))
                        .collect(),
                    urgencies,
                    priorities: priorities.into_iter().map(str::to_owned).collect(),
                    pattern_ids: patterns
                        .into_iter()
                        .map(|p| PatternId(Uuid::from_u128(p + 200)))
                        .collect(),
                    tags_any: tags.into_iter().map(str::to_owned).collect(),
                    title_regex: title.map(str::to_owned),
                }
            },
        )
}

/// `c` with one more condition (of kind `which`) that it did not have, or none if it had one of that kind.
fn with_new_condition(c: &RuleConditions, which: u8, value: u128) -> Option<RuleConditions> {
    let mut n = c.clone();
    match which % 8 {
        0 if c.sources.is_empty() => {
            n.sources =
                vec![[IncidentSource::Pagerduty, IncidentSource::Opsgenie][(value % 2) as usize]]
        }
        1 if c.service_ids.is_empty() => {
            n.service_ids = vec![ServiceId(Uuid::from_u128(value % SERVICES + 1))]
        }
        2 if c.team_ids.is_empty() => {
            n.team_ids = vec![TeamId(Uuid::from_u128(value % TEAMS + 100))]
        }
        3 if c.urgencies.is_empty() => {
            n.urgencies = vec![[Urgency::High, Urgency::Low][(value % 2) as usize]]
        }
        4 if c.priorities.is_empty() => {
            n.priorities = vec![PRIORITIES[(value % 3) as usize].to_lowercase()]
        }
        5 if c.pattern_ids.is_empty() => {
            n.pattern_ids = vec![PatternId(Uuid::from_u128(value % PATTERNS + 200))]
        }
        6 if c.tags_any.is_empty() => n.tags_any = vec![TAGS[(value % 4) as usize].to_uppercase()],
        7 if c.title_regex.is_none() => {
            n.title_regex = Some(WORDS[(value % 4) as usize].to_owned())
        }
        _ => return None,
    }
    Some(n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A rule with no condition but its transitions matches every incident changed that way, and no other.
    #[test]
    fn a_rule_without_conditions_matches_every_incident_with_its_transition(
        transitions in proptest::sample::subsequence(Transition::ALL.to_vec(), 1..=3),
        f in facts_strategy(),
        t in transition(),
    ) {
        let r = rule(RuleConditions { transitions: transitions.clone(), ..Default::default() });
        prop_assert_eq!(r.matches(&f, t), transitions.contains(&t));
    }

    /// Adding a condition a rule did not have never makes more incidents match: whatever matches the
    /// narrower rule matches the original.
    #[test]
    fn adding_a_condition_never_makes_more_incidents_match(
        c in conditions_strategy(),
        which in 0u8..8,
        value in 0u128..12,
        incidents in proptest::collection::vec((facts_strategy(), transition()), 1..30),
    ) {
        let narrowed = with_new_condition(&c, which, value);
        prop_assume!(narrowed.is_some());
        let base = rule(c);
        let narrowed = rule(narrowed.unwrap());
        let before = incidents.iter().filter(|(f, t)| base.matches(f, *t)).count();
        let after = incidents.iter().filter(|(f, t)| narrowed.matches(f, *t)).count();
        prop_assert!(after <= before, "{} > {}", after, before);
        for (f, t) in &incidents {
            prop_assert!(!narrowed.matches(f, *t) || base.matches(f, *t));
        }
    }

    /// The indexed rule set answers exactly what evaluating each rule alone answers, in the rules' order.
    #[test]
    fn a_rule_set_agrees_with_each_rule_alone(
        conditions in proptest::collection::vec(conditions_strategy(), 0..60),
        incidents in proptest::collection::vec((facts_strategy(), transition()), 1..40),
    ) {
        let rules: Vec<CompiledRule> = conditions
            .iter()
            .enumerate()
            .map(|(i, c)| CompiledRule::compile(Uuid::from_u128(i as u128), c).unwrap())
            .collect();
        let set = RuleSet::new(rules.clone());
        for (f, t) in &incidents {
            let alone: Vec<Uuid> = rules.iter().filter(|r| r.matches(f, *t)).map(CompiledRule::id).collect();
            prop_assert_eq!(set.matching(f, *t), alone.clone());
            for r in &rules {
                prop_assert_eq!(r.explain(f, *t).0, r.matches(f, *t));
            }
        }
    }
}
