# PostgreSQL helpers for the HTTP/CLI tests that need a database of their own (counts, "the last
# admin", dumps): each run gets a fresh schema of the $ATP_TEST_PG_URL database, reached through
# the URL's search_path (as tests/unit/test_store_postgres.c does), dropped on exit. Sourced after
# lib.sh and server_lib.sh. PostgreSQL's client programs come from its bin directory, found the
# way scripts/pg.sh finds it.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PG_SCHEMAS=()
pg_cleanup() {
  local s
  for s in "${PG_SCHEMAS[@]}"; do
    "$PG_BIN/psql" -q "$ATP_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1
  done
}
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; pg_cleanup; rm -rf "$TMP"' EXIT

pg_schema_url() { # pg_schema_url NAME -> PG_URL: the store URL of a new, empty schema NAME
  local name=$1
  "$PG_BIN/psql" -q "$ATP_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $name CASCADE; CREATE SCHEMA $name" \
    >/dev/null 2>&1 || { bad "cannot create schema $name"; return 1; }
  PG_SCHEMAS+=("$name")
  local sep='?'
  case "$ATP_TEST_PG_URL" in *\?*) sep='&' ;; esac
  PG_URL="$ATP_TEST_PG_URL${sep}options=-csearch_path%3D$name"
}
