#!/usr/bin/env bash
# Installs everything BuildGrid needs on Debian 12 (run as root): the system packages it drives (git, buildah,
# skopeo, podman, the Docker Engine, the reference registry for benchmarks, busybox for test images, PostgreSQL for
# the scale-out tests) and the npm dependencies. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(git ca-certificates curl buildah skopeo podman docker.io docker-registry busybox-static umoci
  fuse-overlayfs uidmap runc slirp4netns iproute2 procps wrk nginx-light chromium postgresql mmdebstrap)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: installing system packages needs root; run as root (or with sudo)" >&2
    exit 1
  fi
}

# Node.js 20.10+ is the runtime.
if ! command -v node >/dev/null 2>&1; then
  echo "error: Node.js is not installed. Install Node.js 20 (https://nodejs.org or NodeSource's Debian packages), then run this again." >&2
  exit 1
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
NODE_MINOR=$(node -p 'process.versions.node.split(".")[1]')
if [ "$NODE_MAJOR" -lt 20 ] || { [ "$NODE_MAJOR" -eq 20 ] && [ "$NODE_MINOR" -lt 10 ]; }; then
  echo "error: BuildGrid needs Node.js >= 20.10 (found $(node -v)). Upgrade Node.js, then run this again." >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  need_root
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian package starts system services we do not use; BuildGrid's tests start their own daemons.
  # PostgreSQL too: the scale-out tests run throwaway clusters of their own (scripts/throwaway-postgres.sh).
  for svc in docker.socket docker containerd nginx postgresql; do
    (systemctl disable --now "$svc" >/dev/null 2>&1 || true)
  done
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The dashboard (web/) is built into web/dist, which `buildgrid serve` serves at /: rebuilt when missing or older
# than its sources.
if [ ! -f web/dist/index.html ] || [ -n "$(find web/src web/public web/index.html web/vite.config.ts package-lock.json \
    -newer web/dist/index.html -print -quit 2>/dev/null)" ]; then
  say "building the dashboard (npm run web:build)"
  npm run --silent web:build
fi

# The server and CLI are compiled into dist/ (bin/buildgrid.mjs runs it while it is fresh, else the sources through
# tsx): rebuilt when missing or older than any source.
if [ ! -f dist/.built ] || [ -n "$(find src tsconfig.json tsconfig.build.json package-lock.json -newer dist/.built -print -quit 2>/dev/null)" ]; then
  say "compiling the server (npm run build)"
  npm run --silent build
fi
