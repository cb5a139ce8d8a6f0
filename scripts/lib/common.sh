# Shared by scripts/dev and scripts/test (sourced, not run). Installs what is missing from Debian packages
# and rustup, and starts private PostgreSQL and Redis servers on loopback in a data directory.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLCHAIN="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (install it by hand, or run as root)"; fi
}

# ensure_packages PKG... — installs the Debian packages that are not installed yet.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # dpkg sometimes loses an archive on this kind of machine: repair and retry once.
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { as_root apt-get -f install -y -qq >/dev/null; as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

# ensure_toolchain — the pinned Rust toolchain with rustfmt, clippy and the wasm target.
ensure_toolchain() {
  if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1 \
     || ! rustup component list --toolchain "$TOOLCHAIN" --installed 2>/dev/null | grep -q clippy \
     || ! rustup target list --toolchain "$TOOLCHAIN" --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
    log "installing Rust $TOOLCHAIN (rustfmt, clippy, wasm32-unknown-unknown)"
    rustup toolchain install "$TOOLCHAIN" --profile minimal -c rustfmt -c clippy -t wasm32-unknown-unknown
  fi
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# Runs a PostgreSQL server command as the cluster's owner (the postgres user when we are root).
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres DIR PORT [EXTRA_SERVER_OPTIONS] — initializes DIR/pg once, starts it on 127.0.0.1:PORT
# (TCP only), creates the database `insights`. Reuses a server already running on DIR.
start_postgres() {
  local dir="$1" port="$2" extra="${3:-}" bin
  bin="$(pg_bindir)"; [ -n "$bin" ] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
  mkdir -p "$dir"
  if [ ! -f "$dir/pg/PG_VERSION" ]; then
    log "initializing PostgreSQL in $dir/pg"
    mkdir -p "$dir/pg"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir" "$dir/pg"
    pg_as_owner "$bin/initdb" -D "$dir/pg" -A trust -U postgres --no-sync -E UTF8 >/dev/null
  fi
  if pg_as_owner "$bin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
    log "PostgreSQL already running in $dir/pg"
  else
    log "starting PostgreSQL on 127.0.0.1:$port"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    pg_as_owner "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' $extra" start >/dev/null \
      || { tail -20 "$dir/pg.log" >&2; die "PostgreSQL did not start (log: $dir/pg.log)"; }
  fi
  psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'insights'" \
    | grep -q 1 || psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE insights" >/dev/null
}

stop_postgres() {
  local dir="$1" bin; bin="$(pg_bindir)"
  [ -f "$dir/pg/PG_VERSION" ] && pg_as_owner "$bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
}

# start_replica DIR PORT PRIMARY_PORT [EXTRA_SERVER_OPTIONS] — a hot standby of the server of start_postgres on
# 127.0.0.1:PRIMARY_PORT, streaming its WAL: cloned into DIR/replica (pg_basebackup -R -X stream, through the
# replication line initdb's pg_hba.conf has for 127.0.0.1; wal_level=replica and max_wal_senders are the
# defaults), started on 127.0.0.1:PORT read-only. It needs settings at least as large as the primary's
# (max_connections…): pass the primary's EXTRA_SERVER_OPTIONS. Reuses a replica running in DIR; a stopped one is
# cloned again (~0.5 s), as the primary keeps no WAL for it (no replication slot) and it may have fallen behind.
start_replica() {
  local dir="$1" port="$2" primary="$3" extra="${4:-}" bin
  bin="$(pg_bindir)"; [ -n "$bin" ] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
  if [ -f "$dir/replica/PG_VERSION" ] && pg_as_owner "$bin/pg_ctl" -D "$dir/replica" status >/dev/null 2>&1; then
    log "PostgreSQL replica already running in $dir/replica"; return 0
  fi
  log "cloning the PostgreSQL on 127.0.0.1:$primary into a streaming replica ($dir/replica)"
  rm -rf "$dir/replica"; mkdir -p "$dir/replica"; chmod 700 "$dir/replica"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir" "$dir/replica"
  pg_as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/replica" \
    -R -X stream --checkpoint=fast --no-sync >/dev/null || die "pg_basebackup from 127.0.0.1:$primary failed"
  log "starting the PostgreSQL replica on 127.0.0.1:$port"
  pg_as_owner "$bin/pg_ctl" -D "$dir/replica" -l "$dir/replica.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c hot_standby=on $extra" start >/dev/null \
    || { tail -20 "$dir/replica.log" >&2; die "the PostgreSQL replica did not start (log: $dir/replica.log)"; }
  psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT pg_is_in_recovery()" | grep -q t \
    || die "the server on 127.0.0.1:$port is not a standby"
}

stop_replica() {
  local dir="$1" bin; bin="$(pg_bindir)"
  [ -f "$dir/replica/PG_VERSION" ] && pg_as_owner "$bin/pg_ctl" -D "$dir/replica" -m fast -w stop >/dev/null 2>&1 || true
}

# start_redis DIR PORT [persist] — starts redis-server on 127.0.0.1:PORT with its files in DIR.
start_redis() {
  local dir="$1" port="$2" persist="${3:-}"
  mkdir -p "$dir/redis"
  if [ -f "$dir/redis/redis.pid" ] && kill -0 "$(cat "$dir/redis/redis.pid")" 2>/dev/null; then
    log "Redis already running (pid $(cat "$dir/redis/redis.pid"))"; return 0
  fi
  log "starting Redis on 127.0.0.1:$port"
  local opts=(--save '' --appendonly no)
  [ "$persist" = persist ] && opts=(--appendonly yes --appendfsync everysec)
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir/redis" \
    --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" "${opts[@]}" >/dev/null
  local i; for i in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "Redis did not start (log: $dir/redis/redis.log)"
}

stop_redis() {
  local dir="$1"
  [ -f "$dir/redis/redis.pid" ] && kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
  rm -f "$dir/redis/redis.pid"
}

# random_secret FILE — 32 random bytes, base64, created once (mode 600).
random_secret() {
  local file="$1"
  if [ ! -s "$file" ]; then
    (umask 077; head -c 32 /dev/urandom | base64 > "$file")
  fi
}

# ensure_sqlx_cli — sqlx-cli (`cargo sqlx prepare`, `sqlx migrate`) at exactly the version of sqlx in Cargo.lock,
# built once from crates.io into the tools cache (PostgreSQL and rustls only); puts it on PATH.
ensure_sqlx_cli() {
  local tools="${INSIGHTS_TOOLS_DIR:-$HOME/.cache/incident-insights/tools}" want have
  want="$(awk '/^name = "sqlx"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
  [ -n "$want" ] || die "sqlx not found in Cargo.lock"
  export PATH="$tools/bin:$PATH"
  have="$("$tools/bin/sqlx" --version 2>/dev/null | awk '{print $2}' || true)"
  if [ "$have" != "$want" ] || [ ! -x "$tools/bin/cargo-sqlx" ]; then
    log "installing sqlx-cli $want from crates.io into $tools (once)"
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install sqlx-cli --version "$want" --locked --no-default-features --features postgres,rustls \
        --root "$tools" --force --quiet
  fi
}

PRISM_VERSION=5.16.0

# ensure_prism — Stoplight Prism (npm), which serves the official PagerDuty and Opsgenie API descriptions as
# contract-test peers; installed once into the tools cache.
ensure_prism() {
  local tools="${INSIGHTS_TOOLS_DIR:-$HOME/.cache/incident-insights/tools}"
  PRISM="$tools/prism/node_modules/.bin/prism"
  if [ "$(cat "$tools/prism/.version" 2>/dev/null)" != "$PRISM_VERSION" ] || [ ! -x "$PRISM" ]; then
    log "installing @stoplight/prism-cli@$PRISM_VERSION from npm into $tools/prism (once)"
    mkdir -p "$tools/prism"
    npm install --silent --no-audit --no-fund --prefix "$tools/prism" "@stoplight/prism-cli@$PRISM_VERSION" >/dev/null
    echo "$PRISM_VERSION" > "$tools/prism/.version"
  fi
}

OPENAPI_VALIDATOR_VERSION=0.9.0

# ensure_pypi_tool VAR PACKAGE VERSION [COMMAND] — PACKAGE==VERSION from PyPI, installed once into a venv of its
# own in the tools cache; sets VAR to its COMMAND (by default the one named like the package).
ensure_pypi_tool() {
  local var="$1" package="$2" version="$3" command="${4:-$2}" tools="${INSIGHTS_TOOLS_DIR:-$HOME/.cache/incident-insights/tools}"
  local venv="$tools/$package"
  printf -v "$var" '%s' "$venv/bin/$command"
  if [ "$(cat "$venv/.version" 2>/dev/null)" != "$version" ] || [ ! -x "$venv/bin/$command" ]; then
    log "installing $package==$version from PyPI into $venv (once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version"
    echo "$version" > "$venv/.version"
  fi
}

# ensure_openapi_validator — openapi-spec-validator, which checks this API's own OpenAPI description against
# the OpenAPI 3.1 schema and resolves every $ref; sets OPENAPI_VALIDATOR.
ensure_openapi_validator() {
  ensure_pypi_tool OPENAPI_VALIDATOR openapi-spec-validator "$OPENAPI_VALIDATOR_VERSION"
}

# start_prism DIR NAME PORT SPEC — serves SPEC's examples on 127.0.0.1:PORT in the background (pid in
# DIR/NAME.pid, log in DIR/NAME.log). Does not wait: see wait_prism.
start_prism() {
  local dir="$1" name="$2" port="$3" spec="$4"
  mkdir -p "$dir"
  "$PRISM" mock -h 127.0.0.1 -p "$port" "$spec" >"$dir/$name.log" 2>&1 &
  echo $! > "$dir/$name.pid"
}

# wait_prism DIR NAME PORT — waits until that Prism listens (PagerDuty's description takes ~20 s to load).
wait_prism() {
  local dir="$1" name="$2" port="$3" i
  for i in $(seq 240); do
    grep -q "Prism is listening" "$dir/$name.log" 2>/dev/null && return 0
    kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$dir/$name.log" >&2; die "Prism ($name) did not start on port $port"
}

stop_prism() {
  local dir="$1" name="$2"
  [ -f "$dir/$name.pid" ] && kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
  rm -f "$dir/$name.pid"
}

MOTO_VERSION=5.2.5

# ensure_moto — moto[server] (PyPI), the AWS emulator the AWS tests run against (STS, IAM, Lambda, EC2, SSM),
# installed once into a venv of its own in the tools cache (reused when present: works offline after the
# first time); sets MOTO_SERVER.
ensure_moto() {
  local tools="${INSIGHTS_TOOLS_DIR:-$HOME/.cache/incident-insights/tools}"
  local venv="$tools/moto"
  MOTO_SERVER="$venv/bin/moto_server"
  if [ "$(cat "$venv/.version" 2>/dev/null)" != "$MOTO_VERSION" ] || [ ! -x "$MOTO_SERVER" ]; then
    log "installing moto[server]==$MOTO_VERSION from PyPI into $venv (once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    echo "$MOTO_VERSION" > "$venv/.version"
  fi
}

# start_moto DIR PORT — starts moto on 127.0.0.1:PORT in the background (pid in DIR/moto.pid, log in
# DIR/moto.log), waits until it answers, and switches its Lambda to the Docker-free backend (invocations echo
# their payload; no Docker daemon is needed).
start_moto() {
  local dir="$1" port="$2" i
  mkdir -p "$dir"
  "$MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
  echo $! > "$dir/moto.pid"
  for i in $(seq 100); do
    if curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/moto-api/config" \
        -H 'Content-Type: application/json' -d '{"lambda":{"use_docker":false}}' 2>/dev/null; then
      return 0
    fi
    kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null || break
    sleep 0.2
  done
  tail -20 "$dir/moto.log" >&2; die "moto did not start on port $port"
}

stop_moto() {
  local dir="$1"
  [ -f "$dir/moto.pid" ] && kill "$(cat "$dir/moto.pid")" 2>/dev/null || true
  rm -f "$dir/moto.pid"
}
