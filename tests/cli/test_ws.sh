# The WebSocket endpoint /ws over a real client (ws_check.py, python3-websocket) against `atp serve`
# with the simulator feed, on SQLite and then PostgreSQL (a fresh schema) when ATP_TEST_PG_URL is
# set: authentication, errors, market conflation, chart snapshot = REST candles, notifications
# within 500 ms, the system channel; then a graceful shutdown closes an open socket with 1001.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
MASTER_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
ws_python || { finish; exit 1; }

run_ws() { # run_ws DB LABEL
  local admin="root-$2@example.com"
  start_server "$1" ATP_ADMIN_EMAIL="$admin" ATP_ADMIN_PASSWORD="correct horse battery" ATP_RATE_PER_S=10000 \
    ATP_AUTH_IP_BURST=100000 ATP_AUTH_EMAIL_BURST=100000 ATP_USER_RATE_BURST=100000 ATP_MASTER_KEY="$MASTER_KEY" \
    ATP_FEED=synthetic ATP_FEED_SPEED=60 ATP_WS_RECHECK_S=1
  if (cd "$HERE" && "$WS_PY" ws_check.py "$U" "$ATP" "$1" "$2" "$admin"); then ok; else bad "$2: ws_check.py"; fi
  # Graceful shutdown: an open socket hears 1001 (going away) before the server exits.
  (cd "$HERE" && "$WS_PY" - "$U" "$admin" >"$TMP/close.out" 2>&1 <<'PY'
import sys, time
from atp_api import Api, PASSWORD
from ws_client import Client
from ws_check import close_code
api = Api(sys.argv[1])
c = Client(sys.argv[1], api.login(sys.argv[2], "correct horse battery")["access_token"])
print("open", flush=True)
print("close", close_code(c, 10), flush=True)
PY
  ) &
  local cpid=$!
  for _ in $(seq 1 100); do grep -q open "$TMP/close.out" 2>/dev/null && break; sleep 0.05; done
  stop_server
  wait "$cpid"
  expect_eq "$2: shutdown closes an open socket with 1001" "close 1001" "$(grep close "$TMP/close.out")"
}

run_ws "sqlite:$TMP/ws.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  schema="ws_$$_$(date +%s)"
  url=$(pg_schema_create "$schema") || { bad "create schema $schema"; finish; exit 1; }
  run_ws "$url" pg
  pg_schema_drop "$schema"
fi
finish
