//! The built-in sample source: a realistic incident history for an organization that has not connected
//! PagerDuty or Opsgenie yet — months of incidents over a dozen services and three teams, with recurring
//! patterns (titles whose values vary as real monitors' do, and a cascade: replication lag on the primary
//! database often followed by checkout latency), incident storms, off-hours pages, and acknowledgement and
//! resolution times shaped like real ones (most fast, a long tail). It goes through the same pipeline as
//! real sources. Deterministic for a seed, so generating twice stores nothing twice.

use super::{NormalizedEvent, NormalizedIncident, SourceRef};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use insights_types::api::{IncidentSource, IncidentStatus, Urgency};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// (service, team, what usually goes wrong there): title templates whose `{…}` values vary per incident
/// (see [`fill`]), as real monitors' titles do.
const SERVICES: [(&str, &str, &[&str]); 12] = [
    (
        "checkout-api",
        "Payments",
        &[
            "High latency on checkout-api (p99 > {s}s)",
            "checkout-api 5xx error rate above {pct}%",
        ],
    ),
    (
        "payments-gateway",
        "Payments",
        &[
            "Payment provider timeouts above {pct}%",
            "payments-gateway 5xx error rate above {pct}%",
        ],
    ),
    (
        "search",
        "Growth",
        &[
            "Search index lag above {min} minutes",
            "High latency on search (p99 > {s}s)",
        ],
    ),
    (
        "auth",
        "Platform",
        &[
            "Login failures above baseline ({count} in 5m)",
            "Certificate expiring in {days} days for auth.acme.io",
        ],
    ),
    (
        "inventory",
        "Payments",
        &[
            "Inventory sync job failed (run {run})",
            "Queue depth above threshold: inventory-updates ({depth} messages)",
        ],
    ),
    (
        "notifications",
        "Growth",
        &[
            "Email bounce rate above {pct}%",
            "Queue depth above threshold: {queue}",
        ],
    ),
    (
        "web-frontend",
        "Growth",
        &[
            "Frontend error rate above {pct}%",
            "CDN origin errors for www.acme.io",
        ],
    ),
    (
        "mobile-api",
        "Growth",
        &[
            "mobile-api 5xx error rate above {pct}%",
            "Pod CrashLoopBackOff: {pod}",
        ],
    ),
    (
        "data-pipeline",
        "Platform",
        &[
            "Nightly ETL job failed",
            "Kafka consumer lag above {k}k: {topic}",
        ],
    ),
    (
        "postgres-primary",
        "Platform",
        &[
            "Replication lag on postgres-primary above {lag}s",
            "Disk usage above {disk}% on postgres-primary",
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
            "Node NotReady in prod-eu-1: {node}",
            "Disk usage above {disk}% on {node}",
        ],
    ),
];

/// The names of the sample services.
#[must_use]
pub fn service_names() -> Vec<&'static str> {
    SERVICES.iter().map(|(name, _, _)| *name).collect()
}

/// Indices into [`SERVICES`] of the cascade: replication lag on the primary, then checkout latency.
const POSTGRES: usize = 9;
const CHECKOUT: usize = 0;
/// How often replication lag on the primary is followed by checkout latency.
const CASCADE_SHARE: f64 = 0.4;

