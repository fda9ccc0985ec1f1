#!/usr/bin/env bash
# The newcomer's first command: install what is needed, then run BuildGrid on its embedded defaults
# (SQLite + filesystem under ./data, port 5000). Extra arguments go to `buildgrid serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec bin/buildgrid.mjs serve "$@" # directly: its #! line carries the memory settings
