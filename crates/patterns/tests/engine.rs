//! The engine's behaviour through its public interface: templates' text form, the example, the
//! matcher, explanations, the `cluster` command's contract, and properties over generated titles
//! (determinism, order independence, every title explained by its template, text forms round-tripping).

use insights_patterns::{Item, Matcher, Origin, Part, SlotKind, Template, cluster, explain, run};

/// A small deterministic generator (xorshift64*), so property tests need no dependency and never flake.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

const SERVICES: &[&str] = &[
    "kafka",
    "postgres-main",
    "checkout",
    "billing-worker",
    "search",
];
const WORDS: &[&str] = &["orders", "payments", "users", "events", "sessions"];
const NAMES: &[&str] = &[
    "Search",
    "Partner API (EU)",
    "Mobile Backend",
    "Status Page EU West",
    "Billing",
];
const REASONS: &[&str] = &[
    "Forbidden",
    "Not Found",
    "Internal Server Error",
    "Bad Gateway",
];

/// Titles as alerting tools write them, with random values; the generator's template index is not used as
/// truth here (the properties hold whatever the grouping).
fn titles(rng: &mut Rng, n: usize) -> Vec<(String, Option<String>)> {
    (0..n)
        .map(|_| {
            let svc = rng.pick(SERVICES);
            let title = match rng.below(11) {
                10 => format!(
                    "Monitor is DOWN: {} - Reason: {} {}",
                    rng.pick(NAMES),
                    400 + rng.below(104),
                    rng.pick(REASONS)
                ),
                0 => format!("High latency on {svc} (p99 > {}s)", 1 + rng.below(5)),
                1 => format!(
                    "Disk usage {}% on db-{}.prod.example.com",
                    80 + rng.below(20),
                    rng.below(9)
                ),
                2 => format!(
                    "[FIRING:{}] KubePodCrashLooping ({svc}-{:x}-x{})",
                    1 + rng.below(3),
                    rng.next() % 0xfff_ffff,
                    rng.below(99)
                ),
                3 => format!("Table '{}' is full", rng.pick(WORDS)),
                4 => format!(
                    "Connection refused to 10.0.{}.{}:{}",
                    rng.below(255),
                    rng.below(255),
                    5432 + rng.below(3)
                ),
                5 => format!(
                    "Job {} failed after {}m",
                    rng.pick(WORDS),
                    1 + rng.below(59)
                ),
                6 => format!("{svc} error rate above {}%", rng.below(100)),
                7 => format!(
                    "Certificate for {}.example.com expires in {} days",
                    rng.pick(WORDS),
                    rng.below(30)
                ),
                8 => format!("Heartbeat {svc} expired"),
                _ => format!(
                    "Queue {} backlog {} messages <critical> \\ check",
                    rng.pick(WORDS),
                    rng.below(100_000)
                ),
            };
            (title, rng.below(4).ne(&0).then(|| svc.to_owned()))
        })
        .collect()
}

fn items(data: &[(String, Option<String>)]) -> Vec<Item<'_>> {
    data.iter()
        .map(|(t, s)| Item {
            title: t,
            service: s.as_deref(),
        })
        .collect()
}

#[test]
fn text_form_round_trips_with_escapes() {
    let t = Template::from_parts([
        Part::Text("a <b> \\ c ".into()),
        Part::Slot(SlotKind::Number),
        Part::Text(" and ".into()),
        Part::Slot(SlotKind::Var),
    ]);
    assert_eq!(t.to_string(), "a \\<b> \\\\ c <num> and <*>");
    assert_eq!(Template::parse(&t.to_string()), Ok(t));
    for kind in SlotKind::ALL {
        let t = Template::from_parts([Part::Slot(kind)]);
        assert_eq!(Template::parse(&t.to_string()), Ok(t));
    }
}

#[test]
fn text_form_rejects_what_it_never_writes() {
    assert!(Template::parse("a <nope> b").is_err());
    assert!(Template::parse("a <num").is_err());
    assert!(Template::parse("trailing \\").is_err());
    assert!(Template::parse("\\x").is_err());
}

