# atlas-jit-connector container image.
#
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" -t atlas-jit-connector .
#   docker run --rm --read-only --tmpfs /tmp atlas-jit-connector doctor --help
#
# Base images
# - Node 24 is an LTS line supported until April 2028; Node 20 is past end of life and Node 22
#   leaves maintenance in April 2027. Build and dependency stages use the official Debian 13
#   (trixie) slim image pinned to an exact Node release.
# - The runtime is distroless `nodejs24-debian13:nonroot`: the same glibc/Debian 13 family as the
#   build stages (so node_modules installed there run here), but no shell, no package manager and
#   no npm (whose bundled dependencies are most of a Node image's scanner findings), and UID 65532
#   by default. Distroless publishes no Node version tags, so its tag floats within Node 24 on
#   Debian 13 and picks up security rebuilds.
# - Release builds pin both by digest as well, e.g.
#     --build-arg BUILD_IMAGE=node:24.21.0-trixie-slim@sha256:<digest>
#     --build-arg RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian13:nonroot@sha256:<digest>
#   (digests from `docker buildx imagetools inspect <image>`), with Renovate bumping tag and digest
#   together, so that a rebuild of a given commit is reproducible.
#
# What the runtime stage copies -- mirror exactly this list in anything that reproduces the image
# without Docker (e.g. a CI "runtime reproduction" job):
#   package.json, package-lock.json   ("type": "module" must be next to dist/ for ESM resolution)
#   node_modules/                     (`npm ci --omit=dev --ignore-scripts`)
#   dist/src/                         (`npm run build`, i.e. tsc -p tsconfig.build.json)
ARG NODE_VERSION=24.21.0
ARG BUILD_IMAGE=node:${NODE_VERSION}-trixie-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian13:nonroot

# ---- build: compile TypeScript to dist/ ---------------------------------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /app
# .npmrc: omit=peer skips the dev-only helm layer package's unused aws-cdk-lib peer (~160 MB).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- prod-deps: production dependencies only -----------------------------------------------------
# --ignore-scripts: no dependency needs an install script today (all pure JavaScript), and not
# running them keeps a compromised package from executing code at build time.
FROM ${BUILD_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://example.com/atlas-jit-connector
ARG LICENSES=UNLICENSED
LABEL org.opencontainers.image.title="atlas-jit-connector" \
      org.opencontainers.image.description="Just-in-time, least-privilege access connector for MongoDB Atlas" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# Distroless keeps node at /nodejs/bin and leaves it off PATH; putting it on PATH lets
# `kubectl exec <pod> -- node /app/dist/src/cli.js doctor ...` and the chart's `command` work.
# The daemon writes nothing but temporary files, so the root filesystem can be read-only with
# an emptyDir (Kubernetes) or tmpfs (docker run --read-only --tmpfs /tmp) at /tmp.
# NODE_OPTIONS caps V8's old space at 160 MB. Left to itself, V8 sizes the heap from the host's
# memory and lets short-lived garbage (Node's fetch objects, promoted before they die) pile up to
# ~4x the live data before a full GC: an organization-wide discovery (1,000 projects x 3 clusters)
# peaked at ~250 MB RSS, at the edge of the chart's 256Mi limit. With the cap it peaks at ~155 MB
# in the same time (docs/benchmarks.md, deep-discovery). Raise it with the memory limit.
# It also caps each of the young generation's two semi-spaces at 8 MB. Node 24's V8 let them grow
# to 64 MB each (24 GB host), so the same discovery peaked at 228 MB RSS with the old-space
# cap alone; with both caps it peaks at 126-128 MB (111.5 MB on Node 20) and takes no longer.
# --expose-gc lets the daemon run one full, memory-reducing GC when start-up is done
# (src/runtime/heap-compaction.ts): start-up grows the young generation to its cap and Node 24
# keeps it resident while idle, so an idle replica held 88-92 MB RSS; after the GC, 76-82 MB.
# MALLOC_ARENA_MAX=2 caps glibc's malloc arenas (the runtime is glibc): otherwise each thread that
# allocates (V8's platform workers, libuv's pool) gets an arena of its own. It takes about 2 MB off
# the idle replica's RSS (81.0-81.2 -> 78.9-79.3 MB on Node 24) at no cost the benchmarks show: the
# daemon's allocations are V8 heap, not malloc, and nearly all happen on the main thread.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=8 --expose-gc" \
    MALLOC_ARENA_MAX=2 \
    TMPDIR=/tmp \
    PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

WORKDIR /app
# Files stay owned by root and are not writable by the runtime user.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json package-lock.json ./

# Numeric so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
EXPOSE 8081
STOPSIGNAL SIGTERM

# Ignored by Kubernetes (the chart uses /livez and /readyz probes); useful under plain Docker.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.ADMIN_PORT||8081)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# Node runs as PID 1 directly (exec form, no shell, no tini): the daemon installs its own SIGTERM
# and SIGINT handlers, drains within DRAIN_TIMEOUT_SECONDS and exits 0, and it spawns no child
# processes, so there are no zombies to reap and nothing for an init process to forward.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/cli.js"]
# `run` serves CONTROL_PLANE_URL and exits 78 when it is unset, so a misconfigured pod fails
# instead of running the demo sandbox and reporting ready; `docker run <image> sandbox` runs the
# sandbox on purpose. (`npm start`, with no command, keeps falling back to the sandbox.)
CMD ["run"]
