#!/usr/bin/env bash
# Starts (or reuses) the private PostgreSQL server the tests run against, and prints its URL.
#
#   scripts/pg.sh          start if needed; print the URL on stdout (everything else on stderr)
#   scripts/pg.sh stop     stop it (the data stays, the next start reuses it)
#   scripts/pg.sh url      print the URL only
#
# The cluster is ATP's own, not Debian's packaged one: data in $ATP_PG_DIR (default
# /var/tmp/atp-pgtest-$PORT, outside any checkout, so every clone and build tree shares one
# server), listening on 127.0.0.1:$ATP_PG_PORT (default 54329) and on a unix socket in the same
# directory. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS
# user (runuser); as anyone else it runs as that user. Installs Debian's postgresql through
# scripts/deps.sh when its binaries are missing.
#
# Idempotent: a server already answering is reused; a stale postmaster.pid (the machine or container
# restarted, the pid now belongs to nobody or to another program) is removed; a half-initialised
# data directory is re-created. Tests only: fsync is off and the role's password is in the URL.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${ATP_PG_PORT:-54329}"
DIR="${ATP_PG_DIR:-/var/tmp/atp-pgtest-$PORT}"
DATA="$DIR/data"
ROLE=atp_test
DB=atp_test
URL="postgresql://$ROLE:$ROLE@127.0.0.1:$PORT/$DB?sslmode=disable&gssencmode=disable"

log() { echo "pg.sh: $*" >&2; }
die() { echo "pg.sh: $*" >&2; exit 1; }

if [ "${1:-}" = url ]; then echo "$URL"; exit 0; fi

pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

BIN="$(pg_bindir || true)"
if [ -z "$BIN" ]; then
  [ "${1:-}" = stop ] && exit 0
  log "PostgreSQL binaries missing: running scripts/deps.sh"
  bash "$ROOT/scripts/deps.sh" >&2
  BIN="$(pg_bindir || true)"
  [ -n "$BIN" ] || die "no /usr/lib/postgresql/*/bin/initdb after deps.sh"
fi

if [ "$(id -u)" -eq 0 ]; then
  OWNER=postgres
  id -u "$OWNER" >/dev/null 2>&1 || die "user 'postgres' missing (the postgresql package creates it)"
  as_owner() { runuser -u "$OWNER" -- "$@"; }
else
  OWNER="$(id -un)"
  as_owner() { "$@"; }
fi

# One pg.sh at a time per port (two builds testing at once).
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9

psql_admin() { as_owner "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -d postgres "$@"; }
ready() { "$BIN/pg_isready" -q -h "$DIR" -p "$PORT" -d postgres -t 2 >/dev/null 2>&1; }

if [ "${1:-}" = stop ]; then
  if [ -f "$DATA/postmaster.pid" ] && ready; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
  fi
  exit 0
fi
[ -z "${1:-}" ] || die "usage: pg.sh [stop|url]"

init_cluster() {
  log "initialising a test cluster in $DATA"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chown "$OWNER" "$DIR"
  chmod 0700 "$DIR"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres --encoding=UTF8 --locale=C \
    --auth-local=peer --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 ||
    { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  cat >>"$DATA/postgresql.conf" <<EOF
# scripts/pg.sh: a throwaway test server
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 50
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  touch "$DATA/.atp-initialised"
}

# A stale postmaster.pid: its pid is not alive, or alive but not a postgres process.
clear_stale_pid() {
  local pidfile="$DATA/postmaster.pid" pid comm
  [ -f "$pidfile" ] || return 0
  pid="$(head -n 1 "$pidfile" 2>/dev/null || true)"
  comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
  if [ -z "$pid" ] || [ "$comm" != postgres ]; then
    log "removing stale postmaster.pid (pid '${pid:-?}' is not a running postgres)"
    rm -f "$pidfile" "$DIR/.s.PGSQL.$PORT" "$DIR/.s.PGSQL.$PORT.lock"
  fi
}

# pg_ctl in a subshell that first closes every descriptor above 2: the server outlives this script
# and must not hold our lock (fd 9) or a caller's pipe open (make, $(...), CI log capture).
start_server() {
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec < /dev/null >/dev/null 2>&1
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 start
  )
}

if ! ready; then
  [ -f "$DATA/.atp-initialised" ] && [ -f "$DATA/PG_VERSION" ] || init_cluster
  clear_stale_pid
  log "starting PostgreSQL on 127.0.0.1:$PORT (data $DATA)"
  if ! start_server; then
    tail -n 20 "$DIR/server.log" >&2 || true
    die "PostgreSQL did not start (log: $DIR/server.log)"
  fi
  ready || die "PostgreSQL started but does not answer on $DIR port $PORT"
fi

# The tests' role and database (idempotent).
psql_admin <<EOF
SELECT 'CREATE ROLE $ROLE LOGIN PASSWORD ''$ROLE''' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') \gexec
SELECT 'CREATE DATABASE $DB OWNER $ROLE ENCODING ''UTF8''' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB') \gexec
EOF
echo "$URL"
