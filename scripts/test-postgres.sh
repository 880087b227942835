#!/usr/bin/env bash
# A throwaway PostgreSQL server for the fleet tests, on loopback: `start` prints the line to `eval` (it exports
# PNYX_TEST_POSTGRES=host:port:user:password), `stop` stops it. Data lives under /tmp and is discarded (no fsync).
# Needs Debian's postgresql package (scripts/install-deps.sh --tests installs it). As root it runs as `postgres`.
set -euo pipefail
dir="${PNYX_TEST_PG_DIR:-/tmp/pnyx-test-postgres}"
port="${PNYX_TEST_PG_PORT:-55432}"
password="pnyx-test-only"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$bin" ] || { echo "PostgreSQL is not installed: apt-get install postgresql" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-}" in
  start)
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      rm -rf "$dir"
      mkdir -p "$dir"
      [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
      as_owner bash -c "echo '$password' > '$dir/password'"
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/password" --auth-host=scram-sha-256 \
        --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
      as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    fi
    echo "export PNYX_TEST_POSTGRES=127.0.0.1:$port:postgres:$password"
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