/// SplitMix64 of `a` and `b`: a well-mixed value for each (incident number, placeholder).
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A title from `template`: each `{name}` gets a value that varies from incident to incident (thresholds,
/// percentages, pod and node names with hashes, queue names), drawn from the incident's number, so the
/// history stays deterministic.
fn fill(template: &str, number: i64) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    let mut k = 0u64;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("a placeholder ends");
        k += 1;
        let h = mix(number as u64, k);
        let pick = |values: &[&str]| values[(h % values.len() as u64) as usize].to_owned();
        let value = match &rest[open + 1..close] {
            "s" => pick(&["1", "2", "2", "3", "5"]),
            "pct" => pick(&["2", "3", "5", "5", "10"]),
            "disk" => (85 + h % 14).to_string(),
            "min" => pick(&["10", "15", "30"]),
            "count" => (20 + h % 400).to_string(),
            "days" => pick(&["30", "14", "7", "3", "1"]),
            "run" => format!("#{}", 4000 + number),
            "depth" => ((1 + h % 50) * 1000).to_string(),
            "queue" => pick(&[
                "push-notifications",
                "push-notifications",
                "sms-outbox",
                "email-digest",
            ]),
            "pod" => format!("mobile-api-{:08x}-{:05x}", (h >> 32) as u32, h & 0xf_ffff),
            "k" => pick(&["100", "250", "500"]),
            "topic" => pick(&["events", "events", "clickstream", "orders"]),
            "lag" => (30 + h % 270).to_string(),
            "node" => format!(
                "ip-10-0-{}-{}.eu-west-1.compute.internal",
                h % 64,
                (h >> 8) % 255
            ),
            other => unreachable!("no values for {{{other}}}"),
        };
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

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
            let titles = SERVICES[svc].2;
            let template = titles[rng.random_range(0..titles.len())];
            number += 1;
            let title = fill(template, number);
            let cascade = svc == POSTGRES && template.starts_with("Replication lag");
            out.push(incident(
                &mut rng,
                seed,
                now,
                number,
                svc,
                title,
                triggered_at,
            ));
            // Replication lag on the primary slows checkout down a minute or three later, some of the time:
            // drawn from a stream of its own, so the main one (every other incident) stays as it was.
            let mut own = StdRng::seed_from_u64(mix(seed, number as u64));
            if cascade && own.random_bool(CASCADE_SHARE) {
                let at = triggered_at + Duration::seconds(own.random_range(60..=180));
                if at <= now {
                    number += 1;
                    let title = fill(SERVICES[CHECKOUT].2[0], number);
                    out.push(incident(&mut own, seed, now, number, CHECKOUT, title, at));
                }
            }
        }
    }
    out
}

