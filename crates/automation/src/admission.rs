//! Whether a run may start: the pure decision behind every admission, and the circuit breaker's transitions.
//!
//! The caller (`insights_core::automations::admission`) loads the automation's limits and breaker, counts the
//! usage under a lock on the automation, and records what [`decide`] says: a run, or a refused run with the
//! [`Refusal`]'s code and sentence. The checks, in order: the organization's kill switch, the automation being
//! disabled, its circuit breaker, its rate per hour, its cool-down for the incident, the rule's cap per hour.
//!
//! The breaker: closed while fewer than `breaker_threshold` runs in a row failed; then open (runs refused) for
//! `breaker_cooldown_secs`; then half-open: one trial run is admitted (the caller records it with
//! [`Breaker::trial_admitted`], which holds the breaker open for another cool-down so no second trial starts
//! meanwhile); the trial's success closes the breaker, its failure opens it again.

use chrono::{DateTime, Duration, Utc};
use insights_types::api::BreakerState;
use serde::{Deserialize, Serialize};

/// An automation's limits, as configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub enabled: bool,
    /// At most this many runs started per rolling hour.
    pub max_runs_per_hour: Option<i32>,
    /// At least this long between two runs for the same incident.
    pub cooldown_secs: Option<i32>,
    pub breaker_threshold: i32,
    pub breaker_cooldown_secs: i32,
    /// The rule's cap on runs per rolling hour (rule-triggered runs only).
    pub rule_cap: Option<i32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            enabled: true,
            max_runs_per_hour: None,
            cooldown_secs: None,
            breaker_threshold: 5,
            breaker_cooldown_secs: 300,
            rule_cap: None,
        }
    }
}

/// The circuit breaker's stored state (`automations.breaker_failures`, `breaker_opened_at`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaker {
    /// Failed runs in a row.
    pub failures: i32,
    /// When it (last) opened; none while closed.
    pub opened_at: Option<DateTime<Utc>>,
}

impl Breaker {
    /// Where the breaker stands at `now`, and when it lets a trial through (while open).
    #[must_use]
    pub fn state(
        &self,
        limits: &Limits,
        now: DateTime<Utc>,
    ) -> (BreakerState, Option<DateTime<Utc>>) {
        match self.opened_at {
            None => (BreakerState::Closed, None),
            Some(opened) => {
                let retry_at =
                    opened + Duration::seconds(i64::from(limits.breaker_cooldown_secs.max(1)));
                if now < retry_at {
                    (BreakerState::Open, Some(retry_at))
                } else {
                    (BreakerState::HalfOpen, Some(retry_at))
                }
            }
        }
    }

    /// The breaker after a trial run was admitted: open again for a cool-down, so one trial at a time.
    #[must_use]
    pub fn trial_admitted(self, now: DateTime<Utc>) -> Breaker {
        Breaker {
            failures: self.failures,
            opened_at: Some(now),
        }
    }

    /// The breaker after a run finished: success closes it; a failure counts, and opens it at the threshold
    /// (at once when it was a trial, i.e. the breaker was not closed).
    #[must_use]
    pub fn on_outcome(self, limits: &Limits, succeeded: bool, now: DateTime<Utc>) -> Breaker {
        if succeeded {
            return Breaker::default();
        }
        let failures = self.failures.saturating_add(1);
        let opens = self.opened_at.is_some() || failures >= limits.breaker_threshold.max(1);
        Breaker {
            failures,
            opened_at: if opens { Some(now) } else { None },
        }
    }
}

/// What is used, counted by the caller at the time of the decision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// The organization's kill switch is on.
    pub killed: bool,
    /// Runs of this automation started (admitted: queued, pending approval, running or finished) in the last
    /// hour; refused ones do not count.
    pub runs_last_hour: i64,
    /// The last admitted run of this automation for the same incident, if the run is about one.
    pub last_run_for_incident: Option<DateTime<Utc>>,
    /// Runs admitted for this rule in the last hour (rule-triggered runs).
    pub rule_runs_last_hour: i64,
    pub breaker: Breaker,
}

/// Why a run was refused: a stable code (stored, filtered on) and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
}

/// The stable codes of refusals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    KillSwitch,
    Disabled,
    BreakerOpen,
    RateLimited,
    Cooldown,
    RuleCap,
}

impl RefusalCode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::KillSwitch => "kill_switch",
            RefusalCode::Disabled => "disabled",
            RefusalCode::BreakerOpen => "breaker_open",
            RefusalCode::RateLimited => "rate_limited",
            RefusalCode::Cooldown => "cooldown",
            RefusalCode::RuleCap => "rule_cap",
        }
    }
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// The run may start; `trial`: it is the half-open breaker's trial (record [`Breaker::trial_admitted`]).
    Admit {
        trial: bool,
    },
    Refuse(Refusal),
}

impl Decision {
    #[must_use]
    pub fn is_admitted(&self) -> bool {
        matches!(self, Decision::Admit { .. })
    }
}

fn refuse(code: RefusalCode, message: String) -> Decision {
    Decision::Refuse(Refusal { code, message })
}

fn hhmm(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Decides whether a run may start at `now`.
#[must_use]
pub fn decide(limits: &Limits, usage: &Usage, now: DateTime<Utc>) -> Decision {
    if usage.killed {
        return refuse(
            RefusalCode::KillSwitch,
            "The organization's kill switch is on: no automation runs until an admin turns it off."
                .to_owned(),
        );
    }
    if !limits.enabled {
        return refuse(
            RefusalCode::Disabled,
            "The automation is disabled.".to_owned(),
        );
    }
    let (state, retry_at) = usage.breaker.state(limits, now);
    let trial = match state {
        BreakerState::Closed => false,
        BreakerState::Open => {
            return refuse(
                RefusalCode::BreakerOpen,
                format!(
                    "The circuit breaker is open after {} failed runs in a row: the next trial run is allowed \
                     at {}.",
                    usage.breaker.failures,
                    retry_at.map(hhmm).unwrap_or_default()
                ),
            );
        }
        BreakerState::HalfOpen => true,
    };
    if let Some(max) = limits.max_runs_per_hour
        && usage.runs_last_hour >= i64::from(max)
    {
        return refuse(
            RefusalCode::RateLimited,
            format!("The automation already started {max} runs in the last hour, its limit."),
        );
    }
    if let (Some(cooldown), Some(last)) = (limits.cooldown_secs, usage.last_run_for_incident) {
        let until = last + Duration::seconds(i64::from(cooldown));
        if now < until {
            return refuse(
                RefusalCode::Cooldown,
                format!(
                    "The automation ran for this incident at {}; its cool-down of {} allows the next run at {}.",
                    hhmm(last),
                    human_secs(cooldown),
                    hhmm(until)
                ),
            );
        }
    }
    if let Some(cap) = limits.rule_cap
        && usage.rule_runs_last_hour >= i64::from(cap)
    {
        return refuse(
            RefusalCode::RuleCap,
            format!("The rule already started {cap} runs in the last hour, its cap."),
        );
    }
    Decision::Admit { trial }
}

fn human_secs(secs: i32) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}