#[test]
fn the_same_alert_on_two_services_is_one_template_with_a_service_slot() {
    let c = cluster(&[
        Item {
            title: "High latency on kafka (p99 > 2s)",
            service: Some("kafka"),
        },
        Item {
            title: "High latency on postgres-main (p99 > 2s)",
            service: Some("postgres-main"),
        },
    ]);
    assert_eq!(c.assignments, [0, 0]);
    assert_eq!(c.templates.len(), 1);
    assert_eq!(
        c.templates[0].to_string(),
        "High latency on <service> (p99 > <duration>)"
    );
    assert_eq!(c.scores, [1.0, 1.0]);
}

#[test]
fn unrelated_titles_sharing_a_few_words_are_different_templates() {
    let c = cluster(&[
        Item {
            title: "High latency on checkout",
            service: None,
        },
        Item {
            title: "High error rate on checkout",
            service: None,
        },
        Item {
            title: "Disk full on checkout",
            service: None,
        },
        Item {
            title: "Certificate expires soon on checkout",
            service: None,
        },
    ]);
    assert_eq!(c.templates.len(), 4, "{:?}", c.templates);
}

#[test]
fn values_that_vary_become_slots_and_recurring_words_split() {
    let c = cluster(&[
        Item {
            title: "Heartbeat etl-scheduler expired",
            service: None,
        },
        Item {
            title: "Heartbeat mail-relay expired",
            service: None,
        },
        Item {
            title: "VM Started (Lifecycle Event)",
            service: None,
        },
        Item {
            title: "VM Started (Lifecycle Event)",
            service: None,
        },
        Item {
            title: "VM Paused (Lifecycle Event)",
            service: None,
        },
        Item {
            title: "VM Paused (Lifecycle Event)",
            service: None,
        },
    ]);
    assert_eq!(c.assignments[0], c.assignments[1]);
    assert_eq!(
        c.templates[c.assignments[0] as usize].to_string(),
        "Heartbeat <*> expired"
    );
    assert_eq!(c.assignments[2], c.assignments[3]);
    assert_ne!(
        c.assignments[2], c.assignments[4],
        "started and paused are different events"
    );
}

#[test]
fn a_value_written_with_more_tokens_joins_its_template_but_words_never_do() {
    let titles = [
        "Disk full on web-1 - 97% used",
        "Disk full on web-2 - 98% used",
        "Disk full on web-3 db-4 - 99% used",
        "Disk full on the primary node - 99% used",
        "Disk full on eu-west-1 replica-2 - 91% used",
    ];
    let c = cluster(&titles.map(|title| Item {
        title,
        service: None,
    }));
    let a = c.assignments[0];
    assert_eq!(
        [c.assignments[1], c.assignments[2], c.assignments[4]],
        [a; 3],
        "{:?}",
        c.templates
    );
    assert_ne!(
        c.assignments[3], a,
        "plain words are not a value: {:?}",
        c.templates
    );
    let t = &c.templates[a as usize];
    assert_eq!(t.to_string(), "Disk full on <*> - <num> used");
    let e = explain(t, "Disk full on eu-west-1 replica-2 - 91% used", None).unwrap();
    let values: Vec<&str> = e.slots.iter().map(|s| s.value.as_str()).collect();
    assert_eq!(values, ["eu-west-1 replica-2", "91%"]);
    let mut m = Matcher::new();
    m.insert("full", t.clone(), Origin::Mined);
    let best = m
        .best("Disk full on k8s-node-7 pool-b-3 zone-c - 95% used", None)
        .unwrap();
    assert_eq!((best.key, best.score), ("full", 1.0));
    assert_eq!(
        m.best("Disk full on - 95% used", None),
        None,
        "a <*> covers at least one token"
    );
}

