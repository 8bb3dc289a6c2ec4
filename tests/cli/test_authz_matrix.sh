# The live authorization matrix (authz_matrix.py): every route of the running server's OpenAPI
# document and every WebSocket channel (subscribed over /ws)
# x {admin, owning trader, other trader, invited investor, uninvited investor, anonymous}
# against authz_expected.tsv, on a real `atp serve` with SQLite, then PostgreSQL (a fresh schema)
# when ATP_TEST_PG_URL is set. The server has a master key, as broker connections and 2FA need one.
# The rate limits are far above what the matrix sends (it measures authorization; test_sessions.sh
# tests the limits): the setups log in, register and send credentials many times from one IP, and
# the owner's token makes most of the fixture calls.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
ws_python || { finish; exit 1; } # the matrix covers the WebSocket channels too
MASTER_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n') # 64 hex digits: a fresh test key

run_matrix() { # run_matrix DB LABEL
  local admin="root-$2@example.com"
  start_server "$1" ATP_ADMIN_EMAIL="$admin" ATP_ADMIN_PASSWORD="correct horse battery" ATP_RATE_PER_S=10000 \
    ATP_AUTH_IP_BURST=100000 ATP_AUTH_EMAIL_BURST=100000 ATP_USER_RATE_BURST=100000 ATP_MASTER_KEY="$MASTER_KEY"
  if "$WS_PY" "$HERE/authz_matrix.py" "$U" "$ATP" "$1" "$2" "$admin" "$HERE/authz_expected.tsv"; then
    ok
  else
    bad "$2: authorization matrix"
  fi
  stop_server
}

run_matrix "sqlite:$TMP/matrix.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  schema="authz_$$_$(date +%s)"
  url=$(pg_schema_create "$schema") || { bad "create schema $schema"; finish; exit 1; }
  run_matrix "$url" pg
  pg_schema_drop "$schema"
fi
finish
