# The fuzz step (sourced after common.sh by scripts/test and scripts/fuzz): schemathesis sends generated
# requests, valid and invalid, to every operation of the API description, as a signed-in owner with the real
# ids of a seeded organization, and checks that no answer is a 5xx and every answer matches the description
# (status code, content type, body schema). Settings: scripts/lib/fuzz/schemathesis.toml; seeding:
# scripts/lib/fuzz/seed.py; the summary: scripts/lib/fuzz/summary.py.

SCHEMATHESIS_VERSION=4.32.5

# ensure_schemathesis — schemathesis (PyPI), installed once into the tools cache; sets SCHEMATHESIS.
ensure_schemathesis() {
  ensure_pypi_tool SCHEMATHESIS schemathesis "$SCHEMATHESIS_VERSION"
}

# free_port — a TCP port on loopback that nothing listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_fuzz DIR BIN_DIR — fuzzes a fresh API (BIN_DIR/insights-api) on a free port, with its own database
# `insights_fuzz` on the PostgreSQL server of DATABASE_URL and its own key prefix in REDIS_URL, sources served
# by the Prism mocks of INSIGHTS_TEST_PRISM_PAGERDUTY / INSIGHTS_TEST_PRISM_OPSGENIE. Files (logs, reports)
# go to DIR. FUZZ_MAX_EXAMPLES (default 25) bounds the generated cases per operation and phase. Fails, with
# a summary, when a check failed or an operation could not be tested.
run_fuzz() {
  local dir="$1" bin="$2" port db_url api_pid="" worker_pid="" status=0
  local b; for b in insights-api insights-worker; do
    [ -x "$bin/$b" ] || die "fuzz: $bin/$b not found (build it: cargo build --bin $b)"
  done
  rm -rf "$dir"; mkdir -p "$dir"
  port="${FUZZ_API_PORT:-$(free_port)}"
  db_url="${DATABASE_URL%/*}/insights_fuzz"
  psql "${DATABASE_URL}" -qc "DROP DATABASE IF EXISTS insights_fuzz" -c "CREATE DATABASE insights_fuzz" >/dev/null
  redis-cli -u "$REDIS_URL" --scan --pattern 'insights-fuzz:*' | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null

  # The API's and the worker's settings: fresh secrets, this run's stores, the sources on Prism.
  local env=(
    "DATABASE_URL=$db_url" "REDIS_URL=$REDIS_URL" "INSIGHTS_REDIS_PREFIX=insights-fuzz"
    "INSIGHTS_BIND=127.0.0.1:$port" "INSIGHTS_LOG_FORMAT=json" "INSIGHTS_DATA_DIR=$dir"
    "INSIGHTS_SECRET_KEY=$(head -c 32 /dev/urandom | base64)"
    "INSIGHTS_JWT_SECRET=$(head -c 48 /dev/urandom | base64)"
    "INSIGHTS_ACCESS_TOKEN_TTL_SECS=3600"
    # No worker answers searches while fuzzing: do not wait long for one.
    "INSIGHTS_SEARCH_TIMEOUT_MS=200"
    "INSIGHTS_PAGERDUTY_API_URL=${INSIGHTS_TEST_PRISM_PAGERDUTY:?}"
    "INSIGHTS_OPSGENIE_API_URL=${INSIGHTS_TEST_PRISM_OPSGENIE:?}"
  )
  fuzz_stop() {
    [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null
    [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
    worker_pid=""; api_pid=""
  }
  env "${env[@]}" "$bin/insights-api" migrate >"$dir/migrate.log" 2>&1 \
    || { tail -20 "$dir/migrate.log" >&2; die "fuzz: migrating insights_fuzz failed"; }
  env "${env[@]}" "$bin/insights-api" >"$dir/api.log" 2>&1 & api_pid=$!
  env "${env[@]}" INSIGHTS_METRICS_ADDR=127.0.0.1:0 "$bin/insights-worker" >"$dir/worker.log" 2>&1 & worker_pid=$!
  local url="http://127.0.0.1:$port" i
  for i in $(seq 150); do curl -fsS "$url/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS "$url/health/ready" >/dev/null 2>&1 \
    || { fuzz_stop; tail -20 "$dir/api.log" >&2; die "fuzz: the API did not become ready (log: $dir/api.log)"; }

  log "fuzz: seeding an organization through the API"
  python3 "$ROOT/scripts/lib/fuzz/seed.py" "$url" >"$dir/seed.env" \
    || { fuzz_stop; die "fuzz: seeding failed (logs: $dir/api.log, $dir/worker.log)"; }
  # The worker is only needed for the sample data: without it, the jobs the fuzzer starts stay queued instead of
  # walking Prism's endless example pages.
  kill "$worker_pid" 2>/dev/null; wait "$worker_pid" 2>/dev/null; worker_pid=""

  log "fuzz: schemathesis $SCHEMATHESIS_VERSION over every operation of the API description"
  curl -fsS "$url/api/v1/openapi.json" >"$dir/openapi.json"
  (
    set -a; source "$dir/seed.env"; set +a
    cd "$dir" && "$SCHEMATHESIS" --config-file "$ROOT/scripts/lib/fuzz/schemathesis.toml" run "$dir/openapi.json" \
      --url "$url" --max-examples "${FUZZ_MAX_EXAMPLES:-25}" --workers 2 --seed "${FUZZ_SEED:-1}" --no-color \
      --report junit,ndjson --report-dir "$dir/report" --generation-database none
  ) >"$dir/schemathesis.log" 2>&1 || status=$?
  fuzz_stop
  python3 "$ROOT/scripts/lib/fuzz/summary.py" "$dir/openapi.json" "$dir/report" "$status" \
    || die "fuzz: failed (output: $dir/schemathesis.log, API log: $dir/api.log)"
}
