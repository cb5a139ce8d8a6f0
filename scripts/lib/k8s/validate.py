"""Validates rendered Kubernetes manifests offline, refusing unknown fields and wrong types.

    python validate.py check  KUBE_VERSION ROOT NAME=RENDERED.yaml...
    python validate.py selftest KUBE_VERSION ROOT RENDERED.yaml

Built-in kinds are checked against the Kubernetes OpenAPI schemas of KUBE_VERSION bundled by
kubernetes-validate (its strict variant, as its own `validate` does, with the definitions parsed once); custom
resources against the vendored schemas of ROOT/k8s/schemas (`<group>/<kind>-<version>.json`), their metadata
against Kubernetes' ObjectMeta. A kind with no schema fails. `check` also holds the manifests to this
project's rules: the restricted Pod Security Standard on every pod; no Secret (values never live in the
repository; the render labelled `examples` only shows their shape); one KEDA trigger per job kind of
`for_each_job!`; a single owner for the embedded vector index; every alert documented; PromQL that parses; a
Grafana dashboard that matches Grafana's dashboard model (vendored too), of schema 39 or later, whose panels
take the data source variable.
`selftest` breaks copies of the objects in RENDERED.yaml in known ways and fails unless each is refused."""

import copy
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

import jsonschema
import promql_parser
import yaml
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource


def load_docs(path):
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if d]


def name_of(doc):
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


@lru_cache(maxsize=None)
def crd_validator(root, api_version, kind):
    group, _, version = api_version.rpartition("/")
    path = Path(root) / "k8s" / "schemas" / group / f"{kind.lower()}-{version}.json"
    if not group or not path.exists():
        return None
    return jsonschema.Draft7Validator(json.loads(path.read_text()))


@lru_cache(maxsize=None)
def core_registry(kube_version):
    """Kubernetes' definitions for KUBE_VERSION (strict), parsed once: kubernetes-validate's own `validate`
    parses them again for every object."""
    major_minor = ".".join(kube_version.split(".")[:2])
    defs = schema_contents(f"kubernetes-json-schema/v{major_minor}.0-local-strict/_definitions.json", kube_version)
    return defs["$id"], Registry().with_resource(defs["$id"], Resource.from_contents(defs))


@lru_cache(maxsize=None)
def core_validator(kube_version, api_version, kind):
    """A built-in kind's validator, as kubernetes-validate builds it (None: no such kind in that version)."""
    major_minor = ".".join(kube_version.split(".")[:2])
    # rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"kubernetes-json-schema/v{major_minor}.0-local-strict/{kind.lower()}-{api}.json",
                                 kube_version)
    except FileNotFoundError:
        return None
    _, registry = core_registry(kube_version)
    return jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ registry)


