# The read replica's tests (sourced by scripts/test): they need a streaming replica of the test PostgreSQL, which
# replays every test database the rest of the suite creates and drops (about 0.1 s of its CPU each) — so it runs
# only for them, after the other tests, on the test binary those already built.

# run_replica_tests DIR PORT PRIMARY_PORT PG_OPTIONS CARGO_TEST_ARGS... — clones the server on PRIMARY_PORT into a
# streaming replica on PORT (start_replica), runs the API tests named `replica::` against it
# (INSIGHTS_TEST_REPLICA_URL) from the binary that `cargo test CARGO_TEST_ARGS` built, and stops it. Fails when
# no such test ran.
run_replica_tests() {
  local dir="$1" port="$2" primary="$3" options="$4" found api package out
  shift 4
  found="$(cargo test "$@" --no-run --message-format=json 2>/dev/null | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and t.get("name") == "api" and t.get("kind") == ["test"] and m.get("executable"):
        print(m["executable"] + "\t" + os.path.dirname(m["manifest_path"]))
')"
  api="${found%%$'\t'*}"; package="${found#*$'\t'}"
  [ -n "$api" ] && [ -x "$api" ] || die "the API's test binary was not found"
  start_replica "$dir" "$port" "$primary" "$options"
  out="$(cd "$package" && INSIGHTS_TEST_REPLICA_URL="postgres://postgres@127.0.0.1:$port/postgres" "$api" replica:: 2>&1)" \
    || { printf '%s\n' "$out"; stop_replica "$dir"; die "the read replica's tests failed"; }
  printf '%s\n' "$out" | grep -E '^test |^test result'
  stop_replica "$dir"
  printf '%s\n' "$out" | grep -qE '^test result: ok\. [1-9]' || die "no read replica test ran"
}
