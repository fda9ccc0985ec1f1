# BuildGrid's own image: `buildgrid serve` by default, `buildgrid worker …` with other arguments; every command of the
# CLI works (`docker run IMAGE --version`). It carries git and buildah, so a worker (or a serve node with in-process
# builds) builds images inside it (see docs/kubernetes.md for the privileges that needs).
#
# BASE is any Debian 12 image with Node.js 20 (npm included). The default is Docker Hub's; a BuildGrid that builds this
# file itself passes `--build-arg BASE=<host>/library/node:20-bookworm-slim` after an administrator imported that
# image (builds cannot reach Docker Hub by short name). test/image/self-build.e2e.test.ts builds it that way.
ARG BASE=node:20-bookworm-slim

# ---- build: dependencies, dashboard, compiled server ------------------------------------------------------------------
FROM ${BASE} AS build
# better-sqlite3 compiles its native module when no prebuilt binary can be downloaded (no internet, other platform).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/buildgrid
# Dependencies first: this layer is reused until package.json or the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
# web:build writes web/dist (the dashboard); build writes dist/ and its freshness mark dist/.built (scripts/build.sh).
RUN npm run web:build \
 && npm run build \
 && rm -f dist/.lock dist/.tsbuildinfo \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error

# ---- runtime ------------------------------------------------------------------------------------------------------------
FROM ${BASE}
# What builds need: git (openssh-client for ssh:// deploy keys and ssh-keygen), buildah with fuse-overlayfs and uidmap;
# util-linux's unshare and mount (Debian's essential set) give buildah its private mount namespace. tini is PID 1:
# it reaps the orphans a long-running worker's builds leave behind (node would not) and passes signals on. The build
# sandbox (docs/security.md) needs runc, slirp4netns and iproute2.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates buildah fuse-overlayfs uidmap tini \
      runc slirp4netns iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/buildgrid
# No src/: bin/buildgrid.mjs runs dist/ when there is no src/ to be newer than it (bin/fresh.mjs).
COPY --from=build /opt/buildgrid/package.json ./
COPY --from=build /opt/buildgrid/node_modules ./node_modules
COPY --from=build /opt/buildgrid/bin ./bin
COPY --from=build /opt/buildgrid/dist ./dist
COPY --from=build /opt/buildgrid/web/dist ./web/dist
ENV BUILDGRID_HOST=0.0.0.0 \
    BUILDGRID_DATA_DIR=/data
VOLUME /data
# Relative paths (a worker's default --work-dir ./worker) land in the volume too.
WORKDIR /data
EXPOSE 5000
# The launcher itself, not `node bin/buildgrid.mjs`: its #! line starts node with BuildGrid's memory settings.
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/buildgrid/bin/buildgrid.mjs"]
CMD ["serve"]
