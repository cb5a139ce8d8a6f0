# syntax=docker/dockerfile:1
# The Incident Insights image: `insights-api` (the entry point) and `insights-worker` on PATH, the web app in
# /app/web, user and group 10001, no shell. Build (BuildKit):
#   docker buildx build -t incident-insights .
# The build is scripts/build-release, the command scripts/test also runs outside a container, so the two cannot
# drift; .github/workflows/image.yml builds and runs this image on every change. For operators:
# docs/operations/image.md.

# Equal to the channel of rust-toolchain.toml (scripts/test checks it).
ARG RUST_VERSION=1.99.1

# Node only runs npm's binaryen (wasm-opt is JavaScript + WebAssembly): taken from the official image rather
# than Debian's nodejs and npm (hundreds of packages).
FROM node:22-bookworm-slim AS node

FROM rust:${RUST_VERSION}-bookworm AS toolchain
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && rustup target add wasm32-unknown-unknown \
    && rustup component add rustfmt clippy
ENV INSIGHTS_TOOLS_DIR=/opt/tools \
    CARGO_TERM_COLOR=never
WORKDIR /src

# Every file the dependency graph depends on and nothing else: the manifests, Cargo.lock, and each Rust source
# file emptied (their paths name the targets). Editing code leaves this stage's output unchanged, so the
# download layers below stay cached.
FROM toolchain AS skeleton
COPY . .
RUN find . -type f -name '*.rs' -exec truncate -s 0 {} + \
    && find . -type f ! -name '*.rs' ! -name Cargo.toml ! -name Cargo.lock ! -name rust-toolchain.toml \
         ! -path './.cargo/*' -delete \
    && find . -depth -type d -empty -delete

# Downloads (the only steps with network): the crates of Cargo.lock, wasm-bindgen-cli at Cargo.lock's
# version and binaryen (pinned in scripts/build-frontend). Kept in the image layers, not a cache mount, so a
# cached layer never points at a download that is gone.
FROM toolchain AS deps
COPY --from=skeleton /src /src
RUN cargo fetch --locked
COPY scripts/build-frontend scripts/build-frontend
RUN scripts/build-frontend --install-tools

FROM deps AS build
COPY . .
# Offline from here. The target directory is a cache mount (kept by the builder between builds); the results
# are copied out of it to /out.
RUN --mount=type=cache,id=incident-insights-target,target=/src/target,sharing=locked \
    scripts/build-release --profile release --offline /out

# Runtime: glibc, libgcc, CA certificates and tzdata; no shell, no package manager. The tag follows Debian 12's
# security updates, which every release build picks up (a digest would freeze them).
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="Incident Insights" \
      org.opencontainers.image.description="Incident analytics, recurring patterns, runbooks and automations for on-call teams" \
      org.opencontainers.image.source="https://github.com/OWNER/incident-insights" \
      org.opencontainers.image.licenses="AGPL-3.0-only" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/web/ /app/web/
# The embedded vector index and other local state; mount a volume here (the root filesystem may be read-only).
COPY --from=build --chown=10001:10001 /out/data /data
ENV INSIGHTS_WEB_DIR=/app/web \
    INSIGHTS_DATA_DIR=/data \
    INSIGHTS_BIND=0.0.0.0:8080 \
    INSIGHTS_METRICS_ADDR=0.0.0.0:9090 \
    INSIGHTS_LOG_FORMAT=json
USER 10001:10001
WORKDIR /app
# 8080: the API and the web app; 9090: Prometheus' /metrics (internal: not for the Service or the ingress).
EXPOSE 8080 9090
# No HEALTHCHECK: Kubernetes ignores it (the pods have readiness and liveness probes on /health/ready and
# /health/live), and it would need an HTTP client in the image.
# The worker and the migrations are commands of the pod spec: `insights-worker`, `insights-api migrate`.
ENTRYPOINT ["/usr/local/bin/insights-api"]