@lru_cache(maxsize=None)
def object_meta_validator(kube_version):
    """Kubernetes' ObjectMeta, for the metadata of custom resources."""
    defs_id, registry = core_registry(kube_version)
    schema = {"$ref": f"{defs_id}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    return jsonschema.Draft202012Validator(schema, registry=registry)


def short(message):
    """jsonschema quotes the whole offending value: keep the start."""
    return message if len(message) <= 160 else message[:157] + "..."


def where(error):
    return ".".join(map(str, error.absolute_path)) or "(root)"


def errors_of(doc, kube_version, root):
    """The reasons `doc` is invalid (empty when it is valid)."""
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    validator = crd_validator(root, api_version, kind)
    if validator is None:
        validator = core_validator(kube_version, api_version, kind)
        if validator is None:
            return [f"no schema for {api_version} {kind} (vendor it: k8s/schemas/README.md)"]
        return [f"{where(e)}: {short(e.message)}" for e in validator.iter_errors(doc)]
    found = [f"{where(e)}: {short(e.message)}" for e in validator.iter_errors(doc)]
    found += [f"metadata.{where(e)}: {short(e.message)}"
              for e in object_meta_validator(kube_version).iter_errors(doc.get("metadata") or {})]
    return found


# --- this project's rules -------------------------------------------------------------------------------

def pod_spec(doc):
    spec = doc.get("spec") or {}
    if doc["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return ((spec.get("template") or {}).get("spec")) or {}
    return None


def restricted_pod_security(doc):
    """The restricted Pod Security Standard (the namespace enforces it; a violation would only show at apply)."""
    pod = pod_spec(doc)
    if pod is None:
        return []
    found, psc = [], pod.get("securityContext") or {}
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        csc = c.get("securityContext") or {}
        where = f"container {c['name']}"
        if not (csc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            found.append(f"{where}: runAsNonRoot is not true")
        if csc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation is not false")
        if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
            found.append(f"{where}: capabilities do not drop ALL")
        seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{where}: no RuntimeDefault seccomp profile")
        if csc.get("readOnlyRootFilesystem") is not True:
            found.append(f"{where}: the root filesystem is writable")
    return found


def job_kinds(root):
    """The job kinds of `for_each_job!` (crates/core/src/jobs/mod.rs)."""
    text = (Path(root) / "crates/core/src/jobs/mod.rs").read_text()
    body = text[text.index("macro_rules! for_each_job"):]
    body = body[:body.index("\n}\n")]
    return set(re.findall(r"^\s*([a-z_]+): [A-Z]\w* \{", body, re.M))


def keda_triggers_cover_job_kinds(docs, root):
    found = []
    for doc in docs:
        if doc["kind"] != "ScaledObject":
            continue
        lists = {t["metadata"].get("listName", "") for t in doc["spec"]["triggers"] if t["type"] == "redis"}
        kinds = {m.group(1) for m in (re.fullmatch(r"insights:jobs:([a-z_]+):active", l) for l in lists) if m}
        expected = job_kinds(root)
        if missing := sorted(expected - kinds):
            found.append(f"{name_of(doc)}: no trigger for the queue of job kind(s) {', '.join(missing)}")
        if unknown := sorted(lists - {f"insights:jobs:{k}:active" for k in expected}):
            found.append(f"{name_of(doc)}: triggers on lists that no job kind uses: {', '.join(unknown)}")
    return found


def promql_error(expr):
    """Why Prometheus would refuse `expr` (None when it parses)."""
    try:
        promql_parser.parse(expr)
        return None
    except ValueError as e:
        return str(e)


def alerts_documented(doc):
    if doc["kind"] != "PrometheusRule":
        return []
    found = []
    for group in doc["spec"]["groups"]:
        for rule in group["rules"]:
            if error := promql_error(str(rule.get("expr", ""))):
                found.append(f"rule {rule.get('alert') or rule.get('record')}: expr does not parse: {error}")
            if "alert" not in rule:
                continue
            notes = rule.get("annotations") or {}
            for key in ("summary", "description", "runbook_url"):
                if not notes.get(key):
                    found.append(f"alert {rule['alert']}: no {key}")
            anchor = notes.get("runbook_url", "").rpartition("#")[2]
            if anchor != rule["alert"].lower():
                found.append(f"alert {rule['alert']}: runbook_url must end in #{rule['alert'].lower()}")
            if "severity" not in (rule.get("labels") or {}):
                found.append(f"alert {rule['alert']}: no severity label")
    return found


def grafana_to_promql(expr):
    """A dashboard query as Prometheus receives it: Grafana's interval variables become a duration, the
    others a value."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
    return re.sub(r"\$\{?\w+\}?", "x", expr)


@lru_cache(maxsize=None)
def grafana_validator(root):
    """Grafana's dashboard model (k8s/schemas/grafana/dashboard.json, from @grafana/schema)."""
    return jsonschema.Draft7Validator(json.loads((Path(root) / "k8s/schemas/grafana/dashboard.json").read_text()))


def grafana_dashboard(doc, root):
    if doc["kind"] != "ConfigMap" or (doc["metadata"].get("labels") or {}).get("grafana_dashboard") != "1":
        return []
    found = []
    for file, text in (doc.get("data") or {}).items():
        dash = json.loads(text)
        for e in grafana_validator(root).iter_errors(dash):
            # A panel is a Panel or a RowPanel: report why it is neither as the closer of the two.
            e = jsonschema.exceptions.best_match(e.context) if e.context else e
            found.append(f"{file}: {where(e)}: {short(e.message)}")
        if dash.get("schemaVersion", 0) < 39:
            found.append(f"{file}: schemaVersion {dash.get('schemaVersion')} < 39")
        variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
        if (variables.get("datasource") or {}).get("type") != "datasource":
            found.append(f"{file}: no `datasource` variable of type datasource")
        ids = [p["id"] for p in dash.get("panels", [])]
        if len(ids) != len(set(ids)):
            found.append(f"{file}: panel ids repeat")
        for p in dash.get("panels", []):
            if p["type"] == "row":
                continue
            if (p.get("datasource") or {}).get("uid") != "${datasource}":
                found.append(f"{file}: panel {p['title']!r} does not use ${{datasource}}")
            if not p.get("targets"):
                found.append(f"{file}: panel {p['title']!r} has no query")
            for t in p.get("targets", []):
                if error := promql_error(grafana_to_promql(t.get("expr", ""))):
                    found.append(f"{file}: panel {p['title']!r}: query does not parse: {error}")
    return found


def single_owner_index(docs):
    """The embedded vector index (no QDRANT_URL) has one owner: more than one worker needs QDRANT_URL, and a
    worker keeping the index on a volume runs alone and is replaced, never rolled (two would share it)."""
    def named(kind, name):
        return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)

    worker = named("Deployment", "insights-worker")
    if worker is None:
        return []
    found, pod = [], worker["spec"]["template"]["spec"]
    scaled = [d["spec"].get("maxReplicaCount", 100) for d in docs
              if d["kind"] == "ScaledObject" and d["spec"]["scaleTargetRef"]["name"] == "insights-worker"]
    most = max(scaled + [worker["spec"].get("replicas", 1)])
    config = {}
    for source in pod["containers"][0].get("envFrom", []):
        config.update((named("ConfigMap", (source.get("configMapRef") or {}).get("name")) or {}).get("data") or {})
    env = {e["name"]: e.get("value") for e in pod["containers"][0].get("env", [])}
    has_qdrant = bool(config.get("QDRANT_URL") or env.get("QDRANT_URL"))
    if most > 1 and not has_qdrant:
        found.append(f"insights-worker: up to {most} replicas without QDRANT_URL (the embedded index has one owner)")
    on_volume = any("persistentVolumeClaim" in v for v in pod.get("volumes", []) if v["name"] == "data")
    if on_volume and not has_qdrant:
        if most != 1:
            found.append("insights-worker: the index is on a volume, so exactly one replica (no autoscaling)")
        if (worker["spec"].get("strategy") or {}).get("type") != "Recreate":
            found.append("insights-worker: the index is on a volume, so strategy Recreate (a rollout would start "
                         "a second owner)")
    return found


def project_rules(docs, root, examples=False):
    found = keda_triggers_cover_job_kinds(docs, root) + single_owner_index(docs)
    for doc in docs:
        if doc["kind"] == "Secret" and not examples:
            found.append(f"{name_of(doc)}: a Secret in the manifests (reference the operator's Secret instead)")
        found += [f"{name_of(doc)}: {e}" for e in restricted_pod_security(doc) + alerts_documented(doc)
                  + grafana_dashboard(doc, root)]
    return found


# --- commands -------------------------------------------------------------------------------------------

def check(kube_version, root, renders):
    failures, total, custom = [], 0, 0
    for label, path in renders:
        docs = load_docs(path)
        for doc in docs:
            total += 1
            custom += crd_validator(root, doc.get("apiVersion", ""), doc.get("kind", "")) is not None
            failures += [f"{label}: {name_of(doc)}: {e}" for e in errors_of(doc, kube_version, root)]
        failures += [f"{label}: {e}" for e in project_rules(docs, root, examples=label == "examples")]
    for f in failures:
        print(f"  {f}", file=sys.stderr)
    if failures:
        sys.exit(f"k8s: {len(failures)} problem(s) in {len(renders)} render(s)")
    print(f"k8s: {total} objects in {len(renders)} renders valid against Kubernetes {kube_version} "
          f"({custom} custom resources against k8s/schemas)")


def first(docs, kind):
    return copy.deepcopy(next(d for d in docs if d["kind"] == kind))


def selftest(kube_version, root, path):
    """Each broken object must be refused, each for its own reason."""
    docs = load_docs(path)
    cases = []

    d = first(docs, "Deployment")
    d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    cases.append(("an unknown field in a Deployment's container", d))
    d = first(docs, "Deployment")
    d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    cases.append(("a port given as a string", d))
    d = first(docs, "Service")
    d["metadata"]["labelz"] = {"a": "b"}
    cases.append(("an unknown field in a built-in object's metadata", d))
    d = first(docs, "Cluster")
    d["spec"]["instancez"] = 3
    cases.append(("an unknown field in a CloudNativePG Cluster", d))
    d = first(docs, "Cluster")
    d["spec"]["instances"] = "three"
    cases.append(("a CloudNativePG Cluster's instances as a string", d))
    d = first(docs, "Cluster")
    d["metadata"]["annotationz"] = {}
    cases.append(("an unknown field in a custom resource's metadata", d))
    d = first(docs, "ServiceMonitor")
    d["spec"]["endpoints"][0]["intervall"] = "30s"
    cases.append(("an unknown field in a ServiceMonitor endpoint", d))
    d = first(docs, "PrometheusRule")
    d["spec"]["groups"][0]["rules"][0]["for"] = 5
    cases.append(("a PrometheusRule duration as a number", d))
    d = {"apiVersion": "example.com/v1", "kind": "Unheard", "metadata": {"name": "x"}}
    cases.append(("a kind without a schema", d))

    failed = []
    for what, doc in cases:
        if not errors_of(doc, kube_version, root):
            failed.append(what)
    rules = [
        ("a container that may escalate privileges",
         lambda: restricted_pod_security(_set(first(docs, "Deployment"), "allowPrivilegeEscalation", True))),
        ("an alert without a runbook", lambda: alerts_documented(_drop_runbook(first(docs, "PrometheusRule")))),
        ("an alert whose query does not parse", lambda: alerts_documented(_break_expr(first(docs, "PrometheusRule")))),
        ("a dashboard query that does not parse", lambda: grafana_dashboard(_break_dashboard(docs), root)),
        ("an unknown field in a dashboard panel", lambda: grafana_dashboard(_break_dashboard(docs, "panel"), root)),
        ("a Secret with values", lambda: project_rules(
            [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"a": "b"}}], root)),
        ("a job kind without a KEDA trigger", lambda: keda_triggers_cover_job_kinds([_drop_trigger(docs)], root)),
        ("autoscaled workers without QDRANT_URL", lambda: single_owner_index(_without_qdrant(docs))),
    ]
    failed += [what for what, found in rules if not found()]
    if failed:
        sys.exit("k8s self-check: accepted what must be refused: " + "; ".join(failed))
    print(f"k8s self-check: {len(cases) + len(rules)} broken manifests refused")


