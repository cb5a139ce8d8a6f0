#!/usr/bin/env python3
"""Generator for the second incident-title set (see README.md).

Every group and every title template below is hand-written; the script only
fills in values (hosts, pods, regions, numbers, ...) from realistic pools using
a FIXED seed, so the output is fully reproducible:

    python3 generate.py            # writes incidents.jsonl next to it
"""
import collections
import json
import os
import random
import uuid

SEED = 20240611
R = random.Random(SEED)


# ----------------------------------------------------------------- helpers
def ch(seq):
    return R.choice(seq)


def ri(a, b):
    return R.randint(a, b)


def pct(lo, hi, nd=1):
    return f"{R.uniform(lo, hi):.{nd}f}"


K8S = "bcdfghjklmnpqrstvwxz2456789"
HEX = "0123456789abcdef"


def rs(n):
    return "".join(ch(K8S) for _ in range(n))


def hx(n):
    return "".join(ch(HEX) for _ in range(n))


def uid():
    return str(uuid.UUID(int=R.getrandbits(128), version=4))


def ip_priv():
    return f"10.{ri(0, 3)}.{ri(0, 255)}.{ri(2, 254)}"


def ip_pub():
    return ch(["198.51.100", "203.0.113", "192.0.2", "45.83.64", "185.220.101", "91.240.118"]) + f".{ri(2, 254)}"


SERVICES = ["checkout-api", "payments-api", "orders-api", "search-api", "auth-service", "user-profile",
            "notification-worker", "inventory-svc", "cart-service", "pricing-engine", "recommendations",
            "api-gateway", "billing-worker", "email-sender", "ledger-service", "shipping-quotes",
            "catalog-api", "webhooks-dispatcher", "fraud-scoring", "media-uploader"]
NAMESPACES = ["default", "payments", "checkout", "orders", "search", "platform", "data", "identity",
              "billing", "storefront"]
ENVS = ["prod", "production", "prod-eu", "prod-us", "prd"]
CLUSTERS = ["prod-eu-1", "prod-us-east-2", "k8s-prod-01", "gke-prod-europe-west1", "aks-prod-weu", "eks-prod-use1"]
REGIONS = [("us-east-1", "US East (N. Virginia)"), ("eu-west-1", "EU (Ireland)"),
           ("us-west-2", "US West (Oregon)"), ("eu-central-1", "EU (Frankfurt)"),
           ("ap-southeast-2", "Asia Pacific (Sydney)")]
DOMAINS = ["api.acme.io", "www.acme.io", "shop.acme.io", "checkout.acme.io", "auth.acme.io",
           "status.acme.io", "legacy.acme-corp.com", "partners.acme.io", "cdn.acme-static.net",
           "admin.internal.acme.io", "grafana.ops.acme.io", "*.shop.acme.io", "mail.acme-corp.com",
           "eu.api.acme.io", "vpn.acme-corp.com"]
