# PostgreSQL helpers for the server tests: a fresh schema per run (search_path in the URL, as
# tests/unit/test_store_postgres.c does), so a run starts from an empty database (and its first
# start creates the admin) whatever other runs left in $ATP_TEST_PG_URL. Sourced after lib.sh.

pg_bin() { # the newest PostgreSQL bin directory (as scripts/pg.sh finds it)
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_psql() { "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 "$ATP_TEST_PG_URL" "$@"; }

pg_schema_url() { # pg_schema_url NAME: $ATP_TEST_PG_URL with search_path=NAME
  local sep='?'
  case "$ATP_TEST_PG_URL" in *\?*) sep='&' ;; esac
  echo "${ATP_TEST_PG_URL}${sep}options=-csearch_path%3D$1"
}

pg_schema_create() { # pg_schema_create NAME: creates it, prints its URL
  pg_psql -c "CREATE SCHEMA $1" >/dev/null && pg_schema_url "$1"
}

pg_schema_drop() { pg_psql -c "SET client_min_messages TO warning" -c "DROP SCHEMA IF EXISTS $1 CASCADE" >/dev/null; }