def _set(deployment, key, value):
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"][key] = value
    return deployment


def _break_dashboard(docs, what="query"):
    cm = copy.deepcopy(next(d for d in docs if (d["metadata"].get("labels") or {}).get("grafana_dashboard") == "1"))
    file, text = next(iter(cm["data"].items()))
    dash = json.loads(text)
    panel = next(p for p in dash["panels"] if p["type"] != "row")
    if what == "query":
        panel["targets"][0]["expr"] += ")"
    else:
        panel["gridPoz"] = panel.pop("gridPos")
    cm["data"][file] = json.dumps(dash)
    return cm


def _without_qdrant(docs):
    docs = copy.deepcopy(docs)
    for d in docs:
        if d["kind"] == "ConfigMap":
            (d.get("data") or {}).pop("QDRANT_URL", None)
    return docs


def _drop_trigger(docs):
    scaled = first(docs, "ScaledObject")
    scaled["spec"]["triggers"].pop()
    return scaled


def _break_expr(rule):
    rule["spec"]["groups"][0]["rules"][0]["expr"] = "sum by (kind (job_backlog)"
    return rule


def _drop_runbook(rule):
    del rule["spec"]["groups"][0]["rules"][0]["annotations"]["runbook_url"]
    return rule


def main(argv):
    if len(argv) < 4 or argv[0] not in ("check", "selftest"):
        sys.exit(__doc__)
    command, kube_version, root = argv[:3]
    if command == "check":
        check(kube_version, root, [tuple(a.split("=", 1)) for a in argv[3:]])
    else:
        selftest(kube_version, root, argv[3])


if __name__ == "__main__":
    main(sys.argv[1:])