SEV = ["critical", "warning", "page", "high"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def svc():
    return ch(SERVICES)


def ns():
    return ch(NAMESPACES)


def pod(s=None):
    s = s or svc()
    return f"{s}-{rs(ch([9, 10]))}-{rs(5)}"


def host_short():
    return ch(["web", "app", "api", "worker", "db", "cache", "batch", "lb", "kafka", "es-data"]) + \
        ch([f"-{ri(1, 24):02d}", f"{ri(1, 9)}", f"-{ri(1, 40)}", f"-prod-{ri(1, 12):02d}"])


def host_fqdn():
    return f"{host_short()}.{ch(['prod', 'prd', 'prod-eu', 'use1'])}.{ch(['acme.internal', 'acme-corp.net', 'ops.acme.io'])}"


def host_ec2():
    r = ch(["ec2.internal", "eu-west-1.compute.internal", "us-west-2.compute.internal"])
    return f"ip-10-{ri(0, 3)}-{ri(0, 255)}-{ri(2, 254)}.{r}"


def host():
    return ch([host_short, host_short, host_fqdn, host_ec2])()


def k8s_node():
    return ch([
        host_ec2,
        lambda: f"gke-prod-default-pool-{hx(8)}-{rs(4)}",
        lambda: f"aks-nodepool{ri(1, 3)}-{ri(10000000, 99999999)}-vmss{ri(0, 40):06x}",
        lambda: f"worker-{ch(['a', 'b', 'c'])}-{ri(1, 30):02d}.k8s.acme.internal",
    ])()


def ts():
    return f"2024-{ri(1, 12):02d}-{ri(1, 28):02d}T{ri(0, 23):02d}:{ri(0, 59):02d}:{ri(0, 59):02d}Z"


def date():
    return f"2024-{ri(1, 12):02d}-{ri(1, 28):02d}"


def dur():
    return ch([f"{ri(1, 59)}m", f"{ri(1, 59)}m {ri(1, 59)}s", f"{ri(1, 5)}h {ri(1, 59)}m", f"{ri(10, 59)}s"])


def region():
    return ch(REGIONS)


def ec2_id():
    return "i-0" + hx(16)


def sha():
    return hx(40)


def ver():
    return f"{ri(1, 4)}.{ri(0, 60)}.{ri(0, 20)}"


# ------------------------------------------------------------------ groups
# Each group: label, size, list of template functions returning (title, service).
GROUPS = []


def group(label, size):
    def deco(fn_list):
        GROUPS.append((label, size, fn_list))
        return fn_list
    return deco


# ---- Prometheus / Alertmanager -----------------------------------------
def _her():
    s = svc()
    return ch([
        lambda: f"[FIRING:{ri(1, 4)}] HighErrorRate ({s} {ch(ENVS)} {ch(SEV)})",
        lambda: f"[FIRING:1] HighErrorRate {s} ({ns()}/{s} critical)",
        lambda: f"RESOLVED: HighErrorRate job={s} namespace={ns()}",
        lambda: f"[RESOLVED] HighErrorRate ({s} {ch(ENVS)})",
        lambda: f"HighErrorRate: {s} 5xx error rate is {pct(5.1, 38)}% (threshold 5%)",
        lambda: f"[FIRING:{ri(1, 3)}] HighErrorRate (cluster={ch(CLUSTERS)} service={s} severity=page)",
        lambda: f"Alert HighErrorRate firing for {s} in {region()[0]}: {pct(5, 60)}% of requests failing",
        lambda: f"highErrorRate - {s} - {ch(ENVS)}",
        lambda: f"[FIRING:1] HighErrorRate (route=\"{ch(['/v1/orders', '/api/cart/items', '/graphql', '/v2/payments/{id}/capture', '/login'])}\" {s})",
    ])(), ch([s, s, "Platform - Observability"])


group("prom-high-error-rate", 40)([_her])


def _latency():
    s = svc()
    route = ch(["/v1/orders", "/api/search", "/graphql", "/v2/payments/:id/capture", "/api/cart", "/healthz/deep", "/v1/quotes"])
    return ch([
        lambda: f"[FIRING:1] HighRequestLatency ({s} p99 {ch(ENVS)})",
        lambda: f"HighRequestLatency: {s} p99 latency is {pct(1.6, 12, 2)}s (> 1.5s) on route {route}",
        lambda: f"RESOLVED: HighRequestLatency handler=\"{route}\" service={s}",
        lambda: f"[FIRING:{ri(2, 5)}] HighRequestLatency (api-gateway {route} {ch(SEV)})",
        lambda: f"[FIRING:1] HighRequestLatency {s} latency_p99={ri(1600, 9000)}ms",
    ])(), s


group("prom-high-request-latency", 11)([_latency])

JOBS = [("node-exporter", 9100, "monitoring"), ("kube-state-metrics", 8080, "kube-system"),
        ("blackbox-exporter", 9115, "monitoring"), ("postgres-exporter", 9187, "databases"),
        ("redis-exporter", 9121, "cache"), ("kafka-exporter", 9308, "kafka"), ("kubelet", 10250, "kube-system"),
        ("nginx-ingress-controller", 10254, "ingress-nginx")]


def _targetdown():
    job, port, n = ch(JOBS)
    return ch([
        lambda: f"[FIRING:{ri(1, 6)}] TargetDown ({job} {ip_priv()}:{port} {n})",
        lambda: f"TargetDown: {ch(['33', '50', '100', '16.67', '25'])}% of the {job}/{job} targets in {n} namespace are down.",
        lambda: f"[RESOLVED] TargetDown (job=\"{job}\", instance=\"{ip_priv()}:{port}\")",
        lambda: f"[FIRING:1] TargetDown {job} {ch(CLUSTERS)}",
        lambda: f"[FIRING:2] TargetDown (job={job} namespace={n} service={job} prometheus={n}/k8s)",
    ])(), ch(["Platform - Observability", "Prometheus"])


group("prom-target-down", 15)([_targetdown])


def _hpa():
    s, n = svc(), ns()
    return ch([
        lambda: f"[FIRING:1] KubeHpaMaxedOut ({n} {s})",
        lambda: f"KubeHpaMaxedOut: HPA {n}/{s} has been running at max replicas for longer than 15 minutes.",
        lambda: f"[RESOLVED] KubeHpaMaxedOut (horizontalpodautoscaler={s} namespace={n})",
    ])(), s


group("k8s-hpa-maxed-out", 2)([_hpa])


def _pvc():
    n = ch(["kafka", "data", "databases", "monitoring", "search", "elastic-system"])
    pvc = ch(["data-kafka-", "storage-prometheus-k8s-", "data-postgres-", "elasticsearch-data-es-data-", "redis-data-redis-node-", "data-zookeeper-"]) + str(ri(0, 5))
    return ch([
        lambda: f"[FIRING:1] KubePersistentVolumeFillingUp ({pvc} {n} {ch(['warning', 'critical'])})",
        lambda: f"KubePersistentVolumeFillingUp: The PersistentVolume claimed by {pvc} in Namespace {n} is only {pct(0.5, 3, 2)}% free.",
        lambda: f"The PersistentVolume claimed by {pvc} in Namespace {n} is expected to fill up within four days. Currently {pct(4, 15, 2)}% is available.",
    ])(), "Platform - Kubernetes"


group("k8s-pvc-filling-up", 5)([_pvc])


def _jobfail():
    n = ch(["billing", "data", "reporting", "platform", "search"])
    j = ch(["monthly-invoice", "nightly-reindex", "gdpr-export", "report-builder", "cleanup-orphans", "sync-exchange-rates"])
    return ch([
        lambda: f"[FIRING:1] KubeJobFailed ({n} {j}-{ri(28000000, 28999999)})",
        lambda: f"KubeJobFailed: Job {n}/{j}-{ri(28000000, 28999999)} failed to complete. Removing failed job after investigation should clear this alert.",
        lambda: f"Job {n}/{j}-{ri(28000000, 28999999)} has reached the specified backoff limit",
    ])(), ch(["Platform - Kubernetes", j])


group("k8s-job-failed", 4)([_jobfail])


def _etcd():
    m = f"etcd-{ch(['master', 'cp'])}-{ri(1, 3)}"
    return ch([
        lambda: f"[FIRING:1] etcdHighFsyncDurations ({m} {ip_priv()}:2379)",
        lambda: f"etcdHighFsyncDurations: etcd cluster \"etcd\": 99th percentile fsync durations are {pct(0.5, 2.5, 3)}s on etcd instance {ip_priv()}:2379.",
    ])(), "Platform - Kubernetes"


group("etcd-high-fsync-durations", 1)([_etcd])

# ---- Datadog -----------------------------------------------------------
def _dd_tag(h):
    return ch([f"{{host:{h}}}", f"{{host:{h},device:/dev/{ch(['nvme1n1', 'xvda1', 'sda1', 'nvme0n1p1'])}}}",
               f"{{env:prod,host:{h}}}"])


def _dd_disk():
    h = host()
    st = ch(["Triggered", "Triggered", "Re-Triggered", "Recovered", "Warn"])
    return ch([
        lambda: f"[P2] [{st} on {_dd_tag(h)}] Disk space is low",
        lambda: f"[P2] [{st} on {_dd_tag(h)}] Disk space is low",
        lambda: f"[P1] [Triggered on {{host:{h}}}] Disk space is low on {h}: {pct(90, 99.8)}% used",
        lambda: f"[{st}] Disk space is low on {h} ({ch(['/', '/var', '/var/lib/docker', '/data'])})",
    ])(), ch(["Infrastructure", "Infrastructure", "SRE On-Call"])


group("dd-disk-space-low", 24)([_dd_disk])


def _dd_cpu():
    h = host()
    st = ch(["Triggered", "Triggered", "Re-Triggered", "Recovered", "Warn"])
    return ch([
        lambda: f"[P3] [{st} on {{host:{h}}}] CPU usage is high",
        lambda: f"[P3] [{st} on {{host:{h}}}] CPU usage is high (avg {pct(85, 99.9)}% over last 10m)",
        lambda: f"[P2] [Triggered on {{host:{h},env:prod}}] CPU usage is high on {h}",
    ])(), ch(["Infrastructure", "SRE On-Call"])


group("dd-cpu-high", 10)([_dd_cpu])


def _dd_mem():
    h = host()
    st = ch(["Triggered", "Triggered", "Re-Triggered", "Recovered", "Warn"])
    return ch([
        lambda: f"[P3] [{st} on {{host:{h}}}] Memory usage is high",
        lambda: f"[P3] [{st} on {{host:{h}}}] Memory usage is high: {pct(85, 99)}% used",
        lambda: f"[P2] [Triggered on {{host:{h},env:prod}}] Memory usage is high on {h}",
    ])(), ch(["Infrastructure", "SRE On-Call"])


group("dd-memory-high", 8)([_dd_mem])

# ---- Zabbix / Icinga / Nagios -----------------------------------------
def _zbx_agent():
    h = ch([host_short, host_fqdn, lambda: ch(["db3", "db4", "app7", "fs1", "mail2", "ldap1"])])()
    return ch([
        lambda: f"Zabbix agent on {h} is unreachable for 5 minutes",
        lambda: f"Problem: Zabbix agent on {h} is unreachable for 5 minutes",
        lambda: f"Resolved in {dur()}: Zabbix agent on {h} is unreachable for 5 minutes",
        lambda: f"Problem: {h}: Zabbix agent is not available (for 3m)",
        lambda: f"PROBLEM: Zabbix agent on {h} is unreachable for 5 minutes (severity: Average)",
    ])(), ch(["Datacenter - FRA1", "Infrastructure", "IT Ops"])


group("zabbix-agent-unreachable", 13)([_zbx_agent])


def _zbx_inodes():
    h = host_short()
    v = ch(["/var", "/", "/var/lib/docker", "/home", "/srv/data"])
    return ch([
        lambda: f"Problem: {h}: {v}: Running out of free inodes (free < 10%)",
        lambda: f"Free inodes is less than 10% on volume {v} on {h}",
        lambda: f"Resolved in {dur()}: {h}: {v}: Running out of free inodes (free < 10%)",
    ])(), ch(["Datacenter - FRA1", "IT Ops"])


group("zabbix-free-inodes-low", 2)([_zbx_inodes])


def _icinga_host():
    h = ch([host_short, host_fqdn])()
    return ch([
        lambda: f"** PROBLEM Host Alert: {h} is DOWN **",
        lambda: f"** RECOVERY Host Alert: {h} is UP **",
        lambda: f"[Icinga2] PROBLEM - Host {h} is DOWN",
        lambda: f"PROBLEM - {h} - DOWN - CRITICAL - Host Unreachable ({ip_priv()})",
    ])(), ch(["IT Ops", "Datacenter - FRA1"])


group("icinga-host-down", 6)([_icinga_host])


def _icinga_http():
    h = ch([host_short, host_fqdn])()
    code = ch(["500 Internal Server Error", "502 Bad Gateway", "503 Service Unavailable"])
    return ch([
        lambda: f"** PROBLEM Service Alert: {h}/HTTP is CRITICAL **",
        lambda: f"CRITICAL - {h}/check_http: HTTP CRITICAL: HTTP/1.1 {code} - {ri(120, 4000)} bytes in {pct(0.01, 0.9, 3)} second response time",
        lambda: f"[Icinga2] PROBLEM - Service http on {h} is CRITICAL",
    ])(), ch(["IT Ops", "Web Platform"])


group("icinga-http-critical", 4)([_icinga_http])

# ---- Kubernetes ---------------------------------------------------------
def _oom():
    s = svc()
    n, p = ns(), pod(s)
    c = ch([s, "app", "main", "worker", "sidecar-envoy"]) if R.random() < 0.5 else s
    return ch([
        lambda: f"Pod {n}/{p} OOMKilled",
        lambda: f"Container {c} in pod {p} was OOMKilled (exit code 137)",
        lambda: f"[FIRING:1] KubeContainerOOMKilled ({n} {p} {c})",
        lambda: f"OOMKilled: {n}/{p} restarted {ri(2, 14)} times in the last hour (memory limit {ch(['256Mi', '512Mi', '1Gi', '2Gi'])})",
        lambda: f"[P2] [Triggered on {{kube_namespace:{n},kube_deployment:{s}}}] Pods OOMKilled",
        lambda: f"Memory cgroup out of memory: Killed process {ri(1000, 40000)} ({ch(['java', 'node', 'python3', 'ruby'])}) in pod {p}",
    ])(), ch([s, "Platform - Kubernetes"])


group("k8s-oomkilled", 28)([_oom])


def _crash():
    s = svc()
    n, p = ns(), pod(s)
    c = ch([s, "app", "migrate", "main"])
    return ch([
        lambda: f"[FIRING:1] KubePodCrashLooping ({n} {p} {c})",
        lambda: f"Pod {n}/{p} ({c}) is in waiting state (reason: \"CrashLoopBackOff\").",
        lambda: f"KubePodCrashLooping: Pod {n}/{p} ({c}) is restarting {pct(1, 6, 2)} times / 10 minutes.",
        lambda: f"Back-off restarting failed container {c} in pod {p}_{n}({uid()})",
        lambda: f"[P2] [Triggered on {{kube_namespace:{n},pod_name:{p}}}] Pod is in CrashLoopBackOff",
    ])(), ch([s, "Platform - Kubernetes"])


group("k8s-crashloopbackoff", 20)([_crash])


def _imgpull():
    s = svc()
    reg = ch(["registry.acme.io", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "ghcr.io/acme", "europe-docker.pkg.dev/acme-prod/apps"])
    tag = ch([ver(), hx(7), f"main-{hx(7)}"])
    n, p = ns(), pod(s)
    return ch([
        lambda: f"ImagePullBackOff: Back-off pulling image \"{reg}/{s}:{tag}\"",
        lambda: f"Pod {n}/{p} stuck in ImagePullBackOff",
        lambda: f"Failed to pull image \"{reg}/{s}:{tag}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{reg}/{s}:{tag}\": not found",
        lambda: f"[FIRING:1] KubePodImagePullBackOff ({n} {p})",
        lambda: f"ErrImagePull {n}/{p}: {reg}/{s}:{tag} manifest unknown",
    ])(), ch([s, "Platform - Kubernetes"])


group("k8s-imagepullbackoff", 8)([_imgpull])


def _notready():
    nd = k8s_node()
    return ch([
        lambda: f"[FIRING:1] KubeNodeNotReady ({nd} {ch(CLUSTERS)})",
        lambda: f"KubeNodeNotReady: {nd} has been unready for more than 15 minutes.",
        lambda: f"Node {nd} status is now: NodeNotReady",
        lambda: f"[RESOLVED] KubeNodeNotReady (node={nd})",
    ])(), "Platform - Kubernetes"


group("k8s-node-not-ready", 8)([_notready])


def _diskpressure():
    nd = k8s_node()
    return ch([
        lambda: f"Node {nd} has condition DiskPressure",
        lambda: f"Node {nd} status is now: NodeHasDiskPressure",
        lambda: f"[FIRING:1] KubeNodeDiskPressure ({nd})",
    ])(), "Platform - Kubernetes"


group("k8s-node-disk-pressure", 3)([_diskpressure])


def _evicted():
    s = svc()
    n, p = ns(), pod(s)
    return ch([
        lambda: f"Pod {n}/{p} evicted: The node was low on resource: ephemeral-storage.",
        lambda: f"Evicted: The node was low on resource: memory. Container {s} was using {ri(400000, 3900000)}Ki, which exceeds its request of 0.",
        lambda: f"[P3] [Triggered on {{kube_namespace:{n}}}] Evicted pods detected ({ri(2, 40)} pods)",
        lambda: f"Pod {p} in {n} was Evicted ({ch(['ephemeral-storage', 'memory'])})",
    ])(), ch([s, "Platform - Kubernetes"])


group("k8s-pod-evicted", 5)([_evicted])


def _certmgr():
    n = ch(["default", "ingress-nginx", "storefront", "identity"])
    name = ch(["api-tls", "wildcard-shop-acme-io", "auth-acme-io-tls", "grafana-tls"])
    return ch([
        lambda: f"Certificate {n}/{name} is not ready: Failed to finalize Order",
        lambda: f"[FIRING:1] CertManagerCertNotReady ({n} {name})",
        lambda: f"cert-manager: order {n}/{name}-{ri(1000000000, 4000000000)} failed: 429 urn:ietf:params:acme:error:rateLimited",
    ])(), "Platform - Kubernetes"


group("cert-manager-renewal-failed", 2)([_certmgr])

# ---- Databases -----------------------------------------------------------
def _pg_lag():
    rep = ch(["pg-replica-1", "pg-replica-2", "orders-db-replica-0", "pg-prod-eu-2", "ledger-pg-standby", "db-ro-03"])
    prim = ch(["pg-primary", "orders-db-0", "pg-prod-eu-1", "ledger-pg-main"])
    return ch([
        lambda: f"[FIRING:1] PostgresReplicationLag ({rep} {ch(CLUSTERS)})",
        lambda: f"PostgreSQL replication lag on {rep} is {ri(61, 4000)}s",
        lambda: f"PostgresReplicationLag: replica {rep} is {ri(61, 4000)} seconds behind primary {prim}",
        lambda: f"[P2] [Triggered on {{host:{rep}}}] Postgres replication delay above 60s",
        lambda: f"RESOLVED: PostgresReplicationLag instance={ip_priv()}:9187",
    ])(), ch(["Databases (Postgres)", "DBRE"])


group("pg-replication-lag", 11)([_pg_lag])


def _pg_stop():
    rep = ch(["pg-replica-1", "pg-replica-2", "orders-db-replica-0", "ledger-pg-standby"])
    return ch([
        lambda: f"PostgreSQL replication stopped on {rep}: WAL receiver not running",
        lambda: f"[FIRING:1] PostgresReplicationNotStreaming ({rep})",
        lambda: f"pg_stat_wal_receiver is empty on {rep} - replication is broken",
    ])(), ch(["Databases (Postgres)", "DBRE"])


group("pg-replication-stopped", 2)([_pg_stop])


def _pg_conns():
    db = ch(["orders-db", "ledger-pg", "users-pg-prod", "pg-prod-eu-1", "analytics-pg"])
    mx = ch([100, 200, 500])
    used = int(mx * R.uniform(0.86, 0.99))
    app = ch(["orders-api", "ledger-service", "billing-worker", "user-profile"])
    dbre = ch(["Databases (Postgres)", "DBRE"])
    return ch([
        lambda: (f"[FIRING:1] PostgresTooManyConnections ({db} {round(100 * used / mx)}%)", dbre),
        lambda: (f"PostgreSQL {db}: {used} of {mx} connections in use ({round(100 * used / mx)}%)", dbre),
        lambda: ("psycopg2.OperationalError: FATAL:  sorry, too many clients already", app),
        lambda: ("OperationalError: FATAL: remaining connection slots are reserved for non-replication superuser connections", app),
        lambda: (f"[Sentry] {app} - OperationalError: FATAL:  sorry, too many clients already", app),
    ])()


group("pg-too-many-connections", 6)([_pg_conns])


def _mysql_deadlock():
    tbl = ch(["orders", "inventory_items", "carts", "payments"])
    app = ch(["inventory-svc", "orders-api"])
    return ch([
        lambda: "OperationalError: (1213, 'Deadlock found when trying to get lock; try restarting transaction')",
        lambda: f"SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock; try restarting transaction (SQL: update `{tbl}` set `status` = 'reserved' where `id` = {ri(10000, 9999999)})",
        lambda: f"Deadlock found when trying to get lock; try restarting transaction in {ch(['InventoryRepository.reserve', 'app/Jobs/SyncStock.php', 'orders.services.allocate'])}",
        lambda: f"[Sentry] {app} - OperationalError: (1213, 'Deadlock found when trying to get lock; try restarting transaction')",
    ])(), app


group("mysql-deadlock", 3)([_mysql_deadlock])


def _mysql_sql_thread():
    return "MySQL replica mysql-prod-3: Slave_SQL_Running = No (Error 1062: Duplicate entry '48213' for key 'PRIMARY')", "Databases (MySQL)"


group("mysql-replica-sql-thread-stopped", 1)([_mysql_sql_thread])


def _mongo():
    rs_ = ch(["rs0", "rs-orders", "catalog-rs"])
    return ch([
        lambda: f"MongoDB replica set {rs_} has no primary",
        lambda: f"[P1] [Triggered on {{replset_name:{rs_}}}] MongoDB replica set has no primary",
    ])(), "Databases (MongoDB)"


group("mongo-no-primary", 1)([_mongo])


def _redis_refused():
    h = ch(["redis-master.cache.svc.cluster.local", "redis-master.cache.svc", ip_priv(), "cache-redis-03", "sessions-redis.prod.acme.internal"])
    return ch([
        lambda: f"ConnectionError: Error 111 connecting to {h}:6379. Connection refused.",
        lambda: f"redis.exceptions.ConnectionError: Error 111 connecting to {h}:6379. Connection refused.",
        lambda: f"Could not connect to Redis at {h}:6379: Connection refused",
        lambda: f"Redis::CannotConnectError: Error connecting to Redis on {h}:6379 (Errno::ECONNREFUSED)",
    ])(), ch([svc(), "Cache (Redis)"])


group("redis-connection-refused", 9)([_redis_refused])


def _redis_timeout():
    h = ch(["redis-master.cache.svc", ip_priv(), "cache-redis-03", "sessions-redis.prod.acme.internal"])
    return ch([
        lambda: "redis.exceptions.TimeoutError: Timeout reading from socket",
        lambda: "TimeoutError: Timeout connecting to server",
        lambda: f"RedisCommandTimeoutException: Command timed out after {ch(['1 minute(s)', '10 second(s)', '5 second(s)'])}",
        lambda: f"Redis::TimeoutError: Connection timed out ({h}:6379)",
        lambda: f"[Sentry] {svc()} - redis.exceptions.TimeoutError: Timeout reading from socket",
    ])(), ch([svc(), "Cache (Redis)"])


group("redis-timeout", 5)([_redis_timeout])


def _redis_mem():
    h = ch(["cache-redis-01", "cache-redis-03", "sessions-redis-0", "ratelimit-redis-2"])
    return ch([
        lambda: f"[FIRING:1] RedisMemoryHigh ({h} {ri(90, 99)}%)",
        lambda: f"Redis memory usage {pct(90, 99.5)}% on {h} (maxmemory {ch(['4gb', '8gb', '16gb'])})",
        lambda: f"RedisMemoryHigh: Redis is running out of memory (> 90%) instance={ip_priv()}:6379",
    ])(), "Cache (Redis)"


group("redis-memory-high", 4)([_redis_mem])

ES_CLUSTERS = ["logs-prod", "search-prod-eu", "es-catalog", "observability-es", "products-v7"]


def _es_yellow():
    c = ch(ES_CLUSTERS)
    idx = ch(["logs-2024.05.12", "products_v12", "orders-000231", ".ds-traces-apm-default-2024.06.01-000042"])
    return ch([
        lambda: f"Elasticsearch cluster '{c}' health is YELLOW",
        lambda: f"[FIRING:1] ElasticsearchClusterYellow ({c})",
        lambda: f"Cluster health status changed from [GREEN] to [YELLOW] (reason: [shards started [[{idx}][{ri(0, 9)}]]]).",
        lambda: f"[P3] [Triggered on {{cluster_name:{c}}}] Elasticsearch cluster status is yellow",
    ])(), ch(["Search Platform", "Logging"])


group("es-cluster-yellow", 6)([_es_yellow])


def _es_red():
    c = ch(ES_CLUSTERS)
    idx = ch(["logs-2024.05.12", "products_v12", "orders-000231"])
    return ch([
        lambda: f"Elasticsearch cluster '{c}' health is RED",
        lambda: f"[FIRING:1] ElasticsearchClusterRed ({c})",
        lambda: f"Cluster health status changed from [YELLOW] to [RED] (reason: [index [{idx}] created]).",
        lambda: f"[P1] [Triggered on {{cluster_name:{c}}}] Elasticsearch cluster status is red",
    ])(), ch(["Search Platform", "Logging"])


group("es-cluster-red", 3)([_es_red])

# ---- Queues ---------------------------------------------------------------
TOPICS = ["orders", "order-events", "payments.captured", "inventory-updates", "clickstream", "audit-log", "user-signups"]


def _kafka_lag():
    t = ch(TOPICS)
    g = ch(["order-events-consumer", "payments-ledger-writer", "search-indexer", "fraud-scoring-cg", "analytics-sink", "email-notifier"])
    n = ri(12000, 2400000)
    return ch([
        lambda: f"[FIRING:1] KafkaConsumerLagHigh ({g} {t})",
        lambda: f"KafkaConsumerGroupLag: consumer group {g} lag is {n} on topic {t}",
        lambda: f"[P2] [Triggered on {{consumer_group:{g},topic:{t}}}] Kafka consumer lag is high",
        lambda: f"Consumer group {g} is lagging {n:,} messages behind on {t} (partition {ri(0, 23)})",
        lambda: f"[FIRING:{ri(2, 12)}] KafkaConsumerLagHigh (consumergroup=\"{g}\" topic=\"{t}\" cluster=\"kafka-{ch(['prod', 'prod-eu', 'main'])}\")",
    ])(), ch(["Data Platform - Kafka", g])


group("kafka-consumer-lag", 18)([_kafka_lag])


def _kafka_urp():
    b = f"kafka-broker-{ri(0, 5)}"
    return ch([
        lambda: f"[FIRING:1] KafkaUnderReplicatedPartitions ({b})",
        lambda: f"UnderReplicatedPartitions > 0 on {b}: {ri(1, 140)} partitions",
        lambda: f"Kafka topic {ch(TOPICS)} has {ri(1, 24)} under-replicated partitions",
    ])(), "Data Platform - Kafka"


group("kafka-under-replicated-partitions", 4)([_kafka_urp])


def _rabbit():
    q = ch(["email.send", "invoices.generate", "webhooks.outbound", "thumbnails", "sms.dispatch", "order.fulfilment"])
    v = ch(["/", "prod", "notifications"])
    n = ri(5000, 400000)
    return ch([
        lambda: f"RabbitMQ queue '{q}' has {n} messages ready",
        lambda: f"[FIRING:1] RabbitmqTooManyMessagesInQueue ({q} vhost={v})",
        lambda: f"RabbitMQ: queue {q} on rabbit@{ch(['rmq-0', 'rmq-1', 'rmq-2'])} is growing ({n} msgs, consumers: {ri(1, 8)})",
    ])(), ch(["Messaging (RabbitMQ)", "notification-worker"])


group("rabbitmq-queue-backlog", 6)([_rabbit])


def _sqs_dlq():
    q = ch(["orders", "payment-events", "image-resize", "webhook-retries", "shipment-updates"])
    _, rn = region()
    return ch([
        lambda: f"ALARM: \"{q}-dlq-ApproximateNumberOfMessagesVisible\" in {rn}",
        lambda: f"ALARM: \"{q}-DLQ-not-empty\" in {rn}",
        lambda: f"SQS dead-letter queue {q}-dlq has {ri(1, 9000)} messages",
    ])(), ch(["AWS - Messaging", q])


group("sqs-dlq-not-empty", 9)([_sqs_dlq])


def _nats():
    srv = f"nats-{ri(0, 2)}"
    return ch([
        lambda: f"NATS slow consumer detected on {srv}: client cid:{ri(10, 9000)} pending {ri(10, 64)}MB",
        lambda: f"[FIRING:1] NatsSlowConsumers ({srv} {ch(CLUSTERS)})",
    ])(), "Messaging (NATS)"


group("nats-slow-consumer", 2)([_nats])


def _pubsub():
    sub = ch(["billing-events-sub", "orders-to-bq", "notifications-push", "inventory-sync-sub"])
    proj = ch(["acme-prod", "acme-data-prod", "acme-prod-eu"])
    return ch([
        lambda: f"[ALERT - Warning] Pub/Sub oldest unacked message age > 600s for subscription {sub} on {proj}",
        lambda: f"Incident #{ri(0, 9)}.{hx(12)} is ongoing: Oldest unacked message age above threshold for {sub}",
        lambda: f"[ALERT - Critical] Oldest unacked message age for {sub} is {ri(601, 7200)}s",
    ])(), ch(["GCP - Data", sub])


group("gcp-pubsub-unacked-age", 3)([_pubsub])

# ---- AWS / GCP / Azure ------------------------------------------------------
def _alb5xx():
    alb = ch(["alb-public", "prod-ext-alb", "api-alb-eu", "storefront-alb"])
    _, rn = region()
    return ch([
        lambda: f"ALARM: \"{alb}-HTTPCode_ELB_5XX_Count\" in {rn}",
        lambda: f"ALARM: \"{alb}-elb-5xx-high\" in {rn}",
        lambda: f"OK: \"{alb}-HTTPCode_ELB_5XX_Count\" in {rn}",
    ])(), ch(["AWS - Edge", "Web Platform"])


group("cloudwatch-alb-5xx", 7)([_alb5xx])

LAMBDAS = ["image-resizer", "thumbnailer", "invoice-pdf", "webhook-relay", "s3-event-router", "auth-token-refresh"]


def _lambda_err():
    fn = ch(LAMBDAS)
    _, rn = region()
    return ch([
        lambda: f"ALARM: \"{fn}-Errors\" in {rn}",
        lambda: f"ALARM: \"lambda-{fn}-errors-gt-0\" in {rn}",
    ])(), ch(["AWS - Serverless", fn])


group("lambda-errors", 5)([_lambda_err])


def _lambda_thr():
    fn = ch(LAMBDAS)
    _, rn = region()
    return ch([
        lambda: f"ALARM: \"{fn}-Throttles\" in {rn}",
        lambda: f"ALARM: \"lambda-{fn}-throttles-gt-0\" in {rn}",
    ])(), ch(["AWS - Serverless", fn])


group("lambda-throttles", 2)([_lambda_thr])


def _ec2_retire():
    r, _ = region()
    i = ec2_id()
    return ch([
        lambda: f"AWS Health Event: AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED for {i} ({r})",
        lambda: f"EC2 instance {i} is scheduled for retirement on {date()}",
    ])(), "AWS - Compute"


group("aws-ec2-retirement-scheduled", 2)([_ec2_retire])


def _azure_dtu():
    db = ch(["sqldb-orders-prod", "sqldb-crm-weu", "sqldb-reporting"])
    t = f"{ri(1, 12)}/{ri(1, 28)}/2024 {ri(1, 12)}:{ri(0, 59):02d}:00 {ch(['AM', 'PM'])}"
    return ch([
        lambda: f"Fired:Sev2 Azure Monitor Alert sql-dtu-high on {db} ( microsoft.sql/servers/databases ) at {t}",
        lambda: f"Resolved:Sev2 Azure Monitor Alert sql-dtu-high on {db} ( microsoft.sql/servers/databases ) at {t}",
        lambda: f"Azure Monitor alert 'DTU percentage > 90' fired for {db} (rg-prod-weu)",
    ])(), ch(["Azure - Databases", db.replace("sqldb-", "")])


group("azure-sql-dtu-high", 3)([_azure_dtu])

# ---- Security ---------------------------------------------------------------
def _gd_ssh():
    r, _ = region()
    return ch([
        lambda: f"GuardDuty Finding: UnauthorizedAccess:EC2/SSHBruteForce - {ip_pub()} is performing SSH brute force attacks against {ec2_id()}",
        lambda: f"[GuardDuty] Medium severity finding UnauthorizedAccess:EC2/SSHBruteForce in {r}",
        lambda: f"GuardDuty: SSHBruteForce against {ec2_id()} from {ip_pub()} ({r})",
    ])(), "Security"


group("guardduty-ssh-bruteforce", 4)([_gd_ssh])


def _gd_probe():
    r, _ = region()
    port = ch([22, 3389, 5432, 6379, 9200])
    return ch([
        lambda: f"GuardDuty Finding: Recon:EC2/PortProbeUnprotectedPort - Unprotected port {port} on EC2 instance {ec2_id()} is being probed",
        lambda: f"[GuardDuty] Low severity finding Recon:EC2/PortProbeUnprotectedPort in {r}",
    ])(), "Security"


group("guardduty-port-probe", 1)([_gd_probe])


def _waf():
    rule = ch(["ip-rate-limit-2000", "login-rate-limit", "api-burst-limit"])
    return ch([
        lambda: f"AWS WAF rate-based rule '{rule}' blocked {ri(1000, 90000):,} requests from {ip_pub()}",
        lambda: f"Cloudflare WAF: {ri(1000, 90000)} requests blocked by rate limiting rule \"{rule}\" on {ch(['acme.io', 'shop.acme.io'])}",
        lambda: f"WAF rate limit triggered: {rule} ({ip_pub()}, {ri(300, 9000)} req/5min)",
    ])(), "Security"


group("waf-rate-limit-blocking", 3)([_waf])

# ---- HTTP / synthetic / DNS / TLS ------------------------------------------
CHECKS = [("Checkout", "https://www.acme.io/checkout"), ("Public API health", "https://api.acme.io/healthz"),
          ("Homepage", "https://www.acme.io/"), ("Partner portal", "https://partners.acme.io/login"),
          ("Auth - OIDC discovery", "https://auth.acme.io/.well-known/openid-configuration"),
          ("EU storefront", "https://eu.shop.acme.io/"), ("Status page", "https://status.acme.io")]


def _pingdom():
    name, url = ch(CHECKS)
    code = ch(["HTTP Error 503", "HTTP Error 502", "HTTP Error 500", "HTTP Error 504"])
    return ch([
        lambda: f"DOWN alert: {name} ({url}) is DOWN",
        lambda: f"PingdomAlert: DOWN - {url} ({code})",
        lambda: f"down alert: {name} {url} {code}",
        lambda: f"Pingdom: {name} is down since {ts()} ({code})",
    ])(), ch(["Web Platform", "Customer-facing uptime"])


group("pingdom-http-down", 11)([_pingdom])

SYNTH = ["Login flow", "Checkout - guest user", "Search results page loads", "Add to cart (EU storefront)",
         "Password reset email link", "Partner API - create order", "Mobile web homepage"]


def _checkly():
    c = ch(SYNTH)
    loc = ch(["eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-1"])
    return ch([
        lambda: f"Check '{c}' failed: page.goto: Timeout 30000ms exceeded.",
        lambda: f"Checkly Alert: \"{c}\" has failed (Timeout 30000ms exceeded) in {loc}",
        lambda: f"[Checkly] {c} failed - browser check timed out after {ch([60, 120, 240])}s",
        lambda: f"Check \"{c}\" is failing in {loc}: locator.click: Timeout {ch([10000, 15000, 30000])}ms exceeded",
    ])(), ch(["Synthetics", "Web Platform"])


group("checkly-check-timeout", 7)([_checkly])


def _dns():
    fqdn = ch(["payments.internal.acme.io", "api.partner-bank.eu", "orders-db.prod.acme.internal",
               "sso.acme-corp.com", "s3.eu-west-1.amazonaws.com", "tax-service.prod.svc.cluster.local"])
    return ch([
        lambda: f"DNS resolution failed for {fqdn}: NXDOMAIN",
        lambda: f"Error: getaddrinfo ENOTFOUND {fqdn}",
        lambda: f"dial tcp: lookup {fqdn} on 172.20.0.10:53: no such host",
        lambda: f"DNS check failed: {fqdn} did not resolve (SERVFAIL)",
    ])(), ch(["Network", svc()])


group("dns-resolution-failure", 5)([_dns])


def _nginx_refused():
    s = svc()
    d = ch(DOMAINS[:6])
    path = ch(["/api/v1/orders", "/checkout/confirm", "/graphql", "/login", "/v2/payments"])
    return ch([
        lambda: f"connect() failed (111: Connection refused) while connecting to upstream, client: {ip_pub()}, server: {d}, request: \"GET {path} HTTP/1.1\", upstream: \"http://{ip_priv()}:{ch([8080, 3000, 9000])}{path}\"",
        lambda: f"[Log alert] nginx: connect() failed (111: Connection refused) while connecting to upstream {s}",
        lambda: f"nginx upstream {s} connection refused ({ip_priv()}:8080)",
    ])(), ch(["Web Platform", s])


group("nginx-upstream-connection-refused", 6)([_nginx_refused])


def _nginx_timeout():
    s = svc()
    d = ch(DOMAINS[:6])
    path = ch(["/api/v1/orders", "/checkout/confirm", "/graphql", "/reports/export", "/v2/payments"])
    return ch([
        lambda: f"upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip_pub()}, server: {d}, request: \"POST {path} HTTP/1.1\", upstream: \"http://{ip_priv()}:{ch([8080, 3000, 9000])}{path}\"",
        lambda: f"[Log alert] nginx: upstream timed out (110: Connection timed out) while reading response header from upstream {s}",
        lambda: f"nginx upstream {s} timed out ({ip_priv()}:8080)",
    ])(), ch(["Web Platform", s])


group("nginx-upstream-timed-out", 5)([_nginx_timeout])


def _haproxy():
    bk = ch(["bk_api", "bk_checkout", "be_static", "backend_auth", "bk_websocket"])
    return ch([
        lambda: f"HAProxy backend '{bk}' has no server available!",
        lambda: f"[FIRING:1] HaproxyBackendDown ({bk} {ch(['lb-01', 'lb-02', 'edge-lb-1'])})",
        lambda: f"backend {bk} has no server available!",
    ])(), ch(["Network", "Web Platform"])


group("haproxy-backend-no-server", 3)([_haproxy])


def _cert_soon():
    d = ch(DOMAINS)
    n = ri(3, 30)
    return ch([
        lambda: f"SSL certificate for {d} expires in {n} days",
        lambda: f"[FIRING:1] SSLCertExpiringSoon ({d}:443 blackbox)",
        lambda: f"TLS certificate on {d} will expire in {n} days ({date()})",
        lambda: f"Checkly: SSL certificate for {d} expires in {n} days",
        lambda: f"WARNING - Certificate '{d}' will expire on {ch(MONTHS)} {ri(1, 28)} {ri(0, 23):02d}:{ri(0, 59):02d}:00 2024 +0000.",
        lambda: f"SSLCertExpiringSoon: SSL certificate for https://{d} expires in {n}d {ri(0, 23)}h",
    ])(), ch(["Web Platform", "Security", "Certificates"])


group("tls-cert-expiring-soon", 14)([_cert_soon])


def _cert_expired():
    d = ch(DOMAINS)
    return ch([
        lambda: f"SSL certificate has expired for {d}",
        lambda: f"CRITICAL - Certificate '{d}' expired on {ch(MONTHS)} {ri(1, 28)} {ri(0, 23):02d}:{ri(0, 59):02d}:00 2024 +0000.",
        lambda: f"x509: certificate has expired or is not yet valid: current time {ts()} is after {ts()} ({d})",
        lambda: f"[FIRING:1] SSLCertExpired ({d}:443 blackbox)",
    ])(), ch(["Web Platform", "Security", "Certificates"])


group("tls-cert-expired", 4)([_cert_expired])

# ---- APM / New Relic / Grafana -------------------------------------------
NR_APPS = ["checkout-web (prod)", "Storefront", "orders-api-prod", "Mobile BFF", "partner-portal"]


def _nr_apdex():
    a = ch(NR_APPS)
    return ch([
        lambda: f"Critical priority issue is open: Apdex score below 0.7 for {a}",
        lambda: f"New Relic: {a} Apdex < 0.85 (current {pct(0.4, 0.84, 2)})",
        lambda: f"Open violation: Apdex (Low) on '{a}' - policy 'Web SLOs'",
        lambda: f"Issue closed: Apdex score below 0.7 for {a}",
    ])(), ch(["APM", "Web Platform"])


group("newrelic-apdex-low", 5)([_nr_apdex])


def _nr_heap():
    a = ch(["orders-api-prod", "ledger-service", "pricing-engine-prod", "catalog-api"])
    return ch([
        lambda: f"Critical priority issue is open: JVM heap usage > 90% for {a}",
        lambda: f"New Relic: Heap memory usage {pct(90, 99)}% on {a} ({host_short()})",
        lambda: f"Open violation: JVM heap used (High) on '{a}'",
    ])(), ch(["APM", a])


group("newrelic-jvm-heap-high", 2)([_nr_heap])


def _loki():
    e = ch(["prod", "prod-eu", "prod-us"])
    return ch([
        lambda: f"[FIRING:1] LokiIngestionRateDrop (loki-distributor {e})",
        lambda: "[Alerting] Log ingestion rate dropped below 5k lines/s",
        lambda: "[OK] Log ingestion rate dropped below 5k lines/s",
        lambda: f"[FIRING:{ri(1, 3)}] Log ingestion rate dropped (Grafana) cluster={ch(CLUSTERS)}",
    ])(), ch(["Logging", "Platform - Observability"])


group("grafana-log-ingestion-drop", 4)([_loki])

# ---- Application errors (Sentry etc.) --------------------------------------
def _te_id():
    f = ch(["src/components/CartSummary.tsx", "src/pages/checkout/[step].tsx", "app/javascript/orders/OrderRow.jsx",
            "src/hooks/useCurrentUser.ts", "static/js/main.8f3a21c4.js", "src/features/wishlist/WishlistItem.tsx",
            "src/api/normalizeOrder.ts"])
    fn = ch(["CartSummary", "renderRow", "useCurrentUser", "normalizeOrder", "WishlistItem", "onSubmit"])
    p = ch(["web-frontend", "storefront", "admin-ui", "partner-portal"])
    return ch([
        lambda: "TypeError: Cannot read properties of undefined (reading 'id')",
        lambda: f"TypeError: Cannot read properties of undefined (reading 'id') - {f}",
        lambda: f"[Sentry] {p} - TypeError: Cannot read properties of undefined (reading 'id')",
        lambda: f"TypeError: Cannot read properties of undefined (reading 'id') at {fn} ({f}:{ri(10, 400)}:{ri(2, 80)})",
        lambda: f"[Sentry] {p}@{ver()} TypeError: Cannot read properties of undefined (reading 'id') in {fn}",
        lambda: f"TypeError: undefined is not an object (evaluating '{ch(['e', 't', 'n'])}.{ch(['user', 'order', 'item'])}.id') - {f}",
    ])(), ch([p, "Web Frontend"])


group("sentry-typeerror-undefined-id", 16)([_te_id])


def _te_map():
    f = ch(["src/components/OrderList.tsx", "src/pages/search.tsx", "src/features/reviews/ReviewList.tsx"])
    p = ch(["web-frontend", "storefront", "admin-ui"])
    return ch([
        lambda: f"TypeError: Cannot read properties of null (reading 'map') - {f}",
        lambda: f"[Sentry] {p} - TypeError: Cannot read properties of null (reading 'map')",
        lambda: "TypeError: Cannot read properties of null (reading 'map')",
    ])(), ch([p, "Web Frontend"])


group("sentry-typeerror-null-map", 3)([_te_map])


def _chunk():
    n = ri(100, 9999)
    return ch([
        lambda: f"ChunkLoadError: Loading chunk {n} failed.",
        lambda: f"ChunkLoadError: Loading chunk {n} failed. (error: https://cdn.acme-static.net/static/js/{n}.{hx(8)}.chunk.js)",
        lambda: f"ChunkLoadError: Loading chunk vendors-node_modules_{ch(['lodash', 'date-fns', 'react-select', 'stripe_stripe-js'])}_js failed.",
        lambda: f"[Sentry] storefront - ChunkLoadError: Loading chunk {n} failed.",
    ])(), ch(["storefront", "Web Frontend"])


group("sentry-chunkloaderror", 6)([_chunk])


def _keyerror():
    culp = ch(["billing.tasks.sync_invoices", "billing.webhooks.stripe.handle_invoice_paid", "billing/services/ledger.py in post_entry", "billing.tasks.retry_failed_charges"])
    return ch([
        lambda: "KeyError: 'customer_id'",
        lambda: f"KeyError: 'customer_id' - {culp}",
        lambda: f"[Sentry] billing-worker - KeyError: 'customer_id' ({culp})",
    ])(), ch(["billing-worker", "Billing"])


group("sentry-keyerror-customer-id", 4)([_keyerror])


def _npe():
    ln = ri(180, 240)
    return ch([
        lambda: f"java.lang.NullPointerException at com.acme.orders.OrderService.applyDiscount(OrderService.java:{ln})",
        lambda: "NullPointerException: Cannot invoke \"com.acme.orders.Coupon.getCode()\" because \"coupon\" is null",
        lambda: f"[Sentry] orders-api - NullPointerException in OrderService.applyDiscount (line {ln})",
    ])(), "orders-api"


group("java-npe-apply-discount", 3)([_npe])


def _node_refused():
    a = f"{ip_priv()}:5432"
    return ch([
        lambda: f"Error: connect ECONNREFUSED {a}",
        lambda: f"SequelizeConnectionRefusedError: connect ECONNREFUSED {a}",
        lambda: f"[Sentry] {ch(['notification-worker', 'webhooks-dispatcher', 'user-profile'])} - Error: connect ECONNREFUSED {a}",
    ])(), ch(["notification-worker", "webhooks-dispatcher", "user-profile"])


group("node-postgres-econnrefused", 4)([_node_refused])


def _node_timedout():
    a = f"{ip_priv()}:5432"
    return ch([
        lambda: f"Error: connect ETIMEDOUT {a}",
        lambda: f"SequelizeConnectionError: connect ETIMEDOUT {a}",
        lambda: f"[Sentry] {ch(['notification-worker', 'webhooks-dispatcher', 'user-profile'])} - Error: connect ETIMEDOUT {a}",
    ])(), ch(["notification-worker", "webhooks-dispatcher", "user-profile"])


group("node-postgres-etimedout", 3)([_node_timedout])


def _stripe():
    return "StripeRateLimitError: Request rate limit exceeded. You made too many requests too quickly (req_8Hc2LpQzXy4TfA)", "payments-api"


group("stripe-rate-limited", 1)([_stripe])

# ---- Backups / cron / CI-CD -------------------------------------------------
def _pg_backup():
    db = ch(["orders", "ledger", "users", "analytics"])
    h = ch(["pg-backup-01", "db-prod-02", "orders-db-0"])
    return ch([
        lambda: f"Backup job 'pg-{db}-nightly' failed: pg_dump: error: connection to server at \"{h}\" ({ip_priv()}), port 5432 failed: timeout expired",
        lambda: f"pgBackRest backup of stanza '{db}-prod' failed with exit code {ch([82, 56, 25])}",
        lambda: f"[cron] nightly pg backup FAILED on {h} ({date()})",
        lambda: f"Nightly Postgres backup for {db} failed (s3://acme-db-backups/{db}/{date()}/) - owner: dba-team@acme.io",
    ])(), ch(["Databases (Postgres)", "DBRE"])


group("postgres-backup-failed", 6)([_pg_backup])


def _cronitor():
    j = ch(["invoice-generator", "nightly-reindex", "exchange-rates-sync", "sitemap-builder", "gdpr-purge", "daily-sales-report"])
    return ch([
        lambda: f"Cronitor: '{j}' did not run on schedule",
        lambda: f"Cronitor alert: {j} has not checked in since {ts()}",
        lambda: f"Healthchecks.io: The check \"{j}\" is DOWN (expected ping missed by {dur()})",
    ])(), ch(["Scheduled Jobs", j])


group("cron-job-missed-schedule", 4)([_cronitor])


def _heartbeat():
    hb = ch(["prod-alertmanager", "zabbix-server", "grafana-oncall-heartbeat"])
    return ch([
        lambda: f"[Opsgenie] Heartbeat '{hb}' expired",
        lambda: f"HeartbeatExpired: {hb} heartbeat has expired",
    ])(), "Platform - Observability"


group("opsgenie-heartbeat-expired", 3)([_heartbeat])


def _argocd():
    app = ch(SERVICES[:12]) + ch(["", "-prod", "-eu"])
    return ch([
        lambda: f"Application {app} sync failed: one or more objects failed to apply",
        lambda: f"[ArgoCD] {app}: sync operation to {hx(7)} failed",
        lambda: f"Argo CD: application '{app}' sync status OutOfSync, operation Failed (revision {sha()})",
    ])(), ch(["Deployments", "Platform - Kubernetes"])


group("argocd-sync-failed", 6)([_argocd])


def _gha():
    repo = ch(SERVICES)
    br = ch(["main", "main", "release/2024.06", "master"])
    return ch([
        lambda: f"Run failed: Deploy to production - {br} ({hx(7)})",
        lambda: f"[acme/{repo}] Run failed: deploy-prod - {br} ({hx(7)})",
        lambda: f"GitHub Actions: workflow 'Deploy' failed for acme/{repo}@{hx(7)}",
    ])(), ch(["Deployments", repo])


group("gha-deploy-workflow-failed", 5)([_gha])

# ---- Cost ---------------------------------------------------------------------
def _budget():
    b = ch(["monthly-prod", "data-platform-monthly", "sandbox-accounts"])
    amt = ch([42000, 18500, 3000])
    cur = amt * R.uniform(0.8, 1.2)
    return ch([
        lambda: f"AWS Budgets: {b} has exceeded your alert threshold",
        lambda: f"AWS Budget Notification: actual cost for '{b}' exceeded 80% of ${amt:,.2f} (current ${cur:,.2f})",
        lambda: f"AWS Budgets: forecasted cost for {b} is greater than 100% of ${amt:,.2f} (notified finops@acme.io)",
    ])(), "FinOps"


group("aws-budget-threshold", 2)([_budget])


def _anomaly():
    r, _ = region()
    return ch([
        lambda: f"AWS Cost Anomaly Detection: ${ri(400, 9000):,} anomaly detected in Amazon EC2 ({r})",
        lambda: f"AWS Cost Anomaly Detection: ${ri(400, 9000):,} anomaly detected in Amazon S3 ({r})",
    ])(), "FinOps"


group("aws-cost-anomaly", 1)([_anomaly])

# ---- Manual, human-typed incidents ------------------------------------------
MANUAL_SLOW = iter([
    ("Customers report slow checkout", "Customer Support Escalations"),
    ("Multiple customers reporting checkout is very slow (Zendesk #48213)", "Customer Support Escalations"),
    ("checkout slow - escalated by support, reported by jane.doe@acme.io", None),
])
group("manual-slow-checkout", 3)([lambda: next(MANUAL_SLOW)])

MANUAL_EU = iter([
    ("Payment failures in EU", "Payments"),
    ("Card payments failing for EU customers since 14:20 CET", None),
])
group("manual-payment-failures-eu", 2)([lambda: next(MANUAL_EU)])

group("manual-safari-blank-login", 1)([lambda: ("Login page shows blank screen for Safari users", "Web Frontend")])
group("manual-duplicate-marketing-email", 1)([lambda: ("Marketing newsletter was sent twice to all subscribers", None)])
group("manual-berlin-vpn-down", 1)([lambda: ("Office VPN down in Berlin - nobody can reach vpn.acme-corp.com", "IT Ops")])
group("manual-revenue-dashboard-discrepancy", 1)([lambda: ("Revenue numbers in monthly dashboard don't match Stripe export", "Data Platform")])


# ------------------------------------------------------------------- build
def main():
    seen = set()
    rows = []
    for label, size, templates in GROUPS:
        made = 0
        while made < size:
            for _ in range(200):
                title, service = ch(templates)()
                # occasional e-mail thread prefixes, as titles arrive via e-mail integrations
                if not label.startswith("manual") and R.random() < 0.04:
                    title = ch(["Re: ", "Fwd: ", "RE: "]) + title
                if title not in seen:
                    break
            # genuine repeats are allowed only if no fresh title could be produced
            seen.add(title)
            row = {"title": title, "group": label}
            if service and R.random() < 0.72:
                row["service"] = service
            rows.append(row)
            made += 1
    R.shuffle(rows)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "incidents.jsonl")
    with open(out, "w", encoding="utf-8") as fh:
        for i, row in enumerate(rows, 1):
            obj = {"id": i, "title": row["title"]}
            if "service" in row:
                obj["service"] = row["service"]
            obj["group"] = row["group"]
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sizes = collections.Counter(r["group"] for r in rows)
    print(f"wrote {out}: {len(rows)} titles, {len(sizes)} groups, "
          f"{sum(1 for r in rows if 'service' in r)} with service, {len(rows) - len(seen)} duplicate titles")


if __name__ == "__main__":
    main()