#[test]
fn the_matcher_prefers_rules_then_the_most_similar_then_the_most_specific() {
    let mut m = Matcher::new();
    m.insert(
        1,
        Template::parse("Disk full on <*>").unwrap(),
        Origin::Mined,
    );
    m.insert(
        2,
        Template::parse("Disk full on web-<num>").unwrap(),
        Origin::Mined,
    );
    m.insert(
        3,
        Template::parse("High latency on <service> (p99 > <duration>)").unwrap(),
        Origin::Mined,
    );
    assert_eq!(m.best("Disk full on db7", None).map(|b| b.key), Some(1));
    let best = m
        .best("High latency on kafka (p99 > 3s)", Some("kafka"))
        .unwrap();
    assert_eq!((best.key, best.score), (3, 1.0));
    // Mined where the service was another: the template's literal still matches the masked service.
    let mut lit = Matcher::new();
    lit.insert(
        9,
        Template::parse("kafka lag is high").unwrap(),
        Origin::Mined,
    );
    assert_eq!(
        lit.best("Kafka lag is high", Some("kafka")).map(|b| b.key),
        Some(9)
    );
    assert_eq!(m.best("Certificate expires soon", None), None);

    m.insert(4, Template::parse("Disk <*> on <*>").unwrap(), Origin::Rule);
    let best = m.best("Disk full on db7", None).unwrap();
    assert_eq!(
        (best.key, best.origin),
        (4, Origin::Rule),
        "a matching rule wins over mined ones"
    );
    // Similar enough without fitting exactly: still assigned, with the lower score.
    let best = m.best("Disk almost full on", None);
    assert_eq!(best, None, "another token count is another template");
    let best = m
        .best("High latency on kafka (p50 > 3s)", Some("kafka"))
        .unwrap();
    assert_eq!(best.key, 3);
    assert!(best.score < 1.0 && best.score >= 0.5, "{}", best.score);
}

#[test]
fn the_matcher_scales_to_many_templates_with_exact_answers() {
    let mut m = Matcher::new();
    for i in 0..5000 {
        m.insert(
            i,
            Template::of_title(&format!("alert{} fired on <host> code{}", i % 977, i), None),
            Origin::Mined,
        );
    }
    assert_eq!(m.len(), 5000);
    let best = m.best("alert5 fired on <host> code1959", None).unwrap();
    assert_eq!((best.key, best.score), (1959, 1.0));
}

#[test]
fn explain_gives_each_slot_its_original_value() {
    let t = Template::parse("High latency on <service> (p99 > <duration>) from <ip>").unwrap();
    let e = explain(
        &t,
        "High latency on Postgres Main (p99 > 2.5s) from 10.0.0.1:5432",
        Some("postgres-main"),
    )
    .unwrap();
    assert_eq!(e.score, 1.0);
    let values: Vec<(usize, SlotKind, &str)> = e
        .slots
        .iter()
        .map(|s| (s.part, s.kind, s.value.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            (1, SlotKind::Service, "Postgres Main"),
            (3, SlotKind::Duration, "2.5s"),
            (5, SlotKind::Ip, "10.0.0.1:5432")
        ]
    );
    assert_eq!(explain(&t, "something else entirely", None), None);
}

#[test]
fn the_command_answers_each_valid_line_in_order_and_names_bad_lines() {
    let input = concat!(
        "{\"id\": 1, \"title\": \"High latency on kafka (p99 > 2s)\", \"service\": \"kafka\"}\n",
        "\n",
        "not json\n",
        "{\"id\": \"b\", \"title\": \"High latency on search (p99 > 2s)\", \"service\": \"search\", \"extra\": [1]}\n",
        "{\"id\": 2.5, \"title\": \"x\"}\n",
        "{\"id\": 3}\n",
        "{\"id\": 4, \"title\": \"Disk full\", \"service\": null}\n",
        "{\"id\": 5, \"title\": 7}\n",
    );
    let mut out = Vec::new();
    let mut err = Vec::new();
    let bad = run(input.as_bytes(), &mut out, &mut err).unwrap();
    assert_eq!(bad, 4);
    let err = String::from_utf8(err).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4);
    for (line, n) in lines.iter().zip([3, 5, 6, 8]) {
        assert!(line.starts_with(&format!("line {n}: ")), "{line}");
    }
    let out: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.len(), 3);
    assert_eq!(out[0]["id"], 1);
    assert_eq!(out[1]["id"], "b");
    assert_eq!(out[2]["id"], 4);
    assert_eq!(out[0]["cluster"], out[1]["cluster"]);
    assert_ne!(out[0]["cluster"], out[2]["cluster"]);
    assert_eq!(
        out[0]["template"],
        "High latency on <service> (p99 > <duration>)"
    );
    assert_eq!(out[2]["template"], "Disk full");
}

