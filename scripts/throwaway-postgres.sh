#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback, for tests: Debian's server binaries, run as the `postgres` user when
# invoked as root, data and socket in a fresh /tmp directory, durability off (fsync=off: it is thrown away).
#
#   eval "$(scripts/throwaway-postgres.sh start)"   # exports BUILDGRID_TEST_DATABASE_URL and BG_PG_DIR
#   scripts/throwaway-postgres.sh stop "$BG_PG_DIR" # stops it and removes the directory
#
# `start` prints the two export lines on stdout (everything else goes to stderr) and fails with the server log
# when the cluster does not come up.
set -euo pipefail

bin_dir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$d" ] && command -v initdb >/dev/null; then d=$(dirname "$(command -v initdb)"); fi
  [ -n "$d" ] || { echo "error: no PostgreSQL server binaries (install Debian's postgresql: scripts/install.sh)" >&2; exit 1; }
  echo "$d"
}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    BIN=$(bin_dir)
    DIR=$(mktemp -d /tmp/bg-pg-XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
    PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; rm -rf "$DIR"; exit 1; }
    if ! as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >&2; then
      cat "$DIR/server.log" >&2 || true
      rm -rf "$DIR"
      exit 1
    fi
    echo "throwaway PostgreSQL on 127.0.0.1:$PORT (data in $DIR)" >&2
    echo "export BUILDGRID_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    echo "export BG_PG_DIR=$DIR"
    ;;
  stop)
    DIR=${2:?usage: $0 stop DIR}
    [ -d "$DIR/data" ] && as_pg "$(bin_dir)/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
