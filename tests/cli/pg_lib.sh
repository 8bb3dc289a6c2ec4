# PostgreSQL helpers for the HTTP/CLI tests: a fresh schema per run of the $ATP_TEST_PG_URL
# database, reached through the URL's search_path (as tests/unit/test_store_postgres.c does), so
# a run starts from an empty database (and its first start creates the admin) whatever other runs
# left there. PostgreSQL's client programs come from its
# bin directory, found the way scripts/pg.sh finds it. Sourced by server_lib.sh.

pg_bin() { # the newest PostgreSQL bin directory
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
PG_BIN=$(pg_bin)

pg_psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$ATP_TEST_PG_URL" "$@"; }

pg_url_of() { # pg_url_of NAME: $ATP_TEST_PG_URL with search_path=NAME
  local sep='?'
  case "$ATP_TEST_PG_URL" in *\?*) sep='&' ;; esac
  echo "${ATP_TEST_PG_URL}${sep}options=-csearch_path%3D$1"
}

pg_schema_create() { # pg_schema_create NAME: creates it, prints its URL (the caller drops it)
  pg_psql -c "CREATE SCHEMA $1" >/dev/null && pg_url_of "$1"
}

pg_schema_drop() { pg_psql -c "SET client_min_messages TO warning" -c "DROP SCHEMA IF EXISTS $1 CASCADE" >/dev/null; }

# pg_schema_url NAME: (re)creates schema NAME, dropped on exit; sets PG_URL to its store URL and
# PG_SCHEMA to NAME.
PG_SCHEMAS=()
pg_cleanup() {
  local s
  for s in "${PG_SCHEMAS[@]}"; do pg_schema_drop "$s" 2>/dev/null; done
}
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; pg_cleanup; rm -rf "$TMP"' EXIT

pg_schema_url() {
  pg_schema_drop "$1" 2>/dev/null
  pg_psql -c "CREATE SCHEMA $1" >/dev/null 2>&1 || { bad "cannot create schema $1"; return 1; }
  PG_SCHEMAS+=("$1")
  PG_SCHEMA=$1
  PG_URL=$(pg_url_of "$1")
}

# pg_url: sets PG_URL to a store URL for a fresh, private schema (dropped on exit), so a test never
# migrates or fills the shared database: worktrees with different migrations, and parallel
# tests, each see only their own tables. (Not in a $(...) subshell: the schema list must survive
# for the exit trap.)
pg_url() { pg_schema_url "t_cli_$$_${#PG_SCHEMAS[@]}_$RANDOM"; }