/// The partition and templates of a clustering, independent of the cluster numbering and item order:
/// each title's template text, keyed by the title and service.
fn answer(
    data: &[(String, Option<String>)],
    c: &insights_patterns::Clustering,
) -> Vec<(String, Option<String>, String)> {
    let mut v: Vec<_> = data
        .iter()
        .zip(&c.assignments)
        .map(|((t, s), &a)| (t.clone(), s.clone(), c.templates[a as usize].to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn clustering_is_deterministic_and_independent_of_input_order() {
    for seed in 1..=8_u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut data = titles(&mut rng, 400);
        let first = cluster(&items(&data));
        assert_eq!(
            first,
            cluster(&items(&data)),
            "seed {seed}: the same input twice"
        );
        let expected = answer(&data, &first);
        // Shuffle (Fisher–Yates) and reverse.
        for i in (1..data.len()).rev() {
            let j = rng.below(i + 1);
            data.swap(i, j);
        }
        let shuffled = cluster(&items(&data));
        assert_eq!(answer(&data, &shuffled), expected, "seed {seed}: shuffled");
        assert_eq!(
            shuffled.templates, first.templates,
            "seed {seed}: templates in canonical order"
        );
        data.reverse();
        assert_eq!(
            answer(&data, &cluster(&items(&data))),
            expected,
            "seed {seed}: reversed"
        );
    }
}

#[test]
fn every_title_is_explained_and_matched_by_its_template() {
    for seed in 1..=8_u64 {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let data = titles(&mut rng, 300);
        let c = cluster(&items(&data));
        let mut texts: Vec<String> = c.templates.iter().map(ToString::to_string).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(
            texts.len(),
            c.templates.len(),
            "seed {seed}: template texts are unique"
        );
        let mut m = Matcher::new();
        for (i, t) in c.templates.iter().enumerate() {
            assert_eq!(
                Template::parse(&t.to_string()).as_ref(),
                Ok(t),
                "seed {seed}: round trip of {t}"
            );
            m.insert(i, t.clone(), Origin::Mined);
        }
        for (((title, service), &a), &score) in data.iter().zip(&c.assignments).zip(&c.scores) {
            let t = &c.templates[a as usize];
            let e = explain(t, title, service.as_deref())
                .unwrap_or_else(|| panic!("seed {seed}: {title:?} not explained by {t}"));
            assert_eq!(e.score, score, "seed {seed}: {title:?} in {t}");
            assert_eq!(score, 1.0, "seed {seed}: {title:?} fits {t}");
            let best = m.best(title, service.as_deref()).expect("matched");
            let chosen = &c.templates[best.key];
            assert_eq!(
                explain(chosen, title, service.as_deref()).map(|e| e.score),
                Some(1.0),
                "seed {seed}: {title:?} matched to {chosen}, which does not fit it"
            );
        }
    }
}

#[test]
fn a_title_s_own_template_round_trips_and_matches_it() {
    let mut rng = Rng(77);
    for (title, service) in titles(&mut rng, 500) {
        let t = Template::of_title(&title, service.as_deref());
        assert_eq!(
            Template::parse(&t.to_string()).as_ref(),
            Ok(&t),
            "{title:?}"
        );
        let e = explain(&t, &title, service.as_deref()).expect("explained");
        assert_eq!(e.score, 1.0, "{title:?}");
        let mut m = Matcher::new();
        m.insert((), t, Origin::Rule);
        assert_eq!(
            m.best(&title, service.as_deref()).map(|b| b.score),
            Some(1.0)
        );
    }
}
