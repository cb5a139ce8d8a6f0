//! The built-in sample source: a realistic incident history for an organization that has not connected
//! PagerDuty or Opsgenie yet — months of incidents over a dozen services and three teams, with recurring
//! patterns, incident storms, off-hours pages, and acknowledgement and resolution times shaped like real ones
//! (most fast, a long tail). It goes through the same pipeline as real sources. Deterministic for a seed, so
//! generating twice stores nothing twice.

use super::{NormalizedEvent, NormalizedIncident, SourceRef};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// (service, team, what usually goes wrong there).
const SERVICES: [(&str, &str, &[&str]); 12] = [
    (
        "checkout-api",
        "Payments",
        &[
            "High latency on checkout-api (p99 > 2s)",
            "checkout-api 5xx error rate above 5%",
        ],
    ),
    (
        "payments-gateway",
        "Payments",
        &[
            "Payment provider timeouts above 2%",
            "payments-gateway 5xx error rate above 5%",
        ],
    ),
    (
        "search",
        "Growth",
        &[
            "Search index lag above 10 minutes",
            "High latency on search (p99 > 1s)",
        ],
    ),
    (
        "auth",
        "Platform",
        &[
            "Login failures above baseline",
            "Certificate expiring in 7 days for auth.acme.io",
        ],
    ),
    (
        "inventory",
        "Payments",
        &[
            "Inventory sync job failed",
            "Queue depth above threshold: inventory-updates",
        ],
    ),
    (
        "notifications",
        "Growth",
        &[
            "Email bounce rate above 3%",
            "Queue depth above threshold: push-notifications",
        ],
    ),
    (
        "web-frontend",
        "Growth",
        &[
            "Frontend error rate above 1%",
            "CDN origin errors for www.acme.io",
        ],
    ),
    (
        "mobile-api",
        "Growth",
        &[
            "mobile-api 5xx error rate above 5%",
            "Pod CrashLoopBackOff: mobile-api",
        ],
    ),
    (
        "data-pipeline",
        "Platform",
        &[
            "Nightly ETL job failed",
            "Kafka consumer lag above 100k: events",
        ],
    ),
    (
        "postgres-primary",
        "Platform",
        &[
            "Replication lag on postgres-primary above 30s",
            "Disk usage above 90% on postgres-primary",
        ],
    ),
    (
        "redis-cache",
        "Platform",
        &[
            "Memory pressure on redis-cache",
            "Evictions on redis-cache above baseline",
        ],
    ),
    (
        "k8s-cluster",
        "Platform",
        &[
            "Node NotReady in prod-eu-1",
            "Disk usage above 90% on node pool general",
        ],
    ),
];

const RESPONDERS: [&str; 8] = [
    "Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances",
];

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// A duration in minutes from a log-normal-like distribution: usually near `median`, sometimes far above.
fn long_tail(rng: &mut StdRng, median: f64) -> Duration {
    let z: f64 = (0..6).map(|_| rng.random::<f64>()).sum::<f64>() - 3.0; // ~ normal(0, 0.7)
    let minutes = (median * (z * 1.1).exp()).clamp(0.5, 60.0 * 24.0 * 3.0);
    Duration::seconds((minutes * 60.0) as i64)
}

