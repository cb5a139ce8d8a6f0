//! The runbooks that come with the sample history: one per recurring problem of the sample services, in
//! Markdown as a team would write them (imported by `insights_core::runbooks::sample`), so a new organization
//! sees search and drafts work on runbooks without writing any.

/// One sample runbook: its file name, its Markdown, and the sample services it is for.
#[derive(Debug, Clone, Copy)]
pub struct SampleRunbook {
    pub file: &'static str,
    pub markdown: &'static str,
    pub services: &'static [&'static str],
}

/// Every sample runbook.
pub const RUNBOOKS: &[SampleRunbook] = &[
    SampleRunbook {
        file: "replication-lag.md",
        markdown: include_str!("../sample-runbooks/replication-lag.md"),
        services: &["postgres-primary"],
    },
    SampleRunbook {
        file: "disk-usage.md",
        markdown: include_str!("../sample-runbooks/disk-usage.md"),
        services: &["postgres-primary", "k8s-cluster"],
    },
    SampleRunbook {
        file: "certificate-expiring.md",
        markdown: include_str!("../sample-runbooks/certificate-expiring.md"),
        services: &["auth"],
    },
    SampleRunbook {
        file: "consumer-lag.md",
        markdown: include_str!("../sample-runbooks/consumer-lag.md"),
        services: &["data-pipeline", "inventory", "notifications", "search"],
    },
    SampleRunbook {
        file: "crashloop.md",
        markdown: include_str!("../sample-runbooks/crashloop.md"),
        services: &["mobile-api"],
    },
    SampleRunbook {
        file: "node-notready.md",
        markdown: include_str!("../sample-runbooks/node-notready.md"),
        services: &["k8s-cluster"],
    },
    SampleRunbook {
        file: "redis-memory.md",
        markdown: include_str!("../sample-runbooks/redis-memory.md"),
        services: &["redis-cache"],
    },
    SampleRunbook {
        file: "latency-after-deploy.md",
        markdown: include_str!("../sample-runbooks/latency-after-deploy.md"),
        services: &[
            "checkout-api",
            "mobile-api",
            "payments-gateway",
            "web-frontend",
        ],
    },
    SampleRunbook {
        file: "payment-provider-timeouts.md",
        markdown: include_str!("../sample-runbooks/payment-provider-timeouts.md"),
        services: &["payments-gateway"],
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_sample_runbook_is_for_services_of_the_sample_history() {
        let names = crate::sample::service_names();
        for r in super::RUNBOOKS {
            assert!(r.markdown.starts_with("# "), "{} has a title", r.file);
            for s in r.services {
                assert!(names.contains(s), "{}: {s} is not a sample service", r.file);
            }
        }
    }
}
