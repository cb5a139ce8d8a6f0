//! The admission decision and the circuit breaker.

use chrono::{DateTime, Duration, TimeZone, Utc};
use insights_automation::admission::{Breaker, Decision, Limits, RefusalCode, Usage, decide};
use insights_types::api::BreakerState;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap()
}

fn limits() -> Limits {
    Limits {
        enabled: true,
        max_runs_per_hour: Some(10),
        cooldown_secs: Some(600),
        breaker_threshold: 3,
        breaker_cooldown_secs: 300,
        rule_cap: Some(5),
    }
}

fn refusal(d: Decision) -> RefusalCode {
    match d {
        Decision::Refuse(r) => {
            assert!(!r.message.is_empty() && r.message.ends_with('.'), "{}", r.message);
            r.code
        }
        Decision::Admit { .. } => panic!("admitted"),
    }
}

#[test]
fn a_run_within_every_limit_is_admitted() {
    assert_eq!(decide(&limits(), &Usage::default(), now()), Decision::Admit { trial: false });
    let busy = Usage {
        runs_last_hour: 9,
        last_run_for_incident: Some(now() - Duration::seconds(600)),
        rule_runs_last_hour: 4,
        ..Default::default()
    };
    assert_eq!(decide(&limits(), &busy, now()), Decision::Admit { trial: false });
    // No limits set: anything goes.
    let none = Limits { max_runs_per_hour: None, cooldown_secs: None, rule_cap: None, ..limits() };
    let heavy = Usage { runs_last_hour: 1_000_000, last_run_for_incident: Some(now()), rule_runs_last_hour: 1_000, ..Default::default() };
    assert!(decide(&none, &heavy, now()).is_admitted());
}

#[test]
fn the_kill_switch_refuses_first() {
    let u = Usage { killed: true, runs_last_hour: 100, ..Default::default() };
    let disabled = Limits { enabled: false, ..limits() };
    assert_eq!(refusal(decide(&disabled, &u, now())), RefusalCode::KillSwitch);
}

#[test]
fn a_disabled_automation_is_refused() {
    let disabled = Limits { enabled: false, ..limits() };
    assert_eq!(refusal(decide(&disabled, &Usage::default(), now())), RefusalCode::Disabled);
}

#[test]
fn the_rate_per_hour_is_a_hard_limit() {
    let u = Usage { runs_last_hour: 10, ..Default::default() };
    assert_eq!(refusal(decide(&limits(), &u, now())), RefusalCode::RateLimited);
}

#[test]
fn the_cool_down_applies_per_incident() {
    let u = Usage { last_run_for_incident: Some(now() - Duration::seconds(599)), ..Default::default() };
    let d = decide(&limits(), &u, now());
    match &d {
        Decision::Refuse(r) => assert!(r.message.contains("10 min"), "{}", r.message),
        Decision::Admit { .. } => panic!("admitted"),
    }
    assert_eq!(refusal(d), RefusalCode::Cooldown);
}

#[test]
fn the_rule_cap_limits_runs_started_by_a_rule() {
    let u = Usage { rule_runs_last_hour: 5, ..Default::default() };
    assert_eq!(refusal(decide(&limits(), &u, now())), RefusalCode::RuleCap);
    assert_eq!(RefusalCode::RuleCap.as_str(), "rule_cap");
}

#[test]
fn refusal_codes_are_stable() {
    let codes = [
        (RefusalCode::KillSwitch, "kill_switch"),
        (RefusalCode::Disabled, "disabled"),
        (RefusalCode::BreakerOpen, "breaker_open"),
        (RefusalCode::RateLimited, "rate_limited"),
        (RefusalCode::Cooldown, "cooldown"),
        (RefusalCode::RuleCap, "rule_cap"),
    ];
    for (code, s) in codes {
        assert_eq!(code.as_str(), s);
        assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(s));
    }
}

#[test]
fn the_breaker_opens_after_the_threshold_of_failures_in_a_row() {
    let l = limits();
    let mut b = Breaker::default();
    b = b.on_outcome(&l, false, now());
    b = b.on_outcome(&l, false, now());
    assert_eq!(b.state(&l, now()).0, BreakerState::Closed);
    // A success in between resets the count.
    let reset = b.on_outcome(&l, true, now());
    assert_eq!(reset, Breaker::default());
    b = b.on_outcome(&l, false, now());
    assert_eq!(b.failures, 3);
    let (state, retry_at) = b.state(&l, now());
    assert_eq!(state, BreakerState::Open);
    assert_eq!(retry_at, Some(now() + Duration::seconds(300)));
    let u = Usage { breaker: b, ..Default::default() };
    let d = decide(&l, &u, now() + Duration::seconds(299));
    match &d {
        Decision::Refuse(r) => assert!(r.message.contains("3 failed runs") && r.message.contains("12:05:00"), "{}", r.message),
        Decision::Admit { .. } => panic!("admitted while open"),
    }
    assert_eq!(refusal(d), RefusalCode::BreakerOpen);
}

#[test]
fn the_half_open_breaker_lets_one_trial_through_and_closes_or_opens_on_its_outcome() {
    let l = limits();
    let opened = Breaker { failures: 3, opened_at: Some(now()) };
    let later = now() + Duration::seconds(300);
    assert_eq!(opened.state(&l, later).0, BreakerState::HalfOpen);
    let u = Usage { breaker: opened, ..Default::default() };
    assert_eq!(decide(&l, &u, later), Decision::Admit { trial: true });

    // While the trial runs, no second trial.
    let during = opened.trial_admitted(later);
    let u2 = Usage { breaker: during, ..Default::default() };
    assert_eq!(refusal(decide(&l, &u2, later + Duration::seconds(1))), RefusalCode::BreakerOpen);

    // The trial succeeds: closed.
    let closed = during.on_outcome(&l, true, later + Duration::seconds(2));
    assert_eq!(closed.state(&l, later).0, BreakerState::Closed);
    assert!(decide(&l, &Usage { breaker: closed, ..Default::default() }, later).is_admitted());

    // The trial fails: open again at once (not after another threshold of failures), for a new cool-down.
    let failed_at = later + Duration::seconds(2);
    let reopened = during.on_outcome(&l, false, failed_at);
    assert_eq!(reopened.state(&l, failed_at).0, BreakerState::Open);
    assert_eq!(reopened.state(&l, failed_at).1, Some(failed_at + Duration::seconds(300)));
}

#[test]
fn the_breaker_is_checked_before_the_rate() {
    let l = limits();
    let u = Usage { runs_last_hour: 100, breaker: Breaker { failures: 3, opened_at: Some(now()) }, ..Default::default() };
    assert_eq!(refusal(decide(&l, &u, now())), RefusalCode::BreakerOpen);
}
