#!/usr/bin/env bash
# Compiles src/ to dist/ (plain JavaScript, what bin/buildgrid.mjs runs when it is up to date). dist/.built is
# touched only after a successful compile: it is the freshness mark the launcher compares with src/.
set -euo pipefail
cd "$(dirname "$0")/.."
# One compile at a time (two benchmarks started at once both find dist/ stale).
mkdir -p dist
exec 9>dist/.lock
flock 9
started=$(date +%s.%N)
rm -f dist/.built
npx tsc -p tsconfig.build.json
# Files deleted from src/ must not linger in dist/ (a stale module could still be imported by name).
find dist -name '*.js' | while read -r f; do
  src="src/${f#dist/}"; src="${src%.js}.ts"
  [ -f "$src" ] || rm -f "$f" "$f.map"
done
# The timestamp of the newest source at the start (not now) would be safer against edits during the compile:
# touch the mark with the start time.
touch -d "@${started}" dist/.built
