#!/usr/bin/env bash
# The whole test suite: install, type-check, check folder boundaries, then every *.test.ts with node's test runner.
# Real parts throughout: SQLite, git, skopeo, podman, buildah, the Docker Engine (started by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
say "type-check (tsc --noEmit)"
npx tsc --noEmit -p .
npm run --silent web:typecheck   # the dashboard: API types current with src/api/schemas.ts, then tsc -p web
say "folder boundaries (dependency-cruiser)"
npx depcruise src --config .dependency-cruiser.cjs
say "tests (node --test)"
mapfile -t FILES < <(find src test bench -name '*.test.ts' -not -path '*/node_modules/*' | sort)
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" "${FILES[@]}"