/// `days` of history ending at `now`, deterministic for `seed`.
#[must_use]
pub fn generate(seed: u64, now: DateTime<Utc>, days: u32) -> Vec<NormalizedIncident> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = (now - Duration::days(i64::from(days)))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let mut out = Vec::new();
    let mut number = 1000i64;
    for day in 0..i64::from(days) {
        let date = start + Duration::days(day);
        let weekend = date.weekday().number_from_monday() >= 6;
        // A quiet baseline with daily variation; deploy days (Tue–Thu) are busier.
        let mut count = rng.random_range(3..=9)
            + if (2..=4).contains(&date.weekday().number_from_monday()) {
                3
            } else {
                0
            };
        if weekend {
            count /= 2;
        }
        // About one storm a week: one service flaps many times within two hours.
        let storm = rng.random_bool(0.14).then(|| {
            (
                rng.random_range(0..SERVICES.len()),
                rng.random_range(0..22u32),
            )
        });
        let mut slots: Vec<(usize, DateTime<Utc>)> = Vec::new();
        for _ in 0..count {
            // Mostly working hours, a third at night or early morning.
            let hour = if rng.random_bool(0.33) {
                rng.random_range(0..8)
            } else {
                rng.random_range(8..24)
            };
            let at = date + Duration::hours(hour) + Duration::seconds(rng.random_range(0..3600));
            // A few services are much noisier than others.
            let svc = if rng.random_bool(0.45) {
                rng.random_range(0..3)
            } else {
                rng.random_range(0..SERVICES.len())
            };
            slots.push((svc, at));
        }
        if let Some((svc, hour)) = storm {
            for _ in 0..rng.random_range(8..25) {
                let at = date
                    + Duration::hours(i64::from(hour))
                    + Duration::seconds(rng.random_range(0..7200));
                slots.push((svc, at));
            }
        }
        slots.sort_by_key(|(_, at)| *at);
        for (svc, triggered_at) in slots {
            if triggered_at > now {
                continue;
            }
            let (service, team, titles) = SERVICES[svc];
            let title = titles[rng.random_range(0..titles.len())];
            let urgency = if title.contains("Certificate")
                || title.contains("Disk usage")
                || rng.random_bool(0.15)
            {
                Urgency::Low
            } else {
                Urgency::High
            };
            let night = triggered_at.hour() < 8;
            let ack_median = match (urgency, night) {
                (Urgency::High, false) => 3.0,
                (Urgency::High, true) => 7.0,
                (Urgency::Low, _) => 35.0,
            };
            let acknowledged_at = triggered_at + long_tail(&mut rng, ack_median);
            let resolved_at = acknowledged_at
                + long_tail(
                    &mut rng,
                    if urgency == Urgency::High {
                        28.0
                    } else {
                        180.0
                    },
                );
            let responder = RESPONDERS[rng.random_range(0..RESPONDERS.len())];
            // Noise as real pagers see it: about one alert in ten flaps — it resolves itself within minutes,
            // before anyone acknowledges it — and a few are never acknowledged, closed by their monitor hours
            // later. Drawn from the incident's number, so the random stream (and every other fact) stays as it was.
            let (acknowledged_at, resolved_at) =
                match (number as u64 + 1).wrapping_mul(2_654_435_761) % 100 {
                    n @ 0..=9 => (None, triggered_at + Duration::minutes(1 + (n % 4) as i64)),
                    n @ 10..=12 => (None, triggered_at + Duration::minutes(90 + 30 * n as i64)),
                    _ => (Some(acknowledged_at), resolved_at),
                };
            let (status, acknowledged_at, resolved_at) = if resolved_at <= now {
                (IncidentStatus::Resolved, acknowledged_at, Some(resolved_at))
            } else if let Some(at) = acknowledged_at.filter(|at| *at <= now) {
                (IncidentStatus::Acknowledged, Some(at), None)
            } else {
                (IncidentStatus::Triggered, None, None)
            };
            number += 1;
            let external_id = format!("S{number}");
            let mut timeline = vec![NormalizedEvent {
                external_id: "trigger".into(),
                kind: "trigger".into(),
                at: triggered_at,
                actor: Some(format!("{service} monitor")),
                message: Some(title.to_owned()),
                raw: serde_json::json!({}),
            }];
            if let Some(at) = acknowledged_at {
                timeline.push(NormalizedEvent {
                    external_id: "acknowledge".into(),
                    kind: "acknowledge".into(),
                    at,
                    actor: Some(responder.to_owned()),
                    message: None,
                    raw: serde_json::json!({}),
                });
            }
            if let Some(at) = resolved_at {
                timeline.push(NormalizedEvent {
                    external_id: "resolve".into(),
                    kind: "resolve".into(),
                    at,
                    actor: Some(if acknowledged_at.is_some() {
                        responder.to_owned()
                    } else {
                        format!("{service} monitor")
                    }),
                    message: Some(if acknowledged_at.is_some() {
                        format!("Resolved: {}", fix_for(title))
                    } else {
                        "Resolved by the monitor: the condition cleared".to_owned()
                    }),
                    raw: serde_json::json!({}),
                });
            }
            let last_change = resolved_at.or(acknowledged_at).unwrap_or(triggered_at);
            out.push(NormalizedIncident {
                source: IncidentSource::Sample,
                external_id: external_id.clone(),
                number: Some(number),
                title: title.to_owned(),
                description: Some(format!(
                    "Alert from the {service} monitors. Sample data generated by Incident Insights."
                )),
                service: Some(SourceRef {
                    external_id: slug(service),
                    name: service.to_owned(),
                }),
                team: Some(SourceRef {
                    external_id: slug(team),
                    name: team.to_owned(),
                }),
                urgency: Some(urgency),
                priority: Some(if urgency == Urgency::High {
                    "P2".into()
                } else {
                    "P4".into()
                }),
                status,
                triggered_at,
                acknowledged_at,
                resolved_at,
                assignees: vec![responder.to_owned()],
                tags: vec![slug(service), "sample".into()],
                source_url: None,
                source_updated_at: last_change,
                raw: serde_json::json!({ "generator": "sample", "seed": seed, "number": number }),
                timeline,
            });
        }
    }
    out
}

