# Shared helpers for the tests that drive a real `atp serve` over HTTP with curl. Sourced after
# lib.sh. start_server takes the store URL (or "" for the server's ATP_DB default) and extra
# environment assignments; the server listens on an ephemeral port and is killed on exit.
export NO_PROXY='*' no_proxy='*'
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY

SRV_PID=
# PostgreSQL schemas of the test (pg_lib.sh) are dropped on exit too.
source "$(dirname "${BASH_SOURCE[0]}")/pg_lib.sh"

start_server() { # start_server DB [ENV=V ...]: sets U and SRV_PID
  local db=$1
  shift
  local dbarg=()
  [ -n "$db" ] && dbarg=(--db "$db")
  # The previous server's output must go first: the redirection below happens in the child, after
  # the fork, so the loop could otherwise read the old "listening on" line (and its dead port).
  rm -f "$TMP/srv.out" "$TMP/srv.err"
  # Generous limits by default (tests log in and call often, all from 127.0.0.1); a test of a
  # limit sets its own after these.
  env ATP_LOG_LEVEL=warn ATP_RATE_BURST=1000 ATP_AUTH_IP_BURST=1000 ATP_AUTH_EMAIL_BURST=1000 \
    ATP_USER_RATE_BURST=1000 "$@" "$ATP" serve "${dbarg[@]}" --listen 127.0.0.1:0 \
    >"$TMP/srv.out" 2>"$TMP/srv.err" &
  SRV_PID=$!
  local port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's|^atp serve: listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$TMP/srv.out" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.05
  done
  if [ -z "$port" ]; then bad "server did not start"; cat "$TMP/srv.err" >&2; finish; exit 1; fi
  U="http://127.0.0.1:$port"
}

stop_server() { # SIGTERM, then the exit status must be 0
  kill -TERM "$SRV_PID"
  wait "$SRV_PID"
  expect_eq "exit status after SIGTERM" 0 "$?"
  SRV_PID=
}

# req CURL-ARGS... -> status in $CODE, body in $TMP/body, headers in $TMP/hdr (curl names a
# transport failure on stderr: code 000 alone says nothing)
req() { CODE=$(curl -sS -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' "$@"); }
as() { # as TOKEN METHOD PATH [JSON [EXTRA-CURL-ARGS...]]: req with a bearer token ("" for none)
  local tok=$1 m=$2 path=$3
  shift 3
  local auth=()
  [ -n "$tok" ] && auth=(-H "Authorization: Bearer $tok")
  if [ $# -gt 0 ]; then
    local body=$1
    shift
    req -X "$m" "${auth[@]}" "$@" -H 'Content-Type: application/json' -d "$body" "$U$path"
  else
    req -X "$m" "${auth[@]}" "$U$path"
  fi
}
token_of() { # token_of EMAIL [PASSWORD]: prints the access token of a login (password "correct horse")
  as "" POST /api/v1/auth/login "{\"email\":\"$1\",\"password\":\"${2:-correct horse}\"}"
  [ "$CODE" = 200 ] || echo "FAIL: login $1: $CODE" >&2 # (in $(...): the caller's next call fails too)
  jget "d['access_token']"
}
expect_err() { # expect_err NAME STATUS CODE FIELD: the last answer's status, error code and field
  expect_eq "$1: status" "$2" "$CODE"
  expect_json "$1: error" "(d['error']['code'], str(d['error'].get('field')))" "('$3', '$4')"
}
jget() { python3 -c "import json,sys; d=json.load(open('$TMP/body')); print($1)" 2>&1; }
expect_json() { expect_eq "$1" "$3" "$(jget "$2")"; } # NAME PYTHON-EXPR-ON-d EXPECTED
expect_hdr() { # NAME HEADER VALUE (case-insensitive name, exact value)
  local got
  got=$(grep -i "^$2:" "$TMP/hdr" | head -1 | cut -d: -f2- | sed 's/^ *//; s/\r$//')
  expect_eq "$1" "$3" "$got"
}

# ws_python: a python3 with the WebSocket client (Debian's python3-websocket, scripts/deps.sh) for
# the /ws tests: the first of python3, /usr/bin/python3 that imports it. Sets WS_PY or fails.
ws_python() {
  WS_PY=
  for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import websocket' 2>/dev/null; then WS_PY=$p; return 0; fi
  done
  bad "no python3 with the websocket module: run scripts/deps.sh (python3-websocket)"
  return 1
}