/// Incident `number` of `service` (an index into [`SERVICES`]), with its times, responder and timeline drawn
/// from `rng`.
fn incident(
    rng: &mut StdRng,
    seed: u64,
    now: DateTime<Utc>,
    number: i64,
    svc: usize,
    title: String,
    triggered_at: DateTime<Utc>,
) -> NormalizedIncident {
    let (service, team, _) = SERVICES[svc];
    let urgency =
        if title.contains("Certificate") || title.contains("Disk usage") || rng.random_bool(0.15) {
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
    let acknowledged_at = triggered_at + long_tail(rng, ack_median);
    let resolved_at = acknowledged_at
        + long_tail(
            rng,
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
    let (acknowledged_at, resolved_at) = match (number as u64).wrapping_mul(2_654_435_761) % 100 {
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
    let external_id = format!("S{number}");
    let mut timeline = vec![NormalizedEvent {
        external_id: "trigger".into(),
        kind: "trigger".into(),
        at: triggered_at,
        actor: Some(format!("{service} monitor")),
        message: Some(title.clone()),
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
    let problem = problem_of(&title);
    // Some responders wrote down what they checked before fixing it.
    if let (Some(ack), Some(res)) = (acknowledged_at, resolved_at)
        && number % 3 == 0
    {
        timeline.push(NormalizedEvent {
            external_id: "note".into(),
            kind: "note".into(),
            at: ack + (res - ack) / 2,
            actor: Some(responder.to_owned()),
            message: Some(pick(problem.checks, number / 3).to_owned()),
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
                pick(problem.fixes, number).to_owned()
            } else {
                "Resolved by the monitor: the condition cleared".to_owned()
            }),
            raw: serde_json::json!({}),
        });
    }
    let last_change = resolved_at.or(acknowledged_at).unwrap_or(triggered_at);
    NormalizedIncident {
        source: IncidentSource::Sample,
        external_id: external_id.clone(),
        number: Some(number),
        title,
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
    }
}

/// One of `items`, chosen by `n` (the incident's number: the random stream stays as it was).
fn pick(items: &[&'static str], n: i64) -> &'static str {
    items[(n.unsigned_abs().wrapping_mul(2_654_435_761) >> 7) as usize % items.len()]
}

/// The kind of problem an alert title is about: what its resolution notes and the checks noted on its
/// timeline say (see [`PROBLEMS`]).
fn problem_of(title: &str) -> &'static Problem {
    PROBLEMS
        .iter()
        .find(|p| p.matches.iter().any(|m| title.contains(m)))
        .unwrap_or(&PROBLEMS[PROBLEMS.len() - 1])
}

/// One kind of problem of the sample services: the title fragments that identify it, several ways responders
/// wrote down what fixed it (the resolve note), and what they checked first (a timeline note on some
/// incidents). Each note fits its problem, so the past fixes retrieved for an incident are the ones that fixed
/// its kind of problem.
struct Problem {
    matches: &'static [&'static str],
    fixes: &'static [&'static str],
    checks: &'static [&'static str],
}

/// The problems, most specific first (the last one is the fallback).
const PROBLEMS: &[Problem] = &[
    Problem {
        matches: &["Replication lag"],
        fixes: &[
            "Terminated the long-running analytics query on replica-2 that was holding back WAL replay; lag back under 2s.",
            "Replica was replaying a huge batch from the nightly backfill. Paused the backfill, lag recovered, resumed it throttled.",
            "Killed idle-in-transaction sessions on the replica (pg_terminate_backend) and the replica caught up within minutes.",
            "Replication slot was stuck after a network blip; restarted the walreceiver on the replica (rollout restart of postgres-replica).",
        ],
        checks: &[
            "Checked pg_stat_replication on the primary: replay_lag climbing on replica-2 only, write_lag fine.",
            "pg_stat_activity on the replica shows a query running for 40 min from the reporting user.",
        ],
    },
    Problem {
        matches: &["Disk usage above"],
        fixes: &[
            "Rotated and compressed the logs under /var/log, removed old archives; disk back to 62%.",
            "Extended the volume by 100G (aws ec2 modify-volume) and grew the filesystem with resize2fs.",
            "Old WAL files piled up behind an inactive replication slot; dropped the slot and the WAL was recycled.",
            "Cleaned up the docker image cache on the node (docker system prune) and cordoned it until the volume was resized.",
        ],
        checks: &[
            "du -sh /var/log/* shows 180G of uncompressed application logs from the last week.",
            "df -h: /var/lib/postgresql at 93%, pg_wal is the largest directory.",
        ],
    },
    Problem {
        matches: &["Certificate expiring"],
        fixes: &[
            "Renewed the certificate with certbot and reloaded nginx; new expiry in 90 days.",
            "cert-manager renewal had failed on a DNS challenge; fixed the DNS credentials and the certificate was reissued.",
            "Renewed the cert for auth.acme.io manually and rolled the ingress so it picked up the new secret.",
        ],
        checks: &[
            "openssl s_client against auth.acme.io:443 confirms the old certificate is still served.",
            "kubectl describe certificate auth-tls: last renewal attempt failed (ACME challenge timeout).",
        ],
    },
    Problem {
        matches: &[
            "Kafka consumer lag",
            "Queue depth above threshold",
            "Search index lag",
        ],
        fixes: &[
            "Scaled the consumer deployment from 4 to 12 replicas; backlog drained in 20 minutes, scaled back down after.",
            "One consumer was stuck on a poison message; moved it to the dead-letter queue and restarted the consumer group.",
            "Consumers were throttled by a slow downstream API; raised the consumer concurrency and the queue drained.",
            "Rebalanced the partitions across consumers after a consumer pod was OOM-killed; lag back to zero.",
        ],
        checks: &[
            "kafka-consumer-groups --describe shows lag on partitions 3 and 7 only; their consumer is not committing.",
            "Queue metrics: publish rate normal, consume rate dropped to near zero at 02:10.",
        ],
    },
    Problem {
        matches: &["CrashLoopBackOff"],
        fixes: &[
            "Pod was OOM-killed after the last release; raised the memory limit to 1Gi and rolled the deployment.",
            "Bad config in the new ConfigMap made the pod exit on start; rolled back the deployment (kubectl rollout undo).",
            "A missing secret after the rotation crashed the app on boot; recreated the secret and restarted the pods.",
        ],
        checks: &[
            "kubectl logs --previous shows the app exiting with an OOM; the container hit its 512Mi limit.",
            "kubectl describe pod: Back-off restarting failed container, exit code 1 right after start.",
        ],
    },
    Problem {
        matches: &["NotReady"],
        fixes: &[
            "Node ran out of memory and the kubelet stopped reporting; cordoned and drained it, replaced the instance.",
            "kubelet was wedged after a kernel soft lockup; rebooted the node after draining it, pods rescheduled fine.",
            "Cordoned the node and rescheduled the pods elsewhere; the autoscaler replaced the bad instance.",
        ],
        checks: &[
            "kubectl describe node: Ready=Unknown, kubelet stopped posting node status 6 minutes ago.",
            "The instance is reachable over SSM but the container runtime is hung.",
        ],
    },
    Problem {
        matches: &["Memory pressure on redis", "Evictions on redis"],
        fixes: &[
            "A deploy stopped setting TTLs on session keys; set maxmemory-policy to allkeys-lru and backfilled TTLs.",
            "Scaled redis-cache to the next node size and raised maxmemory; evictions stopped.",
            "Found a hot key set growing without bound from the recommendations job; expired the keys and fixed the job.",
        ],
        checks: &[
            "redis-cli INFO memory: used_memory at 98% of maxmemory, evicted_keys climbing.",
            "redis-cli --bigkeys points at rec:* sets of several MB each.",
        ],
    },
    Problem {
        matches: &["Payment provider timeouts"],
        fixes: &[
            "The provider had a regional outage; failed over to the secondary payment provider until they recovered.",
            "Connection pool to the provider was exhausted; raised the pool size and shortened the timeout, retries cleared.",
            "Provider status page confirmed degraded API; enabled the queued-capture fallback and replayed after recovery.",
        ],
        checks: &[
            "p99 of calls to the provider at 9s; our side is healthy, errors all timeouts on their endpoint.",
        ],
    },
    Problem {
        matches: &["High latency", "5xx error rate", "Frontend error rate"],
        fixes: &[
            "Latency and errors started with the 14:02 deploy; rolled back the release (kubectl rollout undo) and it recovered.",
            "Rolled back the last deploy; the new version had an N+1 query on the cart endpoint.",
            "A slow query after the release saturated the DB pool; rolled back and added the missing index before redeploying.",
            "Upstream dependency was slow; scaled the deployment out and enabled the circuit breaker, error rate back to baseline.",
        ],
        checks: &[
            "Error rate jumped right after the deploy at 14:02; the previous version looked fine in the dashboards.",
            "Traces show time spent waiting on database connections, pool at its maximum.",
        ],
    },
    Problem {
        matches: &["CDN origin errors"],
        fixes: &[
            "Origin health check path was returning 500 after a deploy; fixed the route and purged the CDN cache.",
            "Origin was overloaded by cache misses after a purge; scaled the origin and the errors cleared.",
        ],
        checks: &[
            "CDN logs show 502 from origin for /static only; origin serves them fine from inside the VPC.",
        ],
    },
    Problem {
        matches: &["Login failures"],
        fixes: &[
            "Credential-stuffing from a handful of ASNs; blocked them at the WAF and tightened the login rate limit.",
            "The identity provider's signing key rotated; refreshed the JWKS cache and logins recovered.",
        ],
        checks: &[
            "Failures are all from a few IP ranges with no successful logins: a credential-stuffing pattern.",
        ],
    },
    Problem {
        matches: &["Email bounce rate"],
        fixes: &[
            "A marketing list with stale addresses was sent through the transactional domain; paused the campaign.",
            "SPF record lost an include after a DNS change; restored it and bounces dropped.",
        ],
        checks: &["Bounces are mostly 550 from one provider citing SPF failure."],
    },
    Problem {
        matches: &["ETL job failed", "sync job failed"],
        fixes: &[
            "The upstream export arrived late and incomplete; re-ran the job after the file landed.",
            "A schema change upstream added a column; updated the mapping and re-ran the job from the failed step.",
            "Restarted the job after fixing its input: one malformed record was skipped to the quarantine table.",
        ],
        checks: &["Job log: failed parsing row 48213, unexpected column count."],
    },
];

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
    fn titles_vary_like_real_alerts_and_replication_lag_is_often_followed_by_checkout_latency() {
        let h = history();
        assert!(h.iter().all(|i| !i.title.contains(['{', '}'])));
        let distinct: std::collections::HashSet<_> = h.iter().map(|i| i.title.as_str()).collect();
        assert!(distinct.len() > 150, "{} distinct titles", distinct.len());
        let lags: Vec<_> = h
            .iter()
            .filter(|i| {
                i.title
                    .starts_with("Replication lag on postgres-primary above")
            })
            .collect();
        let followed = lags
            .iter()
            .filter(|lag| {
                h.iter().any(|i| {
                    i.title.starts_with("High latency on checkout-api (p99 > ")
                        && (60..=180).contains(&(i.triggered_at - lag.triggered_at).num_seconds())
                })
            })
            .count();
        assert!(
            followed >= 3 && followed < lags.len(),
            "{followed} of {} replication lags followed by checkout latency",
            lags.len()
        );
    }

    #[test]
    fn resolution_notes_fit_their_problem_and_vary() {
        let h = history();
        let notes_of = |prefix: &str| -> Vec<String> {
            h.iter()
                .filter(|i| i.title.starts_with(prefix))
                .flat_map(|i| i.timeline.iter())
                .filter(|e| {
                    e.kind == "resolve"
                        && e.actor.as_deref().is_some_and(|a| !a.ends_with("monitor"))
                })
                .filter_map(|e| e.message.clone())
                .collect()
        };
        let lag = notes_of("Replication lag on postgres-primary");
        assert!(lag.len() >= 5);
        // A replication-lag incident never ends with another problem's fix.
        assert!(
            lag.iter()
                .all(|n| !n.contains("consumer") && !n.contains("certificate")),
            "{lag:?}"
        );
        let distinct: std::collections::HashSet<_> = lag.iter().collect();
        assert!(distinct.len() >= 3, "varied wording: {distinct:?}");
        let kafka = notes_of("Kafka consumer lag");
        assert!(
            kafka
                .iter()
                .all(|n| n.contains("consumer") || n.contains("partition") || n.contains("queue")),
            "{kafka:?}"
        );
        let certs = notes_of("Certificate expiring");
        assert!(
            certs.iter().all(|n| n.to_lowercase().contains("cert")),
            "{certs:?}"
        );
        // Every problem of every sample service has notes of its own, not the fallback's.
        for (_, _, titles) in SERVICES {
            for t in titles.iter() {
                let p = problem_of(&fill(t, 7));
                let fallback = std::ptr::eq(p, &PROBLEMS[PROBLEMS.len() - 1]);
                assert!(
                    !fallback || t.contains("job failed"),
                    "{t} has no notes of its own"
                );
            }
        }
        // Some incidents note what was checked before the fix.
        assert!(
            h.iter()
                .any(|i| i.timeline.iter().any(|e| e.kind == "note"))
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