/// What usually fixed it, for the resolve note (and, later, for runbook retrieval).
fn fix_for(title: &str) -> &'static str {
    if title.contains("Disk usage") {
        "rotated logs and extended the volume"
    } else if title.contains("latency") || title.contains("5xx") {
        "rolled back the last deploy"
    } else if title.contains("Certificate") {
        "renewed the certificate"
    } else if title.contains("lag") || title.contains("Queue depth") {
        "scaled out the consumers"
    } else if title.contains("CrashLoopBackOff") || title.contains("NotReady") {
        "cordoned the node and rescheduled the pods"
    } else {
        "restarted the job after fixing its input"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn history() -> Vec<NormalizedIncident> {
        generate(7, Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap(), 120)
    }

    #[test]
    fn the_same_seed_gives_the_same_history() {
        let (a, b) = (history(), history());
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.external_id == y.external_id && x.triggered_at == y.triggered_at)
        );
    }

    #[test]
    fn months_of_history_over_a_dozen_services_with_realistic_shape() {
        let h = history();
        assert!(
            (600..2000).contains(&h.len()),
            "{} incidents in 120 days",
            h.len()
        );
        let services: std::collections::HashSet<_> =
            h.iter().map(|i| i.service.clone().unwrap().name).collect();
        assert_eq!(services.len(), 12);
        let night = h.iter().filter(|i| i.triggered_at.hour() < 8).count() as f64 / h.len() as f64;
        assert!((0.2..0.45).contains(&night), "off-hours share {night}");
        // Acknowledgement: high-urgency pages mostly within minutes, with a tail.
        let mut mtta: Vec<i64> = h
            .iter()
            .filter(|i| i.urgency == Some(Urgency::High))
            .filter_map(|i| Some((i.acknowledged_at? - i.triggered_at).num_seconds()))
            .collect();
        mtta.sort_unstable();
        let median = mtta[mtta.len() / 2];
        assert!((120..600).contains(&median), "median MTTA {median}s");
        assert!(*mtta.last().unwrap() > 3 * median, "a long tail");
        // Noise: some incidents resolve themselves without an acknowledgement.
        let unacknowledged = h
            .iter()
            .filter(|i| i.resolved_at.is_some() && i.acknowledged_at.is_none())
            .count() as f64
            / h.len() as f64;
        assert!(
            (0.05..0.25).contains(&unacknowledged),
            "unacknowledged share {unacknowledged}"
        );
        // Timelines are ordered, and an acknowledgement comes before the resolution.
        for i in &h {
            assert!(i.timeline.windows(2).all(|w| w[0].at <= w[1].at));
            if let (Some(a), Some(r)) = (i.acknowledged_at, i.resolved_at) {
                assert!(a <= r && i.triggered_at <= a);
            }
        }
        // Storms: some day has a service paging ten times or more.
        let mut per_day_service = std::collections::HashMap::new();
        for i in &h {
            *per_day_service
                .entry((i.triggered_at.date_naive(), i.service.clone().unwrap().name))
                .or_insert(0) += 1;
        }
        assert!(per_day_service.values().any(|n| *n >= 10));
    }
}
