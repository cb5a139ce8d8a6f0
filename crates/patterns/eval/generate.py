#!/usr/bin/env python3
"""Writes incidents.jsonl, the labelled evaluation set of incident titles (see README.md beside this file).

Every group below is hand-written: the alert rule or recurring problem, the title form(s) the tool that raises
it writes, and how many incidents of it the set holds. Only the variable values (hosts, pods, services,
numbers, regions…) are drawn, from realistic pools, with a fixed seed, so the file is reproducible:

    python3 crates/patterns/eval/generate.py > crates/patterns/eval/incidents.jsonl

A group is "the same recurring problem an on-call engineer would call the same": one alert rule firing on
different hosts, services or values is one group; different rules that share words are different groups.
"""
import json
import random
import string
import sys

r = random.Random(20261129)


def pick(xs):
    return r.choice(xs)


def hexs(n):
    return "".join(r.choice("0123456789abcdef") for _ in range(n))


def alnum(n):
    return "".join(r.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def num(lo, hi):
    return r.randint(lo, hi)


def pct(lo, hi, decimals=None):
    d = pick([0, 1, 1, 2]) if decimals is None else decimals
    return f"{r.uniform(lo, hi):.{d}f}%"


# ---------------------------------------------------------------------------------------------- value pools
SERVICES = [
    "checkout", "payments-api", "orders", "search", "auth", "billing-worker", "inventory", "notifications",
    "user-profile", "gateway", "recommendations", "shipping", "catalog", "webhooks", "reporting",
]
APPS = [  # display names, several words
    "Checkout API", "Orders Service", "Storefront Web", "Mobile Backend", "Payments Gateway", "Search",
    "Partner API (EU)", "Admin Console", "Customer Portal",
]
ENVS = ["prod", "prod", "prod", "staging"]
REGIONS = [  # as CloudWatch writes them
    "US East (N. Virginia)", "US West (Oregon)", "EU (Ireland)", "EU (Frankfurt)", "Asia Pacific (Tokyo)",
    "Asia Pacific (Sydney)", "South America (Sao Paulo)",
]
NAMESPACES = ["prod", "payments", "checkout", "monitoring", "kube-system", "data", "ingress-nginx"]
DATABASES = ["orders-db", "pg-main", "billing-db", "users-pg", "analytics-replica", "inventory-db"]
TABLES = ["orders", "order_items", "invoices", "sessions", "stock_levels", "payments"]
KAFKA_GROUPS = [
    "order-events-consumer", "payments-ledger", "search-indexer", "email-sender", "fraud-scoring",
    "analytics-sink", "inventory-sync",
]
TOPICS = ["orders.v1", "payments.completed", "user-events", "inventory-updates", "clickstream", "audit-log"]
QUEUES = ["order-processing", "email-outbound", "image-resize", "invoice-generation", "webhook-delivery"]
VHOSTS = ["/", "prod", "billing"]
DOMAINS = [
    "api.acme.io", "checkout.acme.io", "www.acme.com", "status.acme.com", "partners.acme.io",
    "auth.acme.io", "cdn.acme-static.net", "grafana.internal.acme.io", "eu.api.acme.io",
]
URL_PATHS = ["/health", "/healthz", "/v1/status", "/api/ping", "/", "/login", "/checkout/cart"]
REDIS = ["redis-cache-01", "sessions-redis", "ratelimit-redis", "cache-prod"]
ES_CLUSTERS = ["logs-prod", "search-prod", "search-eu", "audit-es"]
CRON_JOBS = [
    "nightly-invoice-export", "cleanup-expired-sessions", "sync-exchange-rates", "rebuild-search-index",
    "send-weekly-digest", "rotate-api-keys", "reconcile-payments",
]
HC_CHECKS = [  # healthchecks.io names, written by people
    "Nightly invoice export", "DB backup (pg-main)", "Exchange rates sync", "Weekly digest", "S3 lifecycle",
    "Reconcile payments",
]
BACKUPS = ["pg-main-daily", "orders-db-hourly", "mongo-events-nightly", "s3-assets-weekly", "billing-db-daily"]
LBS = ["app/prod-public/4f1d2c3b5a6e7f80", "app/prod-internal/9a8b7c6d5e4f3a21", "app/api-eu/0f1e2d3c4b5a6978"]
TGS = ["checkout-tg", "orders-tg", "api-blue", "api-green", "web-tg"]
PROJECTS = ["backend", "checkout-web", "mobile-api", "worker", "payments"]
REASONS = [  # HTTP reason phrases: 1 to 3 words
    ("502", "Bad Gateway"), ("503", "Service Unavailable"), ("504", "Gateway Timeout"),
    ("500", "Internal Server Error"), ("404", "Not Found"), ("403", "Forbidden"),
]
LOCATIONS = ["Columbus, OH, USA", "Dublin, IE", "Tokyo, JP", "Frankfurt, DE", "Portland, OR, USA", "Sydney, AU"]
PROVIDERS = ["Stripe", "Adyen", "PayPal", "Braintree"]
PARTNERS = ["Twilio", "SendGrid", "Shopify", "Salesforce", "HubSpot"]
CONSUL_NODES = ["consul-client-web-01", "node-a3", "ip-10-20-4-17", "worker-7", "edge-2"]


def host():
    kind = r.random()
    if kind < 0.35:
        return f"{pick(['web', 'api', 'worker', 'app', 'batch'])}-{num(1, 40):02d}"
    if kind < 0.55:
        return f"ip-10-{num(0, 3)}-{num(0, 255)}-{num(1, 254)}.ec2.internal"
    if kind < 0.75:
        return f"{pick(['web', 'api', 'db', 'cache'])}{num(1, 12)}.{pick(['prod', 'eu1', 'us2'])}.acme.net"
    if kind < 0.9:
        return f"{pick(['prod', 'stg'])}-{pick(['app', 'api', 'queue'])}-{num(1, 9)}{pick('abc')}"
    return f"i-0{hexs(16)}"


def node():
    if r.random() < 0.6:
        return f"ip-10-0-{num(0, 255)}-{num(1, 254)}.eu-west-1.compute.internal"
    return f"gke-prod-default-pool-{hexs(8)}-{alnum(4)}"


def pod(deploy):
    return f"{deploy}-{hexs(r.choice([9, 10]))}-{alnum(5)}"


def db_host():
    return pick([
        f"{pick(DATABASES)}.{alnum(12)}.eu-west-1.rds.amazonaws.com",
        f"10.{num(0, 3)}.{num(0, 255)}.{num(1, 254)}",
        f"pg-{num(1, 4)}.db.internal",
    ])


def url():
    return f"https://{pick(DOMAINS)}{pick(URL_PATHS)}"


def dur_s():
    return pick(["2s", "1s", "500ms", "750ms", "3s", "1.5s", "250ms"])


def version():
    return pick([f"v{num(1, 3)}.{num(0, 40)}.{num(0, 12)}", f"{num(2024, 2026)}.{num(1, 12)}.{num(1, 28)}-{hexs(7)}"])


def datadog_state():
    x = r.random()
    return "[Re-Triggered]" if x < 0.2 else "[Warn]" if x < 0.3 else "[Triggered]"


def am_firing():
    return f"[FIRING:{pick([1, 1, 1, 2, 3, 5, 12])}]"


def am_labels(*values):
    """Alertmanager's default title lists the alerts' common label values: how many varies with the grouping."""
    extra = [v for v in ["kube-state-metrics", "http-metrics", "prometheus-k8s", pick(["warning", "critical"])]]
    vals = list(values)
    if r.random() < 0.5:
        vals = extra[:2] + vals + extra[2:]
    return " ".join(vals)


def svc_or_none(p=0.5):
    return pick(SERVICES) if r.random() < p else None


# ---------------------------------------------------------------------------------------------- the groups
# (group, source, count, make) — make() returns (title, service or None).
G = []


def group(name, source, count):
    def register(make):
        G.append((name, source, count, make))
        return make
    return register


# --- CloudWatch (SNS e-mail subjects and alarm state-change titles)
@group("cloudwatch-5xx-rate", "cloudwatch", 17)
def _():
    s = pick(SERVICES)
    return f'ALARM: "{pick(ENVS)}-{s}-5xx-rate" in {pick(REGIONS)}', s


@group("cloudwatch-p99-latency", "cloudwatch", 13)
def _():
    s = pick(SERVICES)
    return f'ALARM: "{pick(ENVS)}-{s}-p99-latency" in {pick(REGIONS)}', s


@group("cloudwatch-ec2-cpu-threshold", "cloudwatch", 10)
def _():
    s = pick(SERVICES)
    v = r.uniform(80, 100)
    return (
        f'ALARM: "{s}-asg-high-cpu" in {pick(REGIONS)} - Threshold Crossed: {pick([1, 2, 3])} out of the last '
        f"{pick([3, 5])} datapoints [{v:.4f} (29/11/26 {num(0, 23):02d}:{num(0, 59):02d}:00)] was greater than "
        f"the threshold (80.0) (minimum 1 datapoint for OK -> ALARM transition).",
        s,
    )


@group("cloudwatch-sqs-oldest-message", "cloudwatch", 10)
def _():
    return f'ALARM: "{pick(QUEUES)}-ApproximateAgeOfOldestMessage" in {pick(REGIONS)}', None


@group("cloudwatch-rds-free-storage", "cloudwatch", 8)
def _():
    return f'ALARM: "rds-{pick(DATABASES)}-FreeStorageSpace-low" in {pick(REGIONS)}', None


@group("cloudwatch-insufficient-data", "cloudwatch", 4)
def _():
    s = pick(SERVICES)
    return f'INSUFFICIENT_DATA: "{pick(ENVS)}-{s}-{pick(["5xx-rate", "p99-latency"])}" in {pick(REGIONS)}', s


@group("aws-ec2-scheduled-retirement", "aws-health", 6)
def _():
    return (
        f"AWS Health Event: EC2 instance i-0{hexs(16)} is scheduled for retirement on "
        f"2026-{num(1, 12):02d}-{num(1, 28):02d}"
    ), None


# --- Datadog
@group("datadog-cpu-high", "datadog", 55)
def _():
    return f"{datadog_state()} CPU usage is high on {host()}", svc_or_none(0.3)


@group("datadog-memory-high", "datadog", 21)
def _():
    return f"{datadog_state()} Memory usage is high on {host()}", svc_or_none(0.3)


@group("datadog-disk-low", "datadog", 24)
def _():
    mount = pick(["/", "/var", "/data", "/var/lib/docker", "/mnt/ssd0"])
    return f"{datadog_state()} Disk space is low on {host()} ({mount})", svc_or_none(0.3)


@group("datadog-error-rate", "datadog", 14)
def _():
    s = pick(SERVICES)
    return f"{pick(['[P1]', '[P1]', '[P2]'])} {datadog_state()} High error rate on {s}", s


@group("datadog-latency-p99", "datadog", 18)
def _():
    s = pick(SERVICES + ["kafka", "postgres-main", "redis-cache"])
    return f"{pick(['[P2]', '[P2]', '[P3]'])} {datadog_state()} High latency on {s} (p99 > {dur_s()})", s


@group("datadog-apdex", "datadog", 6)
def _():
    s = pick(SERVICES)
    return f"{datadog_state()} Apdex for {s} dropped below {pick(['0.8', '0.85', '0.9'])}", s


@group("datadog-no-data-heartbeat", "datadog", 10)
def _():
    return f"[No Data] Heartbeat missing from {host()}", svc_or_none(0.3)


@group("datadog-error-logs-spike", "datadog", 8)
def _():
    s = pick(SERVICES)
    return f"{datadog_state()} Error logs spike on service:{s} env:{pick(ENVS)}", s


# --- New Relic
@group("newrelic-response-time", "newrelic", 10)
def _():
    return (
        f"Response time (web) > {pick([1, 2, 3, 5])} seconds for at least {pick([5, 10])} minutes on "
        f"'{pick(APPS)}'"
    ), None


@group("newrelic-error-percentage", "newrelic", 8)
def _():
    return f"Error percentage > {pick([1, 2, 5])}% for at least {pick([5, 10])} minutes on '{pick(APPS)}'", None


@group("newrelic-host-not-reporting", "newrelic", 7)
def _():
    return f"Host not reporting: {host()}", None


@group("newrelic-synthetics-failed", "newrelic", 9)
def _():
    monitor = pick(["Login flow", "Checkout smoke test", "Homepage", "API ping (EU)"])
    return f"Monitor failed for location {pick(LOCATIONS)} on '{monitor}'", None


# --- Grafana
@group("grafana-db-connections", "grafana", 10)
def _():
    return f"{am_firing()} Database connections near limit ({pick(DATABASES)} {pick(ENVS)})", None


@group("grafana-blackbox-probe", "grafana", 13)
def _():
    return f"{am_firing()} Blackbox probe failed ({url()})", None


# --- Kubernetes (Alertmanager's default title, Robusta/Botkube events)
@group("k8s-pod-crashlooping", "alertmanager", 40)
def _():
    s = pick(SERVICES)
    ns = pick(NAMESPACES[:3])
    if r.random() < 0.3:
        return f"{am_firing()} KubePodCrashLooping", s
    return f"{am_firing()} KubePodCrashLooping ({am_labels(ns, pod(s))})", s


@group("k8s-pod-not-ready", "alertmanager", 14)
def _():
    s = pick(SERVICES)
    if r.random() < 0.3:
        return f"{am_firing()} KubePodNotReady", s
    return f"{am_firing()} KubePodNotReady ({am_labels(pick(NAMESPACES[:3]), pod(s))})", s


@group("k8s-container-oomkilled", "robusta", 18)
def _():
    s = pick(SERVICES)
    p = pod(s)
    if r.random() < 0.6:
        return f"Container {s} in pod {p} was OOMKilled", s
    return f"OOMKilled: {pick(NAMESPACES[:3])}/{p}", s


@group("k8s-node-not-ready", "alertmanager", 8)
def _():
    return f"{am_firing()} KubeNodeNotReady ({am_labels(node())})", None


@group("k8s-deployment-replicas-mismatch", "alertmanager", 10)
def _():
    s = pick(SERVICES)
    return f"{am_firing()} KubeDeploymentReplicasMismatch ({am_labels(pick(NAMESPACES[:3]), s)})", s


@group("k8s-hpa-maxed-out", "alertmanager", 6)
def _():
    s = pick(SERVICES)
    return f"{am_firing()} KubeHpaMaxedOut ({am_labels(pick(NAMESPACES[:3]), s)})", s


@group("k8s-pv-filling-up", "alertmanager", 10)
def _():
    pvc = f"data-{pick(['kafka', 'postgres', 'elasticsearch', 'prometheus'])}-{num(0, 5)}"
    return f"{am_firing()} KubePersistentVolumeFillingUp ({am_labels(pick(NAMESPACES[3:6]), pvc)})", None


@group("k8s-image-pull-backoff", "robusta", 8)
def _():
    s = pick(SERVICES)
    return f'Back-off pulling image "registry.acme.io/{s}:{version()}"', s


@group("k8s-cpu-throttling", "alertmanager", 10)
def _():
    s = pick(SERVICES)
    return f"{am_firing()} CPUThrottlingHigh ({am_labels(pick(NAMESPACES[:3]), pod(s), s)})", s


@group("k8s-job-failed", "alertmanager", 7)
def _():
    job = f"{pick(CRON_JOBS)}-{num(29000000, 29999999)}"
    return f"{am_firing()} KubeJobFailed ({am_labels(pick(NAMESPACES[:4]), job)})", None


@group("k8s-target-down", "alertmanager", 9)
def _():
    s = pick(SERVICES)
    return f"{am_firing()} TargetDown ({s} {pick(NAMESPACES[:3])} {s})", s


# --- Databases
@group("postgres-replication-lag", "prometheus", 15)
def _():
    return (
        f"PostgreSQL replication lag is {num(31, 900)} seconds on {pick(DATABASES)}-replica-{num(1, 3)}", None
    )


@group("postgres-replication-stopped", "prometheus", 5)
def _():
    return f"PostgreSQL replication stopped on {pick(DATABASES)}-replica-{num(1, 3)}", None


@group("postgres-too-many-connections", "prometheus", 11)
def _():
    mx = pick([100, 200, 500])
    return f"Too many connections to {pick(DATABASES)}: {num(int(mx * 0.9), mx)} of {mx} used", None


@group("postgres-deadlocks", "datadog", 9)
def _():
    return f"Deadlocks detected on {pick(DATABASES)}: {num(2, 40)} in the last 5 minutes", None


@group("postgres-slow-queries", "datadog", 8)
def _():
    return f"Slow queries on {pick(DATABASES)}: {num(5, 300)} queries over {pick(['1s', '5s', '10s'])}", None


@group("mysql-down", "nagios", 4)
def _():
    return f"MySQL is down on {host()}", None


@group("db-connection-refused", "sentry", 10)
def _():
    s = pick(SERVICES)
    return f"Connection refused to {pick(DATABASES)} at {db_host()}:{pick([5432, 5432, 6432, 3306])}", s


@group("db-connection-timed-out", "sentry", 11)
def _():
    s = pick(SERVICES)
    return f"Connection timed out to {pick(DATABASES)} at {db_host()}:{pick([5432, 5432, 6432, 3306])}", s


@group("redis-memory-high", "prometheus", 10)
def _():
    return f"Redis memory usage at {pct(85, 99)} on {pick(REDIS)}", None


@group("redis-evictions", "prometheus", 5)
def _():
    return f"Redis evicting keys on {pick(REDIS)}: {num(10, 5000)} evictions/s", None


@group("mongodb-new-primary", "mongodb-atlas", 3)
def _():
    return f"MongoDB replica set {pick(['rs0', 'events-rs', 'atlas-12abcd-shard-0'])} elected a new primary", None


@group("elasticsearch-cluster-red", "elastic", 6)
def _():
    return f"Elasticsearch cluster {pick(ES_CLUSTERS)} health is RED", None


@group("elasticsearch-cluster-yellow", "elastic", 8)
def _():
    return f"Elasticsearch cluster {pick(ES_CLUSTERS)} health is YELLOW", None


# --- Queues
@group("kafka-consumer-lag", "prometheus", 28)
def _():
    return f"Kafka consumer group {pick(KAFKA_GROUPS)} lag is {num(1000, 2500000)} on topic {pick(TOPICS)}", None


@group("kafka-under-replicated-partitions", "prometheus", 10)
def _():
    return f"Kafka under-replicated partitions on broker {num(0, 5)}: {num(1, 60)}", None


@group("kafka-broker-offline", "prometheus", 5)
def _():
    b = num(0, 5)
    return f"Kafka broker {b} is offline (kafka-{b}.kafka-headless.data.svc.cluster.local)", None


@group("rabbitmq-queue-depth", "prometheus", 10)
def _():
    return f"RabbitMQ queue {pick(QUEUES)} on vhost {pick(VHOSTS)} has {num(5000, 900000)} messages ready", None


@group("rabbitmq-no-consumers", "prometheus", 6)
def _():
    return f"RabbitMQ queue {pick(QUEUES)} has no consumers", None


@group("sqs-dead-letter-messages", "cloudwatch", 8)
def _():
    return f"Messages in dead-letter queue {pick(QUEUES)}-dlq: {num(1, 4000)}", None


@group("sidekiq-queue-latency", "datadog", 9)
def _():
    return f"Sidekiq queue {pick(['default', 'mailers', 'critical', 'low'])} latency is {num(60, 3600)} seconds", None


@group("celery-worker-offline", "flower", 4)
def _():
    return f"Celery worker {pick(['celery', 'beat', 'reports'])}@{host()} is offline", None


# --- HTTP checks, DNS
@group("uptimerobot-monitor-down", "uptimerobot", 21)
def _():
    code, phrase = pick(REASONS)
    return f"Monitor is DOWN: {pick(APPS)} - Reason: {code} {phrase}", None


@group("ssl-handshake-failed", "pingdom", 7)
def _():
    return f"SSL handshake failed for {url()}", None


@group("http-check-timeout", "checkly", 9)
def _():
    return f"HTTP check timed out after {pick(['10s', '30s', '5s'])}: {url()}", None


@group("dns-resolution-failed", "checkly", 9)
def _():
    return f"DNS resolution failed for {pick(DOMAINS)}", None


@group("pingdom-slow", "pingdom", 6)
def _():
    return f"Pingdom alert: {pick(APPS)} is slow ({num(2000, 9000)} ms)", None


@group("pingdom-down", "pingdom", 10)
def _():
    return f"DOWN alert: {pick(APPS)} ({pick(DOMAINS)}) is DOWN", None


# --- Certificates
@group("certificate-expiring", "certbot-monitor", 14)
def _():
    n = num(1, 30)
    return f"SSL certificate for {pick(DOMAINS)} expires in {n} day{'s' if n != 1 else ''}", None


@group("certificate-expired", "certbot-monitor", 5)
def _():
    return f"SSL certificate for {pick(DOMAINS)} has expired", None


@group("cert-manager-renewal-failed", "alertmanager", 6)
def _():
    return f"cert-manager: Certificate {pick(NAMESPACES[:4])}/{pick(DOMAINS).replace('.', '-')}-tls renewal failed", None


# --- Nagios / Zabbix / node alerts
@group("nagios-disk-space", "nagios", 13)
def _():
    return f"** PROBLEM Service Alert: {host()}/Disk Space is {pick(['CRITICAL', 'CRITICAL', 'WARNING'])} **", None


@group("nagios-current-load", "nagios", 8)
def _():
    return f"** PROBLEM Service Alert: {host()}/Current Load is {pick(['WARNING', 'CRITICAL'])} **", None


@group("nagios-host-down", "nagios", 8)
def _():
    return f"** PROBLEM Host Alert: {host()} is DOWN **", None


@group("zabbix-cpu-high", "zabbix", 11)
def _():
    return f"Problem: {host()}: High CPU utilization (over 90% for 5m)", None


@group("zabbix-memory-high", "zabbix", 10)
def _():
    return f"Problem: {host()}: High memory utilization (>90% for 5m)", None


@group("zabbix-agent-unavailable", "zabbix", 7)
def _():
    return f"Problem: {host()}: Zabbix agent is not available (for 3m)", None


@group("filesystem-read-only", "prometheus", 3)
def _():
    return f"Filesystem {pick(['/data', '/var/lib/postgresql'])} is read-only on {host()}", None


@group("inodes-exhausted", "prometheus", 4)
def _():
    return f"Inodes almost exhausted on {host()}:{pick(['/', '/var'])} ({pct(90, 99, 0)} used)", None


@group("swap-usage-high", "prometheus", 5)
def _():
    return f"Swap usage {pct(50, 95, 0)} on {host()}", None


# --- Backups, cron
@group("backup-job-failed", "backup", 10)
def _():
    b = pick(BACKUPS)
    if r.random() < 0.4:
        return f"Backup job {b} failed: exit code {pick([1, 2, 137])}", None
    return f"Backup job {b} failed", None


@group("backup-missing", "backup", 8)
def _():
    return f"No successful backup for {pick(BACKUPS)} in the last {pick([26, 30, 48])} hours", None


@group("cron-job-failed", "cron", 11)
def _():
    return f"Cron job {pick(CRON_JOBS)} failed on {host()} (exit code {pick([1, 1, 2, 127, 137])})", None


@group("healthchecks-check-down", "healthchecks", 8)
def _():
    return f'The check "{pick(HC_CHECKS)}" is DOWN.', None


@group("cronitor-late", "cronitor", 3)
def _():
    return f"Cronitor: {pick(CRON_JOBS)} is late", None


# --- Deploys
@group("deploy-failed", "ci", 10)
def _():
    s = pick(SERVICES)
    return f"Deploy of {s} {version()} to production failed", s


@group("deploy-auto-rollback", "ci", 6)
def _():
    s = pick(SERVICES)
    return f"Automatic rollback of {s} to {version()} after failed health checks", s


@group("argocd-app-degraded", "argocd", 7)
def _():
    s = pick(SERVICES)
    return f"Application {s}-{pick(['prod', 'eu'])} has degraded.", s


@group("argocd-sync-failed", "argocd", 6)
def _():
    s = pick(SERVICES)
    err = pick([
        "one or more objects failed to apply",
        f'Deployment.apps "{s}" is invalid: spec.template.spec.containers[0].image: Required value',
        "rpc error: code = Unknown desc = context deadline exceeded",
    ])
    return f"The sync operation of application {s} has failed with the following error: {err}", s


# --- Titles written by people (PagerDuty / Opsgenie incidents opened by hand), heartbeats, errors
@group("manual-checkout-down", "pagerduty", 6)
def _():
    return pick(["Checkout is down", "checkout is down", "CHECKOUT IS DOWN", "Checkout is down!", "Checkout is down."]), "checkout"


@group("opsgenie-heartbeat-expired", "opsgenie", 8)
def _():
    return f"Heartbeat {pick(['billing-worker', 'etl-scheduler', 'prod-cron', 'mail-relay'])} expired", None


@group("stripe-webhooks-failing", "pagerduty", 5)
def _():
    return "Stripe webhook deliveries failing", "webhooks"


@group("sentry-connection-reset", "sentry", 8)
def _():
    return f"[{pick(PROJECTS)}] ConnectionResetError: [Errno 104] Connection reset by peer", None


@group("sentry-upstream-timeout", "sentry", 6)
def _():
    return f"[{pick(PROJECTS)}] TimeoutError: Request to {url()} timed out after {pick([10, 30, 60])}s", None


@group("consul-service-check-critical", "consul", 10)
def _():
    s = pick(SERVICES)
    return f"Service '{s}' check 'Service health' is critical on {pick(CONSUL_NODES)}", s


@group("consul-serf-health", "consul", 4)
def _():
    return f"Serf Health Status critical on {pick(CONSUL_NODES)}", None


@group("alb-unhealthy-targets", "cloudwatch", 8)
def _():
    return f"ALB {pick(LBS)} has {num(1, 9)} unhealthy targets in {pick(TGS)}", None


@group("nginx-5xx-rate", "prometheus", 8)
def _():
    return f"nginx 5xx rate {pct(2, 40)} on {host()}", None


@group("gcp-cloudsql-cpu", "gcp-monitoring", 7)
def _():
    return (
        f"[ALERT - Critical] Cloud SQL CPU utilization above 80% on acme-{pick(['prod', 'data'])}:"
        f"{pick(['orders-pg', 'analytics-mysql', 'users-pg'])}"
    ), None


@group("azure-vm-availability", "azure-monitor", 6)
def _():
    vm = f"vm-{pick(['web', 'api', 'batch'])}-{pick(['weu', 'neu'])}-{num(1, 9):02d}"
    return f"Fired: Sev2 Azure Monitor Alert VM availability on {vm} ( microsoft.compute/virtualmachines )", None


@group("partner-rate-limited", "datadog", 5)
def _():
    return f"Rate limit exceeded for {pick(PARTNERS)} API ({num(600, 6000)} req/min)", None


@group("payment-failures-high", "datadog", 7)
def _():
    return f"Payment failures above {pick(['5%', '10%', '2%'])} on {pick(PROVIDERS)}", "payments-api"


# --- Short titles and one-offs, opened by hand
@group("manual-5xx-spike", "pagerduty", 3)
def _():
    return pick(["5xx spike", "5XX spike", "5xx spike!"]), svc_or_none(0.5)


@group("manual-site-down", "opsgenie", 2)
def _():
    return pick(["Site down", "site down"]), None


@group("manual-dns", "pagerduty", 1)
def _():
    return "DNS", None


@group("manual-support-eu-login-errors", "pagerduty", 1)
def _():
    return "Elevated error rates on login from EU customers (reported by support)", "auth"


@group("vendor-twilio-sms-delays", "statuspage", 1)
def _():
    return "Vendor outage: Twilio SMS delivery delays", "notifications"


@group("dc-power-maintenance", "opsgenie", 1)
def _():
    return "Data center power maintenance in FRA1", None


@group("security-admin-logins", "pagerduty", 1)
def _():
    return "Security: suspicious login attempts on admin console", None


@group("manual-search-results-stale", "pagerduty", 1)
def _():
    return "Search results stale since last night's reindex", "search"


def main():
    rows = []
    for name, source, count, make in G:
        for _ in range(count):
            title, service = make()
            rows.append((title, service, source, name))
    r.shuffle(rows)
    out = sys.stdout
    for i, (title, service, source, name) in enumerate(rows, 1):
        row = {"id": i, "title": title}
        if service is not None:
            row["service"] = service
        row["source"] = source
        row["group"] = name
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} titles, {len(G)} groups", file=sys.stderr)


if __name__ == "__main__":
    main()
